import { SessionBuilder } from './session-builder.js';
import { SessionStore } from './session-store.js';
import type { SessionStoreOptions } from './session-store.js';
import type { SpanRecord } from './span-record.js';

/** Options of {@link SessionPipeline}. */
export type SessionPipelineOptions = SessionStoreOptions;

/**
 * Spans in, stored sessions out: the builder rebuilds the sessions the spans touch and the store
 * keeps them. When the store lets a session go, the builder forgets its trace too, so memory stays
 * bounded by the store's limits.
 */
export class SessionPipeline {
  /** The sessions; subscribe here for change events. */
  readonly store: SessionStore;
  readonly #builder = new SessionBuilder();

  constructor(options: SessionPipelineOptions = {}) {
    this.store = new SessionStore(options);
    this.store.subscribe((change) => {
      if (change.type === 'removed') this.#builder.forget(change.session.trace_id);
    });
  }

  /** Ingests decoded spans; returns how many sessions they changed. */
  ingest(spans: Iterable<SpanRecord>, nowMs: number): number {
    const sessions = this.#builder.ingest(spans);
    for (const session of sessions) this.store.upsert(session, nowMs);
    return sessions.length;
  }

  /** Applies retention (see {@link SessionStore.sweep}). */
  sweep(nowMs: number): void {
    this.store.sweep(nowMs);
  }
}
