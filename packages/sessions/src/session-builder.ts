/**
 * Where a span becomes a session — and the one place that decides a session's state.
 *
 * The builder keeps the spans of every trace it has seen (`trace-spans.ts`) and derives the session
 * of a trace from the *set* of its spans (`session-derivation.ts`), never from their arrival order:
 * duplicates are merged, a pending marker stands in for its span until the real span arrives, and
 * children may arrive before their root. The same spans therefore give the same session whatever the
 * order, batching or duplication. Building is incremental: each trace keeps its spans indexed as
 * they arrive (`span-index.ts`) with what was derived from each (`span-memo.ts`) and from its calls
 * and steps, so a batch that adds spans to a running trace costs about what it adds, not what the
 * trace holds — and gives the session a derivation from all its spans would. Time is an input too: {@link SessionBuilder.advance} abandons
 * sessions whose spans stopped coming and settles foreign sessions whose root is elsewhere.
 *
 * What it holds is bounded: each span is admitted (checked and cut, see `span-admission.ts`) before
 * it is kept, each trace holds at most `maxSpansPerTrace` spans and markers and about
 * `maxTraceBytes`, and traces that are no session (yet) are at most `maxOrphanTraces`, oldest
 * evicted first. Everything refused, cut or evicted is counted in {@link SessionBuilder.stats}, and
 * what a session lost to a limit is said on it too (`limits_hit`, see `limits-hit.ts`).
 */
import { EVENT_TOKENS, SPAN_TYPE } from '@llm-monitor/semconv';
import { isoTime } from './attribute-values.js';
import type { SessionFigures } from './history-store.js';
import { BudgetTracker } from './budgets.js';
import type { BudgetName, Budgets } from './budgets.js';
import { isLlmCall } from './genai-mapping.js';
import { limitsHitOf, spanLimitsHitOf } from './limits-hit.js';
import type { ProcessingSession } from './model.js';
import type { ModelPrices } from './model-prices.js';
import { DEFAULT_STEP_OPTIONS, deriveSessionOf, isEntrySpan, isSettleable, spanTypeOf, withTimeOutcome } from './session-derivation.js';
import type { StepOptions } from './session-steps.js';
import { DEFAULT_ADMISSION_LIMITS, SpanAdmission } from './span-admission.js';
import type { AdmissionLimits, CutItem, CutReason } from './span-admission.js';
import type { SpanRecord } from './span-record.js';
import { ValueRejections } from './span-values.js';
import type { ValueField } from './span-values.js';
import { TRACE_OVERHEAD_BYTES, TraceSpans } from './trace-spans.js';

/**
 * The most spans kept per trace by default. A session rebuilds from its spans, so an endless trace
 * would make every rebuild slower; beyond this, spans (and markers) are refused and counted.
 */
export const MAX_SPANS_PER_TRACE = 5000;

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
  /**
   * An active session with no new span for this long, in milliseconds, is marked abandoned
   * (default 5 minutes). A later span brings it back.
   */
  readonly abandonAfterMs?: number;
  /**
   * A session of another instrumentation whose root span never came (its caller's spans went to
   * another backend) is settled this long after its last span, in milliseconds, once all its calls
   * have ended: completed, or failed if a call failed (default 30 s).
   */
  readonly settleAfterMs?: number;
  /** Prices of models, for the cost of calls and sessions (default: none). */
  readonly prices?: ModelPrices;
  /** Token and cost budgets per session and per user and day (default: none). */
  readonly budgets?: Budgets;
  /** Most steps a session lists (default 1,000, the earliest); the rest are counted. */
  readonly maxStepsPerSession?: number;
  /** Characters of a step's input and output preview (default 1,000). */
  readonly stepPreviewLength?: number;
  /**
   * A completed or failed session whose trace saw no span for this long, in milliseconds, lets its
   * spans go (default 60 s): the session stays as built, and later spans of its trace are refused
   * (counted as too late). `Infinity` keeps them until the session leaves the store.
   */
  readonly releaseSpansAfterMs?: number;
}

/** What became of one span offered to {@link SessionBuilder.add}. */
export type AddOutcome =
  /** Kept (or merged into what was kept); its trace's session needs rebuilding. */
  | 'kept'
  /**
   * Kept as a step, but it cannot make its trace a session (a plain child span of a trace that is
   * none yet): no rebuild is needed until a span that can arrives.
   */
  | 'held'
  /** Its trace already holds `maxSpansPerTrace` spans and markers: refused. */
  | 'trace_full'
  /** Its trace's session ended and let its spans go (`releaseSpansAfterMs`): refused as too late. */
  | 'released';

/** Why traces were let go. */
export type TraceEviction = 'orphan_idle' | 'orphan_cap' | 'held_bytes' | 'memory';

/** What the builder holds and has let go, for self-metrics and health. */
export interface BuilderStats {
  /** Traces held: sessions and traces that may still become one. */
  readonly traces: number;
  /** Traces whose ended session let its spans go (`releaseSpansAfterMs`); not among {@link BuilderStats.traces}. */
  readonly releasedTraces: number;
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
  /** Budgets crossed, by budget. */
  readonly budgetsExceeded: Readonly<Record<BudgetName, number>>;
  /** Steps left out of sessions beyond `maxStepsPerSession`. */
  readonly stepsDropped: number;
}

/** What became of stored records offered to {@link SessionBuilder.mergeStored}. */
export type MergeOutcome =
  /** They changed what the trace holds; its session was rebuilt. */
  | 'merged'
  /** The trace held them all already. */
  | 'unchanged'
  /** The trace is not held here (never seen, or let go): they were ignored. */
  | 'not_held';

/**
 * Records of one trace as a durable store keeps them: what {@link SessionBuilder.takeUnsaved} gave,
 * and, read back for {@link SessionBuilder.restore}, all of them.
 */
export interface TraceSnapshot {
  readonly traceId: string;
  /** When a span of the trace last arrived (receiver clock, ms since the epoch). */
  readonly lastSeenMs: number;
  readonly spans: readonly SpanRecord[];
}

/**
 * Rebuilds processing sessions from spans. Pure: no clock, no I/O. Feed it spans with
 * {@link SessionBuilder.ingest} (or {@link SessionBuilder.add} and {@link SessionBuilder.rebuild});
 * it answers with the sessions those spans changed. {@link SessionBuilder.advance} moves its clock.
 */
export class SessionBuilder {
  readonly #traces = new Map<string, TraceSpans>();
  /**
   * Traces whose ended session let its spans go, with how many spans it was built from (a shared
   * history store compares it) — or, while a durable store has not taken them yet, that count with
   * the trace's last records.
   */
  readonly #released = new Map<string, number | ReleasedTrace>();
  /** Traces that gave no session yet, in order of arrival (the oldest is evicted first). */
  readonly #orphans = new Map<string, TraceSpans>();
  readonly #maxSpansPerTrace: number;
  readonly #maxTraceBytes: number;
  readonly #maxOrphanTraces: number;
  readonly #abandonAfterMs: number;
  readonly #settleAfterMs: number;
  readonly #releaseSpansAfterMs: number;
  readonly #prices: ModelPrices;
  readonly #budgets: BudgetTracker;
  readonly #rejections: ValueRejections;
  readonly #admission: SpanAdmission;
  readonly #stepOptions: StepOptions;
  #stepsDropped = 0;
  #items = 0;
  #bytes = 0;
  #spansRefused = 0;
  readonly #evicted: Record<TraceEviction, number> = { orphan_idle: 0, orphan_cap: 0, held_bytes: 0, memory: 0 };

  constructor(options: SessionBuilderOptions = {}) {
    this.#maxSpansPerTrace = options.maxSpansPerTrace ?? MAX_SPANS_PER_TRACE;
    this.#maxTraceBytes = options.maxTraceBytes ?? 4 * 1024 * 1024;
    this.#maxOrphanTraces = options.maxOrphanTraces ?? 10_000;
    this.#abandonAfterMs = options.abandonAfterMs ?? 5 * 60 * 1000;
    this.#settleAfterMs = options.settleAfterMs ?? 30_000;
    this.#releaseSpansAfterMs = options.releaseSpansAfterMs ?? 60_000;
    this.#prices = options.prices ?? {};
    this.#budgets = new BudgetTracker(options.budgets ?? {});
    this.#rejections = new ValueRejections(options.onValueRejected);
    this.#stepOptions = {
      maxSteps: options.maxStepsPerSession ?? DEFAULT_STEP_OPTIONS.maxSteps,
      previewLength: options.stepPreviewLength ?? DEFAULT_STEP_OPTIONS.previewLength,
    };
    this.#admission = new SpanAdmission(
      {
        maxAttributeValueLength: options.maxAttributeValueLength ?? DEFAULT_ADMISSION_LIMITS.maxAttributeValueLength,
        maxSpanBytes: options.maxSpanBytes ?? DEFAULT_ADMISSION_LIMITS.maxSpanBytes,
        maxPreviewLength: this.#stepOptions.previewLength,
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
    let refused: Set<string> | undefined;
    for (const span of spans) {
      const outcome = this.add(span, nowMs);
      if (outcome === 'kept') touched.add(span.traceId);
      else if (outcome === 'trace_full') (refused ??= new Set()).add(span.traceId);
    }
    const sessions: ProcessingSession[] = [];
    for (const traceId of touched) {
      const session = this.rebuild(traceId);
      if (session) sessions.push(session);
    }
    for (const traceId of refused ?? []) {
      const session = touched.has(traceId) ? undefined : this.refreshLimits(traceId);
      if (session) sessions.push(session);
    }
    return sessions;
  }

  /** The session the known spans of `traceId` form (as last rebuilt), or `undefined`. */
  sessionOf(traceId: string): ProcessingSession | undefined {
    const trace = this.#traces.get(traceId);
    if (!trace) return undefined;
    if (trace.session) return trace.session;
    const index = trace.indexed();
    const derived = deriveSessionOf(traceId, index, trace.parents, this.#prices, this.#stepOptions);
    return derived && withLimitsHit(derived, spanLimitsHitOf(index.limited), trace);
  }

  /**
   * Rebuilds the session of a trace after {@link SessionBuilder.add}: the same as `sessionOf`, and
   * a trace that gives a session stops being an orphan.
   */
  rebuild(traceId: string): ProcessingSession | undefined {
    const trace = this.#traces.get(traceId);
    if (!trace) return undefined;
    const index = trace.indexed();
    const derived = deriveSessionOf(traceId, index, trace.parents, this.#prices, this.#stepOptions);
    if (derived && !trace.isSession) {
      trace.isSession = true;
      this.#orphans.delete(traceId);
    }
    // Counted once per step: a rebuild that leaves out more than the last one counts the difference.
    if (derived && derived.steps_dropped > trace.stepsDropped) {
      this.#stepsDropped += derived.steps_dropped - trace.stepsDropped;
      trace.stepsDropped = derived.steps_dropped;
    }
    trace.spanLimitsHit = spanLimitsHitOf(index.limited);
    if (trace.limits) trace.limits.stale = false;
    let session = derived && withTimeOutcome(withLimitsHit(derived, trace.spanLimitsHit, trace), trace.timeOutcome);
    if (session && this.#budgets.enabled) {
      trace.budgetCrossings.push(...this.#budgets.check({ ...session, budget_exceeded: trace.budgetCrossings }, isoTime(trace.lastSeenMs)));
      if (trace.budgetCrossings.length > 0) session = { ...session, budget_exceeded: [...trace.budgetCrossings] };
    }
    // An ended session's trace seldom grows again: its index gives back the room its lists grew into.
    if (session && hasEnded(session) && !(trace.session && hasEnded(trace.session))) index.fit();
    trace.session = session;
    return session;
  }

  /**
   * The session of a trace with its `limits_hit` brought up to date, when spans were refused since
   * it was last built (else `undefined`). Cheap — the session is not derived again — so a refused
   * span, which changes nothing else, still shows on its session: call it for traces whose spans
   * {@link SessionBuilder.add} refused and that were not rebuilt.
   */
  refreshLimits(traceId: string): ProcessingSession | undefined {
    const trace = this.#traces.get(traceId);
    if (!trace?.limits?.stale || !trace.session) return undefined;
    trace.limits.stale = false;
    trace.session = withLimitsHit(trace.session, trace.spanLimitsHit, trace);
    return trace.session;
  }

  /**
   * Moves the builder's clock to `nowMs`: a running session whose trace saw no span for
   * `settleAfterMs` and whose calls have all ended (a foreign session whose root is elsewhere) is
   * settled; one that saw none for `abandonAfterMs` is abandoned. Returns the sessions that changed.
   * A span kept later brings the session back to what its spans say. A completed or failed session
   * idle for `releaseSpansAfterMs` lets its spans go, and `onRelease` hears of it.
   */
  advance(nowMs: number, onRelease?: (traceId: string, session: ProcessingSession) => void): ProcessingSession[] {
    const changed: ProcessingSession[] = [];
    // A user's day before yesterday can no longer be crossed (sessions count by their start).
    this.#budgets.pruneBefore(isoTime(nowMs - 24 * 3600 * 1000));
    for (const [traceId, trace] of this.#traces) {
      const rebuilt = this.#judgeTime(traceId, trace, nowMs);
      if (rebuilt) changed.push(rebuilt);
      else if (this.#isReleasable(trace, nowMs)) {
        this.#release(traceId, trace);
        onRelease?.(traceId, trace.session!);
      }
    }
    return changed;
  }

  /**
   * True when a trace's spans can go: its session completed or failed (an abandoned one comes back
   * with its next span, so it keeps them) and no span came for `releaseSpansAfterMs`.
   */
  #isReleasable(trace: TraceSpans, nowMs: number): boolean {
    return trace.session !== undefined && hasEnded(trace.session) && nowMs - trace.lastSeenMs >= this.#releaseSpansAfterMs;
  }

  /**
   * Lets the spans of an ended session go: most of what a retained session cost (measured: 9.5 of
   * 18.2 KB of heap for a session of 12 spans with 20 token events). The store keeps the session as
   * built; what remains here is the span count, and records a durable store has not taken yet.
   */
  #release(traceId: string, trace: TraceSpans): void {
    this.#traces.delete(traceId);
    this.#orphans.delete(traceId);
    this.#items -= trace.items;
    this.#bytes -= trace.bytes - RELEASED_TRACE_BYTES;
    const unsaved = trace.takeUnsaved();
    this.#released.set(
      traceId,
      unsaved.length > 0 ? { spanCount: trace.spans.size, lastSeenMs: trace.lastSeenMs, unsaved } : trace.spans.size,
    );
  }

  /** What time says of one trace at `nowMs` (see {@link SessionBuilder.advance}): its rebuilt session when that changed it. */
  #judgeTime(traceId: string, trace: TraceSpans, nowMs: number): ProcessingSession | undefined {
    const session = trace.session;
    if (session?.status !== 'active' || trace.timeOutcome) return undefined;
    const idleMs = nowMs - trace.lastSeenMs;
    if (idleMs < Math.min(this.#settleAfterMs, this.#abandonAfterMs)) return undefined;
    if (idleMs >= this.#settleAfterMs && isSettleable(session)) trace.timeOutcome = { kind: 'settled' };
    else if (idleMs >= this.#abandonAfterMs) trace.timeOutcome = { kind: 'abandoned', idleMs };
    else return undefined;
    return this.rebuild(traceId);
  }

  /** How many spans and markers a trace holds (its rebuild costs about that many steps). */
  sizeOf(traceId: string): number {
    return this.#traces.get(traceId)?.items ?? 0;
  }

  /**
   * How many distinct spans a trace holds — real spans, not the markers of running ones; 0 when it
   * is not held. A shared history store keeps it with the session's row and does not let a replica
   * holding fewer of the trace's spans replace it. It never decreases while the trace is held: a
   * span, once kept, is only replaced by a later version of itself.
   */
  spanCountOf(traceId: string): number {
    const released = this.#released.get(traceId);
    if (released !== undefined) return typeof released === 'number' ? released : released.spanCount;
    return this.#traces.get(traceId)?.spans.size ?? 0;
  }

  /**
   * The records of a trace kept since the last call (see `TraceSpans.takeUnsaved`), for a durable
   * store to append; `undefined` when the trace is not held.
   */
  takeUnsaved(traceId: string): TraceSnapshot | undefined {
    const released = this.#released.get(traceId);
    if (released !== undefined) {
      if (typeof released === 'number') return undefined;
      this.#released.set(traceId, released.spanCount);
      return { traceId, lastSeenMs: released.lastSeenMs, spans: released.unsaved };
    }
    const trace = this.#traces.get(traceId);
    return trace && { traceId, lastSeenMs: trace.lastSeenMs, spans: trace.takeUnsaved() };
  }

  /**
   * Adds records of a held trace that another replica stored (read back from a shared history
   * store), as {@link SessionBuilder.add} would, but without marking them unsaved: they are stored
   * already, and this replica's own records not yet taken stay as they are (unlike
   * {@link SessionBuilder.restore}). The usual bounds apply (spans per trace, bytes per trace).
   * Records of a trace that is not held are ignored: this replica does not take over sessions it
   * never saw. When they changed what the trace holds, the session is rebuilt and what time says
   * of it is judged again at `nowMs` (with the latest arrival on either replica), so a merge does
   * not bring an idle session back to life only for the next sweep to give it up again.
   */
  mergeStored(snapshot: TraceSnapshot, nowMs: number): MergeOutcome {
    const trace = this.#traces.get(snapshot.traceId);
    if (!trace) return 'not_held';
    const revision = trace.revision;
    const timeOutcome = trace.timeOutcome;
    for (const span of snapshot.spans) {
      if (span.traceId === snapshot.traceId) this.#add(span, snapshot.lastSeenMs, false);
    }
    if (trace.revision === revision) {
      // Nothing new (records seen already): what time decided stands.
      trace.timeOutcome = timeOutcome;
      return 'unchanged';
    }
    this.rebuild(snapshot.traceId);
    this.#judgeTime(snapshot.traceId, trace, nowMs);
    return 'merged';
  }

  /** Takes a trace back from all its stored records (after a restart) and returns its session, if it forms one. */
  restore(snapshot: TraceSnapshot): ProcessingSession | undefined {
    for (const span of snapshot.spans) this.add(span, snapshot.lastSeenMs);
    // They are stored already.
    this.#traces.get(snapshot.traceId)?.takeUnsaved();
    return this.rebuild(snapshot.traceId);
  }

  /**
   * Counts sessions from history toward their users' daily budgets (after a restart), without
   * telling crossings again.
   */
  seedBudgets(sessions: Iterable<SessionFigures>): void {
    for (const session of sessions) this.#budgets.seed(session);
  }

  /** Drops what is known about a trace (after its session left the store). */
  forget(traceId: string): void {
    if (this.#released.delete(traceId)) {
      this.#bytes -= RELEASED_TRACE_BYTES;
      this.#budgets.forget(traceId);
      return;
    }
    const trace = this.#traces.get(traceId);
    if (!trace) return;
    this.#traces.delete(traceId);
    this.#orphans.delete(traceId);
    this.#budgets.forget(traceId);
    this.#items -= trace.items;
    this.#bytes -= trace.bytes;
  }

  /**
   * Forgets traces that never formed a session and saw no span for `idleMs`: the root spans kept in
   * case a GenAI child follows must not accumulate when an application exports all its traces here.
   * Returns how many traces were dropped.
   */
  sweepOrphans(nowMs: number, idleMs: number): number {
    let dropped = 0;
    for (const [traceId, trace] of this.#orphans) {
      if (nowMs - trace.lastSeenMs >= idleMs) {
        this.forget(traceId);
        this.#evicted.orphan_idle += 1;
        dropped += 1;
      }
    }
    return dropped;
  }

  /**
   * Lets the oldest orphan trace go to make room (the pipeline's byte bound, or the memory guard:
   * `reason`). Returns false when there is none.
   */
  evictOldestOrphan(reason: TraceEviction = 'held_bytes'): boolean {
    for (const traceId of this.#orphans.keys()) {
      this.forget(traceId);
      this.#evicted[reason] += 1;
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
      releasedTraces: this.#released.size,
      orphanTraces: this.#orphans.size,
      spans: this.#items,
      bytes: this.#bytes,
      spansRefused: this.#spansRefused,
      tracesEvicted: { ...this.#evicted },
      valuesRejected: this.#rejections.totals(),
      cut: this.#admission.cuts.totals(),
      budgetsExceeded: this.#budgets.totals(),
      stepsDropped: this.#stepsDropped,
    };
  }

  /** Counts `sessions` the pipeline let go from the store to stay within its byte bound. */
  countEvictedForBytes(sessions: number): void {
    this.#evicted.held_bytes += sessions;
  }

  /** Counts traces let go because the process's memory was over its guard's soft limit. */
  countEvictedForMemory(traces: number): void {
    this.#evicted.memory += traces;
  }

  /** Offers one span; returns whether it was kept. Call {@link SessionBuilder.rebuild} for its trace after. */
  add(span: SpanRecord, nowMs: number): AddOutcome {
    return this.#add(span, nowMs, true);
  }

  /** {@link SessionBuilder.add}; `save` false for records a store holds already (see {@link TraceSpans.addSpan}). */
  #add(span: SpanRecord, nowMs: number, save: boolean): AddOutcome {
    if (this.#released.has(span.traceId)) return 'released';
    const spanType = spanTypeOf(span);
    // Every span is a step of its session, but only these can make a trace a session (or change
    // what its root says): our spans, model calls, a root or a service's entry span, and spans
    // carrying our token events. A plain child of a trace that is no session yet waits without a rebuild.
    const formsSession =
      spanType !== undefined ||
      isLlmCall(span) ||
      span.parentSpanId === '' ||
      isEntrySpan(span) ||
      span.events.some((event) => event.name === EVENT_TOKENS);
    let trace = this.#traces.get(span.traceId);
    if (!trace) {
      trace = new TraceSpans(nowMs);
      this.#bytes += TRACE_OVERHEAD_BYTES;
      this.#traces.set(span.traceId, trace);
      this.#orphans.set(span.traceId, trace);
      this.#enforceOrphanCap(span.traceId);
    }
    trace.lastSeenMs = Math.max(trace.lastSeenMs, nowMs);
    const itemsBefore = trace.items;
    const bytesBefore = trace.bytes;
    try {
      const overBudget = trace.bytes >= this.#maxTraceBytes;
      // A marker's own id is no span's parent (its parent is the span it announces): its entry in
      // the trace's parent map would only take room from real spans.
      if (spanType !== SPAN_TYPE.pending) trace.recordParent(span, this.#maxSpansPerTrace);
      if (spanType === SPAN_TYPE.pending) {
        const outcome = trace.addMarker(span, this.#maxSpansPerTrace, this.#admission, overBudget, save);
        if (outcome === 'trace_full') {
          this.#spansRefused += 1;
          trace.countCut('spansRefused', 1);
        } else trace.timeOutcome = undefined;
        return outcome;
      }
      // A real span outranks what markers carried for a running one: their events make room first.
      if (!trace.spans.has(span.spanId) && trace.items >= this.#maxSpansPerTrace) {
        const dropped = trace.dropOldestMarkerEvents();
        if (dropped === 0) {
          this.#spansRefused += 1;
          trace.countCut('spansRefused', 1);
          return 'trace_full';
        }
        this.#admission.cuts.cut('event', 'trace_spans', dropped);
        trace.countCut('markerEventsDropped', dropped);
      }
      trace.addSpan(this.#admission.admit(span, overBudget), save);
      trace.timeOutcome = undefined;
      return formsSession || trace.isSession ? 'kept' : 'held';
    } finally {
      this.#items += trace.items - itemsBefore;
      this.#bytes += trace.bytes - bytesBefore;
    }
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

/** Estimated bytes of a released trace's entry (its id and span count). */
const RELEASED_TRACE_BYTES = 120;

/** A released trace whose last records a durable store has not taken yet. */
interface ReleasedTrace {
  readonly spanCount: number;
  readonly lastSeenMs: number;
  readonly unsaved: SpanRecord[];
}

/** `session` with its `limits_hit`: what its spans carry, what its trace refused, the steps it left out. */
function withLimitsHit(session: ProcessingSession, spanHits: TraceSpans['spanLimitsHit'], trace: TraceSpans): ProcessingSession {
  const limitsHit = limitsHitOf(spanHits, session.steps_dropped, trace.limits);
  return limitsHit ? { ...session, limits_hit: limitsHit } : session;
}

/** True once a session completed or failed (not abandoned: its next span brings it back). */
function hasEnded(session: ProcessingSession): boolean {
  return session.status === 'completed' || session.status === 'failed';
}
