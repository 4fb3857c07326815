import { SessionBuilder } from './session-builder.js';
import type { BuilderStats, MergeOutcome, SessionBuilderOptions, TraceSnapshot } from './session-builder.js';
import type { ProcessingSession } from './model.js';
import type { SessionFigures } from './history-store.js';
import { MemorySessionStore } from './session-store.js';
import type { SessionStore, SessionStoreOptions } from './session-store.js';
import type { SpanRecord } from './span-record.js';

/** Options of {@link SessionPipeline}. */
export interface SessionPipelineOptions extends SessionStoreOptions, SessionBuilderOptions {
  /**
   * How long a trace that is no session (yet) is remembered after its last span, in milliseconds
   * (default 5 minutes): a GenAI span arriving later still finds its root span.
   */
  readonly orphanTraceIdleMs?: number;
  /**
   * How long spans of a trace whose session left the store are still ignored, in milliseconds
   * (default 10 minutes), so a retried export does not bring a removed session back half-built.
   */
  readonly removedTraceMemoryMs?: number;
  /** Most removed traces remembered for {@link SessionPipelineOptions.removedTraceMemoryMs}, oldest forgotten first (default 100,000). */
  readonly maxRemovedTraces?: number;
  /**
   * Estimated bytes the builder may hold across all traces (default 512 MiB); beyond it the oldest
   * orphan traces go first, then sessions in the store's eviction order.
   */
  readonly maxHeldBytes?: number;
  /** Told when a step of the sweep threw; the other steps still run. */
  readonly onSweepError?: (error: unknown, step: string) => void;
  /**
   * Makes a compact form of an ended session whose spans were let go (`releaseSpansAfterMs`): an
   * equal session that costs less memory (the receiver deflates its details). Applied by
   * {@link SessionPipeline.compactSteps}; without it, sessions stay as built.
   */
  readonly compactSession?: (session: ProcessingSession) => ProcessingSession;
  /** Told of each session {@link SessionPipeline.compactSteps} replaced by its compact form. */
  readonly onCompacted?: (session: ProcessingSession) => void;
}

/** A session under another id (its events name the session too). */
function withSessionId(session: ProcessingSession, sessionId: string): ProcessingSession {
  return { ...session, session_id: sessionId, events: session.events.map((event) => ({ ...event, session_id: sessionId })) };
}

/** What one ingest came to. */
export interface IngestResult {
  /** Sessions changed. */
  changed: number;
  /**
   * Spans ignored because their session had already left the store, or ended and let its spans go
   * (OTLP reports them rejected).
   */
  ignored: number;
  /** Spans refused because their trace already held `maxSpansPerTrace` spans and markers. */
  refusedTraceFull: number;
}

/** Spans added between two yields of {@link SessionPipeline.ingestSteps}. */
const ADD_SLICE = 256;
/** Spans rebuilt (summed over the traces rebuilt) between two yields. */
const REBUILD_SLICE = 2048;
/** Sessions compacted between two yields of {@link SessionPipeline.compactSteps} (each costs tens of microseconds). */
const COMPACT_SLICE = 32;

/** What the pipeline holds, for self-metrics and health. */
export interface PipelineStats extends BuilderStats {
  /** Sessions in the store. */
  readonly sessions: number;
  /** Removed traces remembered (their late spans are ignored). */
  readonly removedTraces: number;
  /** The bound of {@link PipelineStats.bytes}. */
  readonly maxHeldBytes: number;
  /** Sessions replaced by their compact form so far (see {@link SessionPipeline.compactSteps}). */
  readonly sessionsCompacted: number;
}

/**
 * Spans in, stored sessions out: the builder rebuilds the sessions the spans touch (and decides,
 * as time passes, which are abandoned or settled) and the store keeps them.
 *
 * The builder knows traces; the store knows session ids. The pipeline keeps the two in step: a
 * trace's session keeps one store entry even when its id changes (known by the trace id until a span
 * with the application's id arrives); an id already used by another trace falls back to the trace id
 * (ids are meant to be unique); and when the store lets a session go, the builder forgets its trace
 * and late spans of it are ignored for a while, so memory stays bounded by the store's limits. The
 * builder's estimated bytes are bounded too (`maxHeldBytes`): orphan traces, then the store's
 * oldest sessions, make room.
 */
export class SessionPipeline {
  /** The sessions; subscribe here for change events. */
  readonly store: SessionStore;
  readonly #builder: SessionBuilder;
  readonly #sessionIdOfTrace = new Map<string, string>();
  /** Traces whose session was removed, with when (for {@link SessionPipelineOptions.removedTraceMemoryMs}). */
  readonly #removedTraces = new Map<string, number>();
  readonly #orphanTraceIdleMs: number;
  readonly #removedTraceMemoryMs: number;
  readonly #maxRemovedTraces: number;
  readonly #maxHeldBytes: number;
  readonly #onSweepError: ((error: unknown, step: string) => void) | undefined;
  readonly #compactSession: ((session: ProcessingSession) => ProcessingSession) | undefined;
  readonly #onCompacted: ((session: ProcessingSession) => void) | undefined;
  /** Sessions whose trace let its spans go, as built then, waiting for {@link SessionPipeline.compactSteps}. */
  #toCompact: ProcessingSession[] = [];
  #compacted = 0;
  #nowMs = 0;

  constructor(options: SessionPipelineOptions = {}) {
    this.store = new MemorySessionStore(options);
    this.#builder = new SessionBuilder(options);
    this.#orphanTraceIdleMs = options.orphanTraceIdleMs ?? 5 * 60 * 1000;
    this.#removedTraceMemoryMs = options.removedTraceMemoryMs ?? 10 * 60 * 1000;
    this.#maxRemovedTraces = options.maxRemovedTraces ?? 100_000;
    this.#maxHeldBytes = options.maxHeldBytes ?? 512 * 1024 * 1024;
    this.#onSweepError = options.onSweepError;
    this.#compactSession = options.compactSession;
    this.#onCompacted = options.onCompacted;
  }

  /** Forgets the traces of sessions the store let go; their late spans are ignored for a while. */
  #forgetRemoved(removed: Iterable<ProcessingSession>): void {
    for (const session of removed) {
      const traceId = session.trace_id;
      this.#builder.forget(traceId);
      this.#sessionIdOfTrace.delete(traceId);
      this.#removedTraces.delete(traceId);
      this.#removedTraces.set(traceId, this.#nowMs);
      if (this.#removedTraces.size > this.#maxRemovedTraces) {
        for (const oldest of this.#removedTraces.keys()) {
          this.#removedTraces.delete(oldest);
          break;
        }
      }
    }
  }

  /**
   * Ingests decoded spans. Returns how many sessions they changed, how many spans were ignored
   * because their session had already left the store, and how many were refused because their trace
   * was full (a sender may want to know: OTLP reports both as rejected).
   */
  ingest(spans: Iterable<SpanRecord>, nowMs: number): IngestResult {
    const steps = this.ingestSteps(spans, nowMs);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * {@link SessionPipeline.ingest} in slices: the generator yields after every few hundred spans
   * added and every few thousand spans rebuilt, so a caller can let other work run in between (the
   * receiver keeps health checks and live streams answering during a large request). Other ingests
   * and sweeps may run between slices: the builder is order-independent, and a trace removed
   * meanwhile is not brought back.
   */
  *ingestSteps(spans: Iterable<SpanRecord>, nowMs: number): Generator<void, IngestResult> {
    this.#nowMs = nowMs;
    const touched = new Set<string>();
    let ignored = 0;
    let refusedTraceFull = 0;
    let refusedIn: Set<string> | undefined;
    let inSlice = 0;
    for (const span of spans) {
      if (this.#removedTraces.has(span.traceId)) {
        ignored += 1;
        continue;
      }
      // Any span of a session's trace shows it is alive, even one that tells the session nothing
      // (a database call, an HTTP request): the builder notes its arrival, so the session is not
      // abandoned while its work goes on.
      const outcome = this.#builder.add(span, nowMs);
      if (outcome === 'kept') touched.add(span.traceId);
      else if (outcome === 'released') ignored += 1;
      else if (outcome === 'trace_full') {
        refusedTraceFull += 1;
        (refusedIn ??= new Set()).add(span.traceId);
      }
      inSlice += 1;
      if (inSlice >= ADD_SLICE) {
        inSlice = 0;
        yield;
      }
    }
    let changed = 0;
    let rebuilt = 0;
    for (const traceId of touched) {
      // Removed (or evicted) since its spans were added: it stays gone.
      if (this.#removedTraces.has(traceId)) continue;
      rebuilt += this.#builder.sizeOf(traceId);
      const built = this.#builder.rebuild(traceId);
      if (built) {
        this.#store(built, nowMs);
        changed += 1;
      }
      if (rebuilt >= REBUILD_SLICE) {
        rebuilt = 0;
        this.#enforceHeldBytes();
        yield;
      }
    }
    // A refused span changes nothing but the count on its session, which is brought up to date
    // without a rebuild.
    for (const traceId of refusedIn ?? []) {
      if (touched.has(traceId) || this.#removedTraces.has(traceId)) continue;
      const refreshed = this.#builder.refreshLimits(traceId);
      if (refreshed) {
        this.#store(refreshed, nowMs);
        changed += 1;
      }
    }
    this.#enforceHeldBytes();
    return { changed, ignored, refusedTraceFull };
  }

  #store(built: ProcessingSession, nowMs: number): void {
    const traceId = built.trace_id;
    let session = built;
    const owner = this.store.get(session.session_id)?.trace_id;
    if (owner !== undefined && owner !== traceId) session = withSessionId(session, traceId);
    const previousId = this.#sessionIdOfTrace.get(traceId);
    if (previousId !== undefined && previousId !== session.session_id) this.store.rename(previousId, session.session_id);
    this.#sessionIdOfTrace.set(traceId, session.session_id);
    this.#forgetRemoved(this.store.upsert(session, nowMs).removed);
  }

  /** Makes room while the builder holds more than `maxHeldBytes`: orphans first, then sessions. */
  #enforceHeldBytes(): void {
    while (this.#builder.heldBytes > this.#maxHeldBytes) {
      if (this.#builder.evictOldestOrphan()) continue;
      const evicted = this.store.evictOldest();
      if (!evicted) return;
      this.#forgetRemoved([evicted]);
      this.#builder.countEvictedForBytes(1);
    }
  }

  /**
   * Lets go of up to `count` traces to relieve memory: orphan traces first, then ended sessions,
   * oldest first — never a running session, whose spans are still coming. What a durable history
   * holds stays readable from it. Returns how many were let go (counted as `memory` evictions).
   */
  shed(count: number): number {
    let shed = 0;
    while (shed < count) {
      if (this.#builder.evictOldestOrphan('memory')) {
        shed += 1;
        continue;
      }
      const evicted = this.store.evictOldestEnded();
      if (!evicted) break;
      this.#forgetRemoved([evicted]);
      this.#builder.countEvictedForMemory(1);
      shed += 1;
    }
    return shed;
  }

  /**
   * Moves time on: the builder abandons idle sessions and settles foreign ones (see
   * {@link SessionBuilder.advance}), retention applies (see {@link SessionStore.sweep}), and idle
   * traces that are no session are forgotten. Each step runs even when another threw (reported to
   * `onSweepError`), so one bad session cannot stop retention.
   */
  sweep(nowMs: number): void {
    this.#nowMs = nowMs;
    this.#guarded('settle', () => {
      const onRelease = this.#compactSession && ((_traceId: string, session: ProcessingSession) => this.#toCompact.push(session));
      for (const session of this.#builder.advance(nowMs, onRelease)) this.#store(session, nowMs);
    });
    this.#guarded('retention', () => this.#forgetRemoved(this.store.sweep(nowMs)));
    this.#guarded('orphans', () => this.#builder.sweepOrphans(nowMs, this.#orphanTraceIdleMs));
    this.#guarded('removed_traces', () => {
      for (const [traceId, removedAt] of this.#removedTraces) {
        // Insertion order is removal order: the first one still remembered ends the walk.
        if (nowMs - removedAt < this.#removedTraceMemoryMs) break;
        this.#removedTraces.delete(traceId);
      }
    });
    this.#guarded('held_bytes', () => this.#enforceHeldBytes());
  }

  /**
   * Replaces the sessions whose spans the last sweeps let go by their compact form
   * (`compactSession`), in slices: the generator yields after every few sessions, so a caller can
   * let other work run between them (the receiver runs it after each sweep). A session that changed
   * or left the store meanwhile is skipped. Returns how many were compacted.
   */
  *compactSteps(): Generator<void, number> {
    const compact = this.#compactSession;
    const queued = this.#toCompact;
    this.#toCompact = [];
    let compacted = 0;
    if (!compact) return 0;
    for (let at = 0; at < queued.length; at += 1) {
      const built = queued[at]!;
      // Only the very session the trace let go: any other (renamed, replaced, removed) is not ours to touch.
      if (this.store.get(built.session_id) === built) {
        const compactForm = compact(built);
        this.store.replace(built.session_id, compactForm);
        this.#onCompacted?.(compactForm);
        compacted += 1;
      }
      if (at % COMPACT_SLICE === COMPACT_SLICE - 1) yield;
    }
    this.#compacted += compacted;
    return compacted;
  }

  /** Counts sessions from history toward their users' daily budgets (see {@link SessionBuilder.seedBudgets}). */
  seedBudgets(sessions: Iterable<SessionFigures>): void {
    this.#builder.seedBudgets(sessions);
  }

  /** The records of a trace kept since the last call, for a durable store (see {@link SessionBuilder.takeUnsaved}). */
  takeUnsaved(traceId: string): TraceSnapshot | undefined {
    return this.#builder.takeUnsaved(traceId);
  }

  /**
   * How many distinct spans (not markers) the builder holds for a trace, 0 when none (see
   * {@link SessionBuilder.spanCountOf}): committed with the session's row, so a shared store keeps
   * the row built from the most spans.
   */
  spanCountOf(traceId: string): number {
    return this.#builder.spanCountOf(traceId);
  }

  /**
   * Merges span records another replica stored of a trace this pipeline holds (read back from a
   * shared history store): the builder adds them without marking them unsaved (so they are not
   * appended again under this replica's name), and this replica's own records not yet taken stay
   * untaken. When they change the trace, its session is rebuilt and stored like an ingest's (change
   * events fire), and the held-bytes bound applies. A trace this pipeline does not hold — never
   * seen, or removed from the store recently (as for ingest) — is left alone.
   */
  mergeStored(snapshot: TraceSnapshot, nowMs: number): MergeOutcome {
    this.#nowMs = nowMs;
    if (this.#removedTraces.has(snapshot.traceId)) return 'not_held';
    const outcome = this.#builder.mergeStored(snapshot, nowMs);
    if (outcome !== 'merged') return outcome;
    const session = this.#builder.sessionOf(snapshot.traceId);
    if (session) this.#store(session, nowMs);
    this.#enforceHeldBytes();
    return outcome;
  }

  /**
   * Takes running traces back from a durable store after a restart: their sessions return to the
   * store as they stood, and carry on as their spans arrive. Returns how many sessions came back.
   */
  restore(snapshots: Iterable<TraceSnapshot>, nowMs: number): number {
    this.#nowMs = nowMs;
    let restored = 0;
    for (const snapshot of snapshots) {
      const session = this.#builder.restore(snapshot);
      if (!session) continue;
      this.#store(session, nowMs);
      restored += 1;
    }
    this.#enforceHeldBytes();
    return restored;
  }

  #guarded(step: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#onSweepError?.(error, step);
    }
  }

  /** Traces the builder holds (sessions and possible sessions), for self-metrics and tests. */
  get traceCount(): number {
    return this.#builder.traceCount;
  }

  /** What the pipeline holds and has let go. */
  stats(): PipelineStats {
    return {
      ...this.#builder.stats(),
      sessions: this.store.size,
      removedTraces: this.#removedTraces.size,
      maxHeldBytes: this.#maxHeldBytes,
      sessionsCompacted: this.#compacted,
    };
  }
}
