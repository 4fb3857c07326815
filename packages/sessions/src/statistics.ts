/**
 * Statistics over sessions: counts by status, success rate, processing time and time-to-first-token
 * percentiles, token sums — overall and broken down by model, task and processor type. Pure: the
 * sessions and the window are passed in.
 */
import type { ProcessingSession } from './model.js';

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
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarize(values: number[]): DurationSummary {
  values.sort((a, b) => a - b);
  const sum = values.reduce((total, value) => total + value, 0);
  return {
    count: values.length,
    mean: values.length === 0 ? null : sum / values.length,
    p50: quantile(values, 0.5),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
  };
}

function statisticsOf(sessions: readonly ProcessingSession[]): SessionStatistics {
  const counts = { active: 0, completed: 0, failed: 0, abandoned: 0 };
  const durations: number[] = [];
  const firstTokens: number[] = [];
  let tokensIn = 0;
  let tokensOut = 0;
  for (const session of sessions) {
    counts[session.status] += 1;
    if (session.status !== 'active' && session.duration_ms !== null) durations.push(session.duration_ms);
    if (session.time_to_first_token_ms !== null) firstTokens.push(session.time_to_first_token_ms);
    tokensIn += session.token_counts.input ?? 0;
    tokensOut += session.token_counts.output ?? 0;
  }
  const ended = counts.completed + counts.failed + counts.abandoned;
  return {
    sessions_total: sessions.length,
    ...counts,
    success_rate: ended === 0 ? null : counts.completed / ended,
    processing_time_ms: summarize(durations),
    time_to_first_token_ms: summarize(firstTokens),
    tokens_in: tokensIn,
    tokens_out: tokensOut,
  };
}

function breakdown(sessions: readonly ProcessingSession[], key: (session: ProcessingSession) => string | null): Record<string, SessionStatistics> {
  const groups = new Map<string, ProcessingSession[]>();
  for (const session of sessions) {
    const name = key(session) ?? UNKNOWN_KEY;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = []));
    group.push(session);
  }
  const result: Record<string, SessionStatistics> = {};
  for (const [name, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    // defineProperty: a model named `__proto__` is a key like any other, not the object's prototype.
    Object.defineProperty(result, name, { value: statisticsOf(group), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** Statistics of the sessions that started within the window (all of them without one). */
export function computeStatistics(all: Iterable<ProcessingSession>, window: StatisticsWindow = {}): StatisticsReport {
  const sessions: ProcessingSession[] = [];
  for (const session of all) {
    const startMs = Date.parse(session.start_time);
    if (window.sinceMs !== undefined && startMs < window.sinceMs) continue;
    if (window.untilMs !== undefined && startMs >= window.untilMs) continue;
    sessions.push(session);
  }
  return {
    since: window.sinceMs === undefined ? null : new Date(window.sinceMs).toISOString(),
    until: window.untilMs === undefined ? null : new Date(window.untilMs).toISOString(),
    ...statisticsOf(sessions),
    by_model: breakdown(sessions, (session) => session.model),
    by_task: breakdown(sessions, (session) => session.task),
    by_processor_type: breakdown(sessions, (session) => session.processor_type),
  };
}
