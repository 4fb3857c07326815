/**
 * Usage analytics over the LLM call log: sessions, calls, tokens, cost, error rate and latency
 * percentiles, grouped by up to two dimensions; the most expensive sessions and users. Pure: the
 * rows are passed in (the stores select them by time), so every store answers alike.
 */
import type { LlmCallRow } from './call-log.js';
import { quantile, sortedNumbers } from './statistics.js';

/** What analytics read of a call: the call log's row without its previews and metadata. */
export type CallFigures = Pick<
  LlmCallRow,
  | 'call_id'
  | 'session_id'
  | 'user_id'
  | 'model'
  | 'task'
  | 'service_name'
  | 'start_time'
  | 'input_tokens'
  | 'output_tokens'
  | 'total_tokens'
  | 'cost_usd'
  | 'status'
  | 'duration_ms'
  | 'time_to_first_token_ms'
>;

/** Columns of {@link CallFigures}, for stores that select only them. */
export const CALL_FIGURE_COLUMNS: readonly (keyof CallFigures)[] = [
  'call_id',
  'session_id',
  'user_id',
  'model',
  'task',
  'service_name',
  'start_time',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cost_usd',
  'status',
  'duration_ms',
  'time_to_first_token_ms',
];

/** What analytics can group by. `day` is the UTC day a call started (`YYYY-MM-DD`). */
export type AnalyticsDimension = 'model' | 'user' | 'task' | 'service' | 'day';

/** Every {@link AnalyticsDimension}, in the order the API documents them. */
export const ANALYTICS_DIMENSIONS: readonly AnalyticsDimension[] = ['model', 'user', 'task', 'service', 'day'];

/** p50 and p95 of a duration in milliseconds; `null` without values. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

/** The figures of one group (or of all calls). */
export interface UsageFigures {
  /** Distinct sessions with a call in the group. */
  sessions: number;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** Sum of priced calls; `null` when no call in the group has a price. */
  cost_usd: number | null;
  /** Failed calls / ended calls; `null` while none has ended. */
  error_rate: number | null;
  /** total_tokens / sessions; `null` without sessions. */
  avg_tokens_per_session: number | null;
  duration_ms: Percentiles;
  time_to_first_token_ms: Percentiles;
}

/** One group: its key (one entry per grouped dimension; `null` where the calls had no value) and figures. */
export interface UsageGroup extends UsageFigures {
  key: Partial<Record<AnalyticsDimension, string | null>>;
}

/** A session among the most expensive. */
export interface TopSession {
  session_id: string;
  user_id: string | null;
  model: string | null;
  start_time: string;
  calls: number;
  total_tokens: number;
  cost_usd: number;
}

/** A user among those who spent most. */
export interface TopUser {
  user_id: string;
  sessions: number;
  calls: number;
  total_tokens: number;
  cost_usd: number;
}

/** What `GET /api/monitoring/analytics` answers. */
export interface AnalyticsReport {
  group_by: AnalyticsDimension[];
  /** ISO times of the window asked for, `null` when open. */
  since: string | null;
  until: string | null;
  /** Groups, largest cost first (then most tokens, then key). */
  groups: UsageGroup[];
  /** All calls in the window. */
  totals: UsageFigures;
  /** Most expensive sessions (at most `top` of them), priced ones only. */
  top_sessions: TopSession[];
  /** Users who spent most (at most `top`), priced calls only, users with an id only. */
  top_users: TopUser[];
}

/** Options of {@link computeAnalytics}. */
export interface AnalyticsQuery {
  readonly groupBy: readonly AnalyticsDimension[];
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** How many top sessions and users (default 10). */
  readonly top?: number;
}

/** How many top sessions and users a report lists unless asked otherwise. */
const DEFAULT_TOP = 10;

/** Running figures of one group: counters, one set and two arrays of numbers, as there may be about as many groups as calls. */
interface Accumulator {
  /** Session numbers (see `sessionIndex`), not ids: one small integer per session and group. */
  sessions: Set<number>;
  calls: number;
  input: number;
  output: number;
  total: number;
  cost: number;
  priced: number;
  ok: number;
  failed: number;
  durations: number[];
  firstTokens: number[];
}

interface SessionAccumulator {
  id: string;
  calls: number;
  total: number;
  cost: number;
  priced: boolean;
  /** The earliest call, which gives the session its user and start time. */
  firstMs: number;
  firstCallId: string;
  startTime: string;
  userId: string | null;
  /** The most expensive call, which gives the session its model. */
  topCost: number;
  topMs: number;
  topCallId: string;
  model: string | null;
}

interface UserAccumulator {
  sessions: Set<number>;
  calls: number;
  total: number;
  cost: number;
  priced: boolean;
}

function accumulator(): Accumulator {
  return {
    sessions: new Set(),
    calls: 0,
    input: 0,
    output: 0,
    total: 0,
    cost: 0,
    priced: 0,
    ok: 0,
    failed: 0,
    durations: [],
    firstTokens: [],
  };
}

/** `sum + value`, held at the largest exact integer: counts are each up to 2^53 − 1, so sums overflow precision long before Infinity. */
function addTokens(sum: number, value: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, sum + value);
}

function totalTokensOf(row: CallFigures): number {
  return row.total_tokens ?? addTokens(row.input_tokens ?? 0, row.output_tokens ?? 0);
}

function percentiles(unsorted: number[]): Percentiles {
  const values = sortedNumbers(unsorted);
  return { p50: quantile(values, 0.5), p95: quantile(values, 0.95) };
}

function figuresOf(acc: Accumulator): UsageFigures {
  const ended = acc.ok + acc.failed;
  return {
    sessions: acc.sessions.size,
    calls: acc.calls,
    input_tokens: acc.input,
    output_tokens: acc.output,
    total_tokens: acc.total,
    cost_usd: acc.priced === 0 ? null : acc.cost,
    error_rate: ended === 0 ? null : acc.failed / ended,
    avg_tokens_per_session: acc.sessions.size === 0 ? null : acc.total / acc.sessions.size,
    duration_ms: percentiles(acc.durations),
    time_to_first_token_ms: percentiles(acc.firstTokens),
  };
}

function add(acc: Accumulator, row: CallFigures, session: number, total: number): void {
  acc.sessions.add(session);
  acc.calls += 1;
  acc.input = addTokens(acc.input, row.input_tokens ?? 0);
  acc.output = addTokens(acc.output, row.output_tokens ?? 0);
  acc.total = addTokens(acc.total, total);
  if (row.cost_usd !== null) {
    acc.cost += row.cost_usd;
    acc.priced += 1;
  }
  if (row.status === 'ok') acc.ok += 1;
  else if (row.status === 'error') acc.failed += 1;
  // A NaN would leave the sort, and so the percentiles, undefined.
  if (row.duration_ms !== null && Number.isFinite(row.duration_ms)) acc.durations.push(row.duration_ms);
  if (row.time_to_first_token_ms !== null && Number.isFinite(row.time_to_first_token_ms)) acc.firstTokens.push(row.time_to_first_token_ms);
}

const DAY_MS = 86_400_000;

/** UTC days of start times, each formatted once: `toISOString` on every row would cost more than the rest of the row. */
function dayFormatter(): (startMs: number) => string | null {
  const days = new Map<number, string>();
  return (startMs) => {
    // `null` for a start time that is no time, rather than a throw from `toISOString`.
    if (Number.isNaN(startMs)) return null;
    const dayNumber = Math.floor(startMs / DAY_MS);
    let day = days.get(dayNumber);
    if (day === undefined) {
      const iso = new Date(dayNumber * DAY_MS).toISOString();
      // Up to the `T`, not ten characters: years past 9999 are written `+010000-…`.
      days.set(dayNumber, (day = iso.slice(0, iso.indexOf('T'))));
    }
    return day;
  };
}

function keyValue(
  row: CallFigures,
  dimension: AnalyticsDimension,
  startMs: number,
  dayOf: (startMs: number) => string | null,
): string | null {
  switch (dimension) {
    case 'model':
      return row.model;
    case 'user':
      return row.user_id;
    case 'task':
      return row.task;
    case 'service':
      return row.service_name;
    case 'day':
      return dayOf(startMs);
  }
}

/** Code-unit order with `null` last: the same on every runtime, unlike localeCompare. */
function compareKeyValues(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Earlier first; calls that started at the same time by id, so the choice never depends on row order. */
function earlier(ms: number, callId: string, thanMs: number, thanCallId: string): boolean {
  return ms !== thanMs ? ms < thanMs : callId < thanCallId;
}

function checkedBound(name: string, ms: number | undefined): string | null {
  if (ms === undefined) return null;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${name} is not a time: ${ms}`);
  return date.toISOString();
}

function checkedGroupBy(groupBy: readonly AnalyticsDimension[]): AnalyticsDimension[] {
  if (groupBy.length > 2) throw new RangeError(`At most two dimensions to group by, got ${groupBy.length}`);
  for (const dimension of groupBy) {
    if (!ANALYTICS_DIMENSIONS.includes(dimension)) throw new RangeError(`Unknown dimension: ${String(dimension)}`);
  }
  if (groupBy.length === 2 && groupBy[0] === groupBy[1]) throw new RangeError(`Dimension grouped by twice: ${groupBy[0]}`);
  return [...groupBy];
}

/**
 * Usage analytics of the calls that started within `[query.sinceMs, query.untilMs)` (every call
 * without bounds; with a bound, calls whose start time does not parse are left out).
 *
 * Groups: one per distinct combination of the `groupBy` values that has calls, `null` values forming
 * groups of their own. Without dimensions, a single group with key `{}` covering every call, and none
 * when there is no call — so `groups` is empty exactly when the window is.
 *
 * Token counts add up as 0 where unknown, and every sum stops at `Number.MAX_SAFE_INTEGER`. Costs add
 * up over priced calls only. Percentiles are nearest-rank over the calls that have the value.
 *
 * Top sessions and users are those with at least one priced call, by cost (then id). Their
 * `calls` and `total_tokens` count all their calls in the window, priced or not. A session's `model`
 * is that of its most expensive call; its `user_id` and `start_time` are those of its earliest call
 * (ties between calls go to the earlier, then the smaller call id, so row order never matters).
 *
 * @throws RangeError for more than two dimensions, a dimension twice or an unknown one, a `top`
 *   that is not a whole number ≥ 0, or a bound that is not a time.
 */
export function computeAnalytics(rows: Iterable<CallFigures>, query: AnalyticsQuery): AnalyticsReport {
  const accumulator = new AnalyticsAccumulator(query);
  for (const row of rows) accumulator.add(row);
  return accumulator.report();
}

/**
 * {@link computeAnalytics} a row at a time, for stores that read the call log in chunks: what it
 * keeps is per group, session and user (numbers, and the durations the percentiles need), never the
 * rows themselves.
 *
 * @throws RangeError as {@link computeAnalytics} does, from the constructor.
 */
export class AnalyticsAccumulator {
  readonly #query: AnalyticsQuery;
  readonly #groupBy: AnalyticsDimension[];
  readonly #top: number;
  readonly #since: string | null;
  readonly #until: string | null;
  readonly #bounded: boolean;
  // One number per session id: the per-group sets then hold small integers, and a session id
  // arriving as a fresh string on every row (as database drivers hand them out) is kept once.
  readonly #sessionIndex = new Map<string, number>();
  readonly #sessionStates: SessionAccumulator[] = [];
  readonly #users = new Map<string, UserAccumulator>();
  // Maps take `null` as a key of its own: no key strings to build per row, and no "null" to confuse with null.
  readonly #groupIndex = new Map<string | null, Map<string | null, { key: UsageGroup['key']; acc: Accumulator }>>();
  readonly #groups: { key: UsageGroup['key']; acc: Accumulator }[] = [];
  readonly #dayOf = dayFormatter();
  readonly #totals = accumulator();

  constructor(query: AnalyticsQuery) {
    this.#query = query;
    this.#groupBy = checkedGroupBy(query.groupBy);
    this.#top = query.top ?? DEFAULT_TOP;
    if (!Number.isInteger(this.#top) || this.#top < 0) throw new RangeError(`top must be a whole number ≥ 0, got ${this.#top}`);
    this.#since = checkedBound('sinceMs', query.sinceMs);
    this.#until = checkedBound('untilMs', query.untilMs);
    this.#bounded = query.sinceMs !== undefined || query.untilMs !== undefined;
  }

  /** Counts one call (outside the window: skipped). */
  add(row: CallFigures): void {
    const query = this.#query;
    const bounded = this.#bounded;
    const sessionIndex = this.#sessionIndex;
    const sessionStates = this.#sessionStates;
    const users = this.#users;
    const [first, second] = this.#groupBy;
    const groupIndex = this.#groupIndex;
    const groups = this.#groups;
    const dayOf = this.#dayOf;
    const totals = this.#totals;
    const startMs = Date.parse(row.start_time);
    if (bounded) {
      // NaN compares false both ways: a start time that is no time cannot be shown to lie within.
      if (Number.isNaN(startMs)) return;
      if (query.sinceMs !== undefined && startMs < query.sinceMs) return;
      if (query.untilMs !== undefined && startMs >= query.untilMs) return;
    }
    const total = totalTokensOf(row);

    let session = sessionIndex.get(row.session_id);
    if (session === undefined) {
      session = sessionStates.length;
      sessionIndex.set(row.session_id, session);
      sessionStates.push({
        id: row.session_id,
        calls: 0,
        total: 0,
        cost: 0,
        priced: false,
        firstMs: startMs,
        firstCallId: row.call_id,
        startTime: row.start_time,
        userId: row.user_id,
        topCost: -Infinity,
        topMs: startMs,
        topCallId: row.call_id,
        model: null,
      });
    }
    const state = sessionStates[session]!;
    state.calls += 1;
    state.total = addTokens(state.total, total);
    // NaN start times sort last, never first.
    if (!Number.isNaN(startMs) && (Number.isNaN(state.firstMs) || earlier(startMs, row.call_id, state.firstMs, state.firstCallId))) {
      state.firstMs = startMs;
      state.firstCallId = row.call_id;
      state.startTime = row.start_time;
      state.userId = row.user_id;
    }
    if (row.cost_usd !== null) {
      state.cost += row.cost_usd;
      state.priced = true;
      if (row.cost_usd > state.topCost || (row.cost_usd === state.topCost && earlier(startMs, row.call_id, state.topMs, state.topCallId))) {
        state.topCost = row.cost_usd;
        state.topMs = startMs;
        state.topCallId = row.call_id;
        state.model = row.model;
      }
    }

    if (row.user_id !== null) {
      let user = users.get(row.user_id);
      if (!user) users.set(row.user_id, (user = { sessions: new Set(), calls: 0, total: 0, cost: 0, priced: false }));
      user.sessions.add(session);
      user.calls += 1;
      user.total = addTokens(user.total, total);
      if (row.cost_usd !== null) {
        user.cost += row.cost_usd;
        user.priced = true;
      }
    }

    add(totals, row, session, total);
    // Without dimensions the one group is the totals: no second copy of the percentile arrays.
    if (first !== undefined) {
      const firstValue = keyValue(row, first, startMs, dayOf);
      const secondValue = second === undefined ? null : keyValue(row, second, startMs, dayOf);
      let inner = groupIndex.get(firstValue);
      if (!inner) groupIndex.set(firstValue, (inner = new Map()));
      let group = inner.get(secondValue);
      if (!group) {
        const key: UsageGroup['key'] = { [first]: firstValue };
        if (second !== undefined) key[second] = secondValue;
        inner.set(secondValue, (group = { key, acc: accumulator() }));
        groups.push(group);
      }
      add(group.acc, row, session, total);
    }
  }

  /** The report of the calls added so far. */
  report(): AnalyticsReport {
    const groupBy = this.#groupBy;
    const top = this.#top;
    const since = this.#since;
    const until = this.#until;
    const totals = this.#totals;
    const groups = this.#groups;
    const sessionStates = this.#sessionStates;
    const users = this.#users;
    const totalFigures = figuresOf(totals);
    let usageGroups: UsageGroup[];
    if (groupBy.length === 0) {
      usageGroups = totals.calls === 0 ? [] : [{ key: {}, ...totalFigures }];
    } else {
      usageGroups = groups.map(({ key, acc }) => ({ key, ...figuresOf(acc) }));
      usageGroups.sort((a, b) => {
        if (a.cost_usd !== b.cost_usd) {
          if (a.cost_usd === null) return 1;
          if (b.cost_usd === null) return -1;
          return b.cost_usd - a.cost_usd;
        }
        if (a.total_tokens !== b.total_tokens) return b.total_tokens - a.total_tokens;
        for (const dimension of groupBy) {
          const order = compareKeyValues(a.key[dimension] ?? null, b.key[dimension] ?? null);
          if (order !== 0) return order;
        }
        return 0;
      });
    }

    const topSessions: TopSession[] = sessionStates
      .filter((state) => state.priced)
      .sort((a, b) => b.cost - a.cost || compareKeyValues(a.id, b.id))
      .slice(0, top)
      .map((state) => ({
        session_id: state.id,
        user_id: state.userId,
        model: state.model,
        start_time: state.startTime,
        calls: state.calls,
        total_tokens: state.total,
        cost_usd: state.cost,
      }));

    const topUsers: TopUser[] = [...users]
      .filter(([, user]) => user.priced)
      .sort(([idA, a], [idB, b]) => b.cost - a.cost || compareKeyValues(idA, idB))
      .slice(0, top)
      .map(([userId, user]) => ({
        user_id: userId,
        sessions: user.sessions.size,
        calls: user.calls,
        total_tokens: user.total,
        cost_usd: user.cost,
      }));

    return { group_by: groupBy, since, until, groups: usageGroups, totals: totalFigures, top_sessions: topSessions, top_users: topUsers };
  }
}
