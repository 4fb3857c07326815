/**
 * What a live update costs the receiver's session building, in-process (there is no socket in this
 * path): a running session gets a progress marker of its streaming stage (a token batch, the running
 * total), as an application's live processor sends every export delay. Incremental building applies
 * it to what the trace has indexed and derived so far; the baseline, measured in the same run,
 * derives the same session from all its spans (the same records, so each span's own derived parts
 * are reused there too: what differs is collecting, sorting and scanning every span, and the stages
 * and the tree of steps made again). Two sessions: the live workload's (14 spans) and a long agent
 * session (a thousand spans: 10 stages, 400 tool steps in 200 nested pairs, 100 model calls).
 * Each figure is the median over repetitions of `UPDATES` updates.
 *
 *   pnpm exec vitest bench --run bench/suite/session-building.bench.ts
 */
import { bench, describe } from 'vitest';
import { ATTR_SPAN_TYPE, BUILTIN_STAGE_IDS, SPAN_TYPE } from '@llm-monitor/semconv';
import { deriveSession, SessionBuilder } from '@llm-monitor/sessions';
import type { SpanEventRecord, SpanRecord } from '@llm-monitor/sessions';
import { pendingMarker, span, spanId, T0, TRACE_ID } from '../../packages/sessions/test/span-fixtures.js';
import { percentile, QUICK, report } from './results.js';

const UPDATES = 200;
const REPETITIONS = QUICK ? 3 : 25;

/** A span of the fixtures' trace, as the application "bench-app" would export it. */
const spanOf = (fields: Partial<SpanRecord> & Pick<SpanRecord, 'name'>): SpanRecord =>
  span({ resource: { 'service.name': 'bench-app' }, ...fields });

/** A running session's spans: the root announced, `stages` ended stages, `toolPairs` nested tool steps, `calls` model calls, and the running streaming stage. */
function runningSession(stages: number, toolPairs: number, calls: number): { spans: SpanRecord[]; streaming: SpanRecord } {
  const root = spanOf({
    name: 'llm_monitor.session bench',
    endTimeUnixMs: 0,
    attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.session, 'llm_monitor.session.id': `bench-${spanId()}`, 'llm_monitor.task': 'bench' },
  });
  const spans = [root];
  let at = T0;
  const stageSpans: SpanRecord[] = [];
  for (let index = 0; index < stages; index += 1) {
    const stage = spanOf({
      name: `llm_monitor.stage ${BUILTIN_STAGE_IDS[index % BUILTIN_STAGE_IDS.length]}`,
      parentSpanId: root.spanId,
      startTimeUnixMs: at,
      endTimeUnixMs: at + 10,
      attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': BUILTIN_STAGE_IDS[index % BUILTIN_STAGE_IDS.length]! },
    });
    stageSpans.push(stage);
    spans.push(stage);
    at += 10;
  }
  for (let pair = 0; pair < toolPairs; pair += 1) {
    const within = stageSpans[pair % stageSpans.length]!;
    const outer = spanOf({
      name: 'invoke_agent planner',
      parentSpanId: within.spanId,
      startTimeUnixMs: within.startTimeUnixMs + (pair % 9),
      endTimeUnixMs: within.startTimeUnixMs + 9,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' },
    });
    const inner = spanOf({
      name: 'execute_tool search',
      parentSpanId: outer.spanId,
      startTimeUnixMs: outer.startTimeUnixMs,
      endTimeUnixMs: outer.startTimeUnixMs + 1,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.result': 'found' },
    });
    spans.push(outer, inner);
  }
  for (let call = 0; call < calls; call += 1) {
    const within = stageSpans[call % stageSpans.length]!;
    spans.push(
      spanOf({
        name: 'chat gpt-4o-mini',
        parentSpanId: within.spanId,
        startTimeUnixMs: within.startTimeUnixMs + 1,
        endTimeUnixMs: within.startTimeUnixMs + 8,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 40,
          'gen_ai.usage.output_tokens': 12,
        },
      }),
    );
  }
  const streaming = spanOf({
    name: 'llm_monitor.stage streaming_response',
    parentSpanId: root.spanId,
    startTimeUnixMs: at,
    endTimeUnixMs: 0,
    attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': 'streaming_response' },
  });
  return { spans, streaming };
}

/** The progress marker of update `n` of the running `stage`: one token batch and the running total. */
function progressMarker(stage: SpanRecord, n: number): SpanRecord {
  const marker = pendingMarker(stage);
  return {
    ...marker,
    endTimeUnixMs: stage.startTimeUnixMs + n,
    attributes: { ...marker.attributes, 'llm_monitor.tokens.total': n * 4 },
    events: [
      {
        name: 'llm_monitor.tokens',
        timeUnixMs: stage.startTimeUnixMs + n,
        attributes: { 'llm_monitor.tokens.count': 4, 'llm_monitor.tokens.total': n * 4 },
      },
    ],
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Median microseconds per update: incremental (the builder) and from all spans (deriveSession). */
async function microsecondsPerUpdate(
  stages: number,
  toolPairs: number,
  calls: number,
): Promise<{ incremental: number; fromAll: number; spans: number }> {
  const incremental: number[] = [];
  const fromAll: number[] = [];
  let spanCount = 0;
  for (let repetition = 0; repetition < REPETITIONS + 2; repetition += 1) {
    const { spans, streaming } = runningSession(stages, toolPairs, calls);
    spanCount = spans.length + 1;
    const markers = Array.from({ length: UPDATES }, (_, n) => progressMarker(streaming, n + 1));

    const builder = new SessionBuilder();
    builder.ingest([...spans, progressMarker(streaming, 0)]);
    let startedAt = performance.now();
    for (const marker of markers) builder.ingest([marker]);
    const incrementalMs = performance.now() - startedAt;
    await turn();

    // The same session from all its spans each time: the streaming stage as its markers announce it.
    const parents = new Map(spans.map((span) => [span.spanId, span.parentSpanId]));
    const events: SpanEventRecord[] = [];
    startedAt = performance.now();
    for (const [n, marker] of markers.entries()) {
      events.push(...marker.events);
      const announced: SpanRecord = {
        ...streaming,
        attributes: { ...streaming.attributes, 'llm_monitor.tokens.total': (n + 1) * 4 },
        events: [...events],
      };
      deriveSession(TRACE_ID, [...spans, announced], parents, {});
    }
    const fromAllMs = performance.now() - startedAt;
    await turn();
    if (repetition >= 2) {
      incremental.push((incrementalMs * 1000) / UPDATES);
      fromAll.push((fromAllMs * 1000) / UPDATES);
    }
  }
  return { incremental: percentile(incremental, 50), fromAll: percentile(fromAll, 50), spans: spanCount };
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

describe('session building', () => {
  bench(
    'a live update to a running session, incremental against derived from all spans',
    async () => {
      const sessions = [
        { label: 'live workload session', stages: 10, toolPairs: 1, calls: 1 },
        { label: 'long agent session', stages: 10, toolPairs: 200, calls: 100 },
      ];
      for (const shape of sessions) {
        const measured = await microsecondsPerUpdate(shape.stages, shape.toolPairs, shape.calls);
        console.log(
          `session building, ${shape.label} (${measured.spans} spans): incremental ${measured.incremental.toFixed(1)} µs, from all spans ${measured.fromAll.toFixed(1)} µs per update`,
        );
        report({
          scenario: 'session building',
          figure: `a progress marker to a running ${shape.label} (${measured.spans.toLocaleString('en-US')} spans), per update`,
          value: round1(measured.incremental),
          unit: 'µs',
          baseline: { label: 'derived from all its spans', value: round1(measured.fromAll) },
        });
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
