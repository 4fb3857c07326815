/**
 * The fan-out of live session events to WebSocket and SSE clients. It listens to the session store
 * only while a client is connected — no work is done for nobody — and sends each client batches
 * with the events its subscription wants, token events merged: a change after a quiet spell at once,
 * changes under load gathered into at most one batch per tick (50 ms by default). Clients that want
 * everything share one batch (and its serialisation).
 */
import { approximateJsonLength, computeStatistics, isEnded, matchesFilter, newestFirst } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionFilter, StatisticsReport } from '@llm-monitor/sessions';
import { coalesce, eventsBetween, seenStateOf, sessionStartedEvent, summaryOf } from '@llm-monitor/sessions';
import type { LiveEvent, LiveSnapshot, SeenState, SessionSummary } from '@llm-monitor/sessions';
import { isCompacted } from '../pipeline/compacted-session.js';
import type { LiveSessionView } from '../replication/live-sessions.js';

/** Batches are spaced at least this many times the time the last one took to hand to every client. */
const DELIVERY_SHARE = 4;
/** ...but never more than this apart, in ms. */
const MAX_SPACING_MS = 250;

/** How early statistics may be sent before their period is over, in ms. */
const STATISTICS_SLACK_MS = 50;

/** What a client wants: every session (the default), some sessions by id, or sessions matching a filter. */
export interface LiveSubscription {
  /** `false` after an unsubscribe: nothing until the next subscribe. */
  readonly active: boolean;
  readonly sessions?: ReadonlySet<string>;
  readonly filter?: SessionFilter;
}

/** Everything: the subscription a client starts with. */
export const EVERYTHING: LiveSubscription = { active: true };

/** The transports live clients connect over. */
export type LiveTransport = 'websocket' | 'sse';

/** A connected client, as the hub sees it. */
export interface LiveClient {
  subscription: LiveSubscription;
  /** How the client is connected, for the metrics. */
  readonly transport?: LiveTransport;
  /**
   * Sends the events of one tick; the transport checks the client keeps up. Clients of the same
   * subscription get the same `events` array, so a transport may serialise it once.
   */
  deliver(events: readonly LiveEvent[], statistics: StatisticsReport | undefined): void;
  /** Ends the connection (the server shuts down). */
  close(): void;
}

/** What a client gets on connecting: the shared wire type (`@llm-monitor/sessions`), cut to {@link SNAPSHOT_MAX_SESSIONS}. */
export type { LiveSnapshot } from '@llm-monitor/sessions';

/**
 * Most running sessions a snapshot lists, and the most characters their summaries take: a new client
 * costs a bounded amount however many sessions run. The rest arrive as they change.
 */
export const SNAPSHOT_MAX_SESSIONS = 1000;
export const SNAPSHOT_MAX_LENGTH = 2 * 1024 * 1024;

/** Counters of the hub, for health and metrics. */
export interface LiveHubStats {
  clients: number;
  clients_by_transport: Record<LiveTransport, number>;
  ticks: number;
  events: number;
  /** Clients dropped because they did not keep up, by transport. */
  dropped_too_slow: Record<LiveTransport, number>;
  /** Events those clients never got (the batch that found them behind), by transport. */
  events_dropped: Record<LiveTransport, number>;
}

/** Options of {@link LiveHub}. */
export interface LiveHubOptions {
  /**
   * Shortest time between two batches, in ms (default 50): a change after a quiet spell goes out at
   * once, changes that follow within this time are gathered into the next batch.
   */
  readonly tickMs?: number;
  /** Milliseconds between statistics updates while sessions change, and how long statistics are reused (default 1,000). */
  readonly statisticsEveryMs?: number;
  /** Told when a tick or a client's delivery threw; the hub carries on with the others. */
  readonly onError?: (error: unknown, where: 'tick' | 'deliver') => void;
}

interface Pending {
  readonly session: ProcessingSession;
  readonly events: LiveEvent[];
}

/** True when a session belongs to a subscription by id or filter, judged on its current state. */
function admits(subscription: LiveSubscription, session: ProcessingSession): boolean {
  if (!subscription.active) return false;
  if (subscription.sessions) return subscription.sessions.has(session.session_id);
  return !subscription.filter || matchesFilter(session, subscription.filter);
}

/** See the module comment. */
export class LiveHub {
  readonly #store: LiveSessionView;
  readonly #tickMs: number;
  readonly #statisticsEveryMs: number;
  readonly #onError: ((error: unknown, where: 'tick' | 'deliver') => void) | undefined;
  /** Each client and the sessions it has been shown (so it also sees them end, whatever its filter). */
  readonly #clients = new Map<LiveClient, Set<string>>();
  readonly #seen = new Map<string, SeenState>();
  #pending = new Map<string, Pending>();
  #unsubscribe: (() => void) | undefined;
  /** Statistics while sessions change: once every `statisticsEveryMs`. */
  #statisticsTimer: ReturnType<typeof setInterval> | undefined;
  /** The next batch, when one is due. */
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #lastTickAt = -Infinity;
  /** How long a batch takes to hand to every client, in ms (smoothed over the last few). */
  #lastDeliveryMs = 0;
  #changedSinceStatistics = false;
  #statistics: { report: StatisticsReport; at: number } | undefined;
  readonly #stats = { ticks: 0, events: 0 };
  readonly #droppedTooSlow: Record<LiveTransport, number> = { websocket: 0, sse: 0 };
  readonly #eventsDropped: Record<LiveTransport, number> = { websocket: 0, sse: 0 };

  /** `store`: the sessions it shows — the local window, or the local and remote windows joined. */
  constructor(store: LiveSessionView, options: LiveHubOptions = {}) {
    this.#store = store;
    this.#tickMs = options.tickMs ?? 25;
    this.#statisticsEveryMs = options.statisticsEveryMs ?? 1000;
    this.#onError = options.onError;
  }

  /** Counters (clients connected, ticks sent, events fanned out). */
  stats(): LiveHubStats {
    const byTransport: Record<LiveTransport, number> = { websocket: 0, sse: 0 };
    for (const client of this.#clients.keys()) if (client.transport) byTransport[client.transport] += 1;
    return {
      clients: this.#clients.size,
      clients_by_transport: byTransport,
      ...this.#stats,
      dropped_too_slow: { ...this.#droppedTooSlow },
      events_dropped: { ...this.#eventsDropped },
    };
  }

  /** Counts a client its transport dropped for not keeping up, and the events it did not send it. */
  droppedTooSlow(transport: LiveTransport, undelivered: number): void {
    this.#droppedTooSlow[transport] += 1;
    this.#eventsDropped[transport] += undelivered;
  }

  /** True while the hub listens to the store (some client is connected). */
  get listening(): boolean {
    return this.#unsubscribe !== undefined;
  }

  /**
   * Statistics (reused for up to a second) and the newest running sessions the subscription admits,
   * as summaries, cut to {@link SNAPSHOT_MAX_SESSIONS} and {@link SNAPSHOT_MAX_LENGTH}.
   */
  snapshot(subscription: LiveSubscription = EVERYTHING): LiveSnapshot {
    const running: ProcessingSession[] = [];
    for (const session of this.#store.values()) if (!isEnded(session.status) && admits(subscription, session)) running.push(session);
    running.sort(newestFirst);
    const active: SessionSummary[] = [];
    let length = 0;
    for (const session of running) {
      if (active.length >= SNAPSHOT_MAX_SESSIONS) break;
      const summary = summaryOf(session);
      length += approximateJsonLength(summary, SNAPSHOT_MAX_LENGTH) + 1;
      if (length > SNAPSHOT_MAX_LENGTH) break;
      active.push(summary);
    }
    return { statistics: this.#currentStatistics(Date.now()), active_sessions: active, active_total: running.length };
  }

  /** Adds a client; returns the function that removes it. The first client starts the work. */
  connect(client: LiveClient): () => void {
    const shown = new Set<string>();
    // The snapshot showed the running sessions this client admits: they are its to follow.
    for (const session of this.#store.values())
      if (!isEnded(session.status) && admits(client.subscription, session)) shown.add(session.session_id);
    this.#clients.set(client, shown);
    if (this.#clients.size === 1) this.#start();
    return () => {
      if (!this.#clients.delete(client)) return;
      if (this.#clients.size === 0) this.#stop();
    };
  }

  /** Tells the hub a client's subscription changed: what it follows starts over. */
  resubscribed(client: LiveClient): void {
    this.#clients.get(client)?.clear();
  }

  /** Ends every client's connection and stops (shutdown). */
  close(): void {
    const clients = [...this.#clients.keys()];
    this.#clients.clear();
    this.#stop();
    for (const client of clients) client.close();
  }

  #currentStatistics(now: number): StatisticsReport {
    if (!this.#statistics || now - this.#statistics.at >= this.#statisticsEveryMs) {
      this.#statistics = { report: computeStatistics(this.#store.values()), at: now };
    }
    return this.#statistics.report;
  }

  #queue(session: ProcessingSession, events: LiveEvent[]): void {
    if (events.length === 0) return;
    const pending = this.#pending.get(session.session_id);
    if (pending) this.#pending.set(session.session_id, { session, events: [...pending.events, ...events] });
    else this.#pending.set(session.session_id, { session, events });
    this.#changedSinceStatistics = true;
    this.#scheduleTick();
  }

  /**
   * Sends the next batch at once after a quiet spell, or `tickMs` after the last one under load: low
   * latency when little happens, one batch per tick (and per client) when much does. "At once" is
   * the next turn of the event loop, so the changes of one request still travel together.
   */
  #scheduleTick(): void {
    if (this.#flushTimer || !this.#unsubscribe) return;
    // With many clients, handing a batch to each costs real time (a socket write apiece): batches are
    // then spaced at least DELIVERY_SHARE times that apart, so fan-out takes at most about a quarter
    // of the time however many clients there are — latency grows a little, CPU stays bounded.
    const spacing = Math.min(MAX_SPACING_MS, Math.max(this.#tickMs, this.#lastDeliveryMs * DELIVERY_SHARE));
    const wait = Math.max(0, this.#lastTickAt + spacing - performance.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#safeTick();
    }, wait);
    this.#flushTimer.unref();
  }

  #safeTick(): void {
    // A wall: a tick that throws must not end the process or stop the next tick.
    try {
      this.#tick();
    } catch (error) {
      this.#report(error, 'tick');
    }
  }

  #start(): void {
    // What clients have been told starts from now: sessions already running are in the snapshot.
    // A compacted session no longer changes (its trace let its spans go): what matters of it is
    // that clients know it, so its removal is told; its details are not inflated for that.
    for (const session of this.#store.values())
      this.#seen.set(session.session_id, isCompacted(session) ? seenStateOfCompacted(session) : seenStateOf(session));
    this.#unsubscribe = this.#store.subscribe((change) => {
      const session = change.session;
      const id = session.session_id;
      if (change.type === 'removed') {
        if (this.#seen.delete(id)) this.#queue(session, [{ type: 'session_removed', session_id: id }]);
        return;
      }
      if (change.type === 'renamed' && change.previousId !== undefined) {
        const seen = this.#seen.get(change.previousId);
        this.#seen.delete(change.previousId);
        if (seen) this.#seen.set(id, seen);
        for (const shown of this.#clients.values()) {
          if (shown.delete(change.previousId)) shown.add(id);
        }
        const pending = this.#pending.get(change.previousId);
        this.#pending.delete(change.previousId);
        this.#queue(session, [
          ...(pending?.events ?? []),
          { type: 'session_renamed', session_id: id, previous_session_id: change.previousId },
        ]);
        return;
      }
      const events = eventsBetween(this.#seen.get(id), session);
      this.#seen.set(id, seenStateOf(session));
      this.#queue(session, events);
    }, 'live_hub');
    let ticks = 0;
    this.#statisticsTimer = setInterval(() => {
      this.#safeTick();
      ticks += 1;
      if (ticks % SEEN_PRUNE_EVERY_TICKS === 0) this.#pruneSeen();
    }, this.#statisticsEveryMs);
    this.#statisticsTimer.unref();
  }

  /**
   * Shrinks what clients were told of sessions compacted since (see `seenStateOfCompacted`): the
   * stages and steps of every ended session would otherwise stay here as long as a client is
   * connected — measured 2.4 KB per retained session with the page open, more than the compact
   * session itself.
   */
  #pruneSeen(): void {
    for (const [id, seen] of this.#seen) {
      if (seen.stages === NO_STAGES) continue;
      const session = this.#store.get(id);
      if (session && isCompacted(session)) this.#seen.set(id, seenStateOfCompacted(session));
    }
  }

  #stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#statisticsTimer) clearInterval(this.#statisticsTimer);
    this.#statisticsTimer = undefined;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#seen.clear();
    this.#pending = new Map();
  }

  /** The events of the tick a client gets: sessions it follows, and sessions its subscription now admits. */
  #eventsFor(subscription: LiveSubscription, shown: Set<string>, pending: Iterable<Pending>): LiveEvent[] {
    const events: LiveEvent[] = [];
    for (const { session, events: sessionEvents } of pending) {
      const id = session.session_id;
      if (!subscription.active) break;
      if (!shown.has(id)) {
        if (!admits(subscription, session) || sessionEvents[0]?.type === 'session_removed') continue;
        shown.add(id);
        // First sight of a session that entered the filter late: introduce it.
        if (sessionEvents[0]?.type !== 'session_started') events.push(sessionStartedEvent(session));
      }
      events.push(...sessionEvents);
      if (sessionEvents.some((event) => event.type === 'session_removed')) shown.delete(id);
    }
    return coalesce(events);
  }

  #tick(): void {
    const pending = [...this.#pending.values()];
    this.#pending = new Map();
    const now = Date.now();
    let statistics: StatisticsReport | undefined;
    // Due a little early rather than a whole period late: the statistics timer and the last
    // computation are never exactly a period apart.
    if (this.#changedSinceStatistics && now - (this.#statistics?.at ?? 0) >= this.#statisticsEveryMs - STATISTICS_SLACK_MS) {
      statistics = computeStatistics(this.#store.values());
      this.#statistics = { report: statistics, at: now };
      this.#changedSinceStatistics = false;
    }
    if (pending.length === 0 && !statistics) return;
    this.#lastTickAt = performance.now();
    this.#stats.ticks += 1;
    try {
      this.#deliver(pending, statistics);
    } finally {
      // Smoothed: one batch slowed by a collection must not space out the next ones.
      this.#lastDeliveryMs = this.#lastDeliveryMs * 0.8 + (performance.now() - this.#lastTickAt) * 0.2;
    }
  }

  #deliver(pending: Pending[], statistics: StatisticsReport | undefined): void {
    // Everyone who wants everything gets the same list: built and serialised once.
    let everything: LiveEvent[] | undefined;
    for (const [client, shown] of this.#clients) {
      const subscription = client.subscription;
      let events: LiveEvent[];
      if (subscription === EVERYTHING) {
        everything ??= coalesce(pending.flatMap((entry) => entry.events));
        events = everything;
      } else {
        events = this.#eventsFor(subscription, shown, pending);
      }
      if (events.length === 0 && !(statistics && subscription.active)) continue;
      this.#stats.events += events.length;
      // One client's failure (a socket in a bad state) must not keep the batch from the others.
      try {
        client.deliver(events, subscription.active ? statistics : undefined);
      } catch (error) {
        this.#report(error, 'deliver');
      }
    }
  }

  #report(error: unknown, where: 'tick' | 'deliver'): void {
    try {
      this.#onError?.(error, where);
    } catch {
      // Nothing more can be told.
    }
  }
}

/** Statistics ticks (a second each by default) between two prunings of what clients were told. */
const SEEN_PRUNE_EVERY_TICKS = 10;
const NO_STAGES: ReadonlySet<string> = new Set();
const NO_STEPS: ReadonlyMap<string, boolean> = new Map();

/**
 * What clients were told of a compacted session, without inflating it: it ended and never changes
 * again (its trace let its spans go), so only its removal will be told, and that needs none of its
 * details.
 */
function seenStateOfCompacted(session: ProcessingSession): SeenState {
  return {
    status: session.status,
    stages: NO_STAGES as Set<string>,
    streamed: session.token_counts.streamed,
    text: '',
    budgets: session.budget_exceeded.length,
    steps: NO_STEPS as Map<string, boolean>,
  };
}
