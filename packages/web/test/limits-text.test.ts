import { describe, expect, it } from 'vitest';
import type { LimitHit } from '@llm-monitor/sessions';
import { limitsHitText } from '../src/limits-text.js';

describe('the limits a session hit, as the session page says them', () => {
  it('groups the hits by limit, in the order the session lists them', () => {
    const hits: LimitHit[] = [
      { limit: 'max_spans_per_trace', item: 'span', count: 40 },
      { limit: 'max_trace_bytes', item: 'event', count: 3 },
      { limit: 'max_trace_bytes', item: 'token_text', count: 12 },
      { limit: 'max_attribute_value_length', item: 'string', count: 1 },
      { limit: 'max_steps_per_session', item: 'step', count: 1200 },
    ];
    expect(limitsHitText(hits)).toBe(
      '40 spans refused over max_spans_per_trace; 3 events dropped, 12 token texts cut over max_trace_bytes; ' +
        '1 text shortened over max_attribute_value_length; 1,200 steps left out over max_steps_per_session',
    );
  });

  it('says nothing for a session no limit cut, or from a receiver too old to say', () => {
    expect(limitsHitText(undefined)).toBe('');
    expect(limitsHitText([])).toBe('');
  });

  it('shows names a newer receiver may add as they are', () => {
    const hits = [{ limit: 'max_future', item: 'widget', count: 2 }] as unknown as LimitHit[];
    expect(limitsHitText(hits)).toBe('2 widget over max_future');
  });
});
