import type { ProcessingSession, SessionStatus } from './model.js';

/** What happened to a session in the store. */
export type SessionChangeType = 'started' | 'updated' | 'completed' | 'failed' | 'abandoned' | 'removed' | 'renamed';

/** A change event: the API, metrics and persistence subscribe to these. */
export interface SessionChange {
  readonly type: SessionChangeType;
  readonly session: ProcessingSession;
  /** Status before this change; `undefined` for a session new to the store. */
  readonly previousStatus: SessionStatus | undefined;
  /** For `renamed`: the id the session had before. */
  readonly previousId?: string;
}

/** Listener of {@link SessionStore.subscribe}. */
export type SessionChangeListener = (change: SessionChange) => void;

/**
 * Told when a listener threw: the store carries on with the other listeners, and the change stays
 * stored. `listener` is the name it subscribed with.
 */
export type ListenerErrorHandler = (error: unknown, listener: string, change: SessionChange) => void;

/** Options of {@link MemorySessionStore}. */
export interface SessionStoreOptions {
  /** How long an ended session is kept, in milliseconds (default one hour). */
  readonly retentionMs?: number;
  /**
   * The most sessions held (default 10,000); beyond it the oldest ended sessions are evicted first,
   * then the least recently updated running ones.
   */
  readonly maxSessions?: number;
  /**
   * Hears of listeners that threw. Without one, an error is kept from the other listeners and the
   * caller all the same, and lost.
   */
  readonly onListenerError?: ListenerErrorHandler;
}

const ENDED: ReadonlySet<SessionStatus> = new Set(['completed', 'failed', 'abandoned']);

/** True when a session in this status has ended. */
export function isEnded(status: SessionStatus): boolean {
  return ENDED.has(status);
}

function changeTypeOf(previous: SessionStatus | undefined, next: SessionStatus): SessionChangeType {
  if (next !== previous && next !== 'active') return next;
  return previous === undefined ? 'started' : 'updated';
}

/** What an upsert did: the change it made, and the sessions it let go to stay within `maxSessions`. */
export interface StoreUpdate {
  readonly change: SessionChange;
  /** Sessions removed to make room (their traces should be forgotten by whoever built them). */
  readonly removed: readonly ProcessingSession[];
}

/**
 * The live window: the sessions the receiver holds in memory, by id, with retention and change
 * events. The live hub, the metrics and the pipeline work on it synchronously; what outlives it is
 * the history store's (`history-store.ts`). Every operation that lets sessions go returns them, so
 * the pipeline can forget their traces without listening to the store it writes.
 */
export interface SessionStore {
  /** Registers a change listener under a name (for error reports); returns the function that removes it. */
  subscribe(listener: SessionChangeListener, name?: string): () => void;
  /** Stores the current state of a session, tells subscribers, and returns what changed and what went. */
  upsert(session: ProcessingSession, nowMs: number): StoreUpdate;
  /** Moves a session to a new id, with a `renamed` change. */
  rename(fromId: string, toId: string): void;
  /**
   * Swaps a held session for an equal one in another form (a compact one), keeping its place in
   * the eviction order, without a change event: nothing about the session changed.
   */
  replace(sessionId: string, session: ProcessingSession): void;
  /** The session with this id, or `undefined`. */
  get(sessionId: string): ProcessingSession | undefined;
  /** All sessions, least recently updated first. */
  values(): IterableIterator<ProcessingSession>;
  /** Number of sessions held. */
  readonly size: number;
  /** Removes ended sessions older than the retention; returns them. */
  sweep(nowMs: number): ProcessingSession[];
  /** Lets the oldest session go (ended first) and returns it; `undefined` when empty. */
  evictOldest(): ProcessingSession | undefined;
  /** Lets the oldest ended session go and returns it; `undefined` when none has ended. */
  evictOldestEnded(): ProcessingSession | undefined;
}

/**
 * The {@link SessionStore} in memory. Time is passed in (`nowMs`) so the store stays pure and
 * testable; the receiver drives {@link MemorySessionStore.sweep} from a timer.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, ProcessingSession>();
  /** When each ended session ended (receiver clock), for retention. */
  readonly #endedAt = new Map<string, number>();
  readonly #listeners = new Map<SessionChangeListener, string>();
  readonly #retentionMs: number;
  readonly #maxSessions: number;
  readonly #onListenerError: ListenerErrorHandler | undefined;

  constructor(options: SessionStoreOptions = {}) {
    this.#retentionMs = options.retentionMs ?? 60 * 60 * 1000;
    this.#maxSessions = options.maxSessions ?? 10_000;
    this.#onListenerError = options.onListenerError;
  }

  /**
   * Registers a change listener under a name (for error reports); returns the function that
   * removes it. A listener that throws is reported and skipped: it never fails the change.
   */
  subscribe(listener: SessionChangeListener, name = 'listener'): () => void {
    this.#listeners.set(listener, name);
    return () => this.#listeners.delete(listener);
  }

  /** Stores the current state of a session and tells subscribers what changed. */
  upsert(session: ProcessingSession, nowMs: number): StoreUpdate {
    const previous = this.#sessions.get(session.session_id);
    // Map order is insertion order: re-inserting keeps the map ordered by last update.
    this.#sessions.delete(session.session_id);
    this.#sessions.set(session.session_id, session);
    if (isEnded(session.status)) {
      if (!this.#endedAt.has(session.session_id)) this.#endedAt.set(session.session_id, nowMs);
    } else {
      this.#endedAt.delete(session.session_id);
    }
    const change: SessionChange = {
      type: changeTypeOf(previous?.status, session.status),
      session,
      previousStatus: previous?.status,
    };
    this.#emit(change);
    return { change, removed: this.#enforceMaxSessions() };
  }

  /**
   * Moves a session to a new id, with a `renamed` change: the same session became known under its
   * real id (for example once its root span arrived with the application's session id).
   */
  rename(fromId: string, toId: string): void {
    const session = this.#sessions.get(fromId);
    if (!session || fromId === toId) return;
    this.#sessions.delete(fromId);
    this.#sessions.set(toId, session);
    const endedAt = this.#endedAt.get(fromId);
    this.#endedAt.delete(fromId);
    if (endedAt !== undefined) this.#endedAt.set(toId, endedAt);
    // Listeners that key by id (the live streams) must follow the session to its new id.
    this.#emit({ type: 'renamed', session: { ...session, session_id: toId }, previousStatus: session.status, previousId: fromId });
  }

  /** Swaps a held session for an equal one in another form (see {@link SessionStore.replace}); an id not held is ignored. */
  replace(sessionId: string, session: ProcessingSession): void {
    // Setting an existing key keeps its place in the map, which is the eviction order.
    if (this.#sessions.has(sessionId)) this.#sessions.set(sessionId, session);
  }

  /** The session with this id, or `undefined`. */
  get(sessionId: string): ProcessingSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** All sessions, least recently updated first. */
  values(): IterableIterator<ProcessingSession> {
    return this.#sessions.values();
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Removes ended sessions older than the retention; returns the removed sessions. */
  sweep(nowMs: number): ProcessingSession[] {
    const removed: ProcessingSession[] = [];
    for (const [sessionId, endedAt] of this.#endedAt) {
      if (nowMs - endedAt < this.#retentionMs) continue;
      const session = this.#remove(sessionId);
      if (session) removed.push(session);
    }
    return removed;
  }

  /**
   * Lets one session go to make room (the pipeline's byte bound): the oldest ended, else the least
   * recently updated running one. Returns it, or `undefined` when the store is empty.
   */
  evictOldest(): ProcessingSession | undefined {
    for (const sessionId of this.#endedAt.keys()) return this.#remove(sessionId);
    for (const sessionId of this.#sessions.keys()) return this.#remove(sessionId);
    return undefined;
  }

  /** Lets the oldest ended session go (the memory guard sheds these: the history holds them). */
  evictOldestEnded(): ProcessingSession | undefined {
    for (const sessionId of this.#endedAt.keys()) return this.#remove(sessionId);
    return undefined;
  }

  #enforceMaxSessions(): ProcessingSession[] {
    // Oldest ended first, then — only running sessions left and still too many (traces that never
    // end) — the least recently updated, so memory stays bounded whatever senders do.
    const removed: ProcessingSession[] = [];
    while (this.#sessions.size > this.#maxSessions) {
      const session = this.evictOldest();
      if (!session) break;
      removed.push(session);
    }
    return removed;
  }

  #remove(sessionId: string): ProcessingSession | undefined {
    const session = this.#sessions.get(sessionId);
    this.#sessions.delete(sessionId);
    this.#endedAt.delete(sessionId);
    if (session) this.#emit({ type: 'removed', session, previousStatus: session.status });
    return session;
  }

  #emit(change: SessionChange): void {
    emitChange(this.#listeners, change, this.#onListenerError);
  }
}

/**
 * Tells every listener of a store of a change, each behind a wall: metrics, live streams and
 * persistence must not be able to fail an ingest, a sweep or each other. A listener that throws is
 * reported to `onError` by the name it subscribed with.
 */
export function emitChange(
  listeners: ReadonlyMap<SessionChangeListener, string>,
  change: SessionChange,
  onError: ListenerErrorHandler | undefined,
): void {
  for (const [listener, name] of listeners) {
    try {
      listener(change);
    } catch (error) {
      try {
        onError?.(error, name, change);
      } catch {
        // The error handler itself failed: nothing further can be told.
      }
    }
  }
}
