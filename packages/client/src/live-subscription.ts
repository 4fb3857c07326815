/**
 * A live subscription to the monitor's WebSocket: typed callbacks per event, automatic reconnect
 * with exponential backoff (and jitter), and the subscription restored after each reconnect. Works
 * with the browser's WebSocket and, in Node, with any implementation of the same interface (`ws`).
 */
import type {
  LiveClientMessage,
  LiveEvent,
  LiveFilter,
  LiveServerMessage,
  LiveSnapshot,
  Metadata,
  SessionSummary,
  StatisticsReport,
} from '@llm-monitor/sessions';

/** A session as the live stream summarises it (the receiver's `SessionSummary`). */
export type LiveSessionSummary = SessionSummary;

/** A stage change as the live stream reports it. */
export type LiveStage = Omit<Extract<LiveEvent, { type: 'stage_changed' }>, 'type'>;

/** Tokens that arrived (merged per tick); with `text_reset`, `text` replaces all text so far. */
export type LiveTokens = Omit<Extract<LiveEvent, { type: 'tokens' }>, 'type'>;

/** A step that started or ended, with the id of its session; `step.output_preview` is its intermediate result. */
export type LiveStepEvent = Omit<Extract<LiveEvent, { type: 'step_started' | 'step_completed' }>, 'type'>;

/** A session crossed a budget: which one, its limit, the value that crossed it and when. */
export type LiveBudgetExceeded = Omit<Extract<LiveEvent, { type: 'budget_exceeded' }>, 'type'>;

/** What the server says when it refuses a subscription; `code` is one of `LIVE_ERROR_CODES`. */
export type LiveError = Omit<Extract<LiveServerMessage, { type: 'error' }>, 'type'>;

/** Callbacks of a live subscription; all optional. */
export interface LiveHandlers {
  /**
   * What runs when the (re)subscription starts: the newest running sessions (at most 1,000) and how
   * many run in all (`active_total`; more than listed when the server cut the snapshot).
   */
  onSnapshot?(snapshot: LiveSnapshot): void;
  /** A session started (or was first seen); `metadata` is the session's metadata. */
  onSessionStarted?(session: LiveSessionSummary, metadata: Metadata): void;
  onStage?(stage: LiveStage): void;
  /** A step of a session was seen running (a step first seen ended gets only `onStepCompleted`). */
  onStepStarted?(step: LiveStepEvent): void;
  /** A step ended: its status, duration, facts and output preview (the intermediate result). */
  onStepCompleted?(step: LiveStepEvent): void;
  onTokens?(tokens: LiveTokens): void;
  /** A session crossed a budget (the receiver's `budgets` setting). */
  onBudgetExceeded?(crossing: LiveBudgetExceeded): void;
  onCompleted?(session: LiveSessionSummary): void;
  onFailed?(session: LiveSessionSummary): void;
  onAbandoned?(session: LiveSessionSummary): void;
  /** A session first known by its trace id got its own id: `previous_session_id` is now `session_id`. */
  onRenamed?(renamed: { session_id: string; previous_session_id: string }): void;
  /** The server no longer holds the session (retention or capacity). */
  onRemoved?(removed: { session_id: string }): void;
  onStatistics?(statistics: StatisticsReport): void;
  /** The connection state changed; `reconnecting` says when the next attempt is due. */
  onConnectionChange?(
    state: 'connecting' | 'open' | 'reconnecting' | 'closed',
    detail?: { retryInMs: number; closeCode?: number; reason?: string },
  ): void;
  /** The server refused a subscription (a bad filter): `LLMMON_ERR_BAD_PARAMETER`, naming the field. */
  onError?(error: LiveError): void;
}

/** The part of the WebSocket interface the subscription uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Options of {@link subscribeLive}. */
export interface LiveOptions extends LiveHandlers {
  /** Base URL of the monitor API (http or https; the WebSocket URL follows from it). */
  readonly baseUrl: string;
  readonly filter?: LiveFilter;
  /** The WebSocket constructor (default: the global one; in Node 20 pass `ws`). */
  readonly WebSocket?: new (url: string) => WebSocketLike;
  /** First reconnect delay in ms (default 500), doubled each failure up to `maxBackoffMs` (default 15,000). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A running live subscription. */
export interface LiveSubscriptionHandle {
  /** Changes what is received; kept across reconnects. */
  setFilter(filter: LiveFilter | undefined): void;
  /** Receives nothing until the next `setFilter` (kept across reconnects). */
  unsubscribe(): void;
  /** Stops receiving and closes the connection for good. */
  close(): void;
}

function subscribeMessage(filter: LiveFilter | undefined): string {
  const message: LiveClientMessage = { type: 'subscribe', ...filter };
  return JSON.stringify(message);
}

const UNSUBSCRIBE: string = JSON.stringify({ type: 'unsubscribe' } satisfies LiveClientMessage);

/** The filter as URL query parameters, by the same names as the subscribe message: the server applies it from the first message on. */
function filterQuery(filter: LiveFilter | undefined): string {
  if (!filter) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** How long a connection must stay up before the backoff starts over. */
const STABLE_AFTER_MS = 10_000;

/** Connects to `/ws/monitoring` and calls the handlers as events arrive; reconnects until closed. */
export function subscribeLive(options: LiveOptions): LiveSubscriptionHandle {
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Socket) throw new Error('no WebSocket implementation: pass options.WebSocket (in Node 20, the ws package)');
  const url = `${options.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/ws/monitoring`;
  const initialBackoff = options.backoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 15_000;
  let filter = options.filter;
  let paused = false;
  let stableTimer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocketLike | undefined;
  let backoff = initialBackoff;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const dispatch = (event: LiveEvent): void => {
    switch (event.type) {
      case 'session_started':
        options.onSessionStarted?.(event.session, event.metadata ?? {});
        break;
      case 'step_started':
        options.onStepStarted?.(event);
        break;
      case 'step_completed':
        options.onStepCompleted?.(event);
        break;
      case 'stage_changed':
        options.onStage?.(event);
        break;
      case 'tokens':
        options.onTokens?.(event);
        break;
      case 'budget_exceeded':
        options.onBudgetExceeded?.(event);
        break;
      case 'session_completed':
        options.onCompleted?.(event.session);
        break;
      case 'session_failed':
        options.onFailed?.(event.session);
        break;
      case 'session_abandoned':
        options.onAbandoned?.(event.session);
        break;
      case 'session_renamed':
        options.onRenamed?.({ session_id: event.session_id, previous_session_id: event.previous_session_id });
        break;
      case 'session_removed':
        options.onRemoved?.({ session_id: event.session_id });
        break;
      default: {
        // Every event type is handled (the compiler holds this to LiveEvent); one this client does
        // not know yet, from a newer server, is skipped.
        const unknown: never = event;
        void unknown;
      }
    }
  };

  const onMessage = (data: unknown): void => {
    let message: LiveServerMessage;
    try {
      message = JSON.parse(String(data)) as LiveServerMessage;
    } catch {
      return;
    }
    switch (message?.type) {
      case 'snapshot':
        options.onSnapshot?.(message);
        break;
      case 'batch':
        for (const event of message.events ?? []) dispatch(event);
        if (message.statistics) options.onStatistics?.(message.statistics);
        break;
      case 'error':
        options.onError?.(message);
        break;
    }
  };

  const open = (): void => {
    if (closed) return;
    options.onConnectionChange?.('connecting');
    // The subscription travels in the URL, so even the snapshot is filtered after a reconnect.
    const current = new Socket(`${url}${paused ? '' : filterQuery(filter)}`);
    socket = current;
    current.onopen = () => {
      // Only a connection that stays up resets the backoff: a server that accepts and then drops
      // (overloaded, slow-client closes, a restart loop) must not be hammered.
      stableTimer = setTimeout(() => {
        backoff = initialBackoff;
      }, STABLE_AFTER_MS);
      if (paused) current.send(UNSUBSCRIBE);
      options.onConnectionChange?.('open');
    };
    current.onmessage = (event) => onMessage(event.data);
    current.onerror = () => undefined;
    current.onclose = (event) => {
      if (socket !== current) return;
      socket = undefined;
      if (stableTimer) clearTimeout(stableTimer);
      if (closed) {
        options.onConnectionChange?.('closed', { retryInMs: 0, closeCode: event.code, reason: event.reason });
        return;
      }
      // Jitter spreads the reconnects of many clients after a server restart.
      const retryInMs = Math.round(backoff * (0.75 + Math.random() * 0.5));
      backoff = Math.min(maxBackoff, backoff * 2);
      options.onConnectionChange?.('reconnecting', { retryInMs, closeCode: event.code, reason: event.reason });
      retryTimer = setTimeout(open, retryInMs);
    };
  };
  open();

  return {
    setFilter(next) {
      filter = next;
      paused = false;
      if (socket && socket.readyState === 1) socket.send(subscribeMessage(next));
    },
    unsubscribe() {
      paused = true;
      if (socket && socket.readyState === 1) socket.send(UNSUBSCRIBE);
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (stableTimer) clearTimeout(stableTimer);
      if (socket) socket.close(1000, 'client closed');
      else options.onConnectionChange?.('closed', { retryInMs: 0 });
    },
  };
}
