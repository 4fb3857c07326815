import { describe, expect, it } from 'vitest';
import { MemorySessionStore, SessionBuilder, SessionPipeline } from '../src/index.js';
import type { ProcessingSession, SessionChange } from '../src/index.js';
import { completedSession, pendingMarker, shuffled, T0, TRACE_ID } from './span-fixtures.js';

function sessionWith(id: string, status: ProcessingSession['status']): ProcessingSession {
  const built = new SessionBuilder().ingest(completedSession({ sessionId: id }).all)[0]!;
  return { ...built, session_id: id, status };
}

describe('SessionStore', () => {
  it('emits started, updated and the final status', () => {
    const store = new MemorySessionStore();
    const changes: SessionChange[] = [];
    store.subscribe((change) => changes.push(change));
    store.upsert(sessionWith('a', 'active'), 0);
    store.upsert(sessionWith('a', 'active'), 1);
    store.upsert(sessionWith('a', 'failed'), 2);
    expect(changes.map((c) => c.type)).toEqual(['started', 'updated', 'failed']);
    expect(changes[2]!.previousStatus).toBe('active');
  });

  it('removes ended sessions after the retention, never active ones', () => {
    const store = new MemorySessionStore({ retentionMs: 1000 });
    store.upsert(sessionWith('done', 'completed'), 0);
    store.upsert(sessionWith('running', 'active'), 0);
    expect(store.sweep(999)).toEqual([]);
    expect(store.sweep(1000).map((s) => s.session_id)).toEqual(['done']);
    expect(store.get('done')).toBeUndefined();
    expect(store.get('running')).toBeDefined();
  });

  it('evicts the oldest ended sessions first beyond the maximum count', () => {
    const store = new MemorySessionStore({ maxSessions: 2 });
    const removed: string[] = [];
    store.subscribe((change) => change.type === 'removed' && removed.push(change.session.session_id));
    store.upsert(sessionWith('old', 'completed'), 1);
    store.upsert(sessionWith('running', 'active'), 2);
    store.upsert(sessionWith('new', 'completed'), 3);
    expect(removed).toEqual(['old']);
    expect([...store.values()].map((s) => s.session_id)).toEqual(['running', 'new']);
  });
});

describe('SessionPipeline', () => {
  it('stores sessions as spans arrive, and ignores late spans of a removed session for a while', () => {
    const pipeline = new SessionPipeline({ retentionMs: 10, removedTraceMemoryMs: 100 });
    const { root, all } = completedSession();
    pipeline.ingest([pendingMarker(root)], 0);
    expect(pipeline.store.get('session-1')?.status).toBe('active');
    pipeline.ingest(all, 5);
    expect(pipeline.store.get('session-1')?.status).toBe('completed');
    pipeline.sweep(15);
    expect(pipeline.store.size).toBe(0);
    expect(pipeline.traceCount).toBe(0);
    // A retried export of the root does not bring the session back half-built…
    pipeline.ingest([root], 20);
    expect(pipeline.store.size).toBe(0);
    // …until the trace is long forgotten.
    pipeline.sweep(115);
    pipeline.ingest([root], 120);
    expect(pipeline.store.get('session-1')?.stages).toEqual([]);
  });

  it('keeps one entry, started once, when a session becomes known under its real id', () => {
    const pipeline = new SessionPipeline();
    const changes: string[] = [];
    pipeline.store.subscribe((change) => changes.push(`${change.type} ${change.session.session_id}`));
    const { root, stages, llmCall } = completedSession();
    pipeline.ingest([llmCall], 0);
    expect(pipeline.store.get(TRACE_ID)?.status).toBe('active');
    pipeline.ingest([root, ...stages], 1);
    expect([...pipeline.store.values()].map((s) => s.session_id)).toEqual(['session-1']);
    expect(changes).toEqual([`started ${TRACE_ID}`, 'renamed session-1', 'completed session-1']);
  });

  it('gives the store the same single session whatever the order and batching of spans', () => {
    const { all, root, stages } = completedSession();
    const everything = [...all, ...[root, ...stages].map(pendingMarker)];
    const reference = new SessionPipeline();
    reference.ingest(everything, 0);
    for (let seed = 1; seed <= 40; seed += 1) {
      const pipeline = new SessionPipeline();
      const order = shuffled(everything, seed);
      for (let at = 0; at < order.length; at += 1 + (seed % 5)) pipeline.ingest(order.slice(at, at + 1 + (seed % 5)), 0);
      expect([...pipeline.store.values()], `seed ${seed}`).toEqual([...reference.store.values()]);
    }
  });

  it('falls back to the trace id when another trace already uses the session id', () => {
    const pipeline = new SessionPipeline();
    pipeline.ingest(completedSession({ sessionId: 'reused' }).all, 0);
    const second = 'b'.repeat(32);
    pipeline.ingest(completedSession({ sessionId: 'reused', traceId: second }).all, 1);
    expect(pipeline.store.get('reused')?.trace_id).toBe(TRACE_ID);
    const fallback = pipeline.store.get(second)!;
    expect(fallback.trace_id).toBe(second);
    expect(fallback.events.every((event) => event.session_id === second)).toBe(true);
  });
});

describe('abandoned sessions', () => {
  it('are marked abandoned after the idle time, counted once, and come back when a span arrives', () => {
    const pipeline = new SessionPipeline({ abandonAfterMs: 1000, retentionMs: 60_000 });
    const changes: string[] = [];
    pipeline.store.subscribe((change) => changes.push(change.type));
    const { root, stages, all } = completedSession();
    pipeline.ingest([pendingMarker(root), pendingMarker(stages[0]!)], 0);
    pipeline.sweep(999);
    expect(pipeline.store.get('session-1')?.status).toBe('active');
    pipeline.sweep(1000);
    const given = pipeline.store.get('session-1')!;
    expect(given).toMatchObject({
      status: 'abandoned',
      current_stage: 'abandoned',
      end_time: new Date(T0).toISOString(),
      duration_ms: 0,
      error: 'abandoned: no span for 1 s',
    });
    expect(given.stages[0]).toMatchObject({ status: 'error' });
    expect(given.events.at(-1)).toMatchObject({ stage: 'abandoned' });
    pipeline.sweep(5000);
    expect(changes).toEqual(['started', 'abandoned']);
    // The session was only slow: its spans arrive, and it completes.
    pipeline.ingest(all, 6000);
    expect(pipeline.store.get('session-1')?.status).toBe('completed');
    expect(changes).toEqual(['started', 'abandoned', 'completed']);
  });

  it('never abandons an ended session', () => {
    const pipeline = new SessionPipeline({ abandonAfterMs: 10 });
    pipeline.ingest(completedSession().all, 0);
    pipeline.sweep(100);
    expect(pipeline.store.get('session-1')?.status).toBe('completed');
  });
});

describe('bounds a review found missing', () => {
  it('evicts the least recently updated running sessions when only running ones exceed the maximum', () => {
    const store = new MemorySessionStore({ maxSessions: 2 });
    for (const id of ['a', 'b', 'c']) store.upsert(sessionWith(id, 'active'), 0);
    expect([...store.values()].map((s) => s.session_id)).toEqual(['b', 'c']);
  });

  it('does not abandon a session whose trace keeps sending spans that say nothing of it', () => {
    const pipeline = new SessionPipeline({ abandonAfterMs: 1000 });
    const { root } = completedSession();
    pipeline.ingest([pendingMarker(root)], 0);
    // A database call of the same trace every half second.
    for (const at of [500, 1000, 1500])
      pipeline.ingest([{ ...root, spanId: `f${at}`.padStart(16, '0'), parentSpanId: root.spanId, attributes: {} }], at);
    pipeline.sweep(2000);
    expect(pipeline.store.get('session-1')?.status).toBe('active');
  });
});
