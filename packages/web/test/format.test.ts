import { describe, expect, it } from 'vitest';
import { formatClock, formatCount, formatDuration, formatRate, formatShare, formatUsd, shortId, stageLabel } from '../src/format.js';

describe('formatting for the page', () => {
  it('prints durations at a scale a person reads', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(849.6)).toBe('850 ms');
    expect(formatDuration(4_200)).toBe('4.20 s');
    expect(formatDuration(42_000)).toBe('42.0 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
  });

  it('prints counts, shares, rates and money', () => {
    expect(formatCount(12345.4)).toBe('12,345');
    expect(formatCount(null)).toBe('–');
    expect(formatShare(0.975)).toBe('97.5%');
    expect(formatShare(1)).toBe('100%');
    expect(formatShare(null)).toBe('–');
    expect(formatRate(12.345)).toBe('12.3/s');
    expect(formatRate(1234.5)).toBe('1235/s');
    expect(formatUsd(0.0009)).toBe('$0.00090');
    expect(formatUsd(1.254)).toBe('$1.25');
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(null)).toBe('–');
  });

  it('shortens ids and names stages in words', () => {
    expect(shortId('0084c9b2-a214-4f87-99c8-1db87941939f')).toBe('0084c9b2…');
    expect(shortId('short-id')).toBe('short-id');
    expect(stageLabel('streaming_response')).toBe('streaming response');
    expect(stageLabel(null)).toBe('starting');
    expect(formatClock('not a time')).toBe('–');
    expect(formatClock(Date.UTC(2026, 0, 1, 12, 0, 5))).toMatch(/^\d{2}:\d{2}:05$/);
  });
});
