/**
 * A completed or failed session lets its spans go `releaseSpansAfterMs` after its trace's last
 * span: the session stays in the store as built, what the builder holds falls to a span count, and
 * later spans of the trace are refused as too late. An abandoned session keeps them, since its next
 * span brings it back.
 */
import { describe, expect, it } from 'vitest';
import { SessionPipeline } from '../src/index.js';
import { completedSession, span, T0, TRACE_ID } from './span-fixtures.js';

const RELEASE_AFTER_MS = 60_000;

function pipelineWithOneSession(options: { fail?: boolean } = {}): SessionPipeline {
  const pipeline = new SessionPipeline({ releaseSpansAfterMs: RELEASE_AFTER_MS, abandonAfterMs: 300_000 });
  pipeline.ingest(completedSession(options).all, 1000);
  return pipeline;
}

describe('released spans', () => {
  it('go once an ended session saw no span for releaseSpansAfterMs; the session stays as built', () => {
    for (const fail of [false, true]) {
      const pipeline = pipelineWithOneSession({ fail });
      const built = pipeline.store.get('session-1');
      expect(built?.status).toBe(fail ? 'failed' : 'completed');
      const held = pipeline.stats();
      expect(held.spans).toBe(12);

      pipeline.sweep(1000 + RELEASE_AFTER_MS - 1);
      expect(pipeline.stats()).toMatchObject({ spans: 12, releasedTraces: 0, traces: 1 });

      pipeline.sweep(1000 + RELEASE_AFTER_MS);
      const released = pipeline.stats();
      expect(released).toMatchObject({ spans: 0, releasedTraces: 1, traces: 0, sessions: 1 });
      expect(released.bytes).toBeLessThan(held.bytes / 10);
      // The same object: nothing about the session changed, and no change was told.
      expect(pipeline.store.get('session-1')).toBe(built);
      expect(pipeline.spanCountOf(TRACE_ID)).toBe(12);
    }
  });

  it('refuse later spans of the trace as too late, and leave the session as it was', () => {
    const pipeline = pipelineWithOneSession();
    const built = pipeline.store.get('session-1');
    pipeline.sweep(1000 + RELEASE_AFTER_MS);
    const late = span({
      traceId: TRACE_ID,
      parentSpanId: built!.trace_id.slice(0, 16),
      name: 'late',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 1,
    });
    expect(pipeline.ingest([late, late], 1000 + RELEASE_AFTER_MS + 5)).toEqual({ changed: 0, ignored: 2, refusedTraceFull: 0 });
    expect(pipeline.store.get('session-1')).toBe(built);
    expect(pipeline.mergeStored({ traceId: TRACE_ID, lastSeenMs: 0, spans: [late] }, 1000 + RELEASE_AFTER_MS + 5)).toBe('not_held');
  });

  it('keep the records a durable store has not taken yet, and hand them over once', () => {
    const pipeline = pipelineWithOneSession();
    pipeline.sweep(1000 + RELEASE_AFTER_MS);
    const snapshot = pipeline.takeUnsaved(TRACE_ID);
    expect(snapshot?.spans).toHaveLength(12);
    expect(snapshot?.lastSeenMs).toBe(1000);
    expect(pipeline.takeUnsaved(TRACE_ID)).toBeUndefined();
    expect(pipeline.spanCountOf(TRACE_ID)).toBe(12);
  });

  it('are not let go of an abandoned session, which a later span brings back', () => {
    const pipeline = new SessionPipeline({ releaseSpansAfterMs: 1000, abandonAfterMs: 5000 });
    const { root, stages } = completedSession();
    const running = { ...root, endTimeUnixMs: 0, status: { code: 0 as const, message: '' } };
    pipeline.ingest([running, ...stages.slice(0, 3)], 1000);
    pipeline.sweep(1000 + 5000);
    expect(pipeline.store.get('session-1')?.status).toBe('abandoned');
    pipeline.sweep(1000 + 60_000);
    expect(pipeline.stats()).toMatchObject({ releasedTraces: 0, spans: 4 });
    pipeline.ingest([root], 1000 + 61_000);
    expect(pipeline.store.get('session-1')?.status).toBe('completed');
  });

  it('are forgotten with their session when the store lets it go, and its late spans stay refused', () => {
    const pipeline = new SessionPipeline({ releaseSpansAfterMs: 1000, retentionMs: 10_000 });
    pipeline.ingest(completedSession().all, 1000);
    pipeline.sweep(2000);
    expect(pipeline.stats()).toMatchObject({ releasedTraces: 1, sessions: 1 });
    pipeline.sweep(20_000);
    expect(pipeline.stats()).toMatchObject({ releasedTraces: 0, sessions: 0, traces: 0, removedTraces: 1, bytes: 0 });
    expect(pipeline.ingest(completedSession().all, 20_001).ignored).toBe(12);
  });

  it('are followed by compactSteps, which swaps each released session for its compact form in place, quietly', () => {
    const compactForms: string[] = [];
    const pipeline = new SessionPipeline({
      releaseSpansAfterMs: 1000,
      // A compact form any caller can tell apart: the same session, frozen.
      compactSession: (session) => Object.freeze({ ...session }),
      onCompacted: (session) => compactForms.push(session.session_id),
    });
    const changes: string[] = [];
    pipeline.store.subscribe((change) => changes.push(change.type));
    pipeline.ingest(completedSession({ sessionId: 'first', traceId: 'a'.repeat(32) }).all, 1000);
    pipeline.ingest(completedSession({ sessionId: 'second', traceId: 'b'.repeat(32) }).all, 1000);
    pipeline.ingest(completedSession({ sessionId: 'third', traceId: 'c'.repeat(32) }).all, 1500);
    const built = pipeline.store.get('first');
    changes.length = 0;
    pipeline.sweep(2000);
    // Released, not compacted yet: that is compactSteps' work.
    expect(pipeline.store.get('first')).toBe(built);
    const steps = pipeline.compactSteps();
    let step = steps.next();
    while (!step.done) step = steps.next();
    expect(step.value).toBe(2);
    expect(compactForms).toEqual(['first', 'second']);
    expect(Object.isFrozen(pipeline.store.get('first'))).toBe(true);
    expect(pipeline.store.get('first')).toEqual(built);
    expect(Object.isFrozen(pipeline.store.get('third'))).toBe(false);
    // Its place in the eviction order is kept, and nobody was told of a change.
    expect([...pipeline.store.values()].map((session) => session.session_id)).toEqual(['first', 'second', 'third']);
    expect(changes).toEqual([]);
    expect(pipeline.stats().sessionsCompacted).toBe(2);
    // Queued, then gone from the store before its turn: skipped.
    pipeline.sweep(2500);
    pipeline.store.evictOldest();
    pipeline.store.evictOldest();
    pipeline.store.evictOldest();
    expect(pipeline.compactSteps().next()).toEqual({ done: true, value: 0 });
  });
});
