import { describe, expect, it } from 'vitest';
import {
  describeRange,
  earliestInputValue,
  historyHash,
  isoFromLocalInput,
  localInputValue,
  parametersFromQuery,
  queryFromForm,
  queryFromParameters,
  rangeChoice,
  timeMs,
  windowMs,
} from '../src/history-query.js';

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

  it('reads a time range: a window, or since and until as ISO times or ms, which win over a window', () => {
    expect(queryFromParameters(new URLSearchParams('window=7d'))).toEqual({ window: '7d' });
    expect(queryFromParameters(new URLSearchParams('since=2026-11-01T00:00:00.000Z&until=1764547200000&window=7d'))).toEqual({
      since: '2026-11-01T00:00:00.000Z',
      until: '1764547200000',
    });
    expect(queryFromParameters(new URLSearchParams('window=7weeks&since=yesterday&until='))).toEqual({});
    expect(windowMs('15m')).toBe(900_000);
    expect(windowMs('30d')).toBe(30 * 86_400_000);
    expect(windowMs('0h')).toBeUndefined();
    expect(timeMs('1764547200000')).toBe(1_764_547_200_000);
    expect(timeMs('not a time')).toBeUndefined();
  });

  it('writes the filter back in a fixed order, the time range last, so links stay stable', () => {
    const query = { status: ['failed' as const], task: 'browser-history', window: '24h' };
    expect(parametersFromQuery(query).toString()).toBe('status=failed&task=browser-history&window=24h');
    expect(historyHash({ status: ['failed'], task: 'browser-history' })).toBe('#/history?status=failed&task=browser-history');
    expect(historyHash({})).toBe('#/history');
    for (const text of ['model=m&q=paris&since=2026-11-01T00%3A00%3A00.000Z', 'conversation=c-1&window=30d']) {
      expect(parametersFromQuery(queryFromParameters(new URLSearchParams(text))).toString()).toBe(text);
    }
  });

  it('turns the form into a filter: a preset range as a window, a custom one as since and until', () => {
    const base = { status: 'failed', text: { model: ' gpt-4o ', q: '' }, since: '', until: '' };
    expect(queryFromForm({ ...base, range: '' })).toEqual({ status: ['failed'], model: 'gpt-4o' });
    expect(queryFromForm({ ...base, range: '30d' })).toEqual({ status: ['failed'], model: 'gpt-4o', window: '30d' });
    const custom = queryFromForm({ ...base, status: 'nonsense', range: 'custom', since: '2026-11-01T09:30', until: '' });
    expect(custom).toEqual({ model: 'gpt-4o', since: new Date(2026, 10, 1, 9, 30).toISOString() });
    expect(queryFromForm({ ...base, range: 'custom', since: 'garbage', until: 'garbage' })).toEqual({
      status: ['failed'],
      model: 'gpt-4o',
    });
  });

  it('shows the range in the picker and in words', () => {
    expect(rangeChoice({})).toBe('');
    expect(rangeChoice({ window: '7d' })).toBe('7d');
    expect(rangeChoice({ since: '2026-11-01T00:00:00.000Z' })).toBe('custom');
    const time = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
    expect(describeRange({ window: '7d' }, time)).toBe(' in the last 7 days');
    expect(describeRange({ window: '2h' }, time)).toBe(' in the last 2h');
    expect(describeRange({ since: '2026-11-01T00:00:00.000Z', until: '2026-11-03T00:00:00.000Z' }, time)).toBe(
      ' between 2026-11-01 and 2026-11-03',
    );
    expect(describeRange({ until: '2026-11-03T00:00:00.000Z' }, time)).toBe(' before 2026-11-03');
    expect(describeRange({}, time)).toBe('');
  });

  it('converts between datetime-local values (local time) and ISO times, back to the start of the retention', () => {
    const local = new Date(2026, 10, 22, 14, 3, 27).getTime();
    expect(localInputValue(local)).toBe('2026-11-22T14:03');
    expect(localInputValue(new Date(local).toISOString())).toBe('2026-11-22T14:03');
    expect(localInputValue('nonsense')).toBe('');
    expect(localInputValue(undefined)).toBe('');
    expect(isoFromLocalInput('2026-11-22T14:03')).toBe(new Date(2026, 10, 22, 14, 3).toISOString());
    expect(isoFromLocalInput('')).toBeUndefined();
    expect(isoFromLocalInput('2026-11-22')).toBeUndefined();
    expect(earliestInputValue(local)).toBe(localInputValue(local - 30 * 86_400_000));
  });
});
