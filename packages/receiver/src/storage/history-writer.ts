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
 *
 * On a store shared by replicas, a trace's spans may reach more than one of them (a front that does
 * not route by trace id). Each replica then merges what the others appended of the traces it holds:
 * after each commit (the requests answered first) it reads the others' new records of the traces it
 * appended to, before the commit that ends a session it reads them for that trace too (so the row
 * written is the merged one), and {@link HistoryWriter.reconcile} does the same on demand. Each row
 * carries how many spans it was built from; the store keeps the row built from the most.
 */
import { isEnded } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import type {
  ForeignRecords,
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
  /**
   * How many distinct spans the builder holds of a trace (the pipeline's `spanCountOf`), read when
   * its session changes and committed with the row: a shared store keeps the row built from the
   * most spans. Without it, rows are committed without counts (each counts 0).
   */
  readonly spanCountOf?: (traceId: string) => number;
  /**
   * Takes span records other replicas appended of a trace this replica holds (the pipeline's
   * `mergeStored`: added without being appended again; change events follow as for ingest). Only
   * with it, and on a {@link HistoryStore.shared} store, does the writer read them.
   */
  readonly mergeForeign?: (snapshot: TraceSnapshot) => void;
  /**
   * Told when reading (or merging) other replicas' records failed, for a log line — a failed read
   * once until a read succeeds again. Commits and the requests waiting for them are not affected;
   * the next read tries again from where the last successful one ended.
   */
  readonly onForeignError?: (error: unknown) => void;
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
  /** Span records of other replicas handed to `mergeForeign` (shared stores). */
  readonly foreignRecordsMerged: number;
  /** Reads of other replicas' records that failed (see `onForeignError`). */
  readonly foreignReadsFailed: number;
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

/** A session's row waiting for a commit, with how many spans it was built from. */
interface PendingRow {
  readonly session: ProcessingSession;
  readonly spanCount: number;
}

/** The group committer between the live store and the history store. */
export class HistoryWriter {
  readonly #history: HistoryStore;
  readonly #options: HistoryWriterOptions;
  readonly #runningRowIntervalMs: number;
  /** Sessions changed since the last commit, by trace. */
  #changed = new Map<string, PendingRow>();
  /** Traces whose session left the live window since the last commit. */
  #left = new Set<string>();
  /** Records of running traces not committed yet (taken from the builder, or kept from a failed commit). */
  #records = new Map<string, PendingRecords>();
  /** Rows of running sessions held back by `runningRowIntervalMs`, by trace. */
  readonly #deferred = new Map<string, PendingRow>();
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
  /** True when other replicas may write the store: records of settled traces are committed too. */
  readonly #shared: boolean;
  /** Where each merge goes, when the store is shared and the writer was given one. */
  readonly #mergeForeign: ((snapshot: TraceSnapshot) => void) | undefined;
  /**
   * Per trace this replica appended records of (until it settles or leaves): by other replica, the
   * highest seq of theirs already merged. A trace of no other replica has an empty map.
   */
  readonly #cursors = new Map<string, Map<string, number>>();
  /** Reads of other replicas' records running after their commit (close waits for them). */
  readonly #reads = new Set<Promise<unknown>>();
  #foreignRecordsMerged = 0;
  #foreignReadsFailed = 0;
  /** True from a failed read of the others' records to the next one that succeeds (it is told once). */
  #foreignFailing = false;

  constructor(history: HistoryStore, options: HistoryWriterOptions) {
    this.#history = history;
    this.#options = options;
    this.#runningRowIntervalMs = options.runningRowIntervalMs ?? 2000;
    this.#shared = history.shared;
    this.#mergeForeign = history.shared ? options.mergeForeign : undefined;
    this.#unsubscribe = options.store.subscribe((change) => this.#note(change), 'history');
    this.#deferredTimer = setInterval(() => this.#releaseDeferred(), this.#runningRowIntervalMs);
    this.#deferredTimer.unref();
  }

  #note(change: SessionChange): void {
    const traceId = change.session.trace_id;
    if (change.type === 'removed') this.#left.add(traceId);
    // The count now: the builder rebuilt the session from what it holds, and may forget the trace
    // before the commit (a session leaving the live window).
    else if (change.type !== 'renamed')
      this.#changed.set(traceId, { session: change.session, spanCount: this.#options.spanCountOf?.(traceId) ?? 0 });
  }

  /** Moves the held-back rows of running sessions into the next commit. */
  #releaseDeferred(): void {
    if (this.#deferred.size === 0) return;
    for (const [traceId, row] of this.#deferred) if (!this.#changed.has(traceId)) this.#changed.set(traceId, row);
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
    // A session about to end is written as merged as this replica can make it: the others' latest
    // records of its trace first (their merge updates #changed before it is taken below). Not while
    // the database fails: this commit is what finds out whether it answers again.
    if (this.#mergeForeign && this.#error === undefined) await this.#mergeBeforeEnding();
    const changed = this.#changed;
    const left = this.#left;
    this.#changed = new Map();
    this.#left = new Set();
    const nowMs = Date.now();
    const rows: PendingRow[] = [];
    const settled: string[] = [];
    for (const [traceId, row] of changed) {
      if (!isEnded(row.session.status) && !left.has(traceId)) {
        this.#addRecords(this.#options.takeUnsaved(traceId));
        const writtenAt = this.#rowWrittenAt.get(traceId);
        if (writtenAt !== undefined && nowMs - writtenAt < this.#runningRowIntervalMs) {
          this.#deferred.set(traceId, row);
          continue;
        }
        this.#deferred.delete(traceId);
        rows.push(row);
      } else {
        // Ended (or gone from the live window): its row now, its records no more. On a shared store
        // its last records go in too: a replica still holding the trace merges them.
        const last = this.#options.takeUnsaved(traceId);
        if (this.#shared) this.#addRecords(last);
        else this.#records.delete(traceId);
        this.#deferred.delete(traceId);
        rows.push(row);
        settled.push(traceId);
      }
    }
    for (const traceId of left) {
      if (changed.has(traceId)) continue;
      if (!this.#shared) this.#records.delete(traceId);
      const deferred = this.#deferred.get(traceId);
      if (deferred) rows.push(deferred);
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
    const sessions = rows.map((row) => row.session);
    const commit: HistoryCommit = {
      sessions,
      running,
      settled,
      leftLiveWindow: [...left],
      ...(this.#options.spanCountOf ? { spanCounts: new Map(rows.map((row) => [row.session.trace_id, row.spanCount])) } : {}),
    };
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
          this.#afterCommit(commit, left, startedAt);
          return;
        } catch (again) {
          failure = again;
        }
      }
      // Kept for the next commit, under what changed since (which is newer).
      for (const row of rows) if (!this.#changed.has(row.session.trace_id)) this.#changed.set(row.session.trace_id, row);
      for (const traceId of left) this.#left.add(traceId);
      for (const snapshot of running) this.#addRecords(snapshot);
      this.#failedCommits += 1;
      this.#fail(failure);
      throw failure;
    }
    this.#afterCommit(commit, left, startedAt);
  }

  #afterCommit(commit: HistoryCommit, left: ReadonlySet<string>, startedAt: number): void {
    const nowMs = Date.now();
    for (const session of commit.sessions) {
      if (isEnded(session.status) || left.has(session.trace_id)) this.#rowWrittenAt.delete(session.trace_id);
      else this.#rowWrittenAt.set(session.trace_id, nowMs);
    }
    for (const traceId of left) this.#rowWrittenAt.delete(traceId);
    this.#commits += 1;
    this.#sessionsWritten += commit.sessions.length;
    this.#lastCommitMs = performance.now() - startedAt;
    if (this.#error !== undefined) {
      this.#error = undefined;
      this.#options.onRecovered?.();
    }
    if (!this.#mergeForeign) return;
    const settled = new Set(commit.settled);
    for (const traceId of settled) this.#cursors.delete(traceId);
    const appended: string[] = [];
    for (const snapshot of commit.running) {
      if (settled.has(snapshot.traceId)) continue;
      if (!this.#cursors.has(snapshot.traceId)) this.#cursors.set(snapshot.traceId, new Map());
      appended.push(snapshot.traceId);
    }
    if (appended.length > 0 && !this.#closed) this.#inBackground(appended);
  }

  /** Reads and merges the others' records of the sessions about to be committed as ended. */
  async #mergeBeforeEnding(): Promise<void> {
    const ending: string[] = [];
    for (const [traceId, row] of this.#changed) if (isEnded(row.session.status) && !this.#left.has(traceId)) ending.push(traceId);
    if (ending.length > 0) await this.#mergeForeignOf(ending);
  }

  /**
   * Reads what other replicas appended of these traces beyond this replica's cursors and hands it
   * to `mergeForeign`, a trace at a time; resolves with how many records it handed over. Never
   * rejects: a failure goes to `onForeignError` (a failed read leaves the cursors where they were).
   */
  async #mergeForeignOf(traceIds: readonly string[]): Promise<number> {
    const merge = this.#mergeForeign;
    if (!merge) return 0;
    let found: ForeignRecords[];
    try {
      found = await this.#history.foreignRecords(traceIds, this.#cursors);
    } catch (error) {
      this.#foreignReadsFailed += 1;
      if (!this.#foreignFailing) this.#options.onForeignError?.(error);
      this.#foreignFailing = true;
      return 0;
    }
    this.#foreignFailing = false;
    const byTrace = new Map<string, ForeignRecords[]>();
    for (const entry of found) byTrace.set(entry.traceId, [...(byTrace.get(entry.traceId) ?? []), entry]);
    let merged = 0;
    for (const [traceId, entries] of byTrace) {
      // Only a trace still followed moves on (one settled meanwhile stays forgotten); a read that
      // ran beside another never moves a cursor back.
      const cursor = this.#cursors.get(traceId);
      if (cursor) for (const entry of entries) cursor.set(entry.replica, Math.max(cursor.get(entry.replica) ?? 0, entry.seq));
      const spans = entries.flatMap((entry) => entry.spans);
      if (spans.length === 0) continue;
      try {
        merge({ traceId, lastSeenMs: Math.max(...entries.map((entry) => entry.lastSeenMs)), spans });
        merged += spans.length;
      } catch (error) {
        this.#foreignReadsFailed += 1;
        this.#options.onForeignError?.(error);
      }
    }
    this.#foreignRecordsMerged += merged;
    return merged;
  }

  /**
   * Reads the others' records of these traces once the requests waiting for the commit that just
   * ended are answered: started on the next turn of the event loop, after their continuations, so
   * the read is never on their way (SQLite's reads, synchronous, would otherwise run before them).
   * What it merged is committed by a flush of its own.
   */
  #inBackground(traceIds: readonly string[]): void {
    const read = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#mergeForeignOf(traceIds))
      .then((merged) => {
        // A merge changes sessions without a request to flush them.
        if (merged > 0 && !this.#closed) this.flush().catch(() => undefined);
      });
    this.#reads.add(read);
    void read.finally(() => this.#reads.delete(read));
  }

  /**
   * Merges, now, what other replicas appended of these traces since this replica last read them
   * (from the start for a trace it has not appended to): for a caller that learnt that a trace it
   * holds also reached another replica (the live fan-out, seeing that replica's session). What the
   * merge changed is committed by a flush of its own. Resolves with how many records were handed to
   * `mergeForeign` — 0 when the store is not shared or no `mergeForeign` was given; never rejects
   * (a failed read goes to `onForeignError`).
   */
  async reconcile(traceIds: Iterable<string>): Promise<number> {
    if (!this.#mergeForeign || this.#closed) return 0;
    const unique = [...new Set(traceIds)];
    if (unique.length === 0) return 0;
    const merged = await this.#mergeForeignOf(unique);
    if (merged > 0 && !this.#closed) this.flush().catch(() => undefined);
    return merged;
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
        ...(commit.spanCounts ? { spanCounts: commit.spanCounts } : {}),
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

  /**
   * Resolves once the reads of other replicas' records started so far (after commits) have ended,
   * and what they merged was handed on: for callers (tests) that must know a replica's view of a
   * split trace is no longer moving.
   */
  async readsSettled(): Promise<void> {
    while (this.#reads.size > 0) await Promise.allSettled([...this.#reads]);
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
      foreignRecordsMerged: this.#foreignRecordsMerged,
      foreignReadsFailed: this.#foreignReadsFailed,
    };
  }

  /** Commits what is pending, held-back rows included (best effort), and stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    clearInterval(this.#deferredTimer);
    this.#unsubscribe();
    // Reads still running may merge (and change sessions) before the last commit.
    await Promise.allSettled([...this.#reads]);
    for (const [traceId, row] of this.#deferred) if (!this.#changed.has(traceId)) this.#changed.set(traceId, row);
    this.#deferred.clear();
    this.#rowWrittenAt.clear();
    await this.flush().catch(() => undefined);
  }
}
