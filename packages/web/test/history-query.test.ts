import { describe, expect, it } from 'vitest';
import { queryFromParameters } from '../src/history-query.js';

describe('the history filter in the URL', () => {
  it('reads status, model, task, conversation and text, ignoring empty and unknown values', () => {
    expect(queryFromParameters(new URLSearchParams('status=failed&model=gpt-4o-mini&task=%20answer%20&conversation=c-1&q=paris'))).toEqual({
      status: ['failed'],
      model: 'gpt-4o-mini',
      task: 'answer',
      conversation: 'c-1',
      q: 'paris',
    });
    expect(queryFromParameters(new URLSearchParams('status=exploded&model='))).toEqual({});
  });
});
