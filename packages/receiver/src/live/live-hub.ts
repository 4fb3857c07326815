/**
 * The fan-out of live session events to WebSocket and SSE clients. It listens to the session store
 * only while a client is connected — no work is done for nobody — and sends each client one batch per
 * tick (50 ms by default) with the events its subscription wants, token events merged.
 */
import { computeStatistics, isEnded, matchesFilter } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionFilter, SessionStore, StatisticsReport } from '@llm-monitor/sessions';
import { coalesce, eventsBetween, seenStateOf, summaryOf } from './live-events.js';
import type { LiveEvent, SeenState, SessionSummary } from './live-events.js';

/** What a client wants: every session (the default), some sessions by id, or sessions matching a filter. */
export interface LiveSubscription {
  /** `false` after an unsubscribe: nothing until the next subscribe. */
  readonly active: boolean;
  readonly sessions?: readonly string[];
  readonly filter?: SessionFilter;
}

/** Everything: the subscription a client starts with. */
export const EVERYTHING: LiveSubscription = { active: true };

/** A connected client, as the hub sees it. */
export interface LiveClient {
  subscription: LiveSubscription;
  /** Sends the events of one tick; the transport checks the client keeps up. */
  deliver(events: readonly LiveEvent[], statistics: StatisticsReport | undefined): void;
  /** Ends the connection (the server shuts down). */
  close(): void;
}

/** What a client gets on connecting. */
export interface LiveSnapshot {
  statistics: StatisticsReport;
  active_sessions: SessionSummary[];
}

/** Counters of the hub, for health and metrics. */
export interface LiveHubStats {
  clients: number;
  ticks: number;
  events: number;
}

/** Options of {@link LiveHub}. */
export interface LiveHubOptions {
  /** Milliseconds between batches (default 50). */
  readonly tickMs?: number;
  /** Milliseconds between statistics updates while sessions change (default 1,000). */
  readonly statisticsEveryMs?: number;
}

function wants(subscription: LiveSubscription, event: LiveEvent, session: ProcessingSession | undefined): boolean {
  if (!subscription.active) return false;
  const sessionId = 'session_id' in event ? event.session_id : event.session.session_id;
  if (subscription.sessions && !subscription.sessions.includes(sessionId)) return false;
  if (subscription.filter && !(session && matchesFilter(session, subscription.filter))) return false;
  return true;
}

/** See the module comment. */
export class LiveHub {
  readonly #store: SessionStore;
  readonly #tickMs: number;
  readonly #statisticsEveryMs: number;
  readonly #clients = new Set<LiveClient>();
  readonly #seen = new Map<string, SeenState>();
  #pending: { event: LiveEvent; session: ProcessingSession }[] = [];
  #unsubscribe: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #changedSinceStatistics = false;
  #lastStatisticsAt = 0;
  readonly #stats = { ticks: 0, events: 0 };

  constructor(store: SessionStore, options: LiveHubOptions = {}) {
    this.#store = store;
    this.#tickMs = options.tickMs ?? 50;
    this.#statisticsEveryMs = options.statisticsEveryMs ?? 1000;
  }

  /** Counters (clients connected, ticks sent, events fanned out). */
  stats(): LiveHubStats {
    return { clients: this.#clients.size, ...this.#stats };
  }

  /** Statistics and the running sessions, for a client that just connected. */
  snapshot(): LiveSnapshot {
    const active: SessionSummary[] = [];
    for (const session of this.#store.values()) if (!isEnded(session.status)) active.push(summaryOf(session));
    return { statistics: computeStatistics(this.#store.values()), active_sessions: active };
  }

  /** Adds a client; returns the function that removes it. The first client starts the work. */
  connect(client: LiveClient): () => void {
    this.#clients.add(client);
    if (this.#clients.size === 1) this.#start();
    return () => {
      if (!this.#clients.delete(client)) return;
      if (this.#clients.size === 0) this.#stop();
    };
  }

  /** Ends every client's connection and stops (shutdown). */
  close(): void {
    const clients = [...this.#clients];
    this.#clients.clear();
    this.#stop();
    for (const client of clients) client.close();
  }

  #start(): void {
    // What clients have been told starts from now: sessions already running are in the snapshot.
    for (const session of this.#store.values()) this.#seen.set(session.session_id, seenStateOf(session));
    this.#unsubscribe = this.#store.subscribe((change) => {
      const session = change.session;
      if (change.type === 'removed') {
        this.#seen.delete(session.session_id);
        return;
      }
      const events = eventsBetween(this.#seen.get(session.session_id), session);
      this.#seen.set(session.session_id, seenStateOf(session));
      for (const event of events) this.#pending.push({ event, session });
      if (events.length > 0) this.#changedSinceStatistics = true;
    });
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
  }

  #stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#seen.clear();
    this.#pending = [];
  }

  #tick(): void {
    const pending = this.#pending;
    this.#pending = [];
    const now = Date.now();
    let statistics: StatisticsReport | undefined;
    if (this.#changedSinceStatistics && now - this.#lastStatisticsAt >= this.#statisticsEveryMs) {
      statistics = computeStatistics(this.#store.values());
      this.#changedSinceStatistics = false;
      this.#lastStatisticsAt = now;
    }
    if (pending.length === 0 && !statistics) return;
    this.#stats.ticks += 1;
    for (const client of this.#clients) {
      const mine = coalesce(pending.filter(({ event, session }) => wants(client.subscription, event, session)).map(({ event }) => event));
      if (mine.length === 0 && !(statistics && client.subscription.active)) continue;
      this.#stats.events += mine.length;
      client.deliver(mine, client.subscription.active ? statistics : undefined);
    }
  }
}
