import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpanKind, trace } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/api';
import type { BasicTracerProvider, InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROGRESS,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  BUILTIN_STAGE_IDS,
  EVENT_TOKENS,
  GEN_AI,
} from '@llm-monitor/semconv';
import { createLlmMonitor } from '../src/index.js';
import { createHarness } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
let diagErrors: unknown[][];

beforeEach(() => {
  harness = createHarness();
  ({ exporter, provider, diagErrors } = harness);
});

afterEach(async () => {
  await harness.close();
});

const spanType = (span: ReadableSpan): unknown => span.attributes[ATTR_SPAN_TYPE];

describe('createLlmMonitor', () => {
  it('writes a session as a root span with one child span per stage', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    const session = monitor.startSession({ task: 'summarize', model: 'gpt-4o-mini', content: 'x'.repeat(500) });
    for (const stage of BUILTIN_STAGE_IDS) session.stage(stage, { message: `now ${stage}` });
    session.complete({ result: 'done', inputTokens: 10, outputTokens: 20 });

    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => spanType(s) === 'session')!;
    const stages = spans.filter((s) => spanType(s) === 'stage');
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes[ATTR_SESSION_ID]).toBe(session.sessionId);
    expect(root.attributes[GEN_AI.requestModel]).toBe('gpt-4o-mini');
    expect(String(root.attributes[ATTR_CONTENT_PREVIEW])).toHaveLength(201);
    expect(root.attributes[ATTR_PROGRESS]).toBe(100);
    expect(root.status.code).toBe(1);
    expect(stages.map((s) => s.attributes[ATTR_STAGE])).toEqual(BUILTIN_STAGE_IDS);
    for (const stage of stages) {
      expect(stage.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(stage.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    // A stage ends when the next begins.
    for (let i = 1; i < stages.length; i += 1) {
      expect(stages[i - 1]!.endTime).toEqual(stages[i]!.startTime);
    }
  });

  it('exports a pending marker as each session and stage starts, before anything ends', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    const session = monitor.startSession({ task: 'classify' });
    session.stage('initializing');
    const markers = exporter.getFinishedSpans();
    expect(markers.map((m) => m.attributes[ATTR_PENDING_SPAN_TYPE])).toEqual(['session', 'stage']);
    expect(markers.every((m) => spanType(m) === 'pending')).toBe(true);
    expect(markers[1]!.attributes[ATTR_STAGE]).toBe('initializing');
    session.complete();
  });

  it('can leave the pending markers out', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider, live: false });
    monitor.startSession({ task: 'classify' }).stage('initializing');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('records tokens as events with a running count, text only when asked', () => {
    const privateMonitor = createLlmMonitor({ tracerProvider: provider, tokenBatching: { maxTokens: 1 } });
    const session = privateMonitor.startSession({ task: 't' });
    session.stage('streaming_response');
    session.tokens(3, 'secret ');
    session.tokens(2, 'text');
    session.complete();
    const streaming = exporter
      .getFinishedSpans()
      .find((s) => s.attributes[ATTR_STAGE] === 'streaming_response' && spanType(s) === 'stage')!;
    const events = streaming.events.filter((e) => e.name === EVENT_TOKENS);
    expect(events.map((e) => e.attributes?.[ATTR_TOKENS_TOTAL])).toEqual([3, 5]);
    expect(events.some((e) => e.attributes?.[ATTR_TOKENS_TEXT] !== undefined)).toBe(false);

    exporter.reset();
    const capturing = createLlmMonitor({ tracerProvider: provider, captureTokenText: true, live: false }).startSession({ task: 't' });
    capturing.stage('streaming_response');
    capturing.tokens(1, 'visible');
    capturing.complete();
    const captured = exporter.getFinishedSpans().flatMap((s) => s.events);
    expect(captured[0]!.attributes?.[ATTR_TOKENS_TEXT]).toBe('visible');
  });

  it('writes LLM calls as GenAI client spans', () => {
    const session = createLlmMonitor({ tracerProvider: provider }).startSession({ task: 't' });
    session.stage('sending_request');
    const call = session.startLlmCall({ operation: 'chat', provider: 'openai', model: 'gpt-4o' });
    call.end({ responseModel: 'gpt-4o-2024-08-06', inputTokens: 7, outputTokens: 9 });
    session.complete();
    const span = exporter.getFinishedSpans().find((s) => s.name === 'chat gpt-4o')!;
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'openai',
      [GEN_AI.requestModel]: 'gpt-4o',
      [GEN_AI.responseModel]: 'gpt-4o-2024-08-06',
      [GEN_AI.usageInputTokens]: 7,
      [GEN_AI.usageOutputTokens]: 9,
    });
    const stage = exporter.getFinishedSpans().find((s) => s.attributes[ATTR_STAGE] === 'sending_request' && spanType(s) === 'stage')!;
    expect(span.parentSpanContext?.spanId).toBe(stage.spanContext().spanId);
  });

  it('never lets progress go backwards', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    expect(monitor.registerStage({ id: 'early_check', label: 'Early check', progress: 5 })).toBe(true);
    const session = monitor.startSession({ task: 't' });
    session.stage('selecting_model');
    session.stage('early_check');
    expect(session.progress).toBe(40);
  });

  it('fails a session with the error on the session and on its current stage', () => {
    const session = createLlmMonitor({ tracerProvider: provider }).startSession({ task: 't' });
    session.stage('connecting_to_model');
    session.fail(new TypeError('connect ECONNREFUSED'));
    const spans = exporter.getFinishedSpans().filter((s) => spanType(s) !== 'pending');
    const root = spans.find((s) => spanType(s) === 'session')!;
    const stage = spans.find((s) => spanType(s) === 'stage')!;
    expect(root.status).toEqual({ code: 2, message: 'connect ECONNREFUSED' });
    expect(root.attributes['error.type']).toBe('TypeError');
    expect(root.events.some((e) => e.name === 'exception')).toBe(true);
    expect(stage.status.code).toBe(2);
  });

  it('never throws into the application: misuse goes to the diagnostic logger', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    expect(monitor.registerStage({ id: 'Bad Id', label: 'x', progress: 1 })).toBe(false);
    expect(monitor.registerStage({ id: 'initializing', label: 'x', progress: 1 })).toBe(false);
    expect(monitor.registerStage({ id: 'too_far', label: 'x', progress: 120 })).toBe(false);
    const session = monitor.startSession({ task: 't' });
    expect(() => session.stage('not_registered')).not.toThrow();
    session.complete();
    expect(() => session.complete()).not.toThrow();
    expect(() => session.stage('initializing')).not.toThrow();
    expect(() => session.fail('late')).not.toThrow();
    expect(diagErrors.length).toBe(7);
  });

  it('never throws for arguments of the wrong type, as plain JavaScript callers may pass', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    const loose = monitor as unknown as { startSession(options: unknown): ReturnType<typeof monitor.startSession> };
    const hostileMetadata = {
      get boom(): string {
        throw new Error('getter');
      },
    };
    expect(() => loose.startSession(undefined)).not.toThrow();
    expect(() => loose.startSession({ task: 't', metadata: hostileMetadata })).not.toThrow();
    const session = loose.startSession({ task: 't', content: { role: 'user', text: 'hi' } });
    expect(() => session.tokens(Number.NaN)).not.toThrow();
    expect(() => (session.complete as (options: unknown) => void)({ result: 42 })).not.toThrow();
    const root = exporter.getFinishedSpans().find((s) => spanType(s) === 'session' && s.attributes[ATTR_SESSION_ID] === session.sessionId)!;
    expect(root.attributes[ATTR_CONTENT_PREVIEW]).toBe('{"role":"user","text":"hi"}');
    expect(root.attributes['llm_monitor.result_preview']).toBe('42');
  });

  it('still ends the session when describing its outcome fails', () => {
    const session = createLlmMonitor({ tracerProvider: provider }).startSession({ task: 't' });
    const hostile = {
      get result(): string {
        throw new Error('getter');
      },
    };
    session.complete(hostile);
    expect(session.ended).toBe(true);
    expect(exporter.getFinishedSpans().some((s) => spanType(s) === 'session')).toBe(true);
    expect(diagErrors.length).toBe(1);
  });

  it('refuses unusable session ids and uses a random one instead', () => {
    const monitor = createLlmMonitor({ tracerProvider: provider });
    expect(monitor.startSession({ task: 't', sessionId: 'mine' }).sessionId).toBe('mine');
    const tooLong = monitor.startSession({ task: 't', sessionId: 'x'.repeat(257) });
    expect(tooLong.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(diagErrors.length).toBe(1);
  });

  it('times LLM calls with the session clock, inside their stage, and names their session', () => {
    const session = createLlmMonitor({ tracerProvider: provider }).startSession({ task: 't' });
    session.stage('sending_request');
    session.startLlmCall({ operation: 'chat', model: 'm' }).end();
    session.stage('streaming_response');
    session.complete();
    const spans = exporter.getFinishedSpans().filter((s) => spanType(s) !== 'pending');
    const call = spans.find((s) => s.name === 'chat m')!;
    const stage = spans.find((s) => s.attributes[ATTR_STAGE] === 'sending_request')!;
    const ms = ([seconds, nanos]: [number, number]): number => seconds * 1000 + nanos / 1e6;
    expect(ms(call.startTime)).toBeGreaterThanOrEqual(ms(stage.startTime));
    expect(ms(call.endTime)).toBeLessThanOrEqual(ms(stage.endTime));
    expect(call.attributes[ATTR_SESSION_ID]).toBe(session.sessionId);
  });

  it('keeps working when the tracer itself throws', () => {
    const broken: TracerProvider = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('exporter exploded');
        },
        startActiveSpan: () => {
          throw new Error('exporter exploded');
        },
      }),
    };
    const monitor = createLlmMonitor({ tracerProvider: broken });
    expect(() => {
      const session = monitor.startSession({ task: 't' });
      session.stage('initializing');
      session.tokens(1);
      session.startLlmCall({ operation: 'chat', model: 'm' }).end();
      session.complete();
    }).not.toThrow();
    expect(diagErrors.length).toBeGreaterThan(0);
  });

  it('uses the global tracer provider when none is given', () => {
    const spy = vi.spyOn(trace, 'getTracerProvider').mockReturnValue(provider);
    createLlmMonitor().startSession({ task: 't' }).complete();
    expect(exporter.getFinishedSpans().length).toBeGreaterThan(0);
    spy.mockRestore();
  });
});
