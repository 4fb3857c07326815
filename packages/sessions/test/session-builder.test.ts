import { describe, expect, it } from 'vitest';
import { BUILTIN_STAGE_IDS, GEN_AI } from '@llm-monitor/semconv';
import { MAX_SPANS_PER_TRACE, SessionBuilder } from '../src/index.js';
import type { ProcessingSession, SpanRecord } from '../src/index.js';
import { completedSession, pendingMarker, shuffled, span, T0, TRACE_ID } from './span-fixtures.js';

function build(batches: SpanRecord[][]): ProcessingSession | undefined {
  const builder = new SessionBuilder();
  for (const batch of batches) builder.ingest(batch);
  return builder.sessionOf(TRACE_ID);
}

describe('SessionBuilder', () => {
  it('rebuilds a completed session with its ten stages, tokens, LLM call and metadata', () => {
    const { all } = completedSession();
    const session = build([all])!;
    expect(session.session_id).toBe('session-1');
    expect(session.trace_id).toBe(TRACE_ID);
    expect(session.status).toBe('completed');
    expect(session.progress).toBe(100);
    expect(session.current_stage).toBe('completed');
    expect(session.stages.map((s) => s.stage)).toEqual(BUILTIN_STAGE_IDS);
    expect(session.events.map((e) => e.stage)).toEqual([...BUILTIN_STAGE_IDS, 'completed']);
    expect(session.events[1]).toMatchObject({ message: 'doing Validating input', progress: 10 });
    expect(session.stages.every((s) => s.status === 'ok' && s.duration_ms === 10)).toBe(true);
    expect(session.duration_ms).toBe(100);
    expect(session.task).toBe('summarize');
    expect(session.model).toBe('gpt-4o-mini');
    expect(session.provider).toBe('openai');
    expect(session.conversation_id).toBe('conv-1');
    expect(session.service_name).toBe('test-app');
    expect(session.metadata).toEqual({ template: 'summary-v1', options: { temperature: 0.2 } });
    expect(session.token_counts).toEqual({ input: 12, output: 5, total: 17, streamed: 5 });
    expect(session.streamed_tokens).toEqual(['Hello ', 'world']);
    expect(session.time_to_first_token_ms).toBe(72);
    expect(session.llm_calls).toEqual([
      expect.objectContaining({ operation: 'chat', response_model: 'gpt-4o-mini-2024-07-18', input_tokens: 12, duration_ms: 18 }),
    ]);
    expect(session.error).toBeNull();
  });

  it('gives the same session whatever the order, batching and duplication of spans', () => {
    const { all, root, stages } = completedSession();
    const markers = [root, ...stages].map(pendingMarker);
    const everything = [...all, ...markers];
    const expected = build([everything]);
    for (let seed = 1; seed <= 60; seed += 1) {
      const order = shuffled([...everything, ...shuffled(everything, seed).slice(0, seed % 7)], seed);
      const cut = 1 + (seed % order.length);
      const batches = [order.slice(0, cut), order.slice(cut)];
      expect(build(batches), `seed ${seed}`).toEqual(expected);
    }
  });

  it('shows a running session from pending markers before any span has ended', () => {
    const { root, stages } = completedSession();
    const session = build([[pendingMarker(root), pendingMarker(stages[0]!), pendingMarker(stages[1]!)]])!;
    expect(session.status).toBe('active');
    expect(session.current_stage).toBe('validating_input');
    expect(session.progress).toBe(10);
    expect(session.end_time).toBeNull();
    expect(session.stages.map((s) => s.status)).toEqual(['running', 'running']);
    expect(session.task).toBe('summarize');
  });

  it('shows a session from child spans whose root has not arrived yet', () => {
    const { stages } = completedSession();
    const session = build([stages.slice(0, 3)])!;
    expect(session.session_id).toBe('session-1');
    expect(session.status).toBe('active');
    expect(session.current_stage).toBe('resolving_template');
    expect(session.progress).toBe(20);
  });

  it('never lets progress go backwards when a later stage reports less', () => {
    const { root, stages } = completedSession();
    const lowCustom = span({
      parentSpanId: root.spanId,
      startTimeUnixMs: T0 + 45,
      endTimeUnixMs: 0,
      attributes: { ...stages[0]!.attributes, 'llm_monitor.stage': 'custom_check', 'llm_monitor.progress': 5 },
    });
    const session = build([[pendingMarker(root), ...stages.slice(0, 5), lowCustom]])!;
    expect(session.current_stage).toBe('custom_check');
    expect(session.progress).toBe(40);
  });

  it('reports a failed session with its error and the stage it failed in', () => {
    const { root, stages } = completedSession({ fail: true });
    const failedStage = { ...stages[7]!, status: { code: 2 as const, message: 'rate limited' } };
    const session = build([[root, ...stages.slice(0, 7), failedStage]])!;
    expect(session.status).toBe('failed');
    expect(session.current_stage).toBe('failed');
    expect(session.error).toBe('rate limited');
    expect(session.progress).toBe(70);
    expect(session.stages.at(-1)).toMatchObject({ stage: 'streaming_response', status: 'error', error: 'rate limited' });
    expect(session.events.at(-1)).toMatchObject({ stage: 'failed', error: 'rate limited' });
  });

  it('makes a session of a trace with GenAI spans from another instrumentation', () => {
    const root = span({ name: 'POST /chat', startTimeUnixMs: T0, endTimeUnixMs: T0 + 500 });
    const call = span({
      parentSpanId: root.spanId,
      name: 'chat claude',
      startTimeUnixMs: T0 + 10,
      endTimeUnixMs: T0 + 490,
      attributes: {
        [GEN_AI.operationName]: 'chat',
        [GEN_AI.system]: 'anthropic',
        [GEN_AI.requestModel]: 'claude-sonnet-4',
        [GEN_AI.usagePromptTokens]: '40',
        [GEN_AI.usageCompletionTokens]: 60,
      },
    });
    const onlyCall = build([[call]])!;
    expect(onlyCall.status).toBe('active');
    const session = build([[call], [root]])!;
    expect(session).toMatchObject({
      session_id: TRACE_ID,
      source: 'gen_ai',
      status: 'completed',
      model: 'claude-sonnet-4',
      provider: 'anthropic',
      duration_ms: 500,
      token_counts: { input: 40, output: 60, total: 100, streamed: 0 },
    });
  });

  it('ignores traces that are not sessions', () => {
    const builder = new SessionBuilder();
    expect(builder.ingest([span({ name: 'GET /health' })])).toEqual([]);
    expect(builder.sessionOf(TRACE_ID)).toBeUndefined();
  });

  it('forgets a trace on request', () => {
    const builder = new SessionBuilder();
    builder.ingest(completedSession().all);
    expect(builder.traceCount).toBe(1);
    builder.forget(TRACE_ID);
    expect(builder.traceCount).toBe(0);
    expect(builder.sessionOf(TRACE_ID)).toBeUndefined();
  });
});

describe('SessionBuilder memory', () => {
  it('keeps only parent links of spans that cannot matter, and forgets them when the trace goes idle', () => {
    const builder = new SessionBuilder();
    const root = span({ name: 'GET /' });
    const child = span({ name: 'SELECT', parentSpanId: root.spanId });
    expect(builder.ingest([child, root], 0)).toEqual([]);
    expect(builder.traceCount).toBe(1);
    expect(builder.sweepOrphans(1000, 1000)).toBe(1);
    expect(builder.traceCount).toBe(0);
  });

  it('keeps at most MAX_SPANS_PER_TRACE spans of one trace, counting the rest', () => {
    const builder = new SessionBuilder();
    const many = Array.from({ length: MAX_SPANS_PER_TRACE + 10 }, () => span({ attributes: { 'gen_ai.request.model': 'm' } }));
    builder.ingest(many, 0);
    expect(builder.droppedSpans).toBe(10);
    expect(builder.sessionOf(TRACE_ID)!.llm_calls).toHaveLength(MAX_SPANS_PER_TRACE);
  });

  it('forgets idle traces that never formed a session, never sessions', () => {
    const builder = new SessionBuilder();
    builder.ingest([span({ traceId: 'a'.repeat(32), name: 'GET /' })], 1000);
    builder.ingest(completedSession().all, 1000);
    expect(builder.sweepOrphans(1999, 1000)).toBe(0);
    expect(builder.sweepOrphans(2000, 1000)).toBe(1);
    expect(builder.traceCount).toBe(1);
    expect(builder.sessionOf(TRACE_ID)).toBeDefined();
  });
});

describe('SessionBuilder with broken times', () => {
  it('still builds a session from a span whose times no date can hold', () => {
    const builder = new SessionBuilder();
    const sessions = builder.ingest([
      span({ startTimeUnixMs: Number.NaN, endTimeUnixMs: 1e300, attributes: { [GEN_AI.requestModel]: 'm' } }),
    ]);
    expect(sessions[0]!.start_time).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('SessionBuilder with what senders get wrong', () => {
  it('counts every streamed token when the SDK dropped the oldest token events', () => {
    const { root, stages } = completedSession();
    const streaming = stages[7]!;
    // Only the last two of many events survived the SDK's event limit.
    const truncated = {
      ...streaming,
      droppedEventsCount: 126,
      events: [
        { name: 'llm_monitor.tokens', timeUnixMs: T0 + 78, attributes: { 'llm_monitor.tokens.count': 1, 'llm_monitor.tokens.total': 127 } },
        { name: 'llm_monitor.tokens', timeUnixMs: T0 + 79, attributes: { 'llm_monitor.tokens.count': 1, 'llm_monitor.tokens.total': 128 } },
      ],
    };
    const session = build([[root, ...stages.slice(0, 7), truncated]])!;
    expect(session.token_counts.streamed).toBe(128);
    // The first surviving event is not the first token: time to first token is unknown, not wrong.
    expect(session.time_to_first_token_ms).toBeNull();
  });

  it('holds progress to 0–100 and ignores negative token counts', () => {
    const { root, stages } = completedSession();
    const wild = { ...stages[0]!, attributes: { ...stages[0]!.attributes, 'llm_monitor.progress': 250 } };
    const negative = {
      ...stages[7]!,
      events: [{ name: 'llm_monitor.tokens', timeUnixMs: T0 + 71, attributes: { 'llm_monitor.tokens.count': -50 } }],
    };
    const session = build([[pendingMarker(root), wild, negative]])!;
    expect(session.progress).toBe(100);
    expect(session.stages[0]!.progress).toBe(100);
    expect(session.token_counts.streamed).toBe(0);
  });

  it('keeps a metadata key named __proto__ as data', () => {
    const { root } = completedSession();
    const hostile = { ...root, attributes: { ...root.attributes, 'llm_monitor.metadata.__proto__': '{"polluted":true}' } };
    const session = build([[hostile]])!;
    expect(Object.getPrototypeOf(session.metadata)).toBe(Object.prototype);
    expect((session.metadata as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(session.metadata)).toContain('__proto__');
  });
});

describe('SessionBuilder with live progress markers', () => {
  it('shows a streaming stage live from several progress markers, in any order', () => {
    const { root, stages } = completedSession();
    const streaming = stages[7]!;
    const progress = (endOffset: number, count: number, total: number, text: string): SpanRecord => ({
      ...pendingMarker(streaming),
      endTimeUnixMs: T0 + endOffset,
      attributes: { ...pendingMarker(streaming).attributes, 'llm_monitor.tokens.total': total },
      events: [
        {
          name: 'llm_monitor.tokens',
          timeUnixMs: T0 + endOffset,
          attributes: { 'llm_monitor.tokens.count': count, 'llm_monitor.tokens.total': total, 'llm_monitor.tokens.text': text },
        },
      ],
    });
    const markers = [pendingMarker(root), pendingMarker(streaming), progress(71, 1, 1, 'Hel'), progress(74, 4, 5, 'lo wo')];
    const expected = build([markers])!;
    expect(expected).toMatchObject({ status: 'active', current_stage: 'streaming_response', streamed_tokens: ['Hel', 'lo wo'] });
    expect(expected.token_counts.streamed).toBe(5);
    expect(expected.stages.at(-1)).toMatchObject({ stage: 'streaming_response', status: 'running' });
    for (let seed = 1; seed <= 20; seed += 1) expect(build([shuffled(markers, seed)]), `seed ${seed}`).toEqual(expected);
    // The real stage span, once ended, replaces what the markers said.
    const final = build([[...markers, root, ...stages]])!;
    expect(final.streamed_tokens).toEqual(['Hello ', 'world']);
  });
});
