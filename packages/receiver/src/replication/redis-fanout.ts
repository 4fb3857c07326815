/**
 * Live fan-out across replicas over Redis pub/sub. Each replica publishes the changes of its own
 * live window — each changed session once, as it stands, at most once per {@link PUBLISH_EVERY_MS}
 * (at once when it was quiet) — tagged with its replica id, and applies what the others publish to
 * its {@link RemoteSessions}, which its live streams, page and `/sessions/active` show beside its
 * own. Nothing is applied twice: a replica skips its own messages, and a session is one entry by id.
 *
 * Redis carries no history and no acknowledgement: the shared store does. When the connection is
 * cut, each replica keeps serving its own sessions and reports `degraded`; ioredis reconnects by
 * itself, and the replica then catches up: it publishes what changed here while it was cut, asks
 * the others for what changed there, and reads back from the shared store what ended meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { isEnded } from '@llm-monitor/sessions';
import type { HistoryStore, ProcessingSession, SessionStore } from '@llm-monitor/sessions';
import type { Envelope, FanoutMessage } from './fanout-messages.js';
import { decodeEnvelope, encodeEnvelope, FANOUT_FORMAT, FanoutMessageError, SESSIONS_PER_MESSAGE } from './fanout-messages.js';
import { FROM_STORE } from './remote-sessions.js';
import type { RemoteSessions } from './remote-sessions.js';

/**
 * Least milliseconds between two change messages. A change after a quiet spell goes at once (the
 * next turn of the event loop, so one ingest request's changes share a message); under load,
 * changes are coalesced per session for this long. Kept well under the live tick (50 ms), so a
 * remote session reaches a client at most this much later than a local one.
 */
export const PUBLISH_EVERY_MS = 20;
/** A replica says it is there at least this often (a heartbeat when it had nothing else to say). */
export const HEARTBEAT_EVERY_MS = 2000;
/** A replica not heard from for this long is gone: its sessions leave the live view (they are in the shared store). */
export const SILENT_AFTER_MS = 10_000;
/**
 * Most session ids remembered as changed during a cut. A long cut under load would otherwise grow
 * the set without bound (removed sessions' ids included); past it, the replica republishes its whole
 * live window on reconnection instead, which `max_sessions` bounds.
 */
const MAX_TRACKED_WHILE_CUT = 50_000;
/** Most ended sessions a replica publishes again for one that missed them (the store has them all). */
const SYNC_MAX_ENDED = 1000;
/** Most sessions read back from the shared store after a cut. */
const RECONCILE_MAX_SESSIONS = 1000;

/** How the fan-out is doing. */
export type FanoutState = 'connecting' | 'connected' | 'degraded' | 'closed';

/** Options of {@link RedisFanout}. */
export interface RedisFanoutOptions {
  readonly url: string;
  readonly channel: string;
  readonly replicaId: string;
  /** This receiver's live window: what it publishes. */
  readonly local: Pick<SessionStore, 'subscribe' | 'get' | 'values'>;
  /** Where other replicas' sessions go. */
  readonly remote: RemoteSessions;
  /** The shared store, read back after a cut. */
  readonly history: HistoryStore;
  /** True when this receiver's builder holds spans of the trace (a remote session of it is a split trace). */
  readonly holdsTrace: (traceId: string) => boolean;
  /** Told of traces whose spans reached this replica and another: the store merges them. */
  readonly onSplitTraces: (traceIds: string[]) => void;
  /** Told when the state changes, with the reason. */
  readonly onStateChange?: (state: FanoutState, reason: string) => void;
  /** Told of a message that could not be used, or a failure inside the fan-out; it carries on. */
  readonly onError?: (error: unknown, where: string) => void;
  /** Told once when another live process publishes under this replica id. */
  readonly onDuplicateReplicaId?: (otherInstance: string) => void;
  /** Milliseconds between two change messages (default {@link PUBLISH_EVERY_MS}). */
  readonly publishEveryMs?: number;
  readonly heartbeatEveryMs?: number;
  readonly silentAfterMs?: number;
  /** Most session ids remembered as changed during a cut (default {@link MAX_TRACKED_WHILE_CUT}). */
  readonly maxTrackedWhileCut?: number;
}

/** What `/readyz` and the self-metrics show. */
export interface FanoutStats {
  readonly state: FanoutState;
  readonly reason: string;
  /** Since when the state holds (ISO 8601). */
  readonly since: string;
  readonly replica_id: string;
  readonly channel: string;
  readonly messages_published: number;
  readonly messages_received: number;
  readonly sessions_published: number;
  readonly sessions_received: number;
  /** Messages that could not be used (malformed, another format). */
  readonly messages_rejected: number;
  /** Changes not published because Redis was unreachable (published again on reconnection). */
  readonly changes_unpublished: number;
  readonly reconnections: number;
  /** Other replicas heard from, with how long ago and how many sessions they hold. */
  readonly replicas: { replica_id: string; last_heard_ms: number; sessions: number }[];
  readonly remote_sessions: number;
}

interface Peer {
  instance: string;
  heardAt: number;
  sessions: number;
}

/** The host and port of a Redis URL, without credentials, for logs and health. */
export function redisLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'redis';
  }
}

/** See the module comment. */
export class RedisFanout {
  readonly #options: RedisFanoutOptions;
  readonly #instance = randomBytes(6).toString('hex');
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #publishEveryMs: number;
  readonly #heartbeatEveryMs: number;
  readonly #silentAfterMs: number;
  #state: FanoutState = 'connecting';
  #reason = 'connecting to Redis';
  #since = Date.now();
  /** When the fan-out last lost Redis; what changed since is caught up on reconnection. */
  #cutAt: number | undefined;
  #subscribed = false;
  /** The last connection error since a connection was last ready: the reason a cut is reported with. */
  #lastError: string | undefined;
  #seq = 0;
  // Changes waiting for the next message, by session id (the latest state wins).
  #pendingSessions = new Map<string, ProcessingSession>();
  #pendingRemoved = new Set<string>();
  #pendingRenamed: [string, string][] = [];
  /** Local sessions changed while Redis was unreachable (ids only: their state is read when published). */
  readonly #changedWhileCut = new Set<string>();
  /** True once a cut lasted past {@link MAX_TRACKED_WHILE_CUT} changes: the whole window goes out again. */
  #lostTrack = false;
  /** When each local session last changed, for answering a sync request. */
  readonly #changedAt = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushScheduled = false;
  #lastPublishAt = 0;
  readonly #peers = new Map<string, Peer>();
  readonly #splitPending = new Set<string>();
  #splitTimer: NodeJS.Timeout | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #duplicateTold = false;
  #rejectedFormatTold = false;
  readonly #counts = {
    messages_published: 0,
    messages_received: 0,
    sessions_published: 0,
    sessions_received: 0,
    messages_rejected: 0,
    changes_unpublished: 0,
    reconnections: 0,
  };

  constructor(options: RedisFanoutOptions) {
    this.#options = options;
    this.#publishEveryMs = options.publishEveryMs ?? PUBLISH_EVERY_MS;
    this.#heartbeatEveryMs = options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS;
    this.#silentAfterMs = options.silentAfterMs ?? SILENT_AFTER_MS;
    const common = {
      lazyConnect: true,
      connectTimeout: 2000,
      // Reconnect for ever, backing off to 2 s: Redis coming back is the normal end of a cut.
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
      connectionName: `llm-monitor:${options.replicaId}`,
      keepAlive: 10_000,
    };
    // A publish while cut fails at once instead of queueing without bound: what it carried is
    // published again on reconnection, from the live window as it then stands.
    this.#publisher = new Redis(options.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    // Subscribing is done by hand on every `ready`, so the state says when messages flow again.
    this.#subscriber = new Redis(options.url, { ...common, autoResubscribe: false, maxRetriesPerRequest: 0 });
    for (const [connection, name] of [
      [this.#publisher, 'publisher'],
      [this.#subscriber, 'subscriber'],
    ] as const) {
      // Without an 'error' listener ioredis's errors would be unhandled 'error' events: a crash.
      connection.on('error', (error: Error) => {
        this.#lastError = `${name}: ${error.message}`;
        this.#lost(this.#lastError);
      });
      // A close says less than the error before it, which is kept as the reason.
      connection.on('close', () => this.#lost(this.#lastError ?? `${name}: connection closed`));
      connection.on('ready', () => {
        this.#lastError = undefined;
        this.#ready(name);
      });
    }
    this.#subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() === this.#options.channel) this.#receive(message);
    });
  }

  /** This process's own id among processes of the same replica id. */
  get instance(): string {
    return this.#instance;
  }

  get state(): FanoutState {
    return this.#state;
  }

  /**
   * Starts listening to the local window and connecting. Never rejects: a Redis that cannot be
   * reached leaves the fan-out degraded and retrying, and the receiver serving its own sessions.
   */
  start(): void {
    this.#unsubscribe = this.#options.local.subscribe((change) => {
      const id = change.session.session_id;
      const now = Date.now();
      if (change.type === 'removed') {
        this.#pendingSessions.delete(id);
        this.#pendingRemoved.add(id);
        this.#changedAt.delete(id);
      } else if (change.type === 'renamed' && change.previousId !== undefined) {
        const pending = this.#pendingSessions.get(change.previousId);
        this.#pendingSessions.delete(change.previousId);
        this.#pendingRenamed.push([change.previousId, id]);
        this.#pendingSessions.set(id, pending ? { ...pending, session_id: id } : change.session);
        this.#changedAt.delete(change.previousId);
        this.#changedAt.set(id, now);
        if (this.#changedWhileCut.delete(change.previousId)) this.#noteUnpublished(id);
      } else {
        this.#pendingRemoved.delete(id);
        this.#pendingSessions.set(id, change.session);
        // Map order is insertion order: re-inserting keeps the most recently changed last.
        this.#changedAt.delete(id);
        this.#changedAt.set(id, now);
      }
      this.#scheduleFlush();
    }, 'replication');
    this.#housekeeping = setInterval(() => this.#housekeep(), Math.min(1000, this.#heartbeatEveryMs));
    this.#housekeeping.unref();
    for (const connection of [this.#publisher, this.#subscriber]) {
      // ioredis keeps retrying after a failed first attempt; its failure is the reason until then.
      connection.connect().catch((error: unknown) => {
        // "Connection is closed." says less than the socket error ioredis reported before it.
        this.#lastError ??= `${connection === this.#publisher ? 'publisher' : 'subscriber'}: ${(error as Error).message}`;
        this.#lost(this.#lastError);
      });
    }
  }

  /** Health and counters. */
  stats(): FanoutStats {
    const now = Date.now();
    return {
      state: this.#state,
      reason: this.#reason,
      since: new Date(this.#since).toISOString(),
      replica_id: this.#options.replicaId,
      channel: this.#options.channel,
      ...this.#counts,
      replicas: [...this.#peers].map(([replica, peer]) => ({
        replica_id: replica,
        last_heard_ms: now - peer.heardAt,
        sessions: peer.sessions,
      })),
      remote_sessions: this.#options.remote.size,
    };
  }

  /** Says goodbye (best effort), stops publishing and closes both connections. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#flush();
    if (this.#publisher.status === 'ready') {
      await Promise.race([this.#send({ kind: 'leaving' }), new Promise((resolve) => setTimeout(resolve, 500).unref())]).catch(
        () => undefined,
      );
    }
    this.#setState('closed', 'receiver stopped');
    this.#unsubscribe?.();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    if (this.#splitTimer) clearTimeout(this.#splitTimer);
    if (this.#housekeeping) clearInterval(this.#housekeeping);
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
  }

  #setState(state: FanoutState, reason: string): void {
    if (this.#state === state && this.#reason === reason) return;
    const changed = this.#state !== state;
    this.#state = state;
    this.#reason = reason;
    if (changed) this.#since = Date.now();
    if (changed) this.#report(() => this.#options.onStateChange?.(state, reason));
  }

  #lost(reason: string): void {
    if (this.#state === 'closed') return;
    if (reason.startsWith('subscriber')) this.#subscribed = false;
    if (this.#state === 'connected') {
      this.#cutAt = Date.now();
      this.#setState(
        'degraded',
        `Redis at ${redisLocation(this.#options.url)} unreachable (${reason}); serving this replica's sessions only`,
      );
    } else if (this.#state === 'connecting' || this.#state === 'degraded') {
      this.#cutAt ??= Date.now();
      this.#setState(
        'degraded',
        `Redis at ${redisLocation(this.#options.url)} unreachable (${reason}); serving this replica's sessions only`,
      );
    }
  }

  #ready(name: 'publisher' | 'subscriber'): void {
    if (this.#state === 'closed') return;
    if (name === 'subscriber') {
      this.#subscriber.subscribe(this.#options.channel).then(
        () => {
          this.#subscribed = true;
          this.#maybeConnected();
        },
        (error: unknown) => this.#lost(`subscriber: cannot subscribe: ${(error as Error).message}`),
      );
      return;
    }
    this.#maybeConnected();
  }

  #maybeConnected(): void {
    if (this.#state === 'closed' || this.#state === 'connected') return;
    if (this.#publisher.status !== 'ready' || !this.#subscribed) return;
    const cutAt = this.#cutAt;
    const wasDegraded = this.#state === 'degraded';
    this.#cutAt = undefined;
    this.#setState('connected', `publishing to and subscribed on ${this.#options.channel} at ${redisLocation(this.#options.url)}`);
    if (wasDegraded) this.#counts.reconnections += 1;
    // Catch up on both sides of the cut (at the very first connection too: others may have been running).
    this.#catchUp(cutAt);
  }

  /** Remembers a change Redis did not carry, within {@link MAX_TRACKED_WHILE_CUT}. */
  #noteUnpublished(sessionId: string): void {
    if (this.#lostTrack) return;
    if (this.#changedWhileCut.size >= (this.#options.maxTrackedWhileCut ?? MAX_TRACKED_WHILE_CUT)) {
      this.#changedWhileCut.clear();
      this.#lostTrack = true;
      return;
    }
    this.#changedWhileCut.add(sessionId);
  }

  #catchUp(cutAt: number | undefined): void {
    const since = cutAt ?? 0;
    // What changed here while cut: published from the window as it stands now.
    const local = this.#options.local;
    if (this.#lostTrack) {
      for (const session of local.values()) this.#pendingSessions.set(session.session_id, session);
      this.#lostTrack = false;
    }
    for (const id of this.#changedWhileCut) {
      const session = local.get(id);
      if (session) this.#pendingSessions.set(id, session);
      else this.#pendingRemoved.add(id);
    }
    this.#changedWhileCut.clear();
    if (cutAt === undefined) {
      // First connection: others learn of every running session here.
      for (const session of local.values()) if (!isEnded(session.status)) this.#pendingSessions.set(session.session_id, session);
    }
    this.#scheduleFlush();
    this.#send({ kind: 'sync_request', since_ms: since }).catch((error: unknown) =>
      this.#report(() => this.#options.onError?.(error, 'sync_request')),
    );
    if (cutAt !== undefined) void this.#reconcileFromStore(cutAt);
  }

  /**
   * Reads back from the shared store what other replicas changed while this one was cut: the
   * latest state of the remote sessions shown as running, and the sessions that started meanwhile.
   * The sync answers of the live replicas follow over Redis and are fresher where they overlap.
   */
  async #reconcileFromStore(cutAt: number): Promise<void> {
    const remote = this.#options.remote;
    const history = this.#options.history;
    const now = (): number => Date.now();
    try {
      const running = [...remote.values()].filter((session) => !isEnded(session.status)).slice(0, RECONCILE_MAX_SESSIONS);
      for (const shown of running) {
        const stored = await history.session(shown.session_id);
        if (stored && isEnded(stored.status) && !isEnded(remote.get(shown.session_id)?.status ?? 'completed'))
          remote.put(stored, FROM_STORE, now(), { replace: true });
      }
      const page = await history.sessions({ sinceMs: cutAt - this.#heartbeatEveryMs }, RECONCILE_MAX_SESSIONS);
      for (const stored of page.sessions) {
        if (this.#options.holdsTrace(stored.trace_id) || this.#options.local.get(stored.session_id)) continue;
        remote.put(stored, FROM_STORE, now());
      }
    } catch (error) {
      this.#report(() => this.#options.onError?.(error, 'reconcile'));
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#state === 'closed') return;
    this.#flushScheduled = true;
    const wait = this.#lastPublishAt + this.#publishEveryMs - Date.now();
    if (wait <= 0) setImmediate(() => this.#flush());
    else {
      this.#flushTimer = setTimeout(() => this.#flush(), wait);
      this.#flushTimer.unref();
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    this.#flushTimer = undefined;
    if (this.#pendingSessions.size === 0 && this.#pendingRemoved.size === 0 && this.#pendingRenamed.length === 0) return;
    const sessions = [...this.#pendingSessions.values()];
    const removed = [...this.#pendingRemoved];
    const renamed = this.#pendingRenamed;
    this.#pendingSessions = new Map();
    this.#pendingRemoved = new Set();
    this.#pendingRenamed = [];
    if (this.#state !== 'connected') {
      // Published on reconnection, as the window then stands.
      this.#counts.changes_unpublished += sessions.length + removed.length + renamed.length;
      for (const session of sessions) this.#noteUnpublished(session.session_id);
      for (const id of removed) this.#noteUnpublished(id);
      for (const [, to] of renamed) this.#noteUnpublished(to);
      return;
    }
    this.#lastPublishAt = Date.now();
    for (let at = 0; at < Math.max(sessions.length, 1); at += SESSIONS_PER_MESSAGE) {
      const chunk = sessions.slice(at, at + SESSIONS_PER_MESSAGE);
      const first = at === 0;
      this.#send({ kind: 'changes', sessions: chunk, removed: first ? removed : [], renamed: first ? renamed : [] }).then(
        () => {
          this.#counts.sessions_published += chunk.length;
        },
        () => {
          // The connection went while sending: published again on reconnection.
          this.#counts.changes_unpublished += chunk.length;
          for (const session of chunk) this.#noteUnpublished(session.session_id);
          if (first) {
            for (const id of removed) this.#noteUnpublished(id);
            for (const [, to] of renamed) this.#noteUnpublished(to);
          }
        },
      );
    }
  }

  async #send(message: FanoutMessage): Promise<void> {
    this.#seq += 1;
    const envelope = {
      ...message,
      v: FANOUT_FORMAT,
      replica: this.#options.replicaId,
      instance: this.#instance,
      seq: this.#seq,
    } as Envelope;
    await this.#publisher.publish(this.#options.channel, encodeEnvelope(envelope));
    this.#counts.messages_published += 1;
  }

  #receive(bytes: Buffer): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes);
    } catch (error) {
      this.#counts.messages_rejected += 1;
      if (error instanceof FanoutMessageError && error.message.startsWith('format') && this.#rejectedFormatTold) return;
      if (error instanceof FanoutMessageError && error.message.startsWith('format')) this.#rejectedFormatTold = true;
      this.#report(() => this.#options.onError?.(error, 'receive'));
      return;
    }
    if (envelope.instance === this.#instance) return;
    if (envelope.replica === this.#options.replicaId) {
      // Another live process under this id: its messages are not ours, but everything it writes to
      // a shared store mixes with ours. Said once; its sessions are shown all the same.
      if (!this.#duplicateTold) {
        this.#duplicateTold = true;
        this.#report(() => this.#options.onDuplicateReplicaId?.(envelope.instance));
      }
    }
    this.#counts.messages_received += 1;
    const now = Date.now();
    const origin = envelope.replica === this.#options.replicaId ? `${envelope.replica}/${envelope.instance}` : envelope.replica;
    const peer = this.#peers.get(origin) ?? { instance: envelope.instance, heardAt: now, sessions: 0 };
    peer.heardAt = now;
    if (peer.instance !== envelope.instance) {
      // The replica restarted: what its previous process published is its new process's to say again.
      peer.instance = envelope.instance;
    }
    this.#peers.set(origin, peer);
    const remote = this.#options.remote;
    try {
      switch (envelope.kind) {
        case 'changes':
          for (const [from, to] of envelope.renamed) remote.rename(from, to);
          for (const session of envelope.sessions) {
            remote.put(session, origin, now);
            if (this.#options.holdsTrace(session.trace_id)) this.#splitTrace(session.trace_id);
          }
          for (const id of envelope.removed) if (remote.originOf(id) === origin) remote.remove(id);
          this.#counts.sessions_received += envelope.sessions.length;
          break;
        case 'heartbeat':
          peer.sessions = envelope.sessions;
          break;
        case 'sync_request':
          this.#answerSync(envelope.since_ms);
          break;
        case 'leaving':
          this.#peers.delete(origin);
          remote.forgetOrigin(origin);
          break;
      }
    } catch (error) {
      this.#report(() => this.#options.onError?.(error, 'apply'));
    }
  }

  /**
   * Another replica missed what was said since `sinceMs` (0: it just started): every running
   * session here goes out again, and the sessions that ended since then, the most recent
   * {@link SYNC_MAX_ENDED} of them.
   */
  #answerSync(sinceMs: number): void {
    const local = this.#options.local;
    for (const session of local.values()) if (!isEnded(session.status)) this.#pendingSessions.set(session.session_id, session);
    if (sinceMs > 0) {
      let ended = 0;
      // Newest first: #changedAt is in order of change.
      for (const [id, changedAt] of [...this.#changedAt].reverse()) {
        if (changedAt < sinceMs || ended >= SYNC_MAX_ENDED) break;
        const session = local.get(id);
        if (!session || !isEnded(session.status)) continue;
        this.#pendingSessions.set(id, session);
        ended += 1;
      }
    }
    this.#scheduleFlush();
  }

  #splitTrace(traceId: string): void {
    this.#splitPending.add(traceId);
    if (this.#splitTimer) return;
    // Gathered for a moment: a split trace is reported by every message that carries it.
    this.#splitTimer = setTimeout(() => {
      this.#splitTimer = undefined;
      const traces = [...this.#splitPending];
      this.#splitPending.clear();
      this.#report(() => this.#options.onSplitTraces(traces));
    }, 100);
    this.#splitTimer.unref();
  }

  #housekeep(): void {
    const now = Date.now();
    try {
      if (this.#state === 'connected') {
        if (now - this.#lastPublishAt >= this.#heartbeatEveryMs) {
          this.#lastPublishAt = now;
          let sessions = 0;
          for (const session of this.#options.local.values()) if (!isEnded(session.status)) sessions += 1;
          this.#send({ kind: 'heartbeat', sessions }).catch(() => undefined);
        }
        // Only while connected: during a cut every replica looks silent, and what was shown stays.
        const connectedSince = this.#since;
        for (const [origin, peer] of this.#peers) {
          if (now - Math.max(peer.heardAt, connectedSince) < this.#silentAfterMs) continue;
          this.#peers.delete(origin);
          this.#options.remote.forgetOrigin(origin);
        }
      }
      this.#options.remote.sweep(now);
    } catch (error) {
      this.#report(() => this.#options.onError?.(error, 'housekeeping'));
    }
  }

  #report(tell: () => void): void {
    try {
      tell();
    } catch {
      // A reporting callback that throws must not stop the fan-out.
    }
  }
}
