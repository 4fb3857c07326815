/**
 * The builder's central promise, as a property: whatever the order, batching and duplication of a
 * session's spans, the same session comes out — from the builder, and in the store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_STAGES } from '@llm-monitor/semconv';
import { SessionBuilder, SessionPipeline } from '../src/index.js';
import type { SpanRecord } from '../src/index.js';
import { pendingMarker, span, T0 } from './span-fixtures.js';

interface SessionShape {
  progressMarkers: number;
  callCarriesSessionId: boolean;
  stageCount: number;
  stageMs: number[];
  tokenBatches: number[];
  withCall: boolean;
  failed: boolean;
  withMarkers: boolean;
  ended: boolean;
  steps: StepShape[];
}

/** One step of the tree: which earlier step (or stage) it runs in, what it is, and whether it still runs. */
interface StepShape {
  parent: number;
  variant: number;
  running: boolean;
  startMs: number;
}

/** Step spans of every convention the mapping reads, plus a plain span (an HTTP call). */
const STEP_VARIANTS: { name: string; attributes: Record<string, string | number | string[]> }[] = [
  {
    name: 'llm_monitor.chain_step retrieve',
    attributes: { 'llm_monitor.span_type': 'chain_step', 'llm_monitor.chain.step': 'retrieve', 'llm_monitor.step.kind': 'retrieval' },
  },
  {
    name: 'llm_monitor.vector_search qdrant',
    attributes: {
      'llm_monitor.span_type': 'vector_search',
      'db.system.name': 'qdrant',
      'db.collection.name': 'docs',
      'llm_monitor.vector.top_k': 4,
    },
  },
  {
    name: 'llm_monitor.model_selection',
    attributes: {
      'llm_monitor.span_type': 'model_selection',
      'llm_monitor.model_selection.candidates': ['a', 'b'],
      'llm_monitor.model_selection.chosen': 'b',
    },
  },
  {
    name: 'execute_tool search',
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.result': 'found' },
  },
  { name: 'RunnableSequence', attributes: { 'openinference.span.kind': 'CHAIN', 'output.value': 'x' } },
  { name: 'ai.toolCall', attributes: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'weather' } },
  { name: 'agent', attributes: { 'langfuse.observation.type': 'agent' } },
  { name: 'GET /index', attributes: { 'http.request.method': 'GET' } },
];

const shapes = fc.record({
  progressMarkers: fc.integer({ min: 0, max: 3 }),
  callCarriesSessionId: fc.boolean(),
  stageCount: fc.integer({ min: 0, max: 10 }),
  stageMs: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 10, maxLength: 10 }),
  tokenBatches: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }),
  withCall: fc.boolean(),
  failed: fc.boolean(),
  withMarkers: fc.boolean(),
  ended: fc.boolean(),
  steps: fc.array(
    fc.record({
      parent: fc.nat(),
      variant: fc.nat({ max: STEP_VARIANTS.length - 1 }),
      running: fc.boolean(),
      startMs: fc.integer({ min: 0, max: 40 }),
    }),
    { maxLength: 12 },
  ),
});

const traceId = 'a1'.repeat(16);
let next = 1;
const id = (): string => (next++).toString(16).padStart(16, '0');

/** The spans our instrumentation would send for a session of this shape. */
function spansOf(shape: SessionShape): SpanRecord[] {
  let at = T0;
  const stages: SpanRecord[] = [];
  const rootId = id();
  let total = 0;
  for (let i = 0; i < shape.stageCount; i += 1) {
    const stage = BUILTIN_STAGES[i]!;
    const start = at;
    at += shape.stageMs[i]!;
    const events =
      stage.id === 'streaming_response'
        ? shape.tokenBatches.map((count, b) => {
            total += count;
            return {
              name: 'llm_monitor.tokens',
              timeUnixMs: start + b,
              attributes: { 'llm_monitor.tokens.count': count, 'llm_monitor.tokens.total': total, 'llm_monitor.tokens.text': `t${b} ` },
            };
          })
        : [];
    stages.push(
      span({
        traceId,
        spanId: id(),
        parentSpanId: rootId,
        name: `llm_monitor.stage ${stage.id}`,
        startTimeUnixMs: start,
        endTimeUnixMs: at,
        attributes: { 'llm_monitor.span_type': 'stage', 'llm_monitor.stage': stage.id },
        events,
      }),
    );
  }
  const root = span({
    traceId,
    spanId: rootId,
    name: 'llm_monitor.session t',
    startTimeUnixMs: T0,
    endTimeUnixMs: shape.ended ? at + 1 : 0,
    attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.session.id': 'property-session', 'llm_monitor.task': 't' },
    status: shape.ended ? (shape.failed ? { code: 2, message: 'boom' } : { code: 1, message: '' }) : { code: 0, message: '' },
  });
  const all = [root, ...stages];
  if (shape.withCall) {
    all.push(
      span({
        traceId,
        spanId: id(),
        parentSpanId: stages[0]?.spanId ?? rootId,
        name: 'chat m',
        startTimeUnixMs: T0 + 1,
        endTimeUnixMs: T0 + 2,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'm',
          'gen_ai.usage.input_tokens': 3,
          ...(shape.callCarriesSessionId ? { 'llm_monitor.session.id': 'property-session' } : {}),
        },
      }),
    );
  }
  // The tree: each step runs in an earlier step or in a stage (or the session); a running one is
  // known only from the marker that announced it, an ended one may come with its marker too.
  const stepSpans: SpanRecord[] = [];
  for (const [index, step] of shape.steps.entries()) {
    const within = step.parent % (index + 1 + stages.length);
    const parentSpanId = within < index ? stepSpans[within]!.spanId : (stages[within - index]?.spanId ?? rootId);
    const variant = STEP_VARIANTS[step.variant]!;
    const stepSpan = span({
      traceId,
      spanId: id(),
      parentSpanId,
      name: variant.name,
      startTimeUnixMs: T0 + step.startMs,
      endTimeUnixMs: T0 + step.startMs + 3,
      attributes: variant.attributes,
    });
    stepSpans.push(stepSpan);
    if (step.running) all.push(pendingMarker({ ...stepSpan, endTimeUnixMs: 0 }));
    else {
      all.push(stepSpan);
      if (shape.withMarkers) all.push(pendingMarker(stepSpan));
    }
  }
  if (shape.withMarkers) all.push(pendingMarker({ ...root, endTimeUnixMs: 0 }), ...stages.map((stage) => pendingMarker(stage)));
  // Live progress of the last stage: several markers, each with the tokens since the one before.
  const last = stages.at(-1);
  if (last) {
    let running = 0;
    for (let p = 1; p <= shape.progressMarkers; p += 1) {
      running += p;
      const marker = pendingMarker(last);
      all.push({
        ...marker,
        endTimeUnixMs: last.startTimeUnixMs + p,
        attributes: { ...marker.attributes, 'llm_monitor.tokens.total': running },
        events: [
          {
            name: 'llm_monitor.tokens',
            timeUnixMs: last.startTimeUnixMs + p,
            attributes: { 'llm_monitor.tokens.count': p, 'llm_monitor.tokens.total': running },
          },
        ],
      });
    }
  }
  return all;
}

/** A delivery of `spans`: a permutation with some spans sent twice, cut into batches. */
const deliveries = (spans: SpanRecord[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(spans, { minLength: 0, maxLength: spans.length }),
      fc.array(fc.integer({ min: 1, max: spans.length + 1 }), { maxLength: 5 }),
      fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
    )
    .map(([duplicates, cuts, randomness]) => {
      const everything = [...spans, ...duplicates];
      const order = everything.map((item) => ({ item, key: randomness.next().value as number })).sort((a, b) => a.key - b.key);
      const batches: SpanRecord[][] = [];
      let from = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        batches.push(order.slice(from, cut).map((entry) => entry.item));
        from = cut;
      }
      batches.push(order.slice(from).map((entry) => entry.item));
      return batches;
    });

describe('order independence (property)', () => {
  it('builds the identical session, tree of steps included, from any permutation, batching and duplication of its spans', () => {
    fc.assert(
      fc.property(
        shapes.chain((shape) => {
          const spans = spansOf(shape);
          return fc.tuple(fc.constant(shape), fc.constant(spans), deliveries(spans));
        }),
        ([shape, spans, batches]) => {
          const reference = new SessionBuilder();
          reference.ingest(spans);
          const builder = new SessionBuilder();
          for (const batch of batches) builder.ingest(batch);
          const expected = reference.sessionOf(traceId);
          expect(builder.sessionOf(traceId)).toEqual(expected);
          // The tree is there to compare: every step of the shape, and the call, is a step.
          expect(expected?.steps).toHaveLength(shape.steps.length + (shape.withCall ? 1 : 0));

          const expectedStore = new SessionPipeline();
          expectedStore.ingest(spans, 0);
          const pipeline = new SessionPipeline();
          for (const batch of batches) pipeline.ingest(batch, 0);
          expect([...pipeline.store.values()]).toEqual([...expectedStore.store.values()]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
