/**
 * What the page knows from the live stream: the running sessions with their stage, message and
 * streamed text, the latest statistics, recent endings for the charts, token arrivals for the
 * tokens-per-second figure, and the event log. Pure (no DOM), so it is tested in Node; views
 * subscribe to its changes.
 */
import type { LiveSessionSummary, LiveStage, LiveTokens, StatisticsReport } from '@llm-monitor/client';

/** A running session as the page shows it. */
export interface ActiveSession {
  summary: LiveSessionSummary;
  /** The message of the current stage. */
  message: string;
  /** Tokens streamed so far. */
  streamed: number;
  /** The streamed text so far, when the application captures it (the tail only, for the list). */
  text: string;
  /** When anything about it last changed (ms since the epoch). */
  updatedAt: number;
}

/** One line of the event log. */
export interface LogLine {
  readonly id: number;
  readonly time: number;
  readonly sessionId: string;
  readonly kind: 'started' | 'stage' | 'tokens' | 'completed' | 'failed' | 'abandoned' | 'renamed' | 'connection';
  readonly text: string;
}

/** One bucket of the throughput and latency charts. */
export interface ChartBucket {
  readonly start: number;
  readonly completed: number;
  readonly failed: number;
  /** Median duration of the sessions that ended in the bucket, `null` when none did. */
  readonly p50Ms: number | null;
}

/** What changed, so views redraw only their part; `steps`: a step of {@link LiveState.lastStepSessionId} started or ended. */
export type LiveChange = 'sessions' | 'statistics' | 'log' | 'connection' | 'steps';

/** Options of {@link LiveState}. */
export interface LiveStateOptions {
  /** Log lines kept (default 500). */
  readonly maxLogLines?: number;
  /** Characters of streamed text kept per running session (default 2,000). */
  readonly maxTextPerSession?: number;
  /** How far back the charts reach, in ms (default 5 minutes). */
  readonly chartSpanMs?: number;
}

const TOKENS_WINDOW_MS = 10_000;

/** Removes (and returns) the leading entries of time-ordered `entries` older than `cutoff`, in one splice. */
function dropOlderThan<T extends { readonly time: number }>(entries: T[], cutoff: number): T[] {
  let expired = 0;
  while (expired < entries.length && entries[expired]!.time < cutoff) expired += 1;
  return expired === 0 ? [] : entries.splice(0, expired);
}

/** The live picture of the monitor, fed by a live subscription. */
export class LiveState {
  readonly active = new Map<string, ActiveSession>();
  statistics: StatisticsReport | null = null;
  /** The session of the latest step event (steps are not logged: a session can have hundreds). */
  lastStepSessionId: string | null = null;
  readonly log: LogLine[] = [];
  #logId = 0;
  readonly #endings: { time: number; status: 'completed' | 'failed'; durationMs: number | null; sessionId: string }[] = [];
  /** Sessions already in the charts: an ending seen both live and in history counts once. */
  readonly #charted = new Set<string>();
  readonly #tokenArrivals: { time: number; count: number }[] = [];
  /** Ids sessions were first known by (their trace id), to the id they have now; the newest 1,000. */
  readonly #renames = new Map<string, string>();
  readonly #listeners = new Set<(change: LiveChange) => void>();
  readonly #maxLogLines: number;
  readonly #maxText: number;
  readonly #chartSpanMs: number;

  constructor(options: LiveStateOptions = {}) {
    this.#maxLogLines = options.maxLogLines ?? 500;
    this.#maxText = options.maxTextPerSession ?? 2000;
    this.#chartSpanMs = options.chartSpanMs ?? 5 * 60_000;
  }

  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: (change: LiveChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: LiveChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  #addLog(time: number, sessionId: string, kind: LogLine['kind'], text: string): void {
    this.#logId += 1;
    this.log.push({ id: this.#logId, time, sessionId, kind, text });
    if (this.log.length > this.#maxLogLines) this.log.splice(0, this.log.length - this.#maxLogLines);
    this.#emit('log');
  }

  /** The server's view on (re)connecting: it replaces the running sessions. */
  snapshot(snapshot: { statistics: StatisticsReport; active_sessions: LiveSessionSummary[] }, now: number): void {
    const previous = this.active;
    const next = new Map<string, ActiveSession>();
    for (const summary of snapshot.active_sessions) {
      const known = previous.get(summary.session_id);
      next.set(summary.session_id, {
        summary,
        message: known?.message ?? '',
        streamed: Math.max(known?.streamed ?? 0, summary.token_counts.streamed),
        text: known?.text ?? '',
        updatedAt: now,
      });
    }
    this.active.clear();
    for (const [id, session] of next) this.active.set(id, session);
    this.statistics = snapshot.statistics;
    this.#emit('sessions');
    this.#emit('statistics');
  }

  sessionStarted(summary: LiveSessionSummary, now: number): void {
    this.active.set(summary.session_id, { summary, message: '', streamed: summary.token_counts.streamed, text: '', updatedAt: now });
    this.#addLog(now, summary.session_id, 'started', [summary.task, summary.model].filter(Boolean).join(' · ') || 'session started');
    this.#emit('sessions');
  }

  stage(stage: LiveStage, now: number): void {
    const session = this.active.get(stage.session_id);
    if (session) {
      session.summary = { ...session.summary, current_stage: stage.stage, progress: Math.max(session.summary.progress, stage.progress) };
      session.message = stage.message;
      session.updatedAt = now;
      this.#emit('sessions');
    }
    this.#addLog(now, stage.session_id, 'stage', `${stage.stage} ${stage.progress}%${stage.message ? ` — ${stage.message}` : ''}`);
  }

  tokens(tokens: LiveTokens, now: number): void {
    this.#tokenArrivals.push({ time: now, count: tokens.count });
    // Trimmed here too: the figure is read only on the live view, the arrivals come on every view.
    this.#trimTokenArrivals(now);
    const session = this.active.get(tokens.session_id);
    if (session) {
      session.streamed = tokens.total;
      if (tokens.text !== undefined) {
        const text = tokens.text_reset ? tokens.text : session.text + tokens.text;
        session.text = text.length > this.#maxText ? text.slice(text.length - this.#maxText) : text;
      }
      session.updatedAt = now;
      this.#emit('sessions');
    }
    this.#addLog(now, tokens.session_id, 'tokens', `+${tokens.count} tokens (${tokens.total} so far)`);
  }

  ended(summary: LiveSessionSummary, now: number): void {
    this.active.delete(summary.session_id);
    if (summary.status === 'completed' || summary.status === 'failed') {
      // Live endings come at `now`, after everything already held: the order holds without sorting.
      this.#chart(summary.session_id, summary.status, summary.duration_ms, now);
      this.#trimEndings(now);
    }
    const kind = summary.status === 'completed' ? 'completed' : summary.status === 'failed' ? 'failed' : 'abandoned';
    const detail =
      summary.status === 'failed' && summary.error
        ? `: ${summary.error}`
        : summary.duration_ms === null
          ? ''
          : ` in ${Math.round(summary.duration_ms)} ms`;
    this.#addLog(now, summary.session_id, kind, `${summary.status}${detail}`);
    this.#emit('sessions');
  }

  /** A step of a session started or ended; the session page fetches that session again. */
  step(sessionId: string, now: number): void {
    this.lastStepSessionId = sessionId;
    const session = this.active.get(sessionId);
    if (session) session.updatedAt = now;
    this.#emit('steps');
  }

  /** A session known by its trace id got its real id. */
  renamed(previousId: string, sessionId: string, now: number): void {
    this.#renames.set(previousId, sessionId);
    if (this.#renames.size > 1000) this.#renames.delete(this.#renames.keys().next().value!);
    const session = this.active.get(previousId);
    if (session) {
      this.active.delete(previousId);
      session.summary = { ...session.summary, session_id: sessionId };
      this.active.set(sessionId, session);
      this.#emit('sessions');
    }
    this.#addLog(now, sessionId, 'renamed', `was ${previousId}`);
  }

  /** The id a session has now, following renames: a link to the first id keeps working. */
  resolveId(sessionId: string): string {
    let id = sessionId;
    for (let hops = 0; hops < 8 && this.#renames.has(id); hops += 1) id = this.#renames.get(id)!;
    return id;
  }

  /** The store let go of a session (retention, capacity). */
  removed(sessionId: string): void {
    if (this.active.delete(sessionId)) this.#emit('sessions');
  }

  statisticsUpdated(report: StatisticsReport): void {
    this.statistics = report;
    this.#emit('statistics');
  }

  /** Connection changes go to the log too: a gap in the stream should be visible there. */
  connection(text: string, now: number): void {
    this.#addLog(now, '', 'connection', text);
    this.#emit('connection');
  }

  /** Tokens per second arriving over the last ten seconds. */
  /** How many token arrivals are held: those of the last ten seconds, however long the page is open. */
  get tokenArrivalsHeld(): number {
    return this.#tokenArrivals.length;
  }

  #trimTokenArrivals(now: number): void {
    dropOlderThan(this.#tokenArrivals, now - TOKENS_WINDOW_MS);
  }

  tokensPerSecond(now: number): number {
    this.#trimTokenArrivals(now);
    const count = this.#tokenArrivals.reduce((sum, arrival) => sum + arrival.count, 0);
    return count / (TOKENS_WINDOW_MS / 1000);
  }

  /** Adds an ending (once per session); callers keep `#endings` in time order. */
  #chart(sessionId: string, status: 'completed' | 'failed', durationMs: number | null, time: number): void {
    if (this.#charted.has(sessionId)) return;
    this.#charted.add(sessionId);
    this.#endings.push({ time, status, durationMs, sessionId });
  }

  /**
   * Fills the charts with sessions that ended before the page was open (from the history), so they
   * show the last minutes at once rather than starting empty.
   */
  seedEndings(
    sessions: readonly { session_id: string; status: string; end_time: string | null; duration_ms: number | null }[],
    now: number,
  ): void {
    for (const session of sessions) {
      if ((session.status !== 'completed' && session.status !== 'failed') || !session.end_time) continue;
      const time = Date.parse(session.end_time);
      if (time >= now - this.#chartSpanMs && time <= now) this.#chart(session.session_id, session.status, session.duration_ms, time);
    }
    // History interleaves with what came live: one sort per seeding, never per ending.
    this.#endings.sort((a, b) => a.time - b.time);
    this.#trimEndings(now);
    this.#emit('statistics');
  }

  #trimEndings(now: number): void {
    for (const ending of dropOlderThan(this.#endings, now - this.#chartSpanMs)) this.#charted.delete(ending.sessionId);
  }

  /** Endings per bucket over the chart span, oldest first; `bucketMs` wide. */
  chartBuckets(now: number, bucketMs = 10_000): ChartBucket[] {
    this.#trimEndings(now);
    const count = Math.ceil(this.#chartSpanMs / bucketMs);
    const firstStart = Math.floor(now / bucketMs) * bucketMs - (count - 1) * bucketMs;
    const buckets = Array.from({ length: count }, (_, index) => ({
      start: firstStart + index * bucketMs,
      completed: 0,
      failed: 0,
      durations: [] as number[],
    }));
    for (const ending of this.#endings) {
      const bucket = buckets[Math.floor((ending.time - firstStart) / bucketMs)];
      if (!bucket) continue;
      bucket[ending.status] += 1;
      if (ending.durationMs !== null) bucket.durations.push(ending.durationMs);
    }
    return buckets.map(({ start, completed, failed, durations }) => {
      durations.sort((a, b) => a - b);
      return { start, completed, failed, p50Ms: durations.length === 0 ? null : durations[Math.ceil(durations.length / 2) - 1]! };
    });
  }
}
