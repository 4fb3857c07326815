/**
 * Where a span becomes a session.
 *
 * The builder keeps the spans of every trace it has seen and derives the session of a trace from
 * the *set* of its spans, never from their arrival order: duplicates are merged, a pending marker
 * stands in for its span until the real span arrives, and children may arrive before their root.
 * The same spans therefore give the same session whatever the order, batching or duplication.
 */
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
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
import { isoTime, metadataFromAttributes } from './attribute-values.js';
import { CONVERSATION_KEYS, TASK_KEYS, USER_KEYS, firstOnSpans, isLlmCall, llmCallFacts } from './genai-mapping.js';
import type { LlmCallFacts } from './genai-mapping.js';
import type {
  LlmCallRecord,
  ProcessingEvent,
  ProcessingSession,
  SessionStatus,
  StageRecord,
} from './model.js';
import { numberAttribute, stringAttribute } from './span-record.js';
import type { Attributes, SpanRecord } from './span-record.js';

const STATUS_ERROR = 2;

/**
 * The most spans kept per trace. A session rebuilds from its spans, so an endless trace would make
 * every rebuild slower; beyond this, spans are dropped and counted.
 */
export const MAX_SPANS_PER_TRACE = 5000;

/** The spans known for one trace. */
interface TraceState {
  /** Real spans by span id (pending markers excluded). */
  readonly spans: Map<string, SpanRecord>;
  /** Pending markers by the id of the span they announce (a running span may have several). */
  readonly markers: Map<string, Map<string, SpanRecord>>;
  /**
   * The parent of every span seen, kept or not: enough to tell which calls nest in which, and which
   * span is a service's entry into a trace that started elsewhere.
   */
  readonly parents: Map<string, string>;
  /** True once a span of ours or a GenAI span arrived: the trace is a session. */
  formsSession: boolean;
  /** When a span of this trace last arrived (caller's clock). */
  lastSeenMs: number;
}

/**
 * Rebuilds processing sessions from spans. Pure: no clock, no I/O. Feed it spans with
 * {@link SessionBuilder.ingest}; it answers with the sessions those spans changed.
 */
export class SessionBuilder {
  readonly #traces = new Map<string, TraceState>();
  /** Spans not kept because their trace already holds {@link MAX_SPANS_PER_TRACE}. */
  droppedSpans = 0;

  /**
   * Adds spans and returns the current session of every trace they touched that forms a session
   * (traces without our spans or GenAI spans are kept but give no session).
   */
  ingest(spans: Iterable<SpanRecord>, nowMs = 0): ProcessingSession[] {
    const touched = new Set<string>();
    for (const span of spans) {
      if (this.#add(span, nowMs)) touched.add(span.traceId);
    }
    const sessions: ProcessingSession[] = [];
    for (const traceId of touched) {
      const session = this.sessionOf(traceId);
      if (session) sessions.push(session);
    }
    return sessions;
  }

  /** The session the known spans of `traceId` form, or `undefined`. */
  sessionOf(traceId: string): ProcessingSession | undefined {
    const state = this.#traces.get(traceId);
    return state ? buildSession(traceId, effectiveSpans(state), state.parents) : undefined;
  }

  /** Drops what is known about a trace (after its session left the store). */
  forget(traceId: string): void {
    this.#traces.delete(traceId);
  }

  /**
   * Forgets traces that never formed a session and saw no span for `idleMs`: the root spans kept in
   * case a GenAI child follows must not accumulate when an application exports all its traces here.
   * Returns how many traces were dropped.
   */
  sweepOrphans(nowMs: number, idleMs: number): number {
    let dropped = 0;
    for (const [traceId, state] of this.#traces) {
      if (!state.formsSession && nowMs - state.lastSeenMs >= idleMs) {
        this.#traces.delete(traceId);
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Number of traces held. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** Keeps a span if it can matter to a session; returns whether it was kept. */
  #add(span: SpanRecord, nowMs: number): boolean {
    const ours = spanTypeOf(span) !== undefined;
    const sessionSpan = ours || isLlmCall(span);
    let state = this.#traces.get(span.traceId);
    if (!state) {
      state = { spans: new Map(), markers: new Map(), parents: new Map(), formsSession: false, lastSeenMs: nowMs };
      this.#traces.set(span.traceId, state);
    }
    state.lastSeenMs = Math.max(state.lastSeenMs, nowMs);
    // Bounded per trace: a trace that never ends must not grow without limit.
    if (state.parents.size < MAX_SPANS_PER_TRACE || state.parents.has(span.spanId)) state.parents.set(span.spanId, span.parentSpanId);
    // Other spans of an application's traces say nothing about a session, except a root span or a
    // service's entry span (duration and status of a GenAI trace) and spans carrying our token events.
    if (!sessionSpan && span.parentSpanId !== '' && !isEntrySpan(span) && !span.events.some((event) => event.name === EVENT_TOKENS)) {
      return false;
    }
    if (state.spans.size >= MAX_SPANS_PER_TRACE && !state.spans.has(span.spanId)) {
      this.droppedSpans += 1;
      return false;
    }
    state.formsSession ||= sessionSpan;
    if (span.attributes[ATTR_SPAN_TYPE] === SPAN_TYPE.pending) {
      // A marker's parent is the running span it announces; without one it announces nothing, and
      // once that span itself has arrived, its markers have nothing left to say.
      if (!span.parentSpanId || state.spans.has(span.parentSpanId)) return true;
      let markers = state.markers.get(span.parentSpanId);
      if (!markers) {
        markers = new Map();
        state.markers.set(span.parentSpanId, markers);
      }
      markers.set(span.spanId, span);
      return true;
    }
    const known = state.spans.get(span.spanId);
    if (!known || isLaterVersion(span, known)) state.spans.set(span.spanId, span);
    state.markers.delete(span.spanId);
    return true;
  }
}

/**
 * Of two versions of one span, the ended one wins, then the one that ended later, so the outcome
 * does not depend on which version arrived first.
 */
function isLaterVersion(candidate: SpanRecord, known: SpanRecord): boolean {
  if (known.endTimeUnixMs === 0) return candidate.endTimeUnixMs !== 0 || candidate.events.length > known.events.length;
  return candidate.endTimeUnixMs > known.endTimeUnixMs;
}

/** The running span a pending marker announces: the marker's parent, with the marker's attributes. */
/**
 * The running span its markers announce: the marker's parent, with the attributes of the latest
 * marker (progress updates carry the running token total) and the events of all of them (each
 * progress update carries the token batches since the one before).
 */
function announcedSpan(markers: Map<string, SpanRecord>): SpanRecord {
  const ordered = [...markers.values()].sort((a, b) => a.endTimeUnixMs - b.endTimeUnixMs || (a.spanId < b.spanId ? -1 : 1));
  const marker = ordered.at(-1)!;
  const spanType = stringAttribute(marker.attributes, ATTR_PENDING_SPAN_TYPE);
  const attributes: Record<string, Attributes[string]> = { ...marker.attributes };
  delete attributes[ATTR_PENDING_PARENT_ID];
  delete attributes[ATTR_PENDING_SPAN_TYPE];
  if (spanType) attributes[ATTR_SPAN_TYPE] = spanType;
  else delete attributes[ATTR_SPAN_TYPE];
  return {
    ...marker,
    spanId: marker.parentSpanId,
    parentSpanId: stringAttribute(marker.attributes, ATTR_PENDING_PARENT_ID) ?? '',
    startTimeUnixMs: ordered[0]!.startTimeUnixMs,
    endTimeUnixMs: 0,
    attributes,
    events: ordered.flatMap((each) => each.events),
    status: { code: 0, message: '' },
  };
}

function effectiveSpans(state: TraceState): SpanRecord[] {
  const spans = [...state.spans.values()];
  for (const [spanId, markers] of state.markers) {
    if (!state.spans.has(spanId)) spans.push(announcedSpan(markers));
  }
  return spans;
}

function spanTypeOf(span: SpanRecord): string | undefined {
  return stringAttribute(span.attributes, ATTR_SPAN_TYPE);
}

/** Spans sorted by start time, ties broken by span id so the order is total. */
function byStart(a: SpanRecord, b: SpanRecord): number {
  return a.startTimeUnixMs - b.startTimeUnixMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

function errorOf(span: SpanRecord): string | null {
  if (span.status.code !== STATUS_ERROR) return null;
  if (span.status.message) return span.status.message;
  const exception = span.events.find((event) => event.name === OTEL.exceptionEvent);
  const message = exception && stringAttribute(exception.attributes, OTEL.exceptionMessage);
  return message ?? stringAttribute(span.attributes, OTEL.errorType) ?? 'error';
}

function spanOutcome(span: SpanRecord): 'running' | 'ok' | 'error' {
  if (span.endTimeUnixMs === 0) return 'running';
  return span.status.code === STATUS_ERROR ? 'error' : 'ok';
}

function secondsToMs(seconds: number | undefined): number | null {
  return seconds === undefined ? null : seconds * 1000;
}

/** Progress from the wire, held to 0–100 whatever a sender wrote. */
function clampProgress(progress: number): number {
  return Math.min(100, Math.max(0, progress));
}

/** A service's entry into a trace: a server or consumer span (OTLP kinds 2 and 5). */
function isEntrySpan(span: SpanRecord): boolean {
  return span.kind === 2 || span.kind === 5;
}

/** The calls that report tokens and have no descendant call that reports tokens too. */
function innermostWithTokens(calls: LlmCallRecord[], parents: ReadonlyMap<string, string>): LlmCallRecord[] {
  const withTokens = calls.filter((call) => call.input_tokens !== null || call.output_tokens !== null);
  const wrapping = new Set<string>();
  for (const call of withTokens) {
    // Walk up; the bound guards against a cycle a hostile sender could build from parent ids.
    let parent = parents.get(call.span_id);
    for (let hops = 0; parent && hops < 1000; hops += 1) {
      wrapping.add(parent);
      parent = parents.get(parent);
    }
  }
  return withTokens.filter((call) => !wrapping.has(call.span_id));
}

function sumKnown(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const value of values) if (value !== null) total = (total ?? 0) + value;
  return total;
}

function llmCallRecord(span: SpanRecord, facts: LlmCallFacts): LlmCallRecord {
  const ended = span.endTimeUnixMs !== 0;
  return {
    span_id: span.spanId,
    operation: facts.operation,
    provider: facts.provider,
    request_model: facts.requestModel,
    response_model: facts.responseModel,
    input_tokens: facts.inputTokens,
    output_tokens: facts.outputTokens,
    start_time: isoTime(span.startTimeUnixMs),
    end_time: ended ? isoTime(span.endTimeUnixMs) : null,
    duration_ms: ended ? span.endTimeUnixMs - span.startTimeUnixMs : null,
    status: spanOutcome(span),
    error: errorOf(span),
    prompt_preview: facts.promptPreview,
    response_preview: facts.responsePreview,
  };
}

/** Derives the session of one trace from its spans, or `undefined` if the trace is no session. */
function buildSession(traceId: string, spans: SpanRecord[], parents: ReadonlyMap<string, string>): ProcessingSession | undefined {
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
      : (spans.find((span) => span.parentSpanId === '') ??
        spans.find((span) => isEntrySpan(span) && !parents.has(span.parentSpanId))));
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
  let progress = Math.max(0, clampProgress(numberAttribute(rootAttributes, ATTR_PROGRESS) ?? 0), ...stages.map((s) => s.progress));
  if (status === 'completed') progress = PROGRESS_COMPLETE;

  const error = status === 'failed' ? errorOf(root!) ?? stages.find((s) => s.error)?.error ?? 'failed' : null;
  const currentStage =
    status === 'active' ? (stages.at(-1)?.stage ?? null) : status === 'failed' ? TERMINAL_STAGES.failed : TERMINAL_STAGES.completed;

  const tokens = collectTokens(spans);
  const llmCalls = calls.map((call) => llmCallRecord(call.span, call.facts));
  // A foreign session's time to first token: the first call that reports one, from the session start.
  const firstChunk = calls.find((call) => call.facts.timeToFirstTokenMs !== null);
  const callTimeToFirstTokenMs = firstChunk
    ? Math.max(0, firstChunk.span.startTimeUnixMs + firstChunk.facts.timeToFirstTokenMs! - (root?.startTimeUnixMs ?? spans[0]!.startTimeUnixMs))
    : null;
  // Where a foreign session's conversation, user and task come from: the root, then the calls.
  const described = root ? [root, ...llmSpans] : llmSpans;
  const lastCall = [...llmCalls].reverse().find((call) => call.response_model !== null || call.request_model !== null);
  const lastProvider = [...llmCalls].reverse().find((call) => call.provider !== null)?.provider ?? null;
  // A call that wraps calls reporting their own tokens (an agent around its chat calls, a framework's
  // LLM span around the client's) repeats their usage: only the innermost are added up.
  const counted = innermostWithTokens(llmCalls, parents);
  const input =
    numberAttribute(rootAttributes, ATTR_SESSION_INPUT_TOKENS) ?? sumKnown(counted.map((call) => call.input_tokens));
  const output =
    numberAttribute(rootAttributes, ATTR_SESSION_OUTPUT_TOKENS) ??
    sumKnown(counted.map((call) => call.output_tokens)) ??
    (tokens.count > 0 ? tokens.count : null);
  const ttftSeconds = numberAttribute(rootAttributes, ATTR_TIME_TO_FIRST_TOKEN);

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
  return {
    session_id: sessionId,
    trace_id: traceId,
    source: ours ? 'llm_monitor' : 'gen_ai',
    status,
    start_time: isoTime(startMs),
    end_time: endMs === null ? null : isoTime(endMs),
    duration_ms: endMs === null ? null : endMs - startMs,
    current_stage: currentStage,
    progress,
    content_preview: stringAttribute(rootAttributes, ATTR_CONTENT_PREVIEW) ?? null,
    result_preview: stringAttribute(rootAttributes, ATTR_RESULT_PREVIEW) ?? null,
    task: stringAttribute(rootAttributes, ATTR_TASK) ?? (ours ? null : firstOnSpans(described, TASK_KEYS)),
    // Ours: the model the session asked for. Others: the model that answered its last call.
    model: ours
      ? (stringAttribute(rootAttributes, GEN_AI.requestModel) ?? lastCall?.response_model ?? lastCall?.request_model ?? null)
      : (lastCall?.response_model ?? lastCall?.request_model ?? stringAttribute(rootAttributes, GEN_AI.requestModel) ?? null),
    provider:
      stringAttribute(rootAttributes, GEN_AI.providerName) ??
      stringAttribute(rootAttributes, GEN_AI.system) ??
      lastProvider,
    processor_type: stringAttribute(rootAttributes, ATTR_PROCESSOR_TYPE) ?? null,
    service_name: stringAttribute(anySpan.resource, OTEL.serviceName) ?? null,
    conversation_id: firstOnSpans(described, CONVERSATION_KEYS),
    user_id: firstOnSpans(described, USER_KEYS),
    events,
    stages,
    llm_calls: llmCalls,
    streamed_tokens: tokens.texts,
    token_counts: {
      input,
      output,
      total: input !== null && output !== null ? input + output : (input ?? output),
      streamed: tokens.count,
    },
    time_to_first_token_ms:
      ttftSeconds !== undefined
        ? ttftSeconds * 1000
        : tokens.firstAtMs !== undefined
          ? Math.max(0, tokens.firstAtMs - startMs)
          : callTimeToFirstTokenMs,
    tokens_per_second: numberAttribute(rootAttributes, ATTR_TOKENS_PER_SECOND) ?? null,
    time_per_output_token_ms: secondsToMs(numberAttribute(rootAttributes, ATTR_TIME_PER_OUTPUT_TOKEN)),
    metadata: metadataFromAttributes(rootAttributes),
    error,
  };
}

function stageRecord(span: SpanRecord, sessionEndMs: number | null, previous: SpanRecord | undefined): StageRecord {
  const a = span.attributes;
  const stage = stringAttribute(a, ATTR_STAGE) ?? span.name;
  const previousProgress = previous ? (numberAttribute(previous.attributes, ATTR_PROGRESS) ?? 0) : 0;
  // A stage known only from its pending marker has ended by the time its session has.
  const endMs = span.endTimeUnixMs !== 0 ? span.endTimeUnixMs : sessionEndMs;
  return {
    stage,
    start_time: isoTime(span.startTimeUnixMs),
    end_time: endMs === null ? null : isoTime(endMs),
    duration_ms: endMs === null ? null : Math.max(0, endMs - span.startTimeUnixMs),
    message: stringAttribute(a, ATTR_STAGE_MESSAGE) ?? '',
    progress: clampProgress(numberAttribute(a, ATTR_PROGRESS) ?? builtinStageProgress(stage) ?? previousProgress),
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
    let carriesTokens = false;
    for (const event of span.events) {
      if (event.name !== EVENT_TOKENS) continue;
      carriesTokens = true;
      runningTotal = Math.max(runningTotal, numberAttribute(event.attributes, ATTR_TOKENS_TOTAL) ?? 0);
      batches.push({
        atMs: event.timeUnixMs,
        count: Math.max(0, numberAttribute(event.attributes, ATTR_TOKENS_COUNT) ?? 1),
        text: stringAttribute(event.attributes, ATTR_TOKENS_TEXT),
      });
    }
    if (carriesTokens && (span.droppedEventsCount ?? 0) > 0) eventsDropped = true;
  }
  batches.sort((a, b) => a.atMs - b.atMs);
  const texts: string[] = [];
  let count = 0;
  for (const batch of batches) {
    count += batch.count;
    if (batch.text !== undefined) texts.push(batch.text);
  }
  // Our events carry the session's running total: the largest one counts every token, even when an
  // SDK dropped the oldest events (128 per span by default) or a live update overlapped a span.
  // Events without totals (other instrumentations) are summed. When events were dropped, the first
  // surviving one is no longer the first token.
  return { count: runningTotal > 0 ? runningTotal : count, texts, firstAtMs: eventsDropped ? undefined : batches[0]?.atMs };
}
