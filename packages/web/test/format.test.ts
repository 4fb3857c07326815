import { describe, expect, it } from 'vitest';
import {
  formatClock,
  formatCompact,
  formatCount,
  formatDateTime,
  formatDay,
  formatDuration,
  formatRate,
  formatShare,
  formatStart,
  formatUsd,
  shortId,
  stageLabel,
} from '../src/format.js';

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
    expect(formatUsd(12345.678)).toBe('$12,345.68');
    expect(formatUsd(0.5)).toBe('$0.50');
    expect(formatUsd(0.0108)).toBe('$0.011');
    expect(formatUsd(0.0994)).toBe('$0.099');
    expect(formatUsd(0.0999)).toBe('$0.10');
    expect(formatUsd(-0.25)).toBe('−$0.25');
  });

  it('prints large counts briefly for charts', () => {
    expect(formatCompact(950)).toBe('950');
    expect(formatCompact(12_345)).toBe('12.3k');
    expect(formatCompact(999_600)).toBe('1M');
    expect(formatCompact(4_500_000)).toBe('4.5M');
    expect(formatCompact(250_000_000)).toBe('250M');
    expect(formatCompact(1_200_000_000)).toBe('1.2B');
    expect(formatCompact(null)).toBe('–');
  });

  it('prints days and start times, with the date only when it is not today', () => {
    expect(formatDay('2026-11-22')).toBe('Nov 22');
    expect(formatDay('no day')).toBe('no day');
    const now = new Date(2026, 10, 22, 18, 0, 0).getTime();
    expect(formatStart(new Date(2026, 10, 22, 14, 3, 27).getTime(), now)).toBe('14:03:27');
    expect(formatStart(new Date(2026, 10, 21, 14, 3, 27).toISOString(), now)).toBe('Nov 21 14:03');
    expect(formatStart(new Date(2025, 11, 31, 9, 0).getTime(), now)).toBe('Dec 31, 2025 09:00');
    expect(formatStart('nonsense', now)).toBe('–');
    expect(formatDateTime(new Date(2026, 0, 2, 3, 4).getTime())).toBe('2026-01-02 03:04');
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
