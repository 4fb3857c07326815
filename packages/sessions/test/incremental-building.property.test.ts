/**
 * Incremental building, as a property: a trace keeps its spans indexed as they arrive and reuses
 * what it derived before (stage records, the tree of steps), so after every batch of a live session
 * — markers announcing stages and steps, progress markers with tokens, ended spans replacing the
 * running ones, children before their parents — the session must equal the one a fresh builder
 * derives from the same spans at once, with nothing derived before.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_STAGES } from '@llm-monitor/semconv';
import { SessionBuilder } from '../src/index.js';
import type { SpanRecord } from '../src/index.js';
import { pendingMarker, span, T0, TRACE_ID } from './span-fixtures.js';

interface LiveShape {
  stages: number;
  /** Per stage: progress markers, each with a token batch. */
  progress: number[];
  /** Steps: the stage (or earlier step) each runs in, whether it ends, and whether a later version replaces it. */
  steps: { parent: number; ends: boolean; renamed: boolean; realFirst: boolean }[];
  ended: boolean;
  /** The root is sent running (a real span without an end) before it ends, not only announced. */
  rootRealFirst: boolean;
  /** How far a span may arrive out of its order (0: in order). */
  jitter: number;
  batchSize: number;
}

const liveShapes = fc.record({
  stages: fc.integer({ min: 1, max: 8 }),
  progress: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }),
  steps: fc.array(fc.record({ parent: fc.nat(), ends: fc.boolean(), renamed: fc.boolean(), realFirst: fc.boolean() }), { maxLength: 10 }),
  ended: fc.boolean(),
  rootRealFirst: fc.boolean(),
  jitter: fc.integer({ min: 0, max: 6 }),
  batchSize: fc.integer({ min: 1, max: 5 }),
});

/** The spans a live session sends, in the order it sends them. */
function liveSession(shape: LiveShape): SpanRecord[] {
  const sent: SpanRecord[] = [];
  const root = span({
    name: 'llm_monitor.session live',
    startTimeUnixMs: T0,
    endTimeUnixMs: 0,
    attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 'live-session', 'llm_monitor.task': 'live' },
  });
  sent.push(shape.rootRealFirst ? root : pendingMarker(root));
  const stages: SpanRecord[] = [];
  let at = T0;
  let total = 0;
  for (let index = 0; index < shape.stages; index += 1) {
    const stageId = BUILTIN_STAGES[index]!.id;
    const running = span({
      parentSpanId: root.spanId,
      name: `llm_monitor.stage ${stageId}`,
      startTimeUnixMs: at,
      endTimeUnixMs: 0,
      attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': stageId },
    });
    stages.push(running);
    sent.push(pendingMarker(running));
    const events = [];
    for (let update = 1; update <= shape.progress[index]!; update += 1) {
      total += update;
      const batch = {
        name: 'llm_monitor.tokens',
        timeUnixMs: at + update,
        attributes: {
          'llm_monitor.tokens.count': update,
          'llm_monitor.tokens.total': total,
          'llm_monitor.tokens.text': `${stageId}${update} `,
        },
      };
      events.push(batch);
      const marker = pendingMarker(running);
      sent.push({
        ...marker,
        endTimeUnixMs: at + update,
        attributes: { ...marker.attributes, 'llm_monitor.tokens.total': total, 'llm_monitor.progress': index * 10 + update },
        events: [batch],
      });
    }
    at += 10;
    sent.push({ ...running, endTimeUnixMs: at, events });
  }
  const steps: SpanRecord[] = [];
  for (const [index, shapeOfStep] of shape.steps.entries()) {
    const within = shapeOfStep.parent % (index + stages.length);
    const parent = within < index ? steps[within]! : stages[within - index]!;
    const step = span({
      parentSpanId: parent.spanId,
      name: 'execute_tool search',
      startTimeUnixMs: parent.startTimeUnixMs + 1,
      endTimeUnixMs: 0,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' },
    });
    steps.push(step);
    // Announced by a marker, or sent running as a real span (then its ended version replaces it).
    sent.push(shapeOfStep.realFirst ? step : pendingMarker(step));
    if (shapeOfStep.ends) {
      sent.push({
        ...step,
        endTimeUnixMs: step.startTimeUnixMs + 2,
        attributes: { ...step.attributes, 'gen_ai.tool.name': shapeOfStep.renamed ? 'lookup' : 'search' },
      });
    }
  }
  if (shape.ended) sent.push({ ...root, endTimeUnixMs: at + 1, status: { code: 1, message: '' } });
  return sent;
}

/** `spans` with each moved up to `jitter` places from where it was sent (a deterministic shuffle). */
function jittered(spans: SpanRecord[], jitter: number): SpanRecord[] {
  return spans
    .map((record, index) => ({ record, key: index + ((index * 7919) % (jitter + 1)) }))
    .sort((a, b) => a.key - b.key)
    .map((entry) => entry.record);
}

/** Copies of records without what was derived from them (the memo is a symbol-keyed property). */
const fresh = (spans: readonly SpanRecord[]): SpanRecord[] => spans.map((record) => structuredClone(record));

describe('incremental building (property)', () => {
  it('after every batch of a live session, the session equals a fresh derivation from the same spans', () => {
    fc.assert(
      fc.property(liveShapes, (shape) => {
        const arriving = jittered(liveSession(shape), shape.jitter);
        const builder = new SessionBuilder();
        const delivered: SpanRecord[] = [];
        for (let from = 0; from < arriving.length; from += shape.batchSize) {
          const batch = arriving.slice(from, from + shape.batchSize);
          delivered.push(...batch);
          builder.ingest(batch);
          const reference = new SessionBuilder();
          reference.ingest(fresh(delivered));
          expect(builder.sessionOf(TRACE_ID)).toEqual(reference.sessionOf(TRACE_ID));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a progress marker of a running stage reuses the records of every other stage and the tree of steps', () => {
    const root = span({
      name: 'llm_monitor.session s',
      endTimeUnixMs: 0,
      attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 's' },
    });
    const stage = (id: string, startMs: number, endMs: number): SpanRecord =>
      span({
        parentSpanId: root.spanId,
        name: `llm_monitor.stage ${id}`,
        startTimeUnixMs: startMs,
        endTimeUnixMs: endMs,
        attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': id },
      });
    const parsing = stage('parsing', T0, T0 + 5);
    const streaming = stage('streaming_response', T0 + 5, 0);
    const tool = span({
      parentSpanId: parsing.spanId,
      name: 'execute_tool t',
      startTimeUnixMs: T0 + 1,
      endTimeUnixMs: T0 + 2,
      attributes: { 'gen_ai.operation.name': 'execute_tool' },
    });
    const builder = new SessionBuilder();
    const before = builder.ingest([pendingMarker(root), parsing, tool, pendingMarker(streaming)])[0]!;
    const marker = pendingMarker(streaming);
    const [after] = builder.ingest([
      {
        ...marker,
        endTimeUnixMs: T0 + 6,
        attributes: { ...marker.attributes, 'llm_monitor.tokens.total': 3 },
        events: [
          { name: 'llm_monitor.tokens', timeUnixMs: T0 + 6, attributes: { 'llm_monitor.tokens.count': 3, 'llm_monitor.tokens.total': 3 } },
        ],
      },
    ]);
    expect(after!.token_counts.streamed).toBe(3);
    // The finished stage's record and event, and the tree of steps, are the very objects of before.
    expect(after!.stages[0]).toBe(before.stages[0]);
    expect(after!.events[0]).toBe(before.events[0]);
    expect(after!.steps).toBe(before.steps);
    // A new step is a change to the tree.
    const [withStep] = builder.ingest([
      span({
        parentSpanId: streaming.spanId,
        name: 'execute_tool u',
        startTimeUnixMs: T0 + 7,
        endTimeUnixMs: T0 + 8,
        attributes: { 'gen_ai.operation.name': 'execute_tool' },
      }),
    ]);
    expect(withStep!.steps).not.toBe(before.steps);
    expect(withStep!.steps.map((step) => step.stage)).toEqual(['parsing', 'streaming_response']);
  });

  it('a parent learnt from a span the full trace refused re-hangs a step that was built before', () => {
    const root = span({
      name: 'llm_monitor.session s',
      endTimeUnixMs: 0,
      attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 's' },
    });
    const parsing = span({
      parentSpanId: root.spanId,
      name: 'llm_monitor.stage parsing',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 9,
      attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': 'parsing' },
    });
    const tool = (parentSpanId: string, startMs: number): SpanRecord =>
      span({
        parentSpanId,
        name: 'execute_tool t',
        startTimeUnixMs: startMs,
        endTimeUnixMs: startMs + 1,
        attributes: { 'gen_ai.operation.name': 'execute_tool' },
      });
    const outer = tool(parsing.spanId, T0 + 1);
    // `middle` is no step of the session (the trace refuses it), but its parent entry links `inner` to `outer`.
    const middle = tool(outer.spanId, T0 + 2);
    const inner = tool(middle.spanId, T0 + 3);
    const running = span({ parentSpanId: parsing.spanId, name: 'execute_tool r', startTimeUnixMs: T0 + 4, endTimeUnixMs: 0 });
    // Five items: the root's and the running step's markers (no parent entries) and three spans.
    const builder = new SessionBuilder({ maxSpansPerTrace: 5 });
    const [before] = builder.ingest([pendingMarker(root), parsing, outer, inner, pendingMarker(running)]);
    expect(before!.steps.find((step) => step.span_id === inner.spanId)!.parent_span_id).toBeNull();
    builder.ingest([middle]);
    expect(builder.stats().spansRefused).toBe(1);
    // The next rebuild (here an exporter's retry of the stage: nothing in the index moves) sees it.
    const [after] = builder.ingest([parsing]);
    expect(after!.steps.map((step) => step.span_id)).not.toContain(middle.spanId);
    expect(after!.steps.find((step) => step.span_id === inner.spanId)!.parent_span_id).toBe(outer.spanId);
  });
});
