/**
 * Where a span becomes a session.
 *
 * The builder keeps the spans of every trace it has seen and derives the session of a trace from
 * the *set* of its spans, never from their arrival order: duplicates are merged, a pending marker
 * stands in for its span until the real span arrives, and children may arrive before their root.
 * The same spans therefore give the same session whatever the order, batching or duplication.
 *
 * What it holds is bounded: each span is admitted (checked and cut, see `span-admission.ts`) before
 * it is kept, each trace holds at most `maxSpansPerTrace` spans and markers and about
 * `maxTraceBytes`, and traces that are no session (yet) are at most `maxOrphanTraces`, oldest
 * evicted first. Everything refused, cut or evicted is counted in {@link SessionBuilder.stats}.
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
import { DEFAULT_ADMISSION_LIMITS, SpanAdmission } from './span-admission.js';
import type { AdmissionLimits, AdmittedSpan, CutItem, CutReason } from './span-admission.js';
import { stringAttribute } from './span-record.js';
import type { Attributes, SpanEventRecord, SpanRecord } from './span-record.js';
import { addTokens, boundedDuration, numericValue, ValueRejections } from './span-values.js';
import type { ValueField } from './span-values.js';

const STATUS_ERROR = 2;

/**
 * The most spans kept per trace by default. A session rebuilds from its spans, so an endless trace
 * would make every rebuild slower; beyond this, spans (and markers) are refused and counted.
 */
export const MAX_SPANS_PER_TRACE = 5000;

/** Estimated bytes of one entry of a trace's parent map (two span ids and the entry). */
const PARENT_ENTRY_BYTES = 96;
/** Estimated bytes of a trace's own bookkeeping. */
const TRACE_OVERHEAD_BYTES = 512;

/** Limits of a {@link SessionBuilder}; every one is a receiver setting (docs/configuration.md). */
export interface SessionBuilderOptions extends Partial<AdmissionLimits> {
  /** Most spans and pending markers held per trace (default 5,000). */
  readonly maxSpansPerTrace?: number;
  /**
   * Estimated bytes held per trace (default 4 MiB); spans arriving beyond it keep only what places
   * them in the session (a skeleton), not their content.
   */
  readonly maxTraceBytes?: number;
  /** Most traces held that are no session (yet), oldest evicted first (default 10,000). */
  readonly maxOrphanTraces?: number;
  /** Told of each numeric value rejected or clamped (for a log line; the counts are in the stats). */
  readonly onValueRejected?: (field: ValueField, value: unknown) => void;
}

/** What became of one span offered to {@link SessionBuilder.add}. */
export type AddOutcome =
  /** Kept (or merged into what was kept). */
  | 'kept'
  /** Says nothing about a session (a plain child span of an application's trace): not kept. */
  | 'not_needed'
  /** Its trace already holds `maxSpansPerTrace` spans and markers: refused. */
  | 'trace_full';

/** Why traces were let go. */
export type TraceEviction = 'orphan_idle' | 'orphan_cap' | 'held_bytes';

/** What the builder holds and has let go, for self-metrics and health. */
export interface BuilderStats {
  /** Traces held: sessions and traces that may still become one. */
  readonly traces: number;
  /** Of those, traces that are no session (yet): awaiting a GenAI span or their root. */
  readonly orphanTraces: number;
  /** Spans and pending markers held. */
  readonly spans: number;
  /** Estimated bytes held (spans, markers, parent maps). */
  readonly bytes: number;
  /** Spans refused because their trace was full. */
  readonly spansRefused: number;
  /** Traces let go, by reason. */
  readonly tracesEvicted: Readonly<Record<TraceEviction, number>>;
  /** Numeric values rejected or clamped, by field. */
  readonly valuesRejected: Readonly<Record<ValueField, number>>;
  /** What admission cut, as `[item, reason, count]`. */
  readonly cut: readonly [CutItem, CutReason, number][];
}

/** The markers of one running span, folded: they stand in for it until it arrives. */
interface MarkerFold {
  /** The latest marker (by end time, then span id): its attributes are the span's as of now. */
  latest: SpanRecord;
  /** When the announced span started: the earliest start any marker gave. */
  firstStartMs: number;
  /** Events carried by markers, by marker id, so a duplicate adds nothing and the order is total. */
  readonly events: Map<string, { readonly endTimeUnixMs: number; readonly events: readonly SpanEventRecord[]; readonly bytes: number }>;
  /** Estimated bytes held for this fold. */
  bytes: number;
}

/** The spans known for one trace. */
interface TraceState {
  /** Real spans by span id (pending markers excluded), with what each costs. */
  readonly spans: Map<string, AdmittedSpan>;
  /** Pending markers by the id of the span they announce, folded. */
  readonly markers: Map<string, MarkerFold>;
  /**
   * The parent of every span seen, kept or not (up to the span limit): enough to tell which calls
   * nest in which, and which span is a service's entry into a trace that started elsewhere.
   */
  readonly parents: Map<string, string>;
  /** Spans plus marker entries held: what `maxSpansPerTrace` bounds. */
  items: number;
  /** Of those, entries for events carried by markers (the first to make room for a real span). */
  markerEvents: number;
  /** Estimated bytes held for the trace. */
  bytes: number;
  /** True once the trace gave a session; until then it is an orphan. */
  isSession: boolean;
  /** When a span of this trace last arrived (caller's clock). */
  lastSeenMs: number;
}

/**
 * Rebuilds processing sessions from spans. Pure: no clock, no I/O. Feed it spans with
 * {@link SessionBuilder.ingest} (or {@link SessionBuilder.add} and {@link SessionBuilder.rebuild});
 * it answers with the sessions those spans changed.
 */
export class SessionBuilder {
  readonly #traces = new Map<string, TraceState>();
  /** Traces that gave no session yet, in order of arrival (the oldest is evicted first). */
  readonly #orphans = new Map<string, TraceState>();
  readonly #maxSpansPerTrace: number;
  readonly #maxTraceBytes: number;
  readonly #maxOrphanTraces: number;
  readonly #rejections: ValueRejections;
  readonly #admission: SpanAdmission;
  #items = 0;
  #bytes = 0;
  #spansRefused = 0;
  readonly #evicted: Record<TraceEviction, number> = { orphan_idle: 0, orphan_cap: 0, held_bytes: 0 };

  constructor(options: SessionBuilderOptions = {}) {
    this.#maxSpansPerTrace = options.maxSpansPerTrace ?? MAX_SPANS_PER_TRACE;
    this.#maxTraceBytes = options.maxTraceBytes ?? 4 * 1024 * 1024;
    this.#maxOrphanTraces = options.maxOrphanTraces ?? 10_000;
    this.#rejections = new ValueRejections(options.onValueRejected);
    this.#admission = new SpanAdmission(
      {
        maxAttributeValueLength: options.maxAttributeValueLength ?? DEFAULT_ADMISSION_LIMITS.maxAttributeValueLength,
        maxSpanBytes: options.maxSpanBytes ?? DEFAULT_ADMISSION_LIMITS.maxSpanBytes,
      },
      this.#rejections,
    );
  }

  /** Spans refused because their trace already held `maxSpansPerTrace` spans and markers. */
  get droppedSpans(): number {
    return this.#spansRefused;
  }

  /**
   * Adds spans and returns the current session of every trace they touched that forms a session
   * (traces without our spans or GenAI spans are kept a while but give no session).
   */
  ingest(spans: Iterable<SpanRecord>, nowMs = 0): ProcessingSession[] {
    const touched = new Set<string>();
    for (const span of spans) {
      if (this.add(span, nowMs) === 'kept') touched.add(span.traceId);
    }
    const sessions: ProcessingSession[] = [];
    for (const traceId of touched) {
      const session = this.rebuild(traceId);
      if (session) sessions.push(session);
    }
    return sessions;
  }

  /** The session the known spans of `traceId` form, or `undefined`. */
  sessionOf(traceId: string): ProcessingSession | undefined {
    const state = this.#traces.get(traceId);
    return state ? buildSession(traceId, effectiveSpans(state), state.parents) : undefined;
  }

  /**
   * Rebuilds the session of a trace after {@link SessionBuilder.add}: the same as `sessionOf`, and
   * a trace that gives a session stops being an orphan.
   */
  rebuild(traceId: string): ProcessingSession | undefined {
    const state = this.#traces.get(traceId);
    if (!state) return undefined;
    const session = buildSession(traceId, effectiveSpans(state), state.parents);
    if (session && !state.isSession) {
      state.isSession = true;
      this.#orphans.delete(traceId);
    }
    return session;
  }

  /** How many spans and markers a trace holds (its rebuild costs about that many steps). */
  sizeOf(traceId: string): number {
    return this.#traces.get(traceId)?.items ?? 0;
  }

  /** Drops what is known about a trace (after its session left the store). */
  forget(traceId: string): void {
    const state = this.#traces.get(traceId);
    if (!state) return;
    this.#traces.delete(traceId);
    this.#orphans.delete(traceId);
    this.#items -= state.items;
    this.#bytes -= state.bytes;
  }

  /**
   * Forgets traces that never formed a session and saw no span for `idleMs`: the root spans kept in
   * case a GenAI child follows must not accumulate when an application exports all its traces here.
   * Returns how many traces were dropped.
   */
  sweepOrphans(nowMs: number, idleMs: number): number {
    let dropped = 0;
    for (const [traceId, state] of this.#orphans) {
      if (nowMs - state.lastSeenMs >= idleMs) {
        this.forget(traceId);
        this.#evicted.orphan_idle += 1;
        dropped += 1;
      }
    }
    return dropped;
  }

  /**
   * Lets the oldest orphan trace go to make room (the pipeline's byte bound). Returns false when
   * there is none.
   */
  evictOldestOrphan(): boolean {
    for (const traceId of this.#orphans.keys()) {
      this.forget(traceId);
      this.#evicted.held_bytes += 1;
      return true;
    }
    return false;
  }

  /** Number of traces held. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** Estimated bytes held. */
  get heldBytes(): number {
    return this.#bytes;
  }

  /** What the builder holds and has let go. */
  stats(): BuilderStats {
    return {
      traces: this.#traces.size,
      orphanTraces: this.#orphans.size,
      spans: this.#items,
      bytes: this.#bytes,
      spansRefused: this.#spansRefused,
      tracesEvicted: { ...this.#evicted },
      valuesRejected: this.#rejections.totals(),
      cut: this.#admission.cuts.totals(),
    };
  }

  /** Counts `sessions` the pipeline let go from the store to stay within its byte bound. */
  countEvictedForBytes(sessions: number): void {
    this.#evicted.held_bytes += sessions;
  }

  /** Offers one span; returns whether it was kept. Call {@link SessionBuilder.rebuild} for its trace after. */
  add(span: SpanRecord, nowMs: number): AddOutcome {
    const spanType = spanTypeOf(span);
    const sessionSpan = spanType !== undefined || isLlmCall(span);
    // Other spans of an application's traces say nothing about a session, except a root span or a
    // service's entry span (duration and status of a GenAI trace) and spans carrying our token events.
    const wanted = sessionSpan || span.parentSpanId === '' || isEntrySpan(span) || span.events.some((event) => event.name === EVENT_TOKENS);
    let state = this.#traces.get(span.traceId);
    if (!state) {
      // Even a plain span's parent matters (which calls nest in which), so it opens an entry; the
      // orphan cap bounds how many such traces are held.
      state = { spans: new Map(), markers: new Map(), parents: new Map(), items: 0, markerEvents: 0, bytes: TRACE_OVERHEAD_BYTES, isSession: false, lastSeenMs: nowMs };
      this.#bytes += TRACE_OVERHEAD_BYTES;
      this.#traces.set(span.traceId, state);
      this.#orphans.set(span.traceId, state);
      this.#enforceOrphanCap(span.traceId);
    }
    state.lastSeenMs = Math.max(state.lastSeenMs, nowMs);
    if (!state.parents.has(span.spanId)) {
      if (state.parents.size < this.#maxSpansPerTrace) {
        state.parents.set(span.spanId, span.parentSpanId);
        this.#grow(state, 0, PARENT_ENTRY_BYTES);
      }
    } else {
      state.parents.set(span.spanId, span.parentSpanId);
    }
    if (!wanted) return 'not_needed';
    const overBudget = state.bytes >= this.#maxTraceBytes;
    if (spanType === SPAN_TYPE.pending) return this.#addMarker(state, span, overBudget);

    const known = state.spans.get(span.spanId);
    // A real span outranks what markers carried for a running one: their events make room first.
    if (!known && state.items >= this.#maxSpansPerTrace && !this.#dropOldestMarkerEvents(state)) {
      this.#spansRefused += 1;
      return 'trace_full';
    }
    const admitted = this.#admission.admit(span, overBudget);
    if (!known) {
      state.spans.set(span.spanId, admitted);
      this.#grow(state, 1, admitted.bytes);
    } else if (isLaterVersion(admitted.span, known.span)) {
      state.spans.set(span.spanId, admitted);
      this.#grow(state, 0, admitted.bytes - known.bytes);
    }
    const fold = state.markers.get(span.spanId);
    if (fold) {
      // The span itself arrived: its markers have nothing left to say.
      state.markers.delete(span.spanId);
      state.markerEvents -= fold.events.size;
      this.#grow(state, -(1 + fold.events.size), -fold.bytes);
    }
    return 'kept';
  }

  /** Folds a pending marker into the markers of the span it announces. */
  #addMarker(state: TraceState, marker: SpanRecord, overBudget: boolean): AddOutcome {
    // A marker's parent is the running span it announces; without one it announces nothing, and
    // once that span itself has arrived, its markers have nothing left to say.
    if (!marker.parentSpanId || state.spans.has(marker.parentSpanId)) return 'kept';
    let fold = state.markers.get(marker.parentSpanId);
    const carriesEvents = marker.events.length > 0;
    const newEntries = (fold ? 0 : 1) + (carriesEvents && !fold?.events.has(marker.spanId) ? 1 : 0);
    const full = newEntries > 0 && state.items + newEntries > this.#maxSpansPerTrace;
    if (full && !fold) {
      this.#spansRefused += 1;
      return 'trace_full';
    }
    // A full trace still takes a known span's latest state (it replaces, it does not grow); only the
    // events such a marker carries are refused.
    const admitted = this.#admission.admit(full ? { ...marker, events: [] } : marker, overBudget);
    // The marker that opens a fold is counted in the fold's bytes; its events' entry adds none.
    let entryBytes = admitted.bytes;
    if (!fold) {
      fold = { latest: admitted.span, firstStartMs: admitted.span.startTimeUnixMs, events: new Map(), bytes: admitted.bytes };
      state.markers.set(marker.parentSpanId, fold);
      this.#grow(state, 1, admitted.bytes);
      entryBytes = 0;
    } else {
      if (admitted.span.startTimeUnixMs !== 0 && (fold.firstStartMs === 0 || admitted.span.startTimeUnixMs < fold.firstStartMs)) fold.firstStartMs = admitted.span.startTimeUnixMs;
      if (isLaterMarker(admitted.span, fold.latest)) fold.latest = admitted.span;
    }
    if (admitted.span.events.length > 0 && !fold.events.has(marker.spanId)) {
      fold.events.set(marker.spanId, { endTimeUnixMs: admitted.span.endTimeUnixMs, events: admitted.span.events, bytes: entryBytes });
      fold.bytes += entryBytes;
      state.markerEvents += 1;
      this.#grow(state, 1, entryBytes);
    }
    if (full) {
      this.#spansRefused += 1;
      return 'trace_full';
    }
    return 'kept';
  }

  /** Lets the oldest events a marker carried go, to make room for a span; false when there are none. */
  #dropOldestMarkerEvents(state: TraceState): boolean {
    // Counted, so a trace full of spans (or of markers without events) does not walk its folds for
    // every span it refuses.
    if (state.markerEvents === 0) return false;
    for (const fold of state.markers.values()) {
      for (const [markerId, entry] of fold.events) {
        fold.events.delete(markerId);
        state.markerEvents -= 1;
        fold.bytes -= entry.bytes;
        this.#grow(state, -1, -entry.bytes);
        this.#admission.cuts.cut('event', 'trace_spans', entry.events.length);
        return true;
      }
    }
    return false;
  }

  #grow(state: TraceState, items: number, bytes: number): void {
    state.items += items;
    state.bytes += bytes;
    this.#items += items;
    this.#bytes += bytes;
  }

  /** Evicts the oldest orphans beyond the cap (never `keep`, the trace just created). */
  #enforceOrphanCap(keep: string): void {
    if (this.#orphans.size <= this.#maxOrphanTraces) return;
    for (const traceId of this.#orphans.keys()) {
      if (this.#orphans.size <= this.#maxOrphanTraces) return;
      if (traceId === keep) continue;
      this.forget(traceId);
      this.#evicted.orphan_cap += 1;
    }
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

/** Of two markers of one span, the later one (by end time, then span id): a total order. */
function isLaterMarker(candidate: SpanRecord, known: SpanRecord): boolean {
  if (candidate.endTimeUnixMs !== known.endTimeUnixMs) return candidate.endTimeUnixMs > known.endTimeUnixMs;
  return candidate.spanId > known.spanId;
}

/**
 * The running span its markers announce: the markers' parent, with the attributes of the latest
 * marker (progress updates carry the running token total) and the events of all of them (each
 * progress update carries the token batches since the one before).
 */
function announcedSpan(fold: MarkerFold): SpanRecord {
  const marker = fold.latest;
  const spanType = stringAttribute(marker.attributes, ATTR_PENDING_SPAN_TYPE);
  const attributes: Record<string, Attributes[string]> = { ...marker.attributes };
  delete attributes[ATTR_PENDING_PARENT_ID];
  delete attributes[ATTR_PENDING_SPAN_TYPE];
  if (spanType) attributes[ATTR_SPAN_TYPE] = spanType;
  else delete attributes[ATTR_SPAN_TYPE];
  const carried = [...fold.events.entries()].sort(([idA, a], [idB, b]) => a.endTimeUnixMs - b.endTimeUnixMs || (idA < idB ? -1 : 1));
  return {
    ...marker,
    spanId: marker.parentSpanId,
    parentSpanId: stringAttribute(marker.attributes, ATTR_PENDING_PARENT_ID) ?? '',
    startTimeUnixMs: fold.firstStartMs,
    endTimeUnixMs: 0,
    attributes,
    events: carried.flatMap(([, entry]) => entry.events),
    status: { code: 0, message: '' },
  };
}

function effectiveSpans(state: TraceState): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (const admitted of state.spans.values()) spans.push(admitted.span);
  for (const [spanId, fold] of state.markers) {
    if (!state.spans.has(spanId)) spans.push(announcedSpan(fold));
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
  return seconds === undefined ? null : boundedDuration(seconds * 1000);
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
    duration_ms: ended ? boundedDuration(span.endTimeUnixMs - span.startTimeUnixMs) : null,
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
  // A loop, not Math.max(...stages): a spread of many thousand arguments overflows the stack.
  let progress = numericValue(rootAttributes, ATTR_PROGRESS) ?? 0;
  for (const stage of stages) if (stage.progress > progress) progress = stage.progress;
  if (status === 'completed') progress = PROGRESS_COMPLETE;

  const error = status === 'failed' ? errorOf(root!) ?? stages.find((s) => s.error)?.error ?? 'failed' : null;
  const currentStage =
    status === 'active' ? (stages.at(-1)?.stage ?? null) : status === 'failed' ? TERMINAL_STAGES.failed : TERMINAL_STAGES.completed;

  const tokens = collectTokens(spans);
  const llmCalls = calls.map((call) => llmCallRecord(call.span, call.facts));
  // A foreign session's time to first token: the first call that reports one, from the session start.
  const firstChunk = calls.find((call) => call.facts.timeToFirstTokenMs !== null);
  const callTimeToFirstTokenMs = firstChunk
    ? boundedDuration(firstChunk.span.startTimeUnixMs + firstChunk.facts.timeToFirstTokenMs! - (root?.startTimeUnixMs ?? spans[0]!.startTimeUnixMs))
    : null;
  // Where a foreign session's conversation, user and task come from: the root, then the calls.
  const described = root ? [root, ...llmSpans] : llmSpans;
  const lastCall = [...llmCalls].reverse().find((call) => call.response_model !== null || call.request_model !== null);
  const lastProvider = [...llmCalls].reverse().find((call) => call.provider !== null)?.provider ?? null;
  // A call that wraps calls reporting their own tokens (an agent around its chat calls, a framework's
  // LLM span around the client's) repeats their usage: only the innermost are added up.
  const counted = innermostWithTokens(llmCalls, parents);
  const input =
    numericValue(rootAttributes, ATTR_SESSION_INPUT_TOKENS) ?? sumKnown(counted.map((call) => call.input_tokens));
  const output =
    numericValue(rootAttributes, ATTR_SESSION_OUTPUT_TOKENS) ??
    sumKnown(counted.map((call) => call.output_tokens)) ??
    (tokens.count > 0 ? tokens.count : null);
  const ttftSeconds = numericValue(rootAttributes, ATTR_TIME_TO_FIRST_TOKEN);

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
    duration_ms: endMs === null ? null : boundedDuration(endMs - startMs),
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
    metadata: metadataFromAttributes(rootAttributes),
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
