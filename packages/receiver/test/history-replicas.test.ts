/**
 * Two replicas (`a`, `b`: a SessionPipeline and a HistoryWriter each) sharing one history store — a
 * real PostgreSQL database (a schema of this file's own), and a SQLite file two receivers of one host
 * open — while a front that does not route by trace id sends the spans of one trace to both. Each
 * merges what the other stored: both end with the session one pipeline fed every span builds, and
 * the stored row is that session, never a replica's partial view of it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SessionPipeline } from '@llm-monitor/sessions';
import type { HistoryStore, ProcessingSession, SpanRecord } from '@llm-monitor/sessions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, withSearchPath } from '../../../test/support/services.js';
import { until } from '../../../test/support/wait.js';
import { HistoryWriter } from '../src/storage/history-writer.js';
import { openPostgresHistory } from '../src/storage/postgres-history.js';
import { openSqliteHistory } from '../src/storage/sqlite-history.js';
import { completedSession, pendingMarker } from '../../sessions/test/span-fixtures.js';
import { PRICES } from './history-store.contract.js';

const url = await postgresUrl('the replicas sharing PostgreSQL (history-replicas.test.ts)');
const schema = `llmmon_test_${randomBytes(6).toString('hex')}`;
const directory = mkdtempSync(join(tmpdir(), 'llmmon-replicas-'));

/** Runs `sql` on the server (outside the test schema). */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (url) await admin(`CREATE SCHEMA ${schema}`);
});

afterAll(async () => {
  if (url) await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  rmSync(directory, { recursive: true, force: true });
});

/** One replica: its pipeline, its writer on the shared store, and what went wrong in it. */
interface Replica {
  readonly pipeline: SessionPipeline;
  readonly store: HistoryStore;
  readonly writer: HistoryWriter;
  readonly errors: unknown[];
}

const ABANDON_AFTER_MS = 60_000;

let toClose: Replica[] = [];
afterEach(async () => {
  for (const replica of toClose) await replica.writer.close();
  for (const replica of toClose) await replica.store.close();
  toClose = [];
});

/**
 * A replica wired as the receiver wires it: counts from the pipeline, merges into it. `merging`
 * false: one that has not read the other's records yet (its reads fail, or have not come round).
 */
function replica(store: HistoryStore, merging = true): Replica {
  const pipeline = new SessionPipeline({ prices: PRICES, abandonAfterMs: ABANDON_AFTER_MS });
  const errors: unknown[] = [];
  const writer = new HistoryWriter(store, {
    store: pipeline.store,
    takeUnsaved: (traceId) => pipeline.takeUnsaved(traceId),
    spanCountOf: (traceId) => pipeline.spanCountOf(traceId),
    ...(merging ? { mergeForeign: (snapshot) => void pipeline.mergeStored(snapshot, Date.now()) } : {}),
    onForeignError: (error) => errors.push(error),
    onCommitError: (error) => errors.push(error),
    // Every change is written at once: a partial row would show.
    runningRowIntervalMs: 0,
  });
  const made = { pipeline, store, writer, errors };
  toClose.push(made);
  return made;
}

/**
 * Waits until neither replica has a read of the other's records in flight: a read started after a
 * commit that lands later than the test's next step would merge what the test has not reached yet.
 */
async function settled(...replicas: Replica[]): Promise<void> {
  for (const one of replicas) await one.writer.readsSettled();
}

/** A session of ours, still running (its root announced by a marker), and the root's end. */
function trace(): {
  traceId: string;
  sessionId: string;
  rootMarker: SpanRecord;
  stages: SpanRecord[];
  llmCall: SpanRecord;
  root: SpanRecord;
} {
  const traceId = randomBytes(16).toString('hex');
  const sessionId = `split-${traceId.slice(0, 8)}`;
  const { root, stages, llmCall } = completedSession({ traceId, sessionId });
  return { traceId, sessionId, rootMarker: pendingMarker({ ...root, endTimeUnixMs: 0 }), stages, llmCall, root };
}

/** The session one pipeline fed every span builds. */
function reference(spans: readonly SpanRecord[], sessionId: string): ProcessingSession {
  const pipeline = new SessionPipeline({ prices: PRICES });
  pipeline.ingest(spans, Date.now());
  return pipeline.store.get(sessionId)!;
}

const backends: { name: string; skip: boolean; open: () => (replicaId: string) => Promise<HistoryStore> }[] = [
  {
    name: 'PostgreSQL',
    skip: !url,
    open: () => (replicaId) => openPostgresHistory(withSearchPath(url!, schema), { replicaId }),
  },
  {
    name: 'SQLite (two receivers of one host)',
    skip: false,
    open: () => {
      const file = join(directory, `${randomBytes(4).toString('hex')}.db`);
      return async (replicaId) => openSqliteHistory(file, { replicaId });
    },
  },
];

for (const backend of backends) {
  (backend.skip ? describe.skip : describe)(`replicas sharing ${backend.name}`, () => {
    it('merge a trace split between them: both hold the session one pipeline fed every span builds, and so does the stored row', async () => {
      const open = backend.open();
      const a = replica(await open('a'));
      const b = replica(await open('b'));
      const { traceId, sessionId, rootMarker, stages, llmCall, root } = trace();
      // The front sends each batch to either replica.
      a.pipeline.ingest([rootMarker, ...stages.slice(0, 4)], Date.now());
      await a.writer.flush();
      b.pipeline.ingest(stages.slice(4, 8), Date.now());
      await b.writer.flush();
      a.pipeline.ingest([stages[8]!, llmCall], Date.now());
      await a.writer.flush();
      b.pipeline.ingest([stages[9]!], Date.now());
      await b.writer.flush();
      // The root's end reaches a: a merges b's latest records before it writes the ended row.
      a.pipeline.ingest([root], Date.now());
      await a.writer.flush();
      const expected = reference([rootMarker, ...stages, llmCall, root], sessionId);
      expect(expected.status).toBe('completed');
      expect(a.pipeline.store.get(sessionId)).toEqual(expected);
      expect(await a.store.session(sessionId)).toEqual(expected);
      // b still holds it running: a's records (its last ones too) stay for b.
      expect((await b.store.runningTraces()).map((snapshot) => snapshot.traceId)).toEqual([traceId]);
      expect(await a.store.runningTraces()).toEqual([]);
      // b learns that a has the trace too (the live fan-out calls this on seeing a's session).
      // (Its read after its own last commit may have brought them already: then this one finds nothing new.)
      await b.writer.reconcile([traceId]);
      await until('b to merge the end of the session', () => b.pipeline.store.get(sessionId)?.status === 'completed');
      await until('both replicas to hold the whole session', () => {
        const [ofA, ofB] = [a.pipeline.store.get(sessionId), b.pipeline.store.get(sessionId)];
        return JSON.stringify(ofA) === JSON.stringify(expected) && JSON.stringify(ofB) === JSON.stringify(expected);
      });
      await Promise.all([a.writer.flush(), b.writer.flush()]);
      expect(b.pipeline.store.get(sessionId)).toEqual(expected);
      expect(await b.store.session(sessionId)).toEqual(expected);
      expect((await b.store.llmCalls({ sessionId }, 10)).calls).toHaveLength(1);
      // Both are done with it: nothing is held any more.
      expect(await b.store.runningTraces()).toEqual([]);
      expect(await b.store.foreignRecords([traceId], new Map())).toEqual([]);
      expect([a.pipeline.spanCountOf(traceId), b.pipeline.spanCountOf(traceId)]).toEqual([12, 12]);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('keep the row of the replica holding more of the trace: a partial view never replaces it, and the fuller one merges the rest', async () => {
      const open = backend.open();
      const a = replica(await open('a'));
      // b has not read a's records (its reads fail, or have not come round yet).
      const b = replica(await open('b'), false);
      const { traceId, sessionId, rootMarker, stages, llmCall, root } = trace();
      a.pipeline.ingest([rootMarker, ...stages.slice(0, 9), llmCall], Date.now());
      await a.writer.flush();
      await settled(a, b);
      const ofA = a.pipeline.store.get(sessionId)!;
      expect(await a.store.session(sessionId)).toEqual(ofA);
      // b's view: one stage (and, later, the session's end). Each of its rows counts fewer spans than a's.
      b.pipeline.ingest([stages[9]!], Date.now());
      await b.writer.flush();
      await settled(a, b);
      expect(await b.store.session(sessionId)).toEqual(ofA);
      expect(await b.store.session(traceId)).toBeUndefined();
      b.pipeline.ingest([root], Date.now());
      await b.writer.flush();
      await settled(a, b);
      expect(b.pipeline.store.get(sessionId)?.status).toBe('completed');
      expect(await b.store.session(sessionId)).toEqual(ofA);
      expect((await b.store.llmCalls({ sessionId }, 10)).calls).toEqual((await a.store.llmCalls({ sessionId }, 10)).calls);
      // a still holds the trace: b's records stayed for it. a merges them and writes the whole session.
      await a.writer.reconcile([traceId]);
      const expected = reference([rootMarker, ...stages, llmCall, root], sessionId);
      await until('a to merge what b held', () => a.pipeline.store.get(sessionId)?.status === 'completed');
      await a.writer.flush();
      await settled(a, b);
      expect(a.pipeline.store.get(sessionId)).toEqual(expected);
      expect(await a.store.session(sessionId)).toEqual(expected);
      expect(await a.store.runningTraces()).toEqual([]);
      expect(await b.store.runningTraces()).toEqual([]);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it("make a replica giving up a split trace merge the other's last records first, so the row is the completed session, not an abandoned part", async () => {
      const open = backend.open();
      const a = replica(await open('a'));
      const b = replica(await open('b'));
      const { traceId, sessionId, rootMarker, stages, llmCall, root } = trace();
      a.pipeline.ingest([rootMarker, ...stages.slice(0, 9), llmCall], Date.now());
      await a.writer.flush();
      await settled(a, b);
      b.pipeline.ingest([stages[9]!], Date.now());
      await b.writer.flush();
      await settled(a, b);
      // b's read after its commit merged a's records (and wrote what that made of the session).
      await until('b to merge what a held', () => b.writer.stats().foreignRecordsMerged > 0);
      await b.writer.flush();
      await settled(a, b);
      // The end reaches a alone; no fan-out tells b.
      a.pipeline.ingest([root], Date.now());
      await a.writer.flush();
      await settled(a, b);
      const expected = reference([rootMarker, ...stages, llmCall, root], sessionId);
      expect(await a.store.session(sessionId)).toEqual(expected);
      expect(b.pipeline.store.get(sessionId)?.status).toBe('active');
      // Long after, b gives its session up — and, before writing that, reads what a stored since.
      b.pipeline.sweep(Date.now() + ABANDON_AFTER_MS + 1000);
      await b.writer.flush();
      await settled(a, b);
      expect(b.pipeline.store.get(sessionId)).toEqual(expected);
      expect(await b.store.session(sessionId)).toEqual(expected);
      expect(await a.store.runningTraces()).toEqual([]);
      expect(await b.store.runningTraces()).toEqual([]);
      expect(await a.store.foreignRecords([traceId], new Map())).toEqual([]);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });
  });
}
