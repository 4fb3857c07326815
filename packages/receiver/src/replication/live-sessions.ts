/**
 * What the live streams and the REST API's live answers read: this receiver's live window joined
 * with the sessions other replicas publish. Metrics and the history writer keep reading the local
 * window only, so nothing is counted or stored twice.
 */
import type { ProcessingSession, SessionChangeListener, SessionStore } from '@llm-monitor/sessions';

/** The read side of a session store: what the live hub and the session routes use. */
export type LiveSessionView = Pick<SessionStore, 'subscribe' | 'get' | 'values' | 'size'>;

/**
 * This receiver's sessions and other replicas' as one view. A session held here wins over a
 * remote copy with the same id (a trace whose spans reached two replicas): the local one is the
 * one this receiver can rebuild, and one id must not flip between two versions on a live stream.
 */
export class CombinedLiveSessions implements LiveSessionView {
  readonly #local: LiveSessionView;
  readonly #remote: LiveSessionView;

  constructor(local: LiveSessionView, remote: LiveSessionView) {
    this.#local = local;
    this.#remote = remote;
  }

  subscribe(listener: SessionChangeListener, name = 'listener'): () => void {
    const offLocal = this.#local.subscribe(listener, name);
    const offRemote = this.#remote.subscribe((change) => {
      // A remote copy of a session held here says nothing the local one does not say better; the
      // end of a remote copy is no end of the local session either.
      if (this.#local.get(change.session.session_id) !== undefined) return;
      if (change.previousId !== undefined && this.#local.get(change.previousId) !== undefined) return;
      listener(change);
    }, name);
    return () => {
      offLocal();
      offRemote();
    };
  }

  get(sessionId: string): ProcessingSession | undefined {
    return this.#local.get(sessionId) ?? this.#remote.get(sessionId);
  }

  *values(): IterableIterator<ProcessingSession> {
    yield* this.#local.values();
    for (const session of this.#remote.values()) if (this.#local.get(session.session_id) === undefined) yield session;
  }

  get size(): number {
    // Overlaps are rare (split traces) and short-lived; the sum is what health details need.
    return this.#local.size + this.#remote.size;
  }
}
