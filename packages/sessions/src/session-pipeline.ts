import { SessionBuilder } from './session-builder.js';
import { SessionStore } from './session-store.js';
import type { SessionStoreOptions } from './session-store.js';
import type { SpanRecord } from './span-record.js';

/** Options of {@link SessionPipeline}. */
export interface SessionPipelineOptions extends SessionStoreOptions {
  /**
   * How long a trace that is no session (yet) is remembered after its last span, in milliseconds
   * (default 5 minutes): a GenAI span arriving later still finds its root span.
   */
  readonly orphanTraceIdleMs?: number;
}

/**
 * Spans in, stored sessions out: the builder rebuilds the sessions the spans touch and the store
 * keeps them. When the store lets a session go, the builder forgets its trace too, so memory stays
 * bounded by the store's limits.
 */
export class SessionPipeline {
  /** The sessions; subscribe here for change events. */
  readonly store: SessionStore;
  readonly #builder = new SessionBuilder();
  readonly #orphanTraceIdleMs: number;

  constructor(options: SessionPipelineOptions = {}) {
    this.store = new SessionStore(options);
    this.#orphanTraceIdleMs = options.orphanTraceIdleMs ?? 5 * 60 * 1000;
    this.store.subscribe((change) => {
      if (change.type === 'removed') this.#builder.forget(change.session.trace_id);
    });
  }

  /** Ingests decoded spans; returns how many sessions they changed. */
  ingest(spans: Iterable<SpanRecord>, nowMs: number): number {
    const sessions = this.#builder.ingest(spans, nowMs);
    for (const session of sessions) this.store.upsert(session, nowMs);
    return sessions.length;
  }

  /** Applies retention (see {@link SessionStore.sweep}) and forgets idle traces that are no session. */
  sweep(nowMs: number): void {
    this.store.sweep(nowMs);
    this.#builder.sweepOrphans(nowMs, this.#orphanTraceIdleMs);
  }

  /** Traces the builder holds (sessions and possible sessions), for self-metrics and tests. */
  get traceCount(): number {
    return this.#builder.traceCount;
  }
}
