/**
 * A trace whose spans reached two replicas: each merges what the other stored
 * (`SessionPipeline.mergeStored`) without taking it as its own to store again, and both end with the
 * session one pipeline fed every span builds — whatever the split and the order of the merges.
 */
import { describe, expect, it } from 'vitest';
import { SessionPipeline } from '../src/index.js';
import type { SessionChange, SpanRecord, TraceSnapshot } from '../src/index.js';
import { completedSession, pendingMarker, shuffled, span, T0 } from './span-fixtures.js';

const NOW = T0 + 1000;

/** Every span our instrumentation sends for a session: markers of the running root and stages, then the spans themselves. */
function exported(traceId: string, ended = true): SpanRecord[] {
  const { root, stages, llmCall } = completedSession({ traceId, sessionId: `session-${traceId.slice(0, 6)}` });
  const markers = [pendingMarker({ ...root, endTimeUnixMs: 0 }), ...stages.map((stage) => pendingMarker(stage))];
  return [...markers, ...stages, llmCall, ...(ended ? [root] : [])];
}

/** The session(s) a pipeline stores. */
const stored = (pipeline: SessionPipeline): unknown[] => [...pipeline.store.values()];

/** What a pipeline's builder took of a trace and nothing more (the records it would append). */
function taken(pipeline: SessionPipeline, traceId: string): TraceSnapshot {
  return pipeline.takeUnsaved(traceId) ?? { traceId, lastSeenMs: 0, spans: [] };
}

describe('SessionPipeline.mergeStored', () => {
  it("adds another replica's records without marking them unsaved, and leaves its own unsaved records untaken", () => {
    const traceId = 'c1'.repeat(16);
    const spans = exported(traceId);
    const ownSpans = spans.slice(0, 8);
    const theirSpans = spans.slice(8);
    const own = new SessionPipeline();
    const theirs = new SessionPipeline();
    own.ingest(ownSpans, NOW);
    theirs.ingest(theirSpans, NOW);
    // What the replica would append of its own, had nothing been merged.
    const alone = new SessionPipeline();
    alone.ingest(ownSpans, NOW);
    const ownRecords = taken(alone, traceId);

    const fromThem = taken(theirs, traceId);
    expect(fromThem.spans.length).toBeGreaterThan(0);
    expect(own.mergeStored(fromThem, NOW)).toBe('merged');
    // Its own records are still to be appended, exactly those; the merged ones are not.
    expect(taken(own, traceId).spans).toEqual(ownRecords.spans);
    expect(own.mergeStored(fromThem, NOW)).toBe('unchanged');
    expect(taken(own, traceId).spans).toEqual([]);

    // Merged first, own later: the own record is still unsaved, the merged ones still not.
    const other = new SessionPipeline();
    other.ingest(spans.slice(0, 3), NOW);
    other.takeUnsaved(traceId);
    expect(other.mergeStored(fromThem, NOW)).toBe('merged');
    const late = span({ traceId, parentSpanId: spans.at(-1)!.spanId, name: 'GET /weather', attributes: { 'http.request.method': 'GET' } });
    other.ingest([late], NOW + 1);
    expect(taken(other, traceId).spans.map((record) => record.spanId)).toEqual([late.spanId]);
  });

  it('gives both replicas the session one pipeline fed every span builds, whatever the split and the order of the merges', () => {
    for (let seed = 1; seed <= 60; seed += 1) {
      const traceId = (seed * 7919).toString(16).padStart(32, 'a');
      const spans = exported(traceId, seed % 3 !== 0);
      // Some spans reach both replicas (an exporter's retry through the misrouting front).
      const order = shuffled([...spans, ...shuffled(spans, seed + 1000).slice(0, seed % 4)], seed);
      const cut = 1 + (seed % (order.length - 1));
      const reference = new SessionPipeline();
      reference.ingest(spans, NOW);

      const a = new SessionPipeline();
      const b = new SessionPipeline();
      // Each takes its part in a few batches, and appends (takes) what it kept as it goes.
      const fromA: SpanRecord[] = [];
      const fromB: SpanRecord[] = [];
      const partA = order.slice(0, cut);
      const partB = order.slice(cut);
      for (let at = 0; at < Math.max(partA.length, partB.length); at += 4) {
        a.ingest(partA.slice(at, at + 4), NOW);
        b.ingest(partB.slice(at, at + 4), NOW);
        fromA.push(...taken(a, traceId).spans);
        fromB.push(...taken(b, traceId).spans);
      }
      // Merged in two reads on one side, one on the other, in either order.
      const half = Math.floor(fromB.length / 2);
      if (seed % 2 === 0) {
        a.mergeStored({ traceId, lastSeenMs: NOW, spans: fromB.slice(0, half) }, NOW);
        b.mergeStored({ traceId, lastSeenMs: NOW, spans: fromA }, NOW);
        a.mergeStored({ traceId, lastSeenMs: NOW, spans: fromB.slice(half) }, NOW);
      } else {
        b.mergeStored({ traceId, lastSeenMs: NOW, spans: fromA }, NOW);
        a.mergeStored({ traceId, lastSeenMs: NOW, spans: fromB.slice(half) }, NOW);
        a.mergeStored({ traceId, lastSeenMs: NOW, spans: fromB.slice(0, half) }, NOW);
      }
      const expected = stored(reference);
      expect(expected).toHaveLength(1);
      expect({ seed, a: stored(a) }).toEqual({ seed, a: expected });
      expect({ seed, b: stored(b) }).toEqual({ seed, b: expected });
      expect([a.spanCountOf(traceId), b.spanCountOf(traceId)]).toEqual([reference.spanCountOf(traceId), reference.spanCountOf(traceId)]);
      // Nothing merged is to be appended again.
      expect(taken(a, traceId).spans).toEqual([]);
      expect(taken(b, traceId).spans).toEqual([]);
    }
  });

  it('leaves alone a trace it does not hold, or whose session it removed recently', () => {
    const traceId = 'c2'.repeat(16);
    const records: TraceSnapshot = { traceId, lastSeenMs: NOW, spans: exported(traceId) };
    const empty = new SessionPipeline();
    expect(empty.mergeStored(records, NOW)).toBe('not_held');
    expect(empty.traceCount).toBe(0);
    expect(empty.store.size).toBe(0);

    const pipeline = new SessionPipeline({ retentionMs: 1000 });
    pipeline.ingest(exported(traceId), NOW);
    pipeline.sweep(NOW + 5000);
    expect(pipeline.store.size).toBe(0);
    expect(pipeline.mergeStored(records, NOW + 5000)).toBe('not_held');
    expect(pipeline.store.size).toBe(0);
    expect(pipeline.traceCount).toBe(0);
  });

  it('tells the store only of merges that change the session', () => {
    const traceId = 'c3'.repeat(16);
    const spans = exported(traceId);
    const theirs = new SessionPipeline();
    theirs.ingest(spans.slice(5), NOW);
    const fromThem = taken(theirs, traceId);
    const pipeline = new SessionPipeline();
    pipeline.ingest(spans.slice(0, 5), NOW);
    const changes: SessionChange[] = [];
    pipeline.store.subscribe((change) => changes.push(change), 'test');
    expect(pipeline.mergeStored(fromThem, NOW)).toBe('merged');
    expect(changes.map((change) => change.type)).toEqual(['completed']);
    expect(pipeline.mergeStored(fromThem, NOW + 10)).toBe('unchanged');
    expect(changes).toHaveLength(1);
  });

  it('holds a merged trace to its limits', () => {
    const traceId = 'c4'.repeat(16);
    const pipeline = new SessionPipeline({ maxSpansPerTrace: 6 });
    const spans = exported(traceId).filter((record) => !record.attributes['llm_monitor.pending.span_type'] && record.parentSpanId !== '');
    pipeline.ingest(spans.slice(0, 3), NOW);
    expect(pipeline.mergeStored({ traceId, lastSeenMs: NOW, spans: spans.slice(3) }, NOW)).toBe('merged');
    expect(pipeline.spanCountOf(traceId)).toBe(6);
    expect(pipeline.stats().spansRefused).toBe(spans.length - 6);
  });

  it('judges time again: old records leave an idle session given up, its end or fresh records do not', () => {
    const traceId = 'c5'.repeat(16);
    const spans = exported(traceId);
    const root = spans.at(-1)!;
    const start = (): SessionPipeline => {
      const pipeline = new SessionPipeline({ abandonAfterMs: 1000, settleAfterMs: 1000 });
      pipeline.ingest(spans.slice(0, 3), NOW);
      pipeline.sweep(NOW + 2000);
      expect([...pipeline.store.values()][0]!.status).toBe('abandoned');
      return pipeline;
    };
    // Records the other replica saw long ago: still idle, still abandoned (not brought back for a sweep to give up again).
    const old = start();
    const changes: SessionChange[] = [];
    old.store.subscribe((change) => changes.push(change), 'test');
    expect(old.mergeStored({ traceId, lastSeenMs: NOW + 100, spans: spans.slice(3, 6) }, NOW + 2000)).toBe('merged');
    expect([...old.store.values()][0]!.status).toBe('abandoned');
    expect(changes.map((change) => change.type)).toEqual(['updated']);
    // Records it saw just now: the session goes on.
    const fresh = start();
    expect(fresh.mergeStored({ traceId, lastSeenMs: NOW + 1900, spans: spans.slice(3, 6) }, NOW + 2000)).toBe('merged');
    expect([...fresh.store.values()][0]!.status).toBe('active');
    // Its end, seen elsewhere: it completed.
    const ended = start();
    expect(ended.mergeStored({ traceId, lastSeenMs: NOW + 100, spans: [root] }, NOW + 2000)).toBe('merged');
    expect([...ended.store.values()][0]!.status).toBe('completed');
  });

  it('counts the distinct spans a trace holds, not the markers of running ones', () => {
    const traceId = 'c6'.repeat(16);
    const pipeline = new SessionPipeline();
    const root = span({ traceId, name: 'llm_monitor.session t', attributes: { 'llm_monitor.span_type': 'session' } });
    expect(pipeline.spanCountOf(traceId)).toBe(0);
    pipeline.ingest([pendingMarker({ ...root, endTimeUnixMs: 0 })], NOW);
    expect(pipeline.spanCountOf(traceId)).toBe(0);
    pipeline.ingest([root, root], NOW);
    expect(pipeline.spanCountOf(traceId)).toBe(1);
    pipeline.ingest([span({ traceId, parentSpanId: root.spanId })], NOW);
    expect(pipeline.spanCountOf(traceId)).toBe(2);
  });
});
