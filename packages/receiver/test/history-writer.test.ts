/**
 * The group committer between the live store and the history store: requests that finish together
 * share one commit, a session changed many times is written once as it last stood, a failed commit
 * fails every waiter and loses nothing, the writer is unhealthy until its probe finds the database
 * answering again, ended and removed sessions are told apart, and a running session's span records
 * go with every commit while its row follows at most every `runningRowIntervalMs`. On a store shared
 * by replicas, rows carry their span counts, and the others' records of the traces a replica holds
 * are read and merged: after a commit (its requests answered first), before the commit of a session
 * that ends, and on demand — a failed read costing neither the commit nor its requests.
 */
import { MemoryHistoryStore, MemorySessionStore } from '@llm-monitor/sessions';
import type { ForeignCursor, ForeignRecords, HistoryCommit, HistoryStore, ProcessingSession, TraceSnapshot } from '@llm-monitor/sessions';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/support/wait.js';
import { LlmMonitorError } from '../src/errors.js';
import { HistoryWriter } from '../src/storage/history-writer.js';
import { span } from '../../sessions/test/span-fixtures.js';
import { built, commitOf, filterFixture, T } from './history-store.contract.js';

/**
 * A history store in memory that records every commit, can be told to fail (commits and pings), and
 * can hold commits until released.
 */
class ControlledStore extends MemoryHistoryStore implements HistoryStore {
  readonly commits: HistoryCommit[] = [];
  attempts = 0;
  pings = 0;
  broken = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #failHeld = false;

  /** Commits from now on wait until {@link release}. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  /** Lets held commits go on (and fail, if `fail`). */
  release(fail = false): void {
    this.#failHeld = fail;
    const open = this.#open;
    this.#gate = undefined;
    this.#open = undefined;
    open?.();
  }

  /** Traces whose sessions the store refuses for their data (an error no retry mends). */
  readonly poisoned = new Set<string>();

  override async commit(commit: HistoryCommit): Promise<void> {
    this.attempts += 1;
    const gate = this.#gate;
    if (gate) await gate;
    const poison = commit.sessions.find((session) => this.poisoned.has(session.trace_id));
    if (poison) throw new Error(`value too long for column (test): ${poison.trace_id}`);
    if (this.broken || this.#failHeld) {
      this.#failHeld = false;
      throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'disk full (test)');
    }
    this.commits.push(structuredClone(commit));
    await super.commit(commit);
  }

  override async ping(): Promise<void> {
    this.pings += 1;
    if (this.broken) throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'still down (test)');
  }
}

const writers: HistoryWriter[] = [];
afterEach(async () => {
  for (const writer of writers.splice(0)) await writer.close();
});

interface Setup {
  readonly live: MemorySessionStore;
  readonly history: ControlledStore;
  readonly writer: HistoryWriter;
  readonly errors: unknown[];
  readonly recovered: number[];
  /** Span records not yet taken, by trace: what the builder's `takeUnsaved` would hand over (once). */
  readonly unsaved: Map<string, TraceSnapshot>;
}

function setup(
  options: { probeIntervalMs?: number; retentionMs?: number; maxSessions?: number; runningRowIntervalMs?: number } = {},
): Setup {
  const live = new MemorySessionStore({ retentionMs: options.retentionMs ?? 60_000, maxSessions: options.maxSessions ?? 1000 });
  const history = new ControlledStore();
  const errors: unknown[] = [];
  const recovered: number[] = [];
  const unsaved = new Map<string, TraceSnapshot>();
  const writer = new HistoryWriter(history, {
    store: live,
    takeUnsaved: (traceId) => {
      const records = unsaved.get(traceId);
      unsaved.delete(traceId);
      return records;
    },
    onCommitError: (error) => errors.push(error),
    onRecovered: () => recovered.push(Date.now()),
    probeIntervalMs: options.probeIntervalMs ?? 20,
    runningRowIntervalMs: options.runningRowIntervalMs ?? 60_000,
  });
  writers.push(writer);
  return { live, history, writer, errors, recovered, unsaved };
}

/** Span records of a trace (any will do: the writer only passes them on). */
function records(traceId: string, lastSeenMs: number, ...names: string[]): TraceSnapshot {
  return { traceId, lastSeenMs, spans: names.map((name) => span({ traceId, name, startTimeUnixMs: T })) };
}

const traces = (sessions: readonly ProcessingSession[]): string[] => sessions.map((session) => session.trace_id).sort();

describe('HistoryWriter', () => {
  it('commits nothing when nothing changed', async () => {
    const { history, writer } = setup();
    await writer.flush();
    await Promise.all([writer.flush(), writer.flush()]);
    expect(history.attempts).toBe(0);
    expect(writer.stats()).toMatchObject({
      healthy: true,
      pending: 0,
      commits: 0,
      failedCommits: 0,
      sessionsWritten: 0,
      lastCommitMs: null,
      error: null,
    });
  });

  it('lets the flushes of one turn share one commit', async () => {
    const { live, history, writer } = setup();
    const f = filterFixture();
    live.upsert(f.alpha, T);
    const first = writer.flush();
    live.upsert(f.beta, T);
    const second = writer.flush();
    live.upsert(f.delta, T);
    const waiters = [first, second, writer.flush(), writer.flush()];
    // They are the same commit.
    expect(new Set(waiters).size).toBe(1);
    await Promise.all(waiters);
    expect(history.commits).toHaveLength(1);
    expect(traces(history.commits[0]!.sessions)).toEqual(traces([f.alpha, f.beta, f.delta]));
    expect(writer.stats()).toMatchObject({ healthy: true, pending: 0, commits: 1, failedCommits: 0, sessionsWritten: 3 });
    expect(writer.stats().lastCommitMs).toBeGreaterThanOrEqual(0);
    // Nothing new: no second commit.
    await writer.flush();
    expect(history.attempts).toBe(1);
  });

  it('makes the flushes that come while a commit runs share the next one', async () => {
    const { live, history, writer } = setup();
    const f = filterFixture();
    history.hold();
    live.upsert(f.alpha, T);
    const first = writer.flush();
    await until('the first commit to start', () => history.attempts === 1);
    // While it runs: three requests, each with a change, and one without.
    live.upsert(f.beta, T);
    const second = writer.flush();
    live.upsert(f.gamma, T);
    const third = writer.flush();
    live.upsert(f.delta, T);
    const fourth = writer.flush();
    expect(second).toBe(third);
    expect(third).toBe(fourth);
    expect(first).not.toBe(second);
    history.release();
    await first;
    await Promise.all([second, third, fourth]);
    expect(history.attempts).toBe(2);
    expect(history.commits.map((commit) => traces(commit.sessions))).toEqual([traces([f.alpha]), traces([f.beta, f.gamma, f.delta])]);
  });

  it('a flush without changes of its own waits for the commit running now', async () => {
    const { live, history, writer } = setup();
    history.hold();
    live.upsert(filterFixture().alpha, T);
    const first = writer.flush();
    await until('the commit to start', () => history.attempts === 1);
    let done = false;
    const later = writer.flush().then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    history.release();
    await Promise.all([first, later]);
    expect(done).toBe(true);
    expect(history.attempts).toBe(1);
  });

  it('writes a session changed many times between commits once, as it last stood', async () => {
    const { live, history, writer } = setup();
    const base = filterFixture().gamma;
    let last = base;
    for (let progress = 1; progress <= 50; progress += 1) {
      last = { ...base, progress, current_stage: `step-${progress}` };
      live.upsert(last, T + progress);
    }
    await writer.flush();
    expect(history.commits).toHaveLength(1);
    expect(history.commits[0]!.sessions).toEqual([last]);
    expect(writer.stats().sessionsWritten).toBe(1);
    expect(await history.session(base.session_id)).toEqual(last);
  });

  it('fails every waiter of a failed commit, and keeps its changes for the next one: nothing is lost', async () => {
    const { live, history, writer, errors } = setup({ probeIntervalMs: 60_000 });
    const f = filterFixture();
    history.broken = true;
    live.upsert(f.alpha, T);
    live.upsert(f.beta, T);
    const waiters = [writer.flush(), writer.flush(), writer.flush()];
    const outcomes = await Promise.allSettled(waiters);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        code: 'LLMMON_ERR_STORE_UNAVAILABLE',
        message: 'disk full (test)',
      });
    }
    expect(history.attempts).toBe(1);
    expect(errors).toHaveLength(1);
    expect(writer.stats()).toMatchObject({
      healthy: false,
      pending: 2,
      commits: 0,
      failedCommits: 1,
      sessionsWritten: 0,
      error: 'disk full (test)',
    });
    // Still failing: the next flush tries again with the same changes, and fails its waiters too.
    live.upsert(f.delta, T);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    expect(writer.stats()).toMatchObject({ healthy: false, pending: 3, failedCommits: 2 });
    // The first error is told once, not per failed commit.
    expect(errors).toHaveLength(1);
    // The database is back: one commit carries everything that failed and what came since.
    history.broken = false;
    live.upsert(f.epsilon, T);
    await writer.flush();
    expect(history.commits).toHaveLength(1);
    expect(traces(history.commits[0]!.sessions)).toEqual(traces([f.alpha, f.beta, f.delta, f.epsilon]));
    expect(writer.stats()).toMatchObject({ healthy: true, pending: 0, commits: 1, failedCommits: 2, sessionsWritten: 4, error: null });
  });

  it('leaves out a session the store refuses for its data, alone, and stores the rest: one bad session blocks nothing', async () => {
    const { live, history, writer, errors } = setup();
    const dropped: string[] = [];
    const f = filterFixture();
    history.poisoned.add(f.beta.trace_id);
    live.upsert(f.alpha, T);
    live.upsert(f.beta, T);
    live.upsert(f.delta, T);
    // The waiting requests are answered: the data fault is not the database being away.
    await writer.flush();
    expect(traces(history.commits.flatMap((commit) => commit.sessions))).toEqual(traces([f.alpha, f.delta]));
    expect(writer.stats()).toMatchObject({ healthy: true, pending: 0, sessionsDropped: 1 });
    expect(errors).toEqual([]);
    // The writer says which session it left out (the receiver logs and counts it).
    const told = new HistoryWriter(history, {
      store: live,
      takeUnsaved: () => undefined,
      onSessionDropped: (_error, session) => dropped.push(session.trace_id),
    });
    writers.push(told);
    live.upsert({ ...f.beta, progress: 50 }, T);
    live.upsert({ ...f.alpha, progress: 60 }, T);
    await told.flush();
    expect(dropped).toEqual([f.beta.trace_id]);
    expect(history.commits.at(-1)!.sessions.map((session) => session.trace_id)).toEqual([f.alpha.trace_id]);
  });

  it('keeps the newer state when a session changed while its commit was failing', async () => {
    const { live, history, writer } = setup({ probeIntervalMs: 60_000 });
    const gamma = filterFixture().gamma;
    history.hold();
    live.upsert({ ...gamma, progress: 10 }, T);
    const first = writer.flush();
    await until('the commit to start', () => history.attempts === 1);
    // The session moves on while the commit that carries its older state runs — and fails.
    const newer = { ...gamma, progress: 90 };
    live.upsert(newer, T + 1);
    history.release(true);
    await expect(first).rejects.toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    await writer.flush();
    expect(history.commits.map((commit) => commit.sessions)).toEqual([[newer]]);
  });

  it('is unhealthy while the database fails, and healthy again once its probe finds it answering', async () => {
    const { live, history, writer, recovered } = setup({ probeIntervalMs: 15 });
    const f = filterFixture();
    history.broken = true;
    live.upsert(f.alpha, T);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    expect(writer.healthy).toBe(false);
    // The probe pings, and stays unhealthy while the pings fail.
    await until('a few failed probes', () => history.pings >= 3, 5000, 5);
    expect(writer.healthy).toBe(false);
    expect(history.commits).toHaveLength(0);
    expect(recovered).toEqual([]);
    // Back: the probe sees the ping answer and commits what was pending — no request needed.
    history.broken = false;
    await until('the writer to be healthy again', () => writer.healthy, 5000, 5);
    expect(recovered).toHaveLength(1);
    expect(history.commits).toHaveLength(1);
    expect(traces(history.commits[0]!.sessions)).toEqual(traces([f.alpha]));
    expect(writer.stats()).toMatchObject({ healthy: true, pending: 0, error: null });
    // The probe stopped.
    const pings = history.pings;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(history.pings).toBe(pings);
  });

  it('sends running sessions with their span records, ended ones as settled, removed ones as having left the live window', async () => {
    const { live, history, writer, unsaved } = setup({ retentionMs: 1000 });
    const running = built({
      trace: 201,
      sessionId: 's-running',
      startMs: T,
      durationMs: null,
      calls: [{ requestModel: 'gpt-4o-mini', durationMs: null }],
    });
    const ending = built({ trace: 202, sessionId: 's-ending', startMs: T, durationMs: null });
    unsaved.set(running.session.trace_id, running.snapshot);
    unsaved.set(ending.session.trace_id, ending.snapshot);
    live.upsert(running.session, T);
    live.upsert(ending.session, T);
    await writer.flush();
    expect(history.commits[0]).toEqual({
      sessions: [running.session, ending.session],
      running: [running.snapshot, ending.snapshot],
      settled: [],
      leftLiveWindow: [],
    });
    // It ends: its row at once (though written just now), settled, and its last records are not sent.
    const ended = { ...ending.session, status: 'completed' as const, end_time: new Date(T + 500).toISOString(), duration_ms: 500 };
    unsaved.set(ended.trace_id, records(ended.trace_id, T + 500, 'root'));
    live.upsert(ended, T + 500);
    await writer.flush();
    expect(history.commits[1]).toEqual({ sessions: [ended], running: [], settled: [ended.trace_id], leftLiveWindow: [] });
    expect(unsaved.has(ended.trace_id)).toBe(false);
    // Retention removes it from the live window: it left (and is settled), and the session is not written again.
    expect(live.sweep(T + 500 + 1000).map((session) => session.session_id)).toEqual(['s-ending']);
    await writer.flush();
    expect(history.commits[2]).toEqual({ sessions: [], running: [], settled: [ended.trace_id], leftLiveWindow: [ended.trace_id] });
    // A running session evicted to make room: left the window, and its held spans are settled.
    live.evictOldest();
    await writer.flush();
    expect(history.commits[3]).toEqual({
      sessions: [],
      running: [],
      settled: [running.session.trace_id],
      leftLiveWindow: [running.session.trace_id],
    });
    // A session that changed and left within one commit: written as it was, settled, left.
    const brief = built({ trace: 203, sessionId: 's-brief', startMs: T, durationMs: null });
    unsaved.set(brief.session.trace_id, brief.snapshot);
    live.upsert(brief.session, T);
    live.evictOldest();
    await writer.flush();
    expect(history.commits[4]).toEqual({
      sessions: [brief.session],
      running: [],
      settled: [brief.session.trace_id],
      leftLiveWindow: [brief.session.trace_id],
    });
    expect(history.commits).toHaveLength(5);
  });

  it("writes a running session's records with every commit, its row at most every runningRowIntervalMs, and at once when it ends", async () => {
    const { live, history, writer, unsaved } = setup({ runningRowIntervalMs: 60_000 });
    const { session } = built({
      trace: 221,
      sessionId: 's-long',
      startMs: T,
      durationMs: null,
      calls: [{ requestModel: 'gpt-4o-mini', durationMs: null }],
    });
    const traceId = session.trace_id;
    const first = records(traceId, T + 1, 'a', 'b');
    unsaved.set(traceId, first);
    live.upsert(session, T + 1);
    await writer.flush();
    expect(history.commits[0]).toEqual({ sessions: [session], running: [first], settled: [], leftLiveWindow: [] });
    // Changed again within the interval: its new records go (a restart needs them), its row waits.
    const moved = { ...session, progress: 40 };
    const second = records(traceId, T + 2, 'c');
    unsaved.set(traceId, second);
    live.upsert(moved, T + 2);
    await writer.flush();
    expect(history.commits[1]).toEqual({ sessions: [], running: [second], settled: [], leftLiveWindow: [] });
    expect(writer.stats().pending).toBe(1);
    expect(await history.session('s-long')).toEqual(session);
    // Nothing new since: no commit, though a row is held back.
    await writer.flush();
    expect(history.commits).toHaveLength(2);
    // It ends: the row at once, and its records are settled.
    const ended = { ...moved, status: 'completed' as const, progress: 100, end_time: new Date(T + 3).toISOString(), duration_ms: 3 };
    live.upsert(ended, T + 3);
    await writer.flush();
    expect(history.commits[2]).toEqual({ sessions: [ended], running: [], settled: [traceId], leftLiveWindow: [] });
    expect(writer.stats().pending).toBe(0);
    expect(await history.session('s-long')).toEqual(ended);
  });

  it('writes a held-back row once the interval has passed, without another request', async () => {
    const { live, history, writer } = setup({ runningRowIntervalMs: 40 });
    const { session } = built({ trace: 222, sessionId: 's-paced', startMs: T, durationMs: null });
    live.upsert(session, T);
    await writer.flush();
    const moved = { ...session, progress: 55 };
    live.upsert(moved, T + 1);
    await writer.flush();
    expect(history.commits.map((commit) => commit.sessions)).toEqual([[session], []]);
    await until(
      'the held-back row to be committed',
      () => history.commits.some((commit) => commit.sessions.some((written) => written.progress === 55)),
      5000,
      5,
    );
    expect(await history.session('s-paced')).toEqual(moved);
    expect(writer.stats().pending).toBe(0);
  });

  it('writes a held-back row when its session leaves the live window, and when the writer closes', async () => {
    const { live, history, writer } = setup({ runningRowIntervalMs: 60_000 });
    const leaving = built({ trace: 223, sessionId: 's-leaving', startMs: T, durationMs: null }).session;
    const staying = built({ trace: 224, sessionId: 's-staying', startMs: T + 1, durationMs: null }).session;
    live.upsert(leaving, T);
    live.upsert(staying, T);
    await writer.flush();
    const leavingLater = { ...leaving, progress: 30 };
    const stayingLater = { ...staying, progress: 70 };
    live.upsert(leavingLater, T + 1);
    live.upsert(stayingLater, T + 1);
    await writer.flush();
    expect(history.commits[1]!.sessions).toEqual([]);
    // Evicted (the oldest running session goes first): its last state is written as it leaves.
    expect(live.evictOldest()?.session_id).toBe('s-leaving');
    await writer.flush();
    expect(history.commits[2]).toEqual({
      sessions: [leavingLater],
      running: [],
      settled: [leaving.trace_id],
      leftLiveWindow: [leaving.trace_id],
    });
    // Closing writes what is held back.
    await writer.close();
    expect(history.commits[3]!.sessions).toEqual([stayingLater]);
    expect(await history.session('s-staying')).toEqual(stayingLater);
  });

  it('keeps the span records of a failed commit for the next one', async () => {
    const { live, history, writer, unsaved } = setup({ probeIntervalMs: 60_000 });
    const { session } = built({ trace: 225, sessionId: 's-records', startMs: T, durationMs: null });
    const traceId = session.trace_id;
    history.broken = true;
    const first = records(traceId, T + 1, 'first');
    unsaved.set(traceId, first);
    live.upsert(session, T + 1);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    expect(unsaved.has(traceId)).toBe(false);
    // More records arrive while the database is down: they go after the first ones.
    const second = records(traceId, T + 2, 'second');
    unsaved.set(traceId, second);
    live.upsert({ ...session, progress: 20 }, T + 2);
    history.broken = false;
    await writer.flush();
    expect(history.commits).toEqual([
      {
        sessions: [{ ...session, progress: 20 }],
        running: [{ traceId, lastSeenMs: T + 2, spans: [...first.spans, ...second.spans] }],
        settled: [],
        leftLiveWindow: [],
      },
    ]);
  });

  it('a running session whose trace has no new records is written without any', async () => {
    const { live, history, writer } = setup();
    const running = built({ trace: 211, sessionId: 's-nosnap', startMs: T, durationMs: null });
    live.upsert(running.session, T);
    await writer.flush();
    expect(history.commits[0]).toEqual(commitOf([running.session]));
  });

  it('a renamed session is written under its new id by the upsert that follows', async () => {
    const { live, history, writer } = setup();
    const session = filterFixture().foreign;
    live.upsert(session, T);
    await writer.flush();
    live.rename(session.session_id, 's-real-id');
    const renamed = { ...session, session_id: 's-real-id' };
    live.upsert(renamed, T + 1);
    await writer.flush();
    expect(history.commits.map((commit) => commit.sessions)).toEqual([[session], [renamed]]);
    expect(await history.session('s-real-id')).toEqual(renamed);
    expect(await history.session(session.session_id)).toBeUndefined();
  });

  it('commits what is pending when closed, and then listens no more', async () => {
    const { live, history, writer } = setup();
    const f = filterFixture();
    live.upsert(f.alpha, T);
    await writer.close();
    expect(history.commits.map((commit) => traces(commit.sessions))).toEqual([traces([f.alpha])]);
    live.upsert(f.beta, T);
    await writer.flush();
    expect(history.commits).toHaveLength(1);
    expect(writer.stats().pending).toBe(0);
  });

  it('stops probing when closed while the database fails', async () => {
    const { live, history, writer } = setup({ probeIntervalMs: 10 });
    history.broken = true;
    live.upsert(filterFixture().alpha, T);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    await until('a probe', () => history.pings >= 1, 5000, 5);
    await writer.close();
    const pings = history.pings;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(history.pings).toBe(pings);
  });
});

/**
 * A {@link ControlledStore} other replicas share: it answers `foreignRecords` from what a test put
 * in `foreign` (each entry once, beyond the cursor asked with), records each call, and can hold or
 * fail the reads.
 */
class SharedStore extends ControlledStore {
  override readonly replicaId = 'a';
  override readonly shared = true;
  readonly reads: { traceIds: string[]; after: Record<string, Record<string, number>> }[] = [];
  foreign: ForeignRecords[] = [];
  readFails = false;
  #readGate: Promise<void> | undefined;
  #openReads: (() => void) | undefined;

  /** Reads from now on wait until {@link releaseReads}. */
  holdReads(): void {
    this.#readGate = new Promise((resolve) => {
      this.#openReads = resolve;
    });
  }

  releaseReads(): void {
    this.#readGate = undefined;
    this.#openReads?.();
  }

  override async foreignRecords(traceIds: readonly string[], after: ForeignCursor): Promise<ForeignRecords[]> {
    this.reads.push({
      traceIds: [...traceIds],
      after: Object.fromEntries(
        [...after].filter(([traceId]) => traceIds.includes(traceId)).map(([traceId, seqs]) => [traceId, Object.fromEntries(seqs)]),
      ),
    });
    const gate = this.#readGate;
    if (gate) await gate;
    if (this.readFails) throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'connection reset (test)');
    return this.foreign.filter(
      (entry) => traceIds.includes(entry.traceId) && entry.seq > (after.get(entry.traceId)?.get(entry.replica) ?? 0),
    );
  }
}

describe('HistoryWriter on a store shared by replicas', () => {
  interface SharedSetup {
    readonly live: MemorySessionStore;
    readonly history: SharedStore;
    readonly writer: HistoryWriter;
    readonly unsaved: Map<string, TraceSnapshot>;
    readonly merged: TraceSnapshot[];
    readonly errors: unknown[];
    readonly counts: Map<string, number>;
  }

  /** A writer whose `mergeForeign` records what it is given and, through `onMerge`, may change the live session. */
  function sharedSetup(onMerge: (snapshot: TraceSnapshot, live: MemorySessionStore) => void = () => undefined): SharedSetup {
    const live = new MemorySessionStore({ retentionMs: 60_000, maxSessions: 1000 });
    const history = new SharedStore();
    const unsaved = new Map<string, TraceSnapshot>();
    const merged: TraceSnapshot[] = [];
    const errors: unknown[] = [];
    const counts = new Map<string, number>();
    const writer = new HistoryWriter(history, {
      store: live,
      takeUnsaved: (traceId) => {
        const taken = unsaved.get(traceId);
        unsaved.delete(traceId);
        return taken;
      },
      spanCountOf: (traceId) => counts.get(traceId) ?? 0,
      mergeForeign: (snapshot) => {
        merged.push(snapshot);
        onMerge(snapshot, live);
      },
      onForeignError: (error) => errors.push(error),
      probeIntervalMs: 20,
      runningRowIntervalMs: 0,
    });
    writers.push(writer);
    return { live, history, writer, unsaved, merged, errors, counts };
  }

  /** What replica `replica` appended of a trace, up to `seq`. */
  const foreign = (traceId: string, replica: string, seq: number, ...names: string[]): ForeignRecords => ({
    ...records(traceId, T + seq, ...names),
    replica,
    seq,
  });

  it('commits each row with how many spans its session had when it changed', async () => {
    const { live, history, writer, counts } = sharedSetup();
    const f = filterFixture();
    counts.set(f.alpha.trace_id, 7);
    live.upsert(f.alpha, T);
    counts.set(f.alpha.trace_id, 9);
    counts.set(f.beta.trace_id, 3);
    live.upsert(f.beta, T);
    // Counted when it changed, not when it is committed (a session leaving the window is forgotten by then).
    await writer.flush();
    expect(history.commits[0]!.spanCounts).toEqual(
      new Map([
        [f.alpha.trace_id, 7],
        [f.beta.trace_id, 3],
      ]),
    );
  });

  it("reads the others' records of the traces it appended to once the commit's requests are answered, merges them, and commits what they changed", async () => {
    const { live, history, writer, unsaved, merged } = sharedSetup((_snapshot, store) => {
      const current = store.get('s-split')!;
      store.upsert({ ...current, progress: 60 }, T + 5);
    });
    const running = built({ trace: 301, sessionId: 's-split', startMs: T, durationMs: null });
    const traceId = running.session.trace_id;
    history.foreign = [foreign(traceId, 'b', 4, 'b1', 'b2'), foreign(traceId, 'c', 9, 'c1')];
    history.holdReads();
    unsaved.set(traceId, running.snapshot);
    live.upsert(running.session, T);
    // Answered before the read starts (it starts after their continuations), and the read then waits.
    await writer.flush();
    expect(history.reads).toEqual([]);
    await until('the read to start', () => history.reads.length === 1, 5000, 5);
    expect(history.reads).toEqual([{ traceIds: [traceId], after: { [traceId]: {} } }]);
    expect(merged).toEqual([]);
    history.releaseReads();
    await until('the merge to be committed', () => history.commits.length === 2, 5000, 5);
    expect(merged).toEqual([{ traceId, lastSeenMs: T + 9, spans: [...history.foreign[0]!.spans, ...history.foreign[1]!.spans] }]);
    expect(history.commits[1]).toMatchObject({ sessions: [{ ...running.session, progress: 60 }], running: [], settled: [] });
    expect(writer.stats()).toMatchObject({ foreignRecordsMerged: 3, foreignReadsFailed: 0 });
    // The next read goes on from there.
    unsaved.set(traceId, records(traceId, T + 20, 'a2'));
    live.upsert({ ...running.session, progress: 70 }, T + 20);
    await writer.flush();
    await until('the second read', () => history.reads.length === 2, 5000, 5);
    expect(history.reads[1]).toEqual({ traceIds: [traceId], after: { [traceId]: { b: 4, c: 9 } } });
  });

  it('reads before committing a session that ends, and commits it as the merge made it; its last records go in for the others', async () => {
    const traceId = built({ trace: 302, sessionId: 's-ending', startMs: T, durationMs: null }).session.trace_id;
    const { live, history, writer, unsaved } = sharedSetup((_snapshot, store) => {
      // What the other replica held made it end otherwise (a later call failed).
      const current = store.get('s-ending')!;
      store.upsert({ ...current, status: 'failed', error: 'boom' }, T + 6);
    });
    const running = built({ trace: 302, sessionId: 's-ending', startMs: T, durationMs: null });
    unsaved.set(traceId, running.snapshot);
    live.upsert(running.session, T);
    await writer.flush();
    await until('the read after the commit', () => history.reads.length === 1, 5000, 5);
    history.foreign = [foreign(traceId, 'b', 5, 'b-last')];
    const ended = { ...running.session, status: 'completed' as const, end_time: new Date(T + 100).toISOString(), duration_ms: 100 };
    const last = records(traceId, T + 100, 'root');
    unsaved.set(traceId, last);
    live.upsert(ended, T + 100);
    await writer.flush();
    expect(history.reads[1]).toEqual({ traceIds: [traceId], after: { [traceId]: {} } });
    const commit = history.commits.at(-1)!;
    expect(commit.sessions).toEqual([{ ...ended, status: 'failed', error: 'boom' }]);
    expect(commit.running).toEqual([last]);
    expect(commit.settled).toEqual([traceId]);
    // Settled: forgotten, so a later read of it (on demand) starts from the beginning.
    await writer.reconcile([traceId]);
    expect(history.reads.at(-1)).toEqual({ traceIds: [traceId], after: {} });
  });

  it('answers requests whatever becomes of the read: a failed one is reported and counted, and the next one tries again', async () => {
    const { live, history, writer, unsaved, errors } = sharedSetup();
    const running = built({ trace: 303, sessionId: 's-unread', startMs: T, durationMs: null });
    const traceId = running.session.trace_id;
    history.readFails = true;
    unsaved.set(traceId, running.snapshot);
    live.upsert(running.session, T);
    await writer.flush();
    await until('the failure to be reported', () => errors.length === 1, 5000, 5);
    expect(errors[0]).toMatchObject({ code: 'LLMMON_ERR_STORE_UNAVAILABLE' });
    // Before a session ends, too: the ended row is committed anyway.
    const ended = { ...running.session, status: 'completed' as const, end_time: new Date(T + 1).toISOString(), duration_ms: 1 };
    live.upsert(ended, T + 1);
    await writer.flush();
    expect(history.commits.at(-1)!.sessions).toEqual([ended]);
    // Told once while it goes on failing; counted each time.
    expect(errors).toHaveLength(1);
    expect(writer.stats()).toMatchObject({ healthy: true, foreignReadsFailed: 2, foreignRecordsMerged: 0 });
    history.readFails = false;
    history.foreign = [foreign(traceId, 'b', 1, 'b1')];
    expect(await writer.reconcile([traceId, traceId])).toBe(1);
    expect(history.reads.at(-1)!.traceIds).toEqual([traceId]);
    // Failing again after a read that worked: told again.
    history.readFails = true;
    expect(await writer.reconcile([traceId])).toBe(0);
    expect(errors).toHaveLength(2);
  });

  it('reads nothing, and keeps no last records, on a store of its own or without mergeForeign', async () => {
    const { live, history, writer, unsaved } = setup();
    const running = built({ trace: 304, sessionId: 's-alone', startMs: T, durationMs: null });
    unsaved.set(running.session.trace_id, running.snapshot);
    live.upsert(running.session, T);
    await writer.flush();
    expect(await writer.reconcile([running.session.trace_id])).toBe(0);
    expect(history.commits[0]!.spanCounts).toBeUndefined();

    const shared = new SharedStore();
    const withoutMerge = new HistoryWriter(shared, { store: live, takeUnsaved: () => undefined });
    writers.push(withoutMerge);
    live.upsert({ ...running.session, progress: 5 }, T + 1);
    await withoutMerge.flush();
    expect(await withoutMerge.reconcile([running.session.trace_id])).toBe(0);
    expect(shared.reads).toEqual([]);
  });
});
