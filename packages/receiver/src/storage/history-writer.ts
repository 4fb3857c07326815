/**
 * Writes the live store's changes to the history store, in group commits: every request that
 * changed sessions waits for the commit that carries its changes, and the requests that finish
 * while a commit runs share the next one. A request is acknowledged only after its commit.
 *
 * Changes are collected by trace from the live store's change events, so a session touched by many
 * requests between two commits is written once, as it stands at commit time. A running session's
 * new span records are appended with every commit (a restart rebuilds it from them); its row follows
 * at most every `runningRowIntervalMs`, and at once when it ends. A failed commit keeps
 * its changes for the next one (nothing acknowledged is lost, nothing unacknowledged is claimed);
 * while the database fails, the writer is unhealthy and probes it every second until it answers.
 */
import { isEnded } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import type {
  HistoryCommit,
  HistoryStore,
  ProcessingSession,
  SessionChange,
  SessionStore,
  SpanRecord,
  TraceSnapshot,
} from '@llm-monitor/sessions';

/** Options of {@link HistoryWriter}. */
export interface HistoryWriterOptions {
  /** Where the live sessions are (the writer subscribes to their changes). */
  readonly store: SessionStore;
  /** The records of a trace kept since the last call (the builder's), for the store to append. */
  readonly takeUnsaved: (traceId: string) => TraceSnapshot | undefined;
  /** Told when a commit failed (for a log line); the error is also what waiting requests get. */
  readonly onCommitError?: (error: unknown) => void;
  /** Told when the database answers again after failing. */
  readonly onRecovered?: () => void;
  /**
   * Told of a session the store refused on its own (a commit that failed for its data, not for the
   * database being unavailable, and failed again alone): it is left out so it cannot block the rest.
   */
  readonly onSessionDropped?: (error: unknown, session: ProcessingSession) => void;
  /** Milliseconds between probes of a failing database (default 1,000). */
  readonly probeIntervalMs?: number;
  /**
   * Least milliseconds between two writes of a running session's row (default 2,000). Its spans
   * are committed with every request (that is what a restart rebuilds it from); its row — what
   * history lists show of a running session — follows at this pace, and at once when it ends.
   */
  readonly runningRowIntervalMs?: number;
}

/** What the writer reports for `/readyz` and self-metrics. */
export interface HistoryWriterStats {
  readonly healthy: boolean;
  /** Traces changed and not committed yet. */
  readonly pending: number;
  readonly commits: number;
  readonly failedCommits: number;
  /** Sessions written, summed over commits. */
  readonly sessionsWritten: number;
  /** Duration of the last successful commit, in milliseconds. */
  readonly lastCommitMs: number | null;
  /** The last failure's message, while unhealthy. */
  readonly error: string | null;
  /** Sessions the store refused on their own and that were left out (see `onSessionDropped`). */
  readonly sessionsDropped: number;
}

/** True for the failures waiting may mend: the database unreachable, full, locked, read-only. */
function isUnavailable(error: unknown): boolean {
  return error instanceof LlmMonitorError && error.code === 'LLMMON_ERR_STORE_UNAVAILABLE';
}

/** Records of one trace waiting for a commit. */
interface PendingRecords {
  lastSeenMs: number;
  spans: SpanRecord[];
}

/** The group committer between the live store and the history store. */
export class HistoryWriter {
  readonly #history: HistoryStore;
  readonly #options: HistoryWriterOptions;
  readonly #runningRowIntervalMs: number;
  /** Sessions changed since the last commit, by trace. */
  #changed = new Map<string, ProcessingSession>();
  /** Traces whose session left the live window since the last commit. */
  #left = new Set<string>();
  /** Records of running traces not committed yet (taken from the builder, or kept from a failed commit). */
  #records = new Map<string, PendingRecords>();
  /** Rows of running sessions held back by `runningRowIntervalMs`, by trace. */
  readonly #deferred = new Map<string, ProcessingSession>();
  /** When each running session's row was last written. */
  readonly #rowWrittenAt = new Map<string, number>();
  /** The commit running now. */
  #running: Promise<void> | undefined;
  /** The commit that will start when the running one ends: later requests join it. */
  #next: Promise<void> | undefined;
  #error: unknown;
  #probe: NodeJS.Timeout | undefined;
  readonly #deferredTimer: NodeJS.Timeout;
  #closed = false;
  #commits = 0;
  #failedCommits = 0;
  #sessionsWritten = 0;
  #lastCommitMs: number | null = null;
  #sessionsDropped = 0;
  readonly #unsubscribe: () => void;

  constructor(history: HistoryStore, options: HistoryWriterOptions) {
    this.#history = history;
    this.#options = options;
    this.#runningRowIntervalMs = options.runningRowIntervalMs ?? 2000;
    this.#unsubscribe = options.store.subscribe((change) => this.#note(change), 'history');
    this.#deferredTimer = setInterval(() => this.#releaseDeferred(), this.#runningRowIntervalMs);
    this.#deferredTimer.unref();
  }

  #note(change: SessionChange): void {
    const traceId = change.session.trace_id;
    if (change.type === 'removed') this.#left.add(traceId);
    else if (change.type !== 'renamed') this.#changed.set(traceId, change.session);
  }

  /** Moves the held-back rows of running sessions into the next commit. */
  #releaseDeferred(): void {
    if (this.#deferred.size === 0) return;
    for (const [traceId, session] of this.#deferred) if (!this.#changed.has(traceId)) this.#changed.set(traceId, session);
    this.#deferred.clear();
    this.flush().catch(() => undefined);
  }

  /** True while commits succeed (or none failed since the database last answered). */
  get healthy(): boolean {
    return this.#error === undefined;
  }

  /**
   * Resolves once every change noted before the call is committed; rejects with the database's
   * error (`LLMMON_ERR_STORE_UNAVAILABLE`) when that commit failed.
   */
  flush(): Promise<void> {
    if (this.#changed.size === 0 && this.#left.size === 0 && this.#records.size === 0) return this.#running ?? Promise.resolve();
    this.#next ??= this.#afterRunning();
    return this.#next;
  }

  async #afterRunning(): Promise<void> {
    // Let the requests finishing in this turn of the event loop join the commit.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#running) await this.#running.catch(() => undefined);
    this.#next = undefined;
    const running = this.#commit();
    this.#running = running;
    try {
      await running;
    } finally {
      if (this.#running === running) this.#running = undefined;
    }
  }

  #addRecords(snapshot: TraceSnapshot | undefined): void {
    if (!snapshot || snapshot.spans.length === 0) return;
    const pending = this.#records.get(snapshot.traceId);
    if (pending) {
      pending.spans.push(...snapshot.spans);
      pending.lastSeenMs = Math.max(pending.lastSeenMs, snapshot.lastSeenMs);
    } else {
      this.#records.set(snapshot.traceId, { lastSeenMs: snapshot.lastSeenMs, spans: [...snapshot.spans] });
    }
  }

  async #commit(): Promise<void> {
    const changed = this.#changed;
    const left = this.#left;
    this.#changed = new Map();
    this.#left = new Set();
    const nowMs = Date.now();
    const sessions: ProcessingSession[] = [];
    const settled: string[] = [];
    for (const [traceId, session] of changed) {
      if (!isEnded(session.status) && !left.has(traceId)) {
        this.#addRecords(this.#options.takeUnsaved(traceId));
        const writtenAt = this.#rowWrittenAt.get(traceId);
        if (writtenAt !== undefined && nowMs - writtenAt < this.#runningRowIntervalMs) {
          this.#deferred.set(traceId, session);
          continue;
        }
        this.#deferred.delete(traceId);
        sessions.push(session);
      } else {
        // Ended (or gone from the live window): its row now, its records no more.
        this.#options.takeUnsaved(traceId);
        this.#records.delete(traceId);
        this.#deferred.delete(traceId);
        sessions.push(session);
        settled.push(traceId);
      }
    }
    for (const traceId of left) {
      if (changed.has(traceId)) continue;
      this.#records.delete(traceId);
      const deferred = this.#deferred.get(traceId);
      if (deferred) sessions.push(deferred);
      this.#deferred.delete(traceId);
      settled.push(traceId);
    }
    const records = this.#records;
    this.#records = new Map();
    const running: TraceSnapshot[] = [...records].map(([traceId, pending]) => ({
      traceId,
      lastSeenMs: pending.lastSeenMs,
      spans: pending.spans,
    }));
    const commit: HistoryCommit = { sessions, running, settled, leftLiveWindow: [...left] };
    const startedAt = performance.now();
    try {
      await this.#history.commit(commit);
    } catch (error) {
      let failure = error;
      if (!isUnavailable(error)) {
        // Not the database being away but something in the data (or a bug): retrying it whole
        // would fail for ever and hold every request at 503. Each trace goes on its own; the
        // sessions that fail alone are left out, said and counted, and the rest is stored.
        try {
          await this.#commitOneByOne(commit);
          this.#afterCommit(sessions, left, startedAt);
          return;
        } catch (again) {
          failure = again;
        }
      }
      // Kept for the next commit, under what changed since (which is newer).
      for (const session of sessions) if (!this.#changed.has(session.trace_id)) this.#changed.set(session.trace_id, session);
      for (const traceId of left) this.#left.add(traceId);
      for (const snapshot of running) this.#addRecords(snapshot);
      this.#failedCommits += 1;
      this.#fail(failure);
      throw failure;
    }
    this.#afterCommit(sessions, left, startedAt);
  }

  #afterCommit(sessions: readonly ProcessingSession[], left: ReadonlySet<string>, startedAt: number): void {
    const nowMs = Date.now();
    for (const session of sessions) {
      if (isEnded(session.status) || left.has(session.trace_id)) this.#rowWrittenAt.delete(session.trace_id);
      else this.#rowWrittenAt.set(session.trace_id, nowMs);
    }
    for (const traceId of left) this.#rowWrittenAt.delete(traceId);
    this.#commits += 1;
    this.#sessionsWritten += sessions.length;
    this.#lastCommitMs = performance.now() - startedAt;
    if (this.#error !== undefined) {
      this.#error = undefined;
      this.#options.onRecovered?.();
    }
  }

  /**
   * Commits a refused commit a trace at a time. A trace whose commit fails for its data is dropped;
   * one that fails because the database went away meanwhile throws, and the whole commit is kept
   * for the next attempt as usual.
   */
  async #commitOneByOne(commit: HistoryCommit): Promise<void> {
    const traces = new Set<string>([
      ...commit.sessions.map((session) => session.trace_id),
      ...commit.running.map((snapshot) => snapshot.traceId),
      ...commit.settled,
    ]);
    for (const traceId of traces) {
      const part: HistoryCommit = {
        sessions: commit.sessions.filter((session) => session.trace_id === traceId),
        running: commit.running.filter((snapshot) => snapshot.traceId === traceId),
        settled: commit.settled.filter((id) => id === traceId),
        leftLiveWindow: commit.leftLiveWindow.filter((id) => id === traceId),
      };
      try {
        await this.#history.commit(part);
      } catch (error) {
        if (isUnavailable(error)) throw error;
        for (const session of part.sessions) {
          this.#sessionsDropped += 1;
          this.#options.onSessionDropped?.(error, session);
        }
      }
    }
  }

  #fail(error: unknown): void {
    const first = this.#error === undefined;
    this.#error = error;
    if (first) this.#options.onCommitError?.(error);
    if (this.#probe || this.#closed) return;
    this.#probe = setInterval(() => {
      void this.#history.ping().then(
        () => {
          clearInterval(this.#probe);
          this.#probe = undefined;
          // The pending changes go in now, not with the next request.
          this.flush().catch(() => undefined);
        },
        () => undefined,
      );
    }, this.#options.probeIntervalMs ?? 1000);
    this.#probe.unref();
  }

  /** Figures for health and metrics. */
  stats(): HistoryWriterStats {
    return {
      healthy: this.healthy,
      pending: new Set([...this.#changed.keys(), ...this.#left, ...this.#deferred.keys(), ...this.#records.keys()]).size,
      commits: this.#commits,
      failedCommits: this.#failedCommits,
      sessionsWritten: this.#sessionsWritten,
      lastCommitMs: this.#lastCommitMs,
      error: this.#error === undefined ? null : (this.#error as Error).message,
      sessionsDropped: this.#sessionsDropped,
    };
  }

  /** Commits what is pending, held-back rows included (best effort), and stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    clearInterval(this.#deferredTimer);
    this.#unsubscribe();
    for (const [traceId, session] of this.#deferred) if (!this.#changed.has(traceId)) this.#changed.set(traceId, session);
    this.#deferred.clear();
    this.#rowWrittenAt.clear();
    await this.flush().catch(() => undefined);
  }
}
