/**
 * Statistics over sessions: counts by status, success rate, processing time and time-to-first-token
 * percentiles, token sums — overall and broken down by model, task and processor type. Pure: the
 * sessions and the window are passed in.
 */
import type { ProcessingSession } from './model.js';
import { startedWithin } from './session-query.js';

/** Distribution of a duration in milliseconds; `null`s when there is no value. */
export interface DurationSummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Statistics of a set of sessions. */
export interface SessionStatistics {
  sessions_total: number;
  active: number;
  completed: number;
  failed: number;
  abandoned: number;
  /** completed / (completed + failed + abandoned); `null` while none has ended. */
  success_rate: number | null;
  processing_time_ms: DurationSummary;
  time_to_first_token_ms: DurationSummary;
  tokens_in: number;
  tokens_out: number;
}

/** Statistics overall and by dimension, as `GET /api/monitoring/statistics` serves them. */
export interface StatisticsReport extends SessionStatistics {
  /** ISO times of the window, when one was asked for. */
  since: string | null;
  until: string | null;
  by_model: Record<string, SessionStatistics>;
  by_task: Record<string, SessionStatistics>;
  by_processor_type: Record<string, SessionStatistics>;
}

/** Window of {@link computeStatistics}: sessions that started within it (ms since the epoch). */
export interface StatisticsWindow {
  readonly sinceMs?: number;
  readonly untilMs?: number;
}

/** The key sessions without a value fall under in breakdowns. */
export const UNKNOWN_KEY = 'unknown';

/** The value at quantile `q` (nearest rank) of ascending `sorted`. */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * The values in ascending order. A Float64Array sorts numerically in native code: a month of
 * durations (hundreds of thousands) sorts in milliseconds, where `Array.prototype.sort` with a
 * comparator held the event loop for hundreds (bench/storage.bench.ts, whole-history statistics).
 */
export function sortedNumbers(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function summarize(unsorted: readonly number[]): DurationSummary {
  const values = sortedNumbers(unsorted);
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count: values.length,
    mean: values.length === 0 ? null : sum / values.length,
    p50: quantile(values, 0.5),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
  };
}

/** What statistics read of a session: its figures, without timeline, calls or texts. */
export type StatisticsInput = Pick<
  ProcessingSession,
  'status' | 'start_time' | 'duration_ms' | 'time_to_first_token_ms' | 'token_counts' | 'model' | 'task' | 'processor_type'
>;

/** Counts, sums and the durations percentiles need: what one group of statistics keeps. */
class GroupFigures {
  readonly counts = { active: 0, completed: 0, failed: 0, abandoned: 0 };
  readonly durations: number[] = [];
  readonly firstTokens: number[] = [];
  tokensIn = 0;
  tokensOut = 0;
  total = 0;

  add(session: StatisticsInput): void {
    this.total += 1;
    this.counts[session.status] += 1;
    if (session.status !== 'active' && session.duration_ms !== null) this.durations.push(session.duration_ms);
    if (session.time_to_first_token_ms !== null) this.firstTokens.push(session.time_to_first_token_ms);
    this.tokensIn += session.token_counts.input ?? 0;
    this.tokensOut += session.token_counts.output ?? 0;
  }

  statistics(): SessionStatistics {
    const counts = this.counts;
    const ended = counts.completed + counts.failed + counts.abandoned;
    return {
      sessions_total: this.total,
      ...counts,
      success_rate: ended === 0 ? null : counts.completed / ended,
      processing_time_ms: summarize(this.durations),
      time_to_first_token_ms: summarize(this.firstTokens),
      tokens_in: this.tokensIn,
      tokens_out: this.tokensOut,
    };
  }
}

/** Groups of one breakdown, by name (sessions without a value under {@link UNKNOWN_KEY}). */
class Breakdown {
  readonly #groups = new Map<string, GroupFigures>();
  readonly #key: (session: StatisticsInput) => string | null;

  constructor(key: (session: StatisticsInput) => string | null) {
    this.#key = key;
  }

  add(session: StatisticsInput): void {
    const name = this.#key(session) ?? UNKNOWN_KEY;
    let group = this.#groups.get(name);
    if (!group) this.#groups.set(name, (group = new GroupFigures()));
    group.add(session);
  }

  report(): Record<string, SessionStatistics> {
    const result: Record<string, SessionStatistics> = {};
    for (const [name, group] of [...this.#groups].sort(([a], [b]) => a.localeCompare(b))) {
      // defineProperty: a model named `__proto__` is a key like any other, not the object's prototype.
      Object.defineProperty(result, name, { value: group.statistics(), enumerable: true, writable: true, configurable: true });
    }
    return result;
  }
}

/**
 * {@link computeStatistics} a session at a time, for stores that read history in chunks: it keeps
 * counts, sums and durations per group, never the sessions.
 */
export class StatisticsAccumulator {
  readonly #window: StatisticsWindow;
  readonly #all = new GroupFigures();
  readonly #byModel = new Breakdown((session) => session.model);
  readonly #byTask = new Breakdown((session) => session.task);
  readonly #byProcessorType = new Breakdown((session) => session.processor_type);

  constructor(window: StatisticsWindow = {}) {
    this.#window = window;
  }

  /** Counts a session (one that started outside the window: skipped). */
  add(session: StatisticsInput): void {
    if (!startedWithin(session.start_time, this.#window)) return;
    this.#all.add(session);
    this.#byModel.add(session);
    this.#byTask.add(session);
    this.#byProcessorType.add(session);
  }

  /** The report of the sessions added so far. */
  report(): StatisticsReport {
    const window = this.#window;
    return {
      since: window.sinceMs === undefined ? null : new Date(window.sinceMs).toISOString(),
      until: window.untilMs === undefined ? null : new Date(window.untilMs).toISOString(),
      ...this.#all.statistics(),
      by_model: this.#byModel.report(),
      by_task: this.#byTask.report(),
      by_processor_type: this.#byProcessorType.report(),
    };
  }
}

/** Statistics of the sessions that started within the window (all of them without one). */
export function computeStatistics(all: Iterable<StatisticsInput>, window: StatisticsWindow = {}): StatisticsReport {
  const accumulator = new StatisticsAccumulator(window);
  for (const session of all) accumulator.add(session);
  return accumulator.report();
}
