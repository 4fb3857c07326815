/**
 * Deriving a session from the spans of its trace: stages, LLM calls, tokens, cost, status — and what
 * time alone decides (abandoned, settled). Functions of their inputs: the builder calls them with a
 * trace's index of its effective spans (`span-index.ts`), which keeps what its calls and steps came
 * to while they do not change, so the same spans always give the same session — the one
 * {@link deriveSession} derives from them all at once.
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
  GEN_AI,
  OTEL,
  PROGRESS_COMPLETE,
  TERMINAL_STAGES,
  builtinStageProgress,
} from '@llm-monitor/semconv';
import { isoTime, metadataFromAttributes, metadataWithPrefixes } from './attribute-values.js';
import { CONVERSATION_KEYS, ROOT_METADATA_PREFIXES, TASK_KEYS, USER_KEYS, firstOnSpans, llmCallFacts } from './genai-mapping.js';
import type { ProcessingEvent, ProcessingSession, SessionStatus, StageRecord } from './model.js';
import { costUsd } from './model-prices.js';
import type { ModelPrices } from './model-prices.js';
import { DEFAULT_PREVIEW_LENGTH } from './content-previews.js';
import { summarizeCalls, withFirstTokenOfSession } from './session-calls.js';
import { MAX_STEPS_PER_SESSION, deriveSteps } from './session-steps.js';
import type { StepOptions } from './session-steps.js';
import { memoOf } from './span-memo.js';
import type { SpanMemo } from './span-memo.js';
import { collectTokens } from './token-batches.js';
import { STATUS_ERROR, errorOf } from './span-outcome.js';
import { SpanIndex } from './span-index.js';
import { stringAttribute } from './span-record.js';
import type { Attributes, SpanRecord } from './span-record.js';
import { addTokens, boundedDuration, numericValue } from './span-values.js';

/** Steps as the receiver's defaults bound them. */
export const DEFAULT_STEP_OPTIONS: StepOptions = { maxSteps: MAX_STEPS_PER_SESSION, previewLength: DEFAULT_PREVIEW_LENGTH };

/** The `llm_monitor.span.type` of a span, if it is one of ours. */
export function spanTypeOf(span: SpanRecord): string | undefined {
  return stringAttribute(span.attributes, ATTR_SPAN_TYPE);
}

function secondsToMs(seconds: number | undefined): number | null {
  return seconds === undefined ? null : boundedDuration(seconds * 1000);
}

/** A service's entry into a trace: a server or consumer span (OTLP kinds 2 and 5). */
export function isEntrySpan(span: SpanRecord): boolean {
  return span.kind === 2 || span.kind === 5;
}

/**
 * Derives the session of one trace from its effective spans (real spans, and running spans their
 * markers announce), or `undefined` if the trace is no session. `parents` maps every span id seen
 * to its parent's; `prices` prices the calls; `stepOptions` bound the tree of steps.
 */
export function deriveSession(
  traceId: string,
  spans: Iterable<SpanRecord>,
  parents: ReadonlyMap<string, string>,
  prices: ModelPrices,
  stepOptions: StepOptions = DEFAULT_STEP_OPTIONS,
): ProcessingSession | undefined {
  return deriveSessionOf(traceId, SpanIndex.of(spans), parents, prices, stepOptions);
}

/**
 * {@link deriveSession} from a trace's {@link SpanIndex}: what a trace that keeps its index span by
 * span calls after each batch. It reads the index's lists — stages, calls, token carriers, steps —
 * and what each span's memo holds, never every span.
 */
export function deriveSessionOf(
  traceId: string,
  index: SpanIndex,
  parents: ReadonlyMap<string, string>,
  prices: ModelPrices,
  stepOptions: StepOptions = DEFAULT_STEP_OPTIONS,
): ProcessingSession | undefined {
  const sessionSpan = index.sessions[0];
  const stageSpans = index.stages;
  const llmSpans = index.calls;
  if (!sessionSpan && stageSpans.length === 0 && llmSpans.length === 0) return undefined;
  const firstSpan = index.first!;

  // Every span of ours carries the session id, so the id is known from whichever arrives first.
  const ours = sessionSpan ?? stageSpans[0] ?? index.namingSession[0];
  // A session from other instrumentations is the trace itself: its root span, once it arrives — or,
  // in a service called by another, this service's entry span (its parent lives elsewhere).
  const root = sessionSpan ?? (ours ? undefined : (index.roots[0] ?? index.entries.find((span) => !parents.has(span.parentSpanId))));
  const rootAttributes: Attributes = root?.attributes ?? {};
  const sessionId =
    (sessionSpan && stringAttribute(sessionSpan.attributes, ATTR_SESSION_ID)) ??
    (ours && stringAttribute(ours.attributes, ATTR_SESSION_ID)) ??
    traceId;

  const ended = root !== undefined && root.endTimeUnixMs !== 0;
  const status: SessionStatus = !ended ? 'active' : root.status.code === STATUS_ERROR ? 'failed' : 'completed';
  const startMs = root?.startTimeUnixMs ?? firstSpan.startTimeUnixMs;
  const endMs = ended ? root.endTimeUnixMs : null;

  const stages = stageSpans.map((span, index) => {
    const previous = index > 0 ? stageSpans[index - 1] : undefined;
    return stageRecordOf(span, endMs, previous ? (numericValue(previous.attributes, ATTR_PROGRESS) ?? 0) : 0);
  });
  // Progress never goes backwards: the furthest stage reached counts, however stages were ordered.
  // A loop, not Math.max(...stages): a spread of many thousand arguments overflows the stack.
  let progress = numericValue(rootAttributes, ATTR_PROGRESS) ?? 0;
  for (const stage of stages) if (stage.progress > progress) progress = stage.progress;
  if (status === 'completed') progress = PROGRESS_COMPLETE;

  const error = status === 'failed' ? (errorOf(root!) ?? stages.find((s) => s.error)?.error ?? 'failed') : null;
  const currentStage =
    status === 'active' ? (stages.at(-1)?.stage ?? null) : status === 'failed' ? TERMINAL_STAGES.failed : TERMINAL_STAGES.completed;

  const tokens = collectTokens(index.tokens);
  const calls = index.callsFor(prices, () => summarizeCalls(llmSpans, parents, prices));
  const llmCalls = withFirstTokenOfSession(calls, ours ? tokens.firstAtMs : undefined);
  // A foreign session's time to first token: the first call that reports one, from the session start.
  const firstChunk = calls.firstChunk;
  const callTimeToFirstTokenMs = firstChunk
    ? boundedDuration(
        firstChunk.startTimeUnixMs + llmCallFacts(firstChunk)!.timeToFirstTokenMs! - (root?.startTimeUnixMs ?? firstSpan.startTimeUnixMs),
      )
    : null;
  // Where a foreign session's conversation, user and task come from: the root, then the calls.
  const onRoot = (keys: readonly string[]): string | null => (root ? firstOnSpans([root], keys) : null);
  const lastCall = calls.lastCall;
  const input = numericValue(rootAttributes, ATTR_SESSION_INPUT_TOKENS) ?? calls.countedInput;
  const output =
    numericValue(rootAttributes, ATTR_SESSION_OUTPUT_TOKENS) ?? calls.countedOutput ?? (tokens.count > 0 ? tokens.count : null);
  const ttftSeconds = numericValue(rootAttributes, ATTR_TIME_TO_FIRST_TOKEN);
  const model = ours
    ? (stringAttribute(rootAttributes, GEN_AI.requestModel) ?? lastCall?.response_model ?? lastCall?.request_model ?? null)
    : (lastCall?.response_model ?? lastCall?.request_model ?? stringAttribute(rootAttributes, GEN_AI.requestModel) ?? null);

  const events: ProcessingEvent[] = stageSpans.map((span) => stageEventOf(memoOf(span), sessionId));
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

  const anySpan = root ?? ours ?? firstSpan;
  const { steps, dropped: stepsDropped } = index.stepsFor(endMs, stepOptions, () => deriveSteps(index, parents, endMs, stepOptions));
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
    task: stringAttribute(rootAttributes, ATTR_TASK) ?? (ours ? null : (onRoot(TASK_KEYS) ?? calls.task)),
    // Ours: the model the session asked for. Others: the model that answered its last call.
    model,
    provider: stringAttribute(rootAttributes, GEN_AI.providerName) ?? stringAttribute(rootAttributes, GEN_AI.system) ?? calls.lastProvider,
    processor_type: stringAttribute(rootAttributes, ATTR_PROCESSOR_TYPE) ?? null,
    service_name: stringAttribute(anySpan.resource, OTEL.serviceName) ?? null,
    conversation_id: onRoot(CONVERSATION_KEYS) ?? calls.conversationId,
    user_id: onRoot(USER_KEYS) ?? calls.userId,
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
    // The calls its tokens were counted from, when any has a price; else its tokens at its model.
    cost_usd: calls.countedCost ?? costUsd(prices, model, input, output),
    // The builder adds the budgets crossed: they depend on other sessions too (a user's day).
    budget_exceeded: [],
    // A foreign root's metadata is in its convention's attributes (Langfuse trace metadata, Vercel telemetry metadata).
    metadata: ours ? metadataFromAttributes(rootAttributes) : metadataWithPrefixes(rootAttributes, ROOT_METADATA_PREFIXES),
    error,
  };
}

/**
 * The stage record of a stage span, made again only when what it depends on besides its span
 * changed (`span-memo.ts`): the progress of the stage before it, and — while it runs — the session's
 * end. A running session's rebuild after a marker or a new stage reuses every other stage's record.
 */
function stageRecordOf(span: SpanRecord, sessionEndMs: number | null, previousProgress: number): StageRecord {
  const memo = memoOf(span);
  // Only a stage still running by its span ends with its session.
  const endInput = span.endTimeUnixMs !== 0 ? null : sessionEndMs;
  if (memo.stage !== undefined && memo.stagePreviousProgress === previousProgress && memo.stageSessionEndMs === endInput) return memo.stage;
  const record = stageRecord(span, sessionEndMs, previousProgress);
  memo.stage = record;
  memo.stagePreviousProgress = previousProgress;
  memo.stageSessionEndMs = endInput;
  memo.stageEvent = undefined;
  return record;
}

/** The session event of a stage, from its stage record as {@link stageRecordOf} last made it. */
function stageEventOf(memo: SpanMemo, sessionId: string): ProcessingEvent {
  if (memo.stageEvent !== undefined && memo.stageEventSessionId === sessionId) return memo.stageEvent;
  const stage = memo.stage!;
  const event: ProcessingEvent = {
    session_id: sessionId,
    stage: stage.stage,
    timestamp: stage.start_time,
    message: stage.message,
    progress: stage.progress,
    metadata: stage.metadata,
    error: stage.error,
  };
  memo.stageEvent = event;
  memo.stageEventSessionId = sessionId;
  return event;
}

function stageRecord(span: SpanRecord, sessionEndMs: number | null, previousProgress: number): StageRecord {
  const a = span.attributes;
  const stage = stringAttribute(a, ATTR_STAGE) ?? span.name;
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
