/**
 * The spans known for one trace: real spans by id, pending markers folded per running span, and
 * the parent of every span seen. Everything here is about holding a trace's spans within its
 * bounds; turning them into a session is `session-derivation.ts`.
 */
import { ATTR_PENDING_PARENT_ID, ATTR_PENDING_SPAN_TYPE, ATTR_SPAN_TYPE } from '@llm-monitor/semconv';
import { LimitTally, withoutHits } from './limits-hit.js';
import type { TraceCuts } from './limits-hit.js';
import type { BudgetCrossing, LimitHit, ProcessingSession } from './model.js';
import type { AdmittedSpan, SpanAdmission } from './span-admission.js';
import { SpanIndex } from './span-index.js';
import { stringAttribute } from './span-record.js';
import type { Attributes, SpanEventRecord, SpanRecord } from './span-record.js';
import type { TimeOutcome } from './session-derivation.js';
import { knowTokensOf, spanTokens, tokenBatchesOf } from './token-batches.js';
import type { TokenBatch } from './token-batches.js';

/** Estimated bytes of one entry of a trace's parent map (two span ids and the entry). */
const PARENT_ENTRY_BYTES = 96;
/** Estimated bytes of a trace's own bookkeeping. */
export const TRACE_OVERHEAD_BYTES = 512;

/** The events one marker carried, read once: a live update adds its own without reading the earlier ones. */
interface MarkerEntry {
  readonly markerId: string;
  readonly endTimeUnixMs: number;
  readonly events: readonly SpanEventRecord[];
  readonly bytes: number;
  readonly hits?: readonly LimitHit[];
  /** Its token batches, and the largest running total its events report. */
  readonly batches: readonly TokenBatch[];
  readonly maxTotal: number;
}

/** The markers of one running span, folded: they stand in for it until it arrives. */
interface MarkerFold {
  /** The latest marker (by end time, then span id): its attributes are the span's as of now. */
  latest: SpanRecord;
  /** When the announced span started: the earliest start any marker gave. */
  firstStartMs: number;
  /**
   * What limits cut of the latest marker besides its events: a marker's attributes are the span's
   * as of then, so only the latest one's cuts stand.
   */
  latestHits: readonly LimitHit[] | undefined;
  /**
   * Events carried by markers, by marker id, so a duplicate adds nothing; with what limits cut of
   * each marker's events (each marker carries new ones, so these add up).
   */
  readonly events: Map<string, MarkerEntry>;
  /** The same entries in a total order: by the marker's end time, then its id. */
  ordered: MarkerEntry[];
  /** The events of all entries in that order, their token batches, and the largest total they report. */
  flatEvents: SpanEventRecord[];
  flatBatches: TokenBatch[];
  eventsTotal: number;
  /** How many entries carry hits of limits (mostly none: then none is looked for). */
  entriesWithHits: number;
  /** Estimated bytes held for this fold. */
  bytes: number;
  /** The running span the fold announces (see {@link announcedSpan}), made again when the fold changed. */
  announced: SpanRecord;
  /** True once {@link MarkerFold.announced} is in the trace's index. */
  indexed: boolean;
}

/**
 * What limits cut of a trace beyond what its spans carry, made when the first of it happens (a
 * trace that hit no limit holds none of this).
 */
export interface TraceLimits extends TraceCuts {
  spansRefused: number;
  markerEventsDropped: number;
  /** True when something was refused since the session was last built: its `limits_hit` is behind. */
  stale: boolean;
}

/** What became of one marker offered to {@link TraceSpans.addMarker}. */
export type MarkerOutcome = 'kept' | 'trace_full';

/** The spans of one trace and what they cost. Counters are the trace's own; the builder sums them. */
export class TraceSpans {
  /** Real spans by span id (pending markers excluded), with what each costs. */
  readonly spans = new Map<string, AdmittedSpan>();
  /** Pending markers by the id of the span they announce, folded. */
  readonly #markers = new Map<string, MarkerFold>();
  /**
   * The parent of every span seen, kept or not (up to the span limit): enough to tell which calls
   * nest in which, and which span is a service's entry into a trace that started elsewhere.
   */
  readonly parents = new Map<string, string>();
  /**
   * The spans a session is derived from — real spans and the running spans markers announce —
   * sorted and sorted into what they are to the session, kept so as each arrives: a rebuild neither
   * collects nor sorts nor scans them again.
   */
  readonly #index = new SpanIndex();
  /**
   * Folds changed since the index last had their running span: it is made once per rebuild, not
   * once per marker (a request may carry many markers of one span).
   */
  #staleFolds: Set<MarkerFold> | undefined;
  /** Spans plus marker entries held: what `maxSpansPerTrace` bounds. */
  items = 0;
  /** Of those, entries for events carried by markers (the first to make room for a real span). */
  #markerEvents = 0;
  /** Estimated bytes held for the trace. */
  bytes = TRACE_OVERHEAD_BYTES;
  /** True once the trace gave a session; until then it is an orphan. */
  isSession = false;
  /** When a span of this trace last arrived (caller's clock). */
  lastSeenMs: number;
  /** The session as last derived (with {@link TraceSpans.timeOutcome} applied). */
  session: ProcessingSession | undefined;
  /** What time decided while no span came; cleared when a span is kept. */
  timeOutcome: TimeOutcome | undefined;
  /** Steps the session left out when last rebuilt (so each is counted once). */
  stepsDropped = 0;
  /** Budgets the session crossed, in order (they stay crossed). */
  readonly budgetCrossings: BudgetCrossing[] = [];
  /** Cuts no kept span carries (spans refused, marker events let go); `undefined` until one happens. */
  limits: TraceLimits | undefined;
  /** The hits the spans carried when the session was last built (`undefined`: none). */
  spanLimitsHit: LimitHit[] | undefined;
  /** Records kept since a durable store last took them (see {@link TraceSpans.takeUnsaved}). */
  #unsaved: SpanRecord[] = [];
  /**
   * Counts every change to what the trace holds (spans, markers, parents), so a caller can tell
   * whether records offered to it said anything new — records read back from a shared store often
   * repeat what is held.
   */
  revision = 0;

  constructor(nowMs: number) {
    this.lastSeenMs = nowMs;
  }

  /** Records where a span sits in the trace (up to `maxSpans` entries). */
  recordParent(span: SpanRecord, maxSpans: number): void {
    const known = this.parents.get(span.spanId);
    if (known !== undefined) {
      if (known === span.parentSpanId) return;
      this.parents.set(span.spanId, span.parentSpanId);
      this.revision += 1;
      this.#index.parentsChanged();
    } else if (this.parents.size < maxSpans) {
      this.parents.set(span.spanId, span.parentSpanId);
      this.bytes += PARENT_ENTRY_BYTES;
      this.revision += 1;
      this.#index.parentsChanged();
    }
  }

  /**
   * Keeps a real span (or a later version of one); its markers have nothing left to say. `save`
   * false: the record is stored already (another replica's, read back from a shared store), so it is
   * not handed to {@link TraceSpans.takeUnsaved} — appended again under this replica's name, two
   * replicas would copy each other's records for ever.
   */
  addSpan(admitted: AdmittedSpan, save = true): void {
    const spanId = admitted.span.spanId;
    const known = this.spans.get(spanId);
    if (!known) {
      this.spans.set(spanId, admitted);
      this.items += 1;
      this.bytes += admitted.bytes;
      this.#index.insert(admitted.span);
      this.#changed(admitted.span, save);
    } else if (isLaterVersion(admitted.span, known.span)) {
      this.spans.set(spanId, admitted);
      this.bytes += admitted.bytes - known.bytes;
      this.#index.replace(known.span, admitted.span);
      this.#changed(admitted.span, save);
    }
    const fold = this.#markers.get(spanId);
    if (fold) {
      if (fold.indexed) this.#index.remove(fold.announced);
      this.#staleFolds?.delete(fold);
      this.#markers.delete(spanId);
      this.#markerEvents -= fold.events.size;
      this.items -= 1 + fold.events.size;
      this.bytes -= fold.bytes;
      this.revision += 1;
    }
  }

  /** Notes that `record` changed what the trace holds (and, when `save`, that a store lacks it). */
  #changed(record: SpanRecord, save: boolean): void {
    this.revision += 1;
    if (save) this.#unsaved.push(record);
  }

  /**
   * Folds a pending marker into the markers of the span it announces. A trace holding `maxSpans`
   * items still takes a known span's latest state (it replaces, it does not grow); only the events
   * such a marker carries are refused. `save` as for {@link TraceSpans.addSpan}.
   */
  addMarker(marker: SpanRecord, maxSpans: number, admission: SpanAdmission, overBudget: boolean, save = true): MarkerOutcome {
    // A marker's parent is the running span it announces; without one it announces nothing, and
    // once that span itself has arrived, its markers have nothing left to say.
    if (!marker.parentSpanId || this.spans.has(marker.parentSpanId)) return 'kept';
    let fold = this.#markers.get(marker.parentSpanId);
    const carriesEvents = marker.events.length > 0;
    const newEntries = (fold ? 0 : 1) + (carriesEvents && !fold?.events.has(marker.spanId) ? 1 : 0);
    const full = newEntries > 0 && this.items + newEntries > maxSpans;
    if (full && !fold) return 'trace_full';
    const admitted = admission.admit(full ? { ...marker, events: [] } : marker, overBudget);
    // The marker that opens a fold is counted in the fold's bytes; its events' entry adds none.
    let entryBytes = admitted.bytes;
    let changed = false;
    if (!fold) {
      fold = {
        latest: admitted.span,
        firstStartMs: admitted.span.startTimeUnixMs,
        latestHits: withoutHits(admitted.span.limitsHit, admitted.eventLimitsHit),
        events: new Map(),
        ordered: [],
        flatEvents: [],
        flatBatches: [],
        eventsTotal: 0,
        entriesWithHits: 0,
        bytes: admitted.bytes,
        announced: admitted.span,
        indexed: false,
      };
      this.#markers.set(marker.parentSpanId, fold);
      this.items += 1;
      this.bytes += admitted.bytes;
      entryBytes = 0;
      changed = true;
    } else {
      if (admitted.span.startTimeUnixMs !== 0 && (fold.firstStartMs === 0 || admitted.span.startTimeUnixMs < fold.firstStartMs)) {
        fold.firstStartMs = admitted.span.startTimeUnixMs;
        changed = true;
      }
      if (isLaterMarker(admitted.span, fold.latest)) {
        fold.latest = admitted.span;
        fold.latestHits = withoutHits(admitted.span.limitsHit, admitted.eventLimitsHit);
        changed = true;
      }
    }
    if (admitted.span.events.length > 0 && !fold.events.has(marker.spanId)) {
      const { batches, maxTotal } = tokenBatchesOf(admitted.span.events);
      const entry: MarkerEntry = {
        markerId: marker.spanId,
        endTimeUnixMs: admitted.span.endTimeUnixMs,
        events: admitted.span.events,
        bytes: entryBytes,
        ...(admitted.eventLimitsHit ? { hits: admitted.eventLimitsHit } : {}),
        batches,
        maxTotal,
      };
      fold.events.set(marker.spanId, entry);
      placeEntry(fold, entry);
      fold.bytes += entryBytes;
      this.#markerEvents += 1;
      this.items += 1;
      this.bytes += entryBytes;
      changed = true;
    }
    if (changed) {
      this.#announce(fold);
      this.#changed(admitted.span, save);
    }
    return full ? 'trace_full' : 'kept';
  }

  /** Counts what limits cut of the trace that no kept span carries. */
  countCut(cut: 'spansRefused' | 'markerEventsDropped', n: number): void {
    this.limits ??= { spansRefused: 0, markerEventsDropped: 0, stale: false };
    this.limits[cut] += n;
    this.limits.stale = true;
  }

  /**
   * Lets the oldest events a marker carried go, to make room for a span. Returns how many events
   * went (0 when there were none to let go).
   */
  dropOldestMarkerEvents(): number {
    // Counted, so a trace full of spans (or of markers without events) does not walk its folds for
    // every span it refuses.
    if (this.#markerEvents === 0) return 0;
    for (const fold of this.#markers.values()) {
      for (const [markerId, entry] of fold.events) {
        fold.events.delete(markerId);
        fold.ordered.splice(fold.ordered.indexOf(entry), 1);
        if (entry.hits) fold.entriesWithHits -= 1;
        flatten(fold);
        this.#announce(fold);
        this.revision += 1;
        this.#markerEvents -= 1;
        fold.bytes -= entry.bytes;
        this.items -= 1;
        this.bytes -= entry.bytes;
        return entry.events.length;
      }
    }
    return 0;
  }

  /** Notes that a fold changed: the running span it announces is made again when the index is next read. */
  #announce(fold: MarkerFold): void {
    (this.#staleFolds ??= new Set()).add(fold);
  }

  /**
   * The trace's spans indexed for deriving its session (`span-index.ts`): real spans, and the
   * running spans markers announce, each made again here if its markers changed since.
   */
  indexed(): SpanIndex {
    const stale = this.#staleFolds;
    if (stale) {
      // Made per rebuild that follows markers, not kept: an ended trace holds no empty set.
      this.#staleFolds = undefined;
      for (const fold of stale) {
        const previous = fold.announced;
        fold.announced = announcedSpan(fold);
        if (fold.indexed) this.#index.replace(previous, fold.announced);
        else this.#index.insert(fold.announced);
        fold.indexed = true;
      }
    }
    return this.#index;
  }

  /**
   * The records kept since the last call: admitted spans (and later versions of them) and markers
   * that changed what their fold says. Offered to a new builder, all records a trace ever returned
   * here rebuild what it holds (the builder is order-independent and merges repeats), so a durable
   * store appends them as they come — a cost in proportion to what arrives, not to the trace — and
   * a restarted receiver carries on where it stopped.
   */
  takeUnsaved(): SpanRecord[] {
    const records = this.#unsaved;
    this.#unsaved = [];
    return records;
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
  // What was cut: of the latest marker's attributes, and of every marker's events.
  let hits: LimitTally | undefined;
  if (fold.latestHits) (hits = new LimitTally()).addAll(fold.latestHits);
  if (fold.entriesWithHits > 0) for (const entry of fold.ordered) if (entry.hits) (hits ??= new LimitTally()).addAll(entry.hits);
  const limitsHit = hits?.list();
  const announced: SpanRecord = {
    ...marker,
    // The latest marker's own hits are replaced by the fold's (absent when there are none).
    ...(limitsHit || marker.limitsHit ? { limitsHit } : {}),
    spanId: marker.parentSpanId,
    parentSpanId: stringAttribute(marker.attributes, ATTR_PENDING_PARENT_ID) ?? '',
    startTimeUnixMs: fold.firstStartMs,
    endTimeUnixMs: 0,
    attributes,
    // Copies: the fold's arrays grow with the next marker, a record never changes.
    events: fold.flatEvents.slice(),
    status: { code: 0, message: '' },
  };
  knowTokensOf(announced, spanTokens(announced, fold.flatBatches.slice(), fold.eventsTotal));
  return announced;
}

/** Of two entries of a fold, whether `a` comes before `b`: by the marker's end time, then its id. */
function entryBefore(a: MarkerEntry, b: MarkerEntry): boolean {
  return a.endTimeUnixMs !== b.endTimeUnixMs ? a.endTimeUnixMs < b.endTimeUnixMs : a.markerId < b.markerId;
}

/**
 * Puts a new entry in its place in the fold's order. Markers mostly come in order, so mostly at the
 * end: then its events and batches are appended; else the fold's flat lists are made again.
 */
function placeEntry(fold: MarkerFold, entry: MarkerEntry): void {
  if (entry.hits) fold.entriesWithHits += 1;
  const last = fold.ordered.at(-1);
  if (last === undefined || entryBefore(last, entry)) {
    fold.ordered.push(entry);
    for (const event of entry.events) fold.flatEvents.push(event);
    for (const batch of entry.batches) fold.flatBatches.push(batch);
    fold.eventsTotal = Math.max(fold.eventsTotal, entry.maxTotal);
    return;
  }
  let at = fold.ordered.length;
  while (at > 0 && entryBefore(entry, fold.ordered[at - 1]!)) at -= 1;
  fold.ordered.splice(at, 0, entry);
  flatten(fold);
}

/** Makes the fold's flat lists again from its ordered entries. */
function flatten(fold: MarkerFold): void {
  fold.flatEvents = fold.ordered.flatMap((entry) => entry.events);
  fold.flatBatches = fold.ordered.flatMap((entry) => entry.batches);
  let total = 0;
  for (const entry of fold.ordered) total = Math.max(total, entry.maxTotal);
  fold.eventsTotal = total;
}
