/**
 * Deriving a session from the spans of its trace: stages, LLM calls, tokens, cost, status — and what
 * time alone decides (abandoned, settled). Pure functions of their inputs: the builder calls them
 * with a trace's effective spans, so the same spans always give the same session.
 */
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_PROCESSOR_TYPE,
  ATTR_PROGRESS,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_TIME_PER_OUTPUT_TOKEN,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_PER_SECOND,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  GEN_AI,
  OTEL,
  PROGRESS_COMPLETE,
  SPAN_TYPE,
  TERMINAL_STAGES,
  builtinStageProgress,
} from '@llm-monitor/semconv';
import { isoTime, metadataFromAttributes, metadataWithPrefixes } from './attribute-values.js';
import { CONVERSATION_KEYS, ROOT_METADATA_PREFIXES, TASK_KEYS, USER_KEYS, firstOnSpans, llmCallFacts } from './genai-mapping.js';
import type { LlmCallFacts } from './genai-mapping.js';
import type { LlmCallRecord, ProcessingEvent, ProcessingSession, SessionStatus, StageRecord } from './model.js';
import { costUsd } from './model-prices.js';
import type { ModelPrices } from './model-prices.js';
import { DEFAULT_PREVIEW_LENGTH } from './content-previews.js';
import { MAX_STEPS_PER_SESSION, deriveSteps } from './session-steps.js';
import type { StepOptions } from './session-steps.js';
import { memoOf } from './span-memo.js';
import { STATUS_ERROR, errorOf, spanOutcome } from './span-outcome.js';
import { stringAttribute } from './span-record.js';
import type { Attributes, SpanRecord } from './span-record.js';
import { addTokens, boundedDuration, numericValue } from './span-values.js';

/** Steps as the receiver's defaults bound them. */
export const DEFAULT_STEP_OPTIONS: StepOptions = { maxSteps: MAX_STEPS_PER_SESSION, previewLength: DEFAULT_PREVIEW_LENGTH };

/** The `llm_monitor.span.type` of a span, if it is one of ours. */
export function spanTypeOf(span: SpanRecord): string | undefined {
  return stringAttribute(span.attributes, ATTR_SPAN_TYPE);
}

/** Spans sorted by start time, ties broken by span id so the order is total. */
function byStart(a: SpanRecord, b: SpanRecord): number {
  return a.startTimeUnixMs - b.startTimeUnixMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

function secondsToMs(seconds: number | undefined): number | null {
  return seconds === undefined ? null : boundedDuration(seconds * 1000);
}

/** A service's entry into a trace: a server or consumer span (OTLP kinds 2 and 5). */
export function isEntrySpan(span: SpanRecord): boolean {
  return span.kind === 2 || span.kind === 5;
}

/** The calls that report tokens and have no descendant call that reports tokens too. */
function innermostWithTokens(calls: LlmCallRecord[], parents: ReadonlyMap<string, string>): LlmCallRecord[] {
  const withTokens = calls.filter((call) => call.input_tokens !== null || call.output_tokens !== null);
  const wrapping = new Set<string>();
  for (const call of withTokens) {
    // Walk up; the bound guards against a cycle a hostile sender could build from parent ids.
    // A parent already marked has its ancestors marked too: each span is walked once per rebuild.
    let parent = parents.get(call.span_id);
    for (let hops = 0; parent && hops < 1000 && !wrapping.has(parent); hops += 1) {
      wrapping.add(parent);
      parent = parents.get(parent);
    }
  }
  return withTokens.filter((call) => !wrapping.has(call.span_id));
}

/** The sum of the known counts (saturating, see {@link addTokens}), `null` when none is known. */
function sumKnown(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const value of values) if (value !== null) total = addTokens(total ?? 0, value);
  return total;
}

/** The call record of a span, made once per record and price table (`span-memo.ts`). */
function llmCallRecord(span: SpanRecord, facts: LlmCallFacts, prices: ModelPrices): LlmCallRecord {
  const memo = memoOf(span);
  if (memo.call !== undefined && memo.callPrices === prices) return memo.call;
  const record = readLlmCallRecord(span, facts, prices);
  memo.call = record;
  memo.callPrices = prices;
  return record;
}

function readLlmCallRecord(span: SpanRecord, facts: LlmCallFacts, prices: ModelPrices): LlmCallRecord {
  const ended = span.endTimeUnixMs !== 0;
  return {
    span_id: span.spanId,
    operation: facts.operation,
    provider: facts.provider,
    request_model: facts.requestModel,
    response_model: facts.responseModel,
    input_tokens: facts.inputTokens,
    output_tokens: facts.outputTokens,
    total_tokens: facts.totalTokens ?? sumKnown([facts.inputTokens, facts.outputTokens]),
    cached_tokens: facts.cachedTokens,
    finish_reasons: facts.finishReasons === null ? null : [...facts.finishReasons],
    user_id: facts.userId,
    start_time: isoTime(span.startTimeUnixMs),
    end_time: ended ? isoTime(span.endTimeUnixMs) : null,
    duration_ms: ended ? boundedDuration(span.endTimeUnixMs - span.startTimeUnixMs) : null,
    status: spanOutcome(span),
    error: errorOf(span),
    prompt_preview: facts.promptPreview,
    response_preview: facts.responsePreview,
    cost_usd: costUsd(prices, facts.responseModel ?? facts.requestModel, facts.inputTokens, facts.outputTokens),
    metadata: facts.metadata,
    time_to_first_token_ms: facts.timeToFirstTokenMs,
  };
}

/**
 * The call a session's first streamed token belongs to (our token events sit on the streaming
 * stage, not on the call): the earliest call running at that moment, given that token's delay.
 */
function withFirstTokenOfSession(calls: LlmCallRecord[], firstAtMs: number | undefined): LlmCallRecord[] {
  if (firstAtMs === undefined || calls.some((call) => call.time_to_first_token_ms !== null)) return calls;
  let chosen = -1;
  for (const [index, call] of calls.entries()) {
    const startMs = Date.parse(call.start_time);
    const endMs = call.end_time === null ? Infinity : Date.parse(call.end_time);
    if (startMs <= firstAtMs && firstAtMs <= endMs && (chosen < 0 || startMs < Date.parse(calls[chosen]!.start_time))) chosen = index;
  }
  if (chosen < 0) return calls;
  const copy = [...calls];
  copy[chosen] = { ...calls[chosen]!, time_to_first_token_ms: boundedDuration(firstAtMs - Date.parse(calls[chosen]!.start_time)) };
  return copy;
}

/**
 * Derives the session of one trace from its effective spans (real spans, and running spans their
 * markers announce), or `undefined` if the trace is no session. `parents` maps every span id seen
 * to its parent's; `prices` prices the calls; `stepOptions` bound the tree of steps.
 */
export function deriveSession(
  traceId: string,
  spans: SpanRecord[],
  parents: ReadonlyMap<string, string>,
  prices: ModelPrices,
  stepOptions: StepOptions = DEFAULT_STEP_OPTIONS,
): ProcessingSession | undefined {
  spans.sort(byStart);
  const sessionSpan = spans.find((span) => spanTypeOf(span) === SPAN_TYPE.session);
  const stageSpans = spans.filter((span) => spanTypeOf(span) === SPAN_TYPE.stage);
  const calls = spans.flatMap((span) => {
    const facts = llmCallFacts(span);
    return facts ? [{ span, facts }] : [];
  });
  const llmSpans = calls.map((call) => call.span);
  if (!sessionSpan && stageSpans.length === 0 && llmSpans.length === 0) return undefined;

  // Every span of ours carries the session id, so the id is known from whichever arrives first.
  const ours = sessionSpan ?? stageSpans[0] ?? spans.find((span) => span.attributes[ATTR_SESSION_ID] !== undefined);
  // A session from other instrumentations is the trace itself: its root span, once it arrives — or,
  // in a service called by another, this service's entry span (its parent lives elsewhere).
  const root =
    sessionSpan ??
    (ours
      ? undefined
      : (spans.find((span) => span.parentSpanId === '') ?? spans.find((span) => isEntrySpan(span) && !parents.has(span.parentSpanId))));
  const rootAttributes: Attributes = root?.attributes ?? {};
  const sessionId =
    (sessionSpan && stringAttribute(sessionSpan.attributes, ATTR_SESSION_ID)) ??
    (ours && stringAttribute(ours.attributes, ATTR_SESSION_ID)) ??
    traceId;

  const ended = root !== undefined && root.endTimeUnixMs !== 0;
  const status: SessionStatus = !ended ? 'active' : root.status.code === STATUS_ERROR ? 'failed' : 'completed';
  const startMs = root?.startTimeUnixMs ?? spans[0]!.startTimeUnixMs;
  const endMs = ended ? root.endTimeUnixMs : null;

  const stages = stageSpans.map((span, index) => {
    const previous = index > 0 ? stageSpans[index - 1] : undefined;
    return stageRecord(span, endMs, previous);
  });
  // Progress never goes backwards: the furthest stage reached counts, however stages were ordered.
  // A loop, not Math.max(...stages): a spread of many thousand arguments overflows the stack.
  let progress = numericValue(rootAttributes, ATTR_PROGRESS) ?? 0;
  for (const stage of stages) if (stage.progress > progress) progress = stage.progress;
  if (status === 'completed') progress = PROGRESS_COMPLETE;

  const error = status === 'failed' ? (errorOf(root!) ?? stages.find((s) => s.error)?.error ?? 'failed') : null;
  const currentStage =
    status === 'active' ? (stages.at(-1)?.stage ?? null) : status === 'failed' ? TERMINAL_STAGES.failed : TERMINAL_STAGES.completed;

  const tokens = collectTokens(spans);
  const llmCalls = withFirstTokenOfSession(
    calls.map((call) => llmCallRecord(call.span, call.facts, prices)),
    ours ? tokens.firstAtMs : undefined,
  );
  // A foreign session's time to first token: the first call that reports one, from the session start.
  const firstChunk = calls.find((call) => call.facts.timeToFirstTokenMs !== null);
  const callTimeToFirstTokenMs = firstChunk
    ? boundedDuration(
        firstChunk.span.startTimeUnixMs + firstChunk.facts.timeToFirstTokenMs! - (root?.startTimeUnixMs ?? spans[0]!.startTimeUnixMs),
      )
    : null;
  // Where a foreign session's conversation, user and task come from: the root, then the calls.
  const described = root ? [root, ...llmSpans] : llmSpans;
  // The model of a session is the model that answered, not the one that embedded its query.
  const named = llmCalls.filter((call) => call.response_model !== null || call.request_model !== null);
  const lastCall = named.findLast((call) => call.operation !== 'embeddings') ?? named.at(-1);
  const lastProvider = [...llmCalls].reverse().find((call) => call.provider !== null)?.provider ?? null;
  // A call that wraps calls reporting their own tokens (an agent around its chat calls, a framework's
  // LLM span around the client's) repeats their usage: only the innermost are added up.
  const counted = innermostWithTokens(llmCalls, parents);
  const input = numericValue(rootAttributes, ATTR_SESSION_INPUT_TOKENS) ?? sumKnown(counted.map((call) => call.input_tokens));
  const output =
    numericValue(rootAttributes, ATTR_SESSION_OUTPUT_TOKENS) ??
    sumKnown(counted.map((call) => call.output_tokens)) ??
    (tokens.count > 0 ? tokens.count : null);
  const ttftSeconds = numericValue(rootAttributes, ATTR_TIME_TO_FIRST_TOKEN);
  const model = ours
    ? (stringAttribute(rootAttributes, GEN_AI.requestModel) ?? lastCall?.response_model ?? lastCall?.request_model ?? null)
    : (lastCall?.response_model ?? lastCall?.request_model ?? stringAttribute(rootAttributes, GEN_AI.requestModel) ?? null);

  const events: ProcessingEvent[] = stages.map((stage) => ({
    session_id: sessionId,
    stage: stage.stage,
    timestamp: stage.start_time,
    message: stage.message,
    progress: stage.progress,
    metadata: stage.metadata,
    error: stage.error,
  }));
  if (endMs !== null) {
    events.push({
      session_id: sessionId,
      stage: currentStage!,
      timestamp: isoTime(endMs),
      message: status === 'failed' ? `Failed: ${error}` : 'Completed',
      progress,
      metadata: {},
      error,
    });
  }

  const anySpan = root ?? ours ?? spans[0]!;
  const { steps, dropped: stepsDropped } = deriveSteps(spans, parents, endMs, stepOptions);
  return {
    session_id: sessionId,
    trace_id: traceId,
    source: ours ? 'llm_monitor' : 'gen_ai',
    status,
    start_time: isoTime(startMs),
    end_time: endMs === null ? null : isoTime(endMs),
    duration_ms: endMs === null ? null : boundedDuration(endMs - startMs),
    current_stage: currentStage,
    progress,
    content_preview: stringAttribute(rootAttributes, ATTR_CONTENT_PREVIEW) ?? null,
    result_preview: stringAttribute(rootAttributes, ATTR_RESULT_PREVIEW) ?? null,
    task: stringAttribute(rootAttributes, ATTR_TASK) ?? (ours ? null : firstOnSpans(described, TASK_KEYS)),
    // Ours: the model the session asked for. Others: the model that answered its last call.
    model,
    provider: stringAttribute(rootAttributes, GEN_AI.providerName) ?? stringAttribute(rootAttributes, GEN_AI.system) ?? lastProvider,
    processor_type: stringAttribute(rootAttributes, ATTR_PROCESSOR_TYPE) ?? null,
    service_name: stringAttribute(anySpan.resource, OTEL.serviceName) ?? null,
    conversation_id: firstOnSpans(described, CONVERSATION_KEYS),
    user_id: firstOnSpans(described, USER_KEYS),
    events,
    stages,
    llm_calls: llmCalls,
    steps,
    steps_dropped: stepsDropped,
    streamed_tokens: tokens.texts,
    token_counts: {
      input,
      output,
      total: input !== null && output !== null ? addTokens(input, output) : (input ?? output),
      streamed: tokens.count,
    },
    time_to_first_token_ms:
      ttftSeconds !== undefined
        ? ttftSeconds * 1000
        : tokens.firstAtMs !== undefined
          ? boundedDuration(tokens.firstAtMs - startMs)
          : callTimeToFirstTokenMs,
    tokens_per_second: numericValue(rootAttributes, ATTR_TOKENS_PER_SECOND) ?? null,
    time_per_output_token_ms: secondsToMs(numericValue(rootAttributes, ATTR_TIME_PER_OUTPUT_TOKEN)),
    cost_usd: sessionCost(counted, prices, model, input, output),
    // The builder adds the budgets crossed: they depend on other sessions too (a user's day).
    budget_exceeded: [],
    // A foreign root's metadata is in its convention's attributes (Langfuse trace metadata, Vercel telemetry metadata).
    metadata: ours ? metadataFromAttributes(rootAttributes) : metadataWithPrefixes(rootAttributes, ROOT_METADATA_PREFIXES),
    error,
  };
}

function stageRecord(span: SpanRecord, sessionEndMs: number | null, previous: SpanRecord | undefined): StageRecord {
  const a = span.attributes;
  const stage = stringAttribute(a, ATTR_STAGE) ?? span.name;
  const previousProgress = previous ? (numericValue(previous.attributes, ATTR_PROGRESS) ?? 0) : 0;
  // A stage known only from its pending marker has ended by the time its session has.
  const endMs = span.endTimeUnixMs !== 0 ? span.endTimeUnixMs : sessionEndMs;
  return {
    stage,
    start_time: isoTime(span.startTimeUnixMs),
    end_time: endMs === null ? null : isoTime(endMs),
    duration_ms: endMs === null ? null : boundedDuration(endMs - span.startTimeUnixMs),
    message: stringAttribute(a, ATTR_STAGE_MESSAGE) ?? '',
    progress: numericValue(a, ATTR_PROGRESS) ?? builtinStageProgress(stage) ?? previousProgress,
    status: endMs === null ? 'running' : span.status.code === STATUS_ERROR ? 'error' : 'ok',
    error: errorOf(span),
    metadata: metadataFromAttributes(a),
  };
}

interface CollectedTokens {
  count: number;
  texts: string[];
  firstAtMs: number | undefined;
}

function collectTokens(spans: SpanRecord[]): CollectedTokens {
  const batches: { atMs: number; count: number; text: string | undefined }[] = [];
  let runningTotal = 0;
  let eventsDropped = false;
  for (const span of spans) {
    // A running span's latest marker carries the running total too, even when the trace was too
    // full to keep the events that came with it.
    runningTotal = Math.max(runningTotal, numericValue(span.attributes, ATTR_TOKENS_TOTAL) ?? 0);
    let carriesTokens = false;
    for (const event of span.events) {
      if (event.name !== EVENT_TOKENS) continue;
      carriesTokens = true;
      runningTotal = Math.max(runningTotal, numericValue(event.attributes, ATTR_TOKENS_TOTAL) ?? 0);
      batches.push({
        atMs: event.timeUnixMs,
        count: numericValue(event.attributes, ATTR_TOKENS_COUNT) ?? 1,
        text: stringAttribute(event.attributes, ATTR_TOKENS_TEXT),
      });
    }
    if (carriesTokens && (span.droppedEventsCount ?? 0) > 0) eventsDropped = true;
  }
  batches.sort((a, b) => a.atMs - b.atMs);
  const texts: string[] = [];
  let count = 0;
  for (const batch of batches) {
    count = addTokens(count, batch.count);
    if (batch.text !== undefined) texts.push(batch.text);
  }
  // Our events carry the session's running total: the largest one counts every token, even when an
  // SDK dropped the oldest events (128 per span by default) or a live update overlapped a span.
  // Events without totals (other instrumentations) are summed. When events were dropped, the first
  // surviving one is no longer the first token.
  // A batch whose time was unknown (0) cannot tell when the first token came.
  const firstAtMs = eventsDropped ? undefined : batches.find((batch) => batch.atMs > 0)?.atMs;
  return { count: runningTotal > 0 ? runningTotal : count, texts, firstAtMs };
}

/**
 * A session's cost: the sum of the calls its tokens were counted from, when any has a price; else
 * (a session that reports only its totals) the price of its tokens at its model.
 */
function sessionCost(
  counted: readonly LlmCallRecord[],
  prices: ModelPrices,
  model: string | null,
  input: number | null,
  output: number | null,
): number | null {
  let sum: number | null = null;
  for (const call of counted) if (call.cost_usd !== null) sum = (sum ?? 0) + call.cost_usd;
  return sum ?? costUsd(prices, model, input, output);
}

/** What time alone decided about a session whose spans stopped coming. */
export type TimeOutcome = { readonly kind: 'abandoned'; readonly idleMs: number } | { readonly kind: 'settled' };

/**
 * The session as it stands once given up: ended at the last moment its spans tell of (in the
 * sender's clock, like every other time of the session), with the reason as its error.
 */
export function abandonedSession(session: ProcessingSession, idleMs: number): ProcessingSession {
  const startMs = Date.parse(session.start_time);
  let lastMs = startMs;
  for (const event of session.events) lastMs = Math.max(lastMs, Date.parse(event.timestamp));
  for (const stage of session.stages) if (stage.end_time) lastMs = Math.max(lastMs, Date.parse(stage.end_time));
  for (const call of session.llm_calls) lastMs = Math.max(lastMs, Date.parse(call.end_time ?? call.start_time));
  for (const step of session.steps) lastMs = Math.max(lastMs, Date.parse(step.end_time ?? step.start_time));
  const endTime = isoTime(lastMs);
  const error = `abandoned: no span for ${Math.round(idleMs / 1000)} s`;
  return {
    ...session,
    status: 'abandoned',
    current_stage: TERMINAL_STAGES.abandoned,
    end_time: endTime,
    duration_ms: lastMs - startMs,
    stages: session.stages.map((stage) => (stage.status === 'running' ? { ...stage, status: 'error', error } : stage)),
    steps: session.steps.map((step) => (step.status === 'running' ? { ...step, status: 'error', error } : step)),
    events: [
      ...session.events,
      {
        session_id: session.session_id,
        stage: TERMINAL_STAGES.abandoned,
        timestamp: endTime,
        message: error,
        progress: session.progress,
        metadata: {},
        error,
      },
    ],
    error,
  };
}

/** A foreign session waiting only for a root that is elsewhere: all its calls have ended. */
export function isSettleable(session: ProcessingSession): boolean {
  return session.source === 'gen_ai' && session.llm_calls.length > 0 && session.llm_calls.every((call) => call.end_time !== null);
}

/** The foreign session as its calls tell it: ended with the last of them, failed if one failed. */
export function settledSession(session: ProcessingSession): ProcessingSession {
  // A loop, not Math.max(...calls): a spread of many thousand arguments overflows the stack.
  let endMs = Date.parse(session.start_time);
  for (const call of session.llm_calls) endMs = Math.max(endMs, Date.parse(call.end_time!));
  const failure = session.llm_calls.find((call) => call.status === 'error');
  const status = failure ? 'failed' : 'completed';
  const endTime = isoTime(endMs);
  const error = failure ? (failure.error ?? 'failed') : null;
  return {
    ...session,
    status,
    current_stage: status === 'failed' ? TERMINAL_STAGES.failed : TERMINAL_STAGES.completed,
    end_time: endTime,
    duration_ms: Math.max(0, endMs - Date.parse(session.start_time)),
    progress: status === 'completed' ? 100 : session.progress,
    events: [
      ...session.events,
      {
        session_id: session.session_id,
        stage: status,
        timestamp: endTime,
        message: status === 'failed' ? `Failed: ${error}` : 'Completed',
        progress: session.progress,
        metadata: {},
        error,
      },
    ],
    error,
  };
}

/** The session with what time decided applied, when it is still running by its spans. */
export function withTimeOutcome(session: ProcessingSession, outcome: TimeOutcome | undefined): ProcessingSession {
  if (!outcome || session.status !== 'active') return session;
  return outcome.kind === 'abandoned' ? abandonedSession(session, outcome.idleMs) : settledSession(session);
}
