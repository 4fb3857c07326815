import { describe, expect, it } from 'vitest';
import type { AnalyticsReport, UsageFigures, UsageGroup } from '@llm-monitor/client';
import {
  DEFAULT_USAGE_WINDOW,
  OTHER_SERIES,
  dailySeries,
  groupLabel,
  tableOrder,
  usageHash,
  usageQueries,
  usageWindowFromParameters,
  utcDays,
} from '../src/usage-model.js';

const figures: UsageFigures = {
  sessions: 1,
  calls: 1,
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  cost_usd: null,
  error_rate: 0,
  avg_tokens_per_session: null,
  duration_ms: { p50: null, p95: null },
  time_to_first_token_ms: { p50: null, p95: null },
};

function group(key: UsageGroup['key'], totalTokens: number, costUsd: number | null): UsageGroup {
  return { ...figures, key, total_tokens: totalTokens, cost_usd: costUsd };
}

function report(
  groups: UsageGroup[],
  since: string | null = '2026-11-20T12:00:00.000Z',
  until: string | null = '2026-11-22T12:00:00.000Z',
): AnalyticsReport {
  return { group_by: ['model', 'day'], since, until, groups, totals: figures, top_sessions: [], top_users: [] };
}

describe('the usage view', () => {
  it('keeps its window in the URL: 24h, 7d or 30d, 7d by default', () => {
    expect(usageWindowFromParameters(new URLSearchParams('window=30d'))).toBe('30d');
    expect(usageWindowFromParameters(new URLSearchParams('window=5y'))).toBe(DEFAULT_USAGE_WINDOW);
    expect(usageWindowFromParameters(new URLSearchParams(''))).toBe('7d');
    expect(usageHash('24h')).toBe('#/usage?window=24h');
    expect(usageHash('7d')).toBe('#/usage');
  });

  it('asks for model by day, by model and by user over the window', () => {
    expect(usageQueries('30d')).toEqual({
      daily: { group_by: ['model', 'day'], window: '30d', top: 10 },
      byModel: { group_by: ['model'], window: '30d', top: 10 },
      byUser: { group_by: ['user'], window: '30d', top: 10 },
    });
  });

  it('lists the UTC days of a window, both ends included', () => {
    expect(utcDays(Date.parse('2026-11-20T12:00:00Z'), Date.parse('2026-11-22T01:00:00Z'))).toEqual([
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
    ]);
    expect(utcDays(Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-11-30T00:00:00Z'), 3)).toEqual([
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
    ]);
    expect(utcDays(Number.NaN, 0)).toEqual([]);
  });

  it('turns a model-by-day report into stacked bars, days without calls included, unpriced calls as no cost', () => {
    const daily = report([
      group({ model: 'gpt-4o-mini', day: '2026-11-20' }, 1000, 0.5),
      group({ model: 'claude-sonnet-4', day: '2026-11-22' }, 3000, 2),
      group({ model: 'gpt-4o-mini', day: '2026-11-22' }, 500, 0.25),
      group({ model: null, day: '2026-11-22' }, 700, null),
    ]);
    const cost = dailySeries(daily, 'cost', { now: 0 });
    expect(cost.categories).toEqual(['2026-11-20', '2026-11-21', '2026-11-22']);
    expect(cost.series).toEqual([
      { name: 'claude-sonnet-4', colour: 0, values: [0, 0, 2] },
      { name: 'gpt-4o-mini', colour: 1, values: [0.5, 0, 0.25] },
    ]);
    expect(cost.peak).toBe(2.25);
    expect(cost.total).toBe(2.75);
    const tokens = dailySeries(daily, 'tokens', { now: 0 });
    expect(tokens.series.map((part) => part.name)).toEqual(['claude-sonnet-4', 'gpt-4o-mini', '(none)']);
    expect(tokens.peak).toBe(4200);
  });

  it('stacks and colours models in a given rank, so both charts colour a model alike', () => {
    const daily = report([group({ model: 'a', day: '2026-11-22' }, 10, null), group({ model: 'b', day: '2026-11-22' }, 1000, 1)]);
    const rank = ['a', 'b'];
    expect(dailySeries(daily, 'cost', { now: 0, rank }).series).toEqual([{ name: 'b', colour: 1, values: [0, 0, 1] }]);
    expect(dailySeries(daily, 'tokens', { now: 0, rank }).series.map((part) => [part.name, part.colour])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });

  it('takes the window before now when the report leaves it open, and adds up the smallest models', () => {
    const now = Date.parse('2026-11-22T10:00:00.000Z');
    const groups = ['a', 'b', 'c', 'd'].map((model, index) => group({ model, day: '2026-11-22' }, 100 * (index + 1), null));
    const tokens = dailySeries(report(groups, null, null), 'tokens', { now, window: '24h', maxSeries: 3 });
    expect(tokens.categories).toEqual(['2026-11-21', '2026-11-22']);
    expect(tokens.series).toEqual([
      { name: 'd', colour: 0, values: [0, 400] },
      { name: 'c', colour: 1, values: [0, 300] },
      { name: OTHER_SERIES, colour: 2, values: [0, 300] },
    ]);
    expect(dailySeries(report([], null, null), 'cost', { now })).toMatchObject({ categories: [], series: [], peak: 0, total: 0 });
  });

  it('orders table rows by cost, then tokens, and names missing values', () => {
    const rows = tableOrder([group({ user: null }, 10, null), group({ user: 'bob' }, 5, 1), group({ user: 'amy' }, 50, 1)], 'user');
    expect(rows.map((row) => groupLabel(row, 'user'))).toEqual(['amy', 'bob', '(none)']);
  });
});
