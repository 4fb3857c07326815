/**
 * The usage view's logic: its window in the URL (`#/usage?window=7d`), the analytics it asks for,
 * and the report turned into chart series and table rows. Pure, so it is tested in Node.
 */
import type { AnalyticsDimension, AnalyticsQuery, AnalyticsReport, UsageGroup } from '@llm-monitor/client';

/** The windows the usage view offers, as the API's `window` values. */
export const USAGE_WINDOWS: readonly { readonly value: string; readonly label: string }[] = [
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
];
/** The window shown when the URL names none (or one not offered). */
export const DEFAULT_USAGE_WINDOW = '7d';
/** How many top sessions and users the view lists. */
export const TOP_COUNT = 10;
/** At most this many series in a stacked chart; the smaller models are added up as one. */
export const MAX_SERIES = 6;
/** The label of a group whose calls had no value for the dimension. */
export const NO_VALUE_LABEL = '(none)';
/** The series that adds up the models beyond {@link MAX_SERIES}. */
export const OTHER_SERIES = 'other models';

const DAY_MS = 86_400_000;
const WINDOW_MS: Readonly<Record<string, number>> = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS };

/** The window of the view, from its URL parameters. */
export function usageWindowFromParameters(parameters: URLSearchParams): string {
  const window = parameters.get('window');
  return window && USAGE_WINDOWS.some((option) => option.value === window) ? window : DEFAULT_USAGE_WINDOW;
}

/** The `#/usage…` address of a window. */
export function usageHash(window: string): string {
  return window === DEFAULT_USAGE_WINDOW ? '#/usage' : `#/usage?window=${encodeURIComponent(window)}`;
}

/** The analytics the view asks for: model by day (the charts), by model and by user (the tables); each brings the totals and top lists. */
export function usageQueries(
  window: string,
  top = TOP_COUNT,
): { readonly daily: AnalyticsQuery; readonly byModel: AnalyticsQuery; readonly byUser: AnalyticsQuery } {
  const query = (dimensions: AnalyticsDimension[]): AnalyticsQuery => ({ group_by: dimensions, window, top });
  return { daily: query(['model', 'day']), byModel: query(['model']), byUser: query(['user']) };
}

/** A group's value for one dimension as the page shows it: `(none)` where the calls had none. */
export function groupLabel(group: Pick<UsageGroup, 'key'>, dimension: AnalyticsDimension): string {
  const value = group.key[dimension];
  return value === null || value === undefined || value === '' ? NO_VALUE_LABEL : value;
}

/** The UTC days (`YYYY-MM-DD`) from the day of `sinceMs` to the day of `untilMs`, both included; at most `limit` (the last ones). */
export function utcDays(sinceMs: number, untilMs: number, limit = 62): string[] {
  if (!Number.isFinite(sinceMs) || !Number.isFinite(untilMs) || untilMs < sinceMs) return [];
  const first = Math.floor(sinceMs / DAY_MS);
  const last = Math.floor(untilMs / DAY_MS);
  const days: string[] = [];
  for (let day = Math.max(first, last - limit + 1); day <= last; day += 1) days.push(new Date(day * DAY_MS).toISOString().slice(0, 10));
  return days;
}

/** Bars of a stacked chart: one category per bar, one series per stacked part. */
export interface StackedSeries {
  /** The bars, left to right (days). */
  readonly categories: readonly string[];
  /** The parts of each bar, bottom first: values by category index, and a colour (0 to {@link MAX_SERIES} − 1) that stays with the name. */
  readonly series: readonly { readonly name: string; readonly colour: number; readonly values: readonly number[] }[];
  /** The tallest bar. */
  readonly peak: number;
  /** Everything added up. */
  readonly total: number;
}

/** What a chart of the daily report adds up. */
export type UsageMetric = 'cost' | 'tokens';

function metricOf(group: UsageGroup, metric: UsageMetric): number {
  const value = metric === 'cost' ? group.cost_usd : group.total_tokens;
  return value !== null && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * A model-by-day report as stacked bars: one bar per UTC day of the window (days without calls
 * included), one part per model, bottom first in the order of `rank` (then by size), and the models
 * beyond {@link MAX_SERIES} added up as {@link OTHER_SERIES}. Colours follow the rank, not the metric,
 * so two charts with the same `rank` colour a model alike. The window is the report's
 * `since`/`until`, else `window` before `now`.
 */
export function dailySeries(
  report: AnalyticsReport,
  metric: UsageMetric,
  options: { readonly now: number; readonly window?: string; readonly maxSeries?: number; readonly rank?: readonly string[] },
): StackedSeries {
  const untilMs = report.until !== null ? Date.parse(report.until) : options.now;
  const windowLength = options.window === undefined ? undefined : WINDOW_MS[options.window];
  const sinceMs = report.since !== null ? Date.parse(report.since) : windowLength === undefined ? Number.NaN : untilMs - windowLength;
  const fromGroups = report.groups
    .map((group) => group.key.day)
    .filter((day): day is string => typeof day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(day));
  const categories = [...new Set([...utcDays(sinceMs, Number.isFinite(untilMs) ? untilMs : options.now), ...fromGroups])].sort();
  const dayIndex = new Map(categories.map((day, index) => [day, index]));

  const byModel = new Map<string, number[]>();
  for (const group of report.groups) {
    const index = dayIndex.get(group.key.day ?? '');
    if (index === undefined) continue;
    const name = groupLabel(group, 'model');
    const values = byModel.get(name) ?? categories.map(() => 0);
    values[index]! += metricOf(group, metric);
    byModel.set(name, values);
  }
  const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
  const bySize = [...byModel.entries()].sort((a, b) => sum(b[1]) - sum(a[1]) || a[0].localeCompare(b[0])).map(([name]) => name);
  const names = [...new Set([...(options.rank ?? []), ...bySize])];
  const maxSeries = Math.max(1, options.maxSeries ?? MAX_SERIES);
  const own = names.length > maxSeries ? maxSeries - 1 : names.length;
  const empty = categories.map(() => 0);
  const series = names
    .slice(0, own)
    .map((name, colour) => ({ name, colour, values: byModel.get(name) ?? empty }))
    .filter((part) => sum(part.values) > 0);
  if (names.length > own) {
    const rest = names.slice(own).map((name) => byModel.get(name) ?? empty);
    const values = categories.map((_, index) => sum(rest.map((part) => part[index]!)));
    if (sum(values) > 0) series.push({ name: OTHER_SERIES, colour: own, values });
  }
  const heights = categories.map((_, index) => sum(series.map((part) => part.values[index]!)));
  return { categories, series, peak: Math.max(0, ...heights), total: sum(heights) };
}

/** Groups ordered for a table: largest cost first, then most tokens, then by label (the server's order, kept whatever it sends). */
export function tableOrder(groups: readonly UsageGroup[], dimension: AnalyticsDimension): UsageGroup[] {
  return [...groups].sort(
    (a, b) =>
      (b.cost_usd ?? -1) - (a.cost_usd ?? -1) ||
      b.total_tokens - a.total_tokens ||
      groupLabel(a, dimension).localeCompare(groupLabel(b, dimension)),
  );
}
