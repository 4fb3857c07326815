/**
 * The sessions other replicas publish, as they last said them: a live window of theirs, kept so
 * this receiver's live streams, page and `/sessions/active` show every replica's sessions. It is
 * bounded like the local window (count, retention of ended sessions) and forgets what nobody
 * vouches for any more: the sessions of a replica that fell silent, and running sessions that
 * stopped changing for as long as the builder takes to abandon one.
 */
import { emitChange, isEnded } from '@llm-monitor/sessions';
import type { ListenerErrorHandler, ProcessingSession, SessionChange, SessionChangeListener } from '@llm-monitor/sessions';
import type { LiveSessionView } from './live-sessions.js';

/** Where a remote session came from: a replica's id, or {@link FROM_STORE} when it was read back from the shared store. */
export type SessionOrigin = string;

/** Origin of sessions read from the shared store (after a cut from Redis), not heard from a replica. */
export const FROM_STORE = '';

/** Options of {@link RemoteSessions}. */
export interface RemoteSessionsOptions {
  /** Most remote sessions held; beyond, the least recently updated go first. */
  readonly maxSessions: number;
  /** How long an ended remote session is kept, in ms (the local retention). */
  readonly retentionMs: number;
  /** How long a running remote session is kept without news, in ms (the local abandon time). */
  readonly staleAfterMs: number;
  /** Told when a listener threw; the others still hear the change. */
  readonly onListenerError?: ListenerErrorHandler;
}

interface Held {
  session: ProcessingSession;
  origin: SessionOrigin;
  /** Receiver clock when it was last told of this session. */
  heardAt: number;
}

/** See the module comment. */
export class RemoteSessions implements LiveSessionView {
  readonly #held = new Map<string, Held>();
  readonly #listeners = new Map<SessionChangeListener, string>();
  readonly #options: RemoteSessionsOptions;

  constructor(options: RemoteSessionsOptions) {
    this.#options = options;
  }

  subscribe(listener: SessionChangeListener, name = 'listener'): () => void {
    this.#listeners.set(listener, name);
    return () => this.#listeners.delete(listener);
  }

  get(sessionId: string): ProcessingSession | undefined {
    return this.#held.get(sessionId)?.session;
  }

  *values(): IterableIterator<ProcessingSession> {
    for (const held of this.#held.values()) yield held.session;
  }

  get size(): number {
    return this.#held.size;
  }

  /** The replica a remote session came from, or `undefined` when none is held under this id. */
  originOf(sessionId: string): SessionOrigin | undefined {
    return this.#held.get(sessionId)?.origin;
  }

  /**
   * Takes a session as a replica published it. A copy read from the store never replaces one a
   * replica published (the replica's is newer: rows of running sessions are written every few
   * seconds, messages every tick) — unless `replace`: the store knows the session ended, which
   * its replica could not say while this one was cut off.
   */
  put(session: ProcessingSession, origin: SessionOrigin, nowMs: number, { replace = false }: { replace?: boolean } = {}): void {
    const previous = this.#held.get(session.session_id);
    if (previous && origin === FROM_STORE && previous.origin !== FROM_STORE && !replace) return;
    // Map order is insertion order: re-inserting keeps the least recently heard first.
    this.#held.delete(session.session_id);
    this.#held.set(session.session_id, { session, origin, heardAt: nowMs });
    const status = session.status;
    const type: SessionChange['type'] =
      previous === undefined ? 'started' : status !== previous.session.status && status !== 'active' ? status : 'updated';
    this.#emit({ type, session, previousStatus: previous?.session.status });
    while (this.#held.size > this.#options.maxSessions) {
      const oldest = this.#held.keys().next().value as string;
      this.remove(oldest);
    }
  }

  /** A replica let a session go (retention, eviction) or moved it to a new id. */
  remove(sessionId: string): void {
    const held = this.#held.get(sessionId);
    if (!held) return;
    this.#held.delete(sessionId);
    this.#emit({ type: 'removed', session: held.session, previousStatus: held.session.status });
  }

  /** A replica renamed a session (its real id became known). */
  rename(fromId: string, toId: string): void {
    const held = this.#held.get(fromId);
    if (!held || fromId === toId) return;
    this.#held.delete(fromId);
    const session = { ...held.session, session_id: toId };
    this.#held.set(toId, { ...held, session });
    this.#emit({ type: 'renamed', session, previousStatus: session.status, previousId: fromId });
  }

  /** Lets go of every session a replica published (it fell silent, or said it is stopping). */
  forgetOrigin(origin: SessionOrigin): number {
    let forgotten = 0;
    for (const [sessionId, held] of this.#held) {
      if (held.origin !== origin) continue;
      this.remove(sessionId);
      forgotten += 1;
    }
    return forgotten;
  }

  /** Lets go of ended sessions past the retention and running ones nobody spoke of for too long. */
  sweep(nowMs: number): void {
    for (const [sessionId, held] of this.#held) {
      const age = nowMs - held.heardAt;
      if (isEnded(held.session.status) ? age >= this.#options.retentionMs : age >= this.#options.staleAfterMs) this.remove(sessionId);
    }
  }

  #emit(change: SessionChange): void {
    emitChange(this.#listeners, change, this.#options.onListenerError);
  }
}
