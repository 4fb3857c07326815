import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROGRESS,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  BUILTIN_STAGES,
  EVENT_TOKENS,
  GEN_AI,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import type { Attributes, SpanRecord } from '../src/index.js';

export const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
export const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

let counter = 0;
/** A fresh, valid 16-hex span id. */
export function spanId(): string {
  counter += 1;
  return counter.toString(16).padStart(16, '0');
}

export function span(overrides: Partial<SpanRecord> & { attributes?: Attributes }): SpanRecord {
  return {
    traceId: TRACE_ID,
    spanId: spanId(),
    parentSpanId: '',
    name: 'span',
    kind: 1,
    startTimeUnixMs: T0,
    endTimeUnixMs: T0 + 1,
    attributes: {},
    events: [],
    status: { code: 0, message: '' },
    resource: { 'service.name': 'test-app' },
    scope: { name: 'test', version: '1' },
    ...overrides,
  };
}

/** The pending marker our instrumentation exports when `announced` starts. */
export function pendingMarker(announced: SpanRecord): SpanRecord {
  return span({
    traceId: announced.traceId,
    parentSpanId: announced.spanId,
    name: announced.name,
    startTimeUnixMs: announced.startTimeUnixMs,
    endTimeUnixMs: announced.startTimeUnixMs,
    attributes: {
      ...announced.attributes,
      [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
      [ATTR_PENDING_SPAN_TYPE]: announced.attributes[ATTR_SPAN_TYPE] ?? '',
      [ATTR_PENDING_PARENT_ID]: announced.parentSpanId,
    },
  });
}

export interface SessionSpans {
  root: SpanRecord;
  stages: SpanRecord[];
  llmCall: SpanRecord;
  all: SpanRecord[];
}

/** A complete session of ten stages (10 ms each), an LLM call and token events. */
export function completedSession(options: { sessionId?: string; fail?: boolean; traceId?: string } = {}): SessionSpans {
  const traceId = options.traceId ?? TRACE_ID;
  const sessionId = options.sessionId ?? 'session-1';
  const root = span({
    traceId,
    name: 'llm_monitor.session summarize',
    startTimeUnixMs: T0,
    endTimeUnixMs: T0 + 100,
    attributes: {
      [ATTR_SPAN_TYPE]: SPAN_TYPE.session,
      [ATTR_SESSION_ID]: sessionId,
      [ATTR_TASK]: 'summarize',
      [GEN_AI.requestModel]: 'gpt-4o-mini',
      [GEN_AI.conversationId]: 'conv-1',
      'llm_monitor.metadata.template': 'summary-v1',
      'llm_monitor.metadata.options': '{"temperature":0.2}',
    },
    status: options.fail ? { code: 2, message: 'rate limited' } : { code: 1, message: '' },
  });
  const stages = BUILTIN_STAGES.map((stage, index) =>
    span({
      traceId,
      parentSpanId: root.spanId,
      name: `llm_monitor.stage ${stage.id}`,
      startTimeUnixMs: T0 + index * 10,
      endTimeUnixMs: T0 + index * 10 + 10,
      attributes: {
        [ATTR_SPAN_TYPE]: SPAN_TYPE.stage,
        [ATTR_SESSION_ID]: sessionId,
        [ATTR_STAGE]: stage.id,
        [ATTR_PROGRESS]: stage.progress,
        [ATTR_STAGE_MESSAGE]: `doing ${stage.label}`,
      },
      events:
        stage.id === 'streaming_response'
          ? [
              { name: EVENT_TOKENS, timeUnixMs: T0 + 72, attributes: { [ATTR_TOKENS_COUNT]: 3, [ATTR_TOKENS_TEXT]: 'Hello ' } },
              { name: EVENT_TOKENS, timeUnixMs: T0 + 75, attributes: { [ATTR_TOKENS_COUNT]: 2, [ATTR_TOKENS_TEXT]: 'world' } },
            ]
          : [],
    }),
  );
  const sendStage = stages[6]!;
  const llmCall = span({
    traceId,
    parentSpanId: sendStage.spanId,
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixMs: T0 + 61,
    endTimeUnixMs: T0 + 79,
    attributes: {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'openai',
      [GEN_AI.requestModel]: 'gpt-4o-mini',
      [GEN_AI.responseModel]: 'gpt-4o-mini-2024-07-18',
      [GEN_AI.usageInputTokens]: 12,
      [GEN_AI.usageOutputTokens]: 5,
    },
  });
  return { root, stages, llmCall, all: [root, ...stages, llmCall] };
}

/** Deterministic shuffle (mulberry32), so a failing order can be reproduced from its seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
