/**
 * A live subscription to the monitor's WebSocket: typed callbacks per event, automatic reconnect
 * with exponential backoff (and jitter), and the subscription restored after each reconnect. Works
 * with the browser's WebSocket and, in Node, with any implementation of the same interface (`ws`).
 *
 * Against a receiver that requires read tokens: an implementation passed as `WebSocket` (Node's
 * `ws`) is given `{ headers: { authorization: 'Bearer <token>' } }`; the global WebSocket (a
 * browser's) can send no headers, so with a token the subscription first signs in with it
 * (`POST /api/auth/session`, whose answer sets the session cookie the WebSocket then carries). A
 * refusal (HTTP 401) ends the subscription through `onError`: `ws` tells the upgrade's status, and a
 * browser only closes the connection, so there the subscription asks `GET /api/auth/session` why a
 * connection closed before it opened.
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
import { AUTH_ERROR_CODES, AUTH_SESSION_PATH, bearerHeaders, unauthenticatedMessage } from './auth.js';

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

/**
 * The receiver refused the connection for want of a valid read token (HTTP 401): the token is
 * missing or wrong, or a browser did not carry the session cookie. The subscription has ended.
 */
export interface LiveAuthError {
  readonly code: typeof AUTH_ERROR_CODES.UNAUTHENTICATED;
  readonly status: 401;
  /** Which it was (missing, wrong, or the cookie not carried) and what to do; it never repeats the token. */
  readonly message: string;
}

/**
 * What the server says when it refuses a subscription (`code` one of `LIVE_ERROR_CODES`), or the
 * connection itself for want of a read token ({@link LiveAuthError}, `LLMMON_ERR_UNAUTHENTICATED`).
 */
export type LiveError = Omit<Extract<LiveServerMessage, { type: 'error' }>, 'type'> | LiveAuthError;

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
  /**
   * The connection state changed; `reconnecting` says when the next attempt is due. `status` is the
   * HTTP status a refused upgrade was answered with, where the WebSocket implementation tells it
   * (`ws` does, a browser does not).
   */
  onConnectionChange?(
    state: 'connecting' | 'open' | 'reconnecting' | 'closed',
    detail?: { retryInMs: number; closeCode?: number; reason?: string; status?: number },
  ): void;
  /**
   * The server refused a subscription (a bad filter): `LLMMON_ERR_BAD_PARAMETER`, naming the field.
   * Or it refused the connection for want of a valid read token ({@link LiveAuthError}, code
   * `LLMMON_ERR_UNAUTHENTICATED`, status 401): the subscription then ends (`onConnectionChange`
   * `closed`, with `status` 401) instead of retrying what cannot succeed; subscribe again with a token.
   */
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
  /**
   * Node's `ws` only: its `'unexpected-response'` event, the answer to an upgrade the server refused
   * (a browser gives only a close). The subscription listens to learn the HTTP status (a 401 ends it
   * through `onError`), then ends the attempt as `ws` would.
   */
  on?(event: 'unexpected-response', listener: (request: unknown, response: UpgradeResponseLike) => void): unknown;
}

/** The part of `ws`'s refused-upgrade answer (a Node `IncomingMessage`) the subscription reads. */
export interface UpgradeResponseLike {
  readonly statusCode?: number;
  /** Drains the answer's body. */
  resume?(): unknown;
}

/** What the subscription hands a WebSocket implementation besides the URL when given a token; `ws` takes it as its `ClientOptions`. */
export interface WebSocketConnectOptions {
  /** Extra headers of the upgrade request: `authorization: Bearer <token>`. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A WebSocket constructor: one that takes the URL only (a browser's), or the URL and
 * {@link WebSocketConnectOptions} (Node's `ws`). Given a `token`, the subscription calls an
 * implementation passed as `LiveOptions.WebSocket` with both, and the global one with the URL only.
 */
export type WebSocketConstructorLike =
  (new (url: string) => WebSocketLike) | (new (url: string, options: WebSocketConnectOptions) => WebSocketLike);

/** Options of {@link subscribeLive}. */
export interface LiveOptions extends LiveHandlers {
  /** Base URL of the monitor API (http or https; the WebSocket URL follows from it). */
  readonly baseUrl: string;
  readonly filter?: LiveFilter;
  /**
   * The WebSocket constructor (default: the global one; in Node 20 pass `ws`). With a `token`, one
   * passed here must take `(url, { headers })` as `ws` does; leave it unset in a browser, whose
   * WebSocket cannot send headers (the subscription then signs in for the session cookie).
   */
  readonly WebSocket?: WebSocketConstructorLike;
  /**
   * A read token of the receiver (one of its `read_tokens`), for a receiver that requires tokens.
   * With `ws` (or any `WebSocket` passed here) it is sent as `Authorization: Bearer <token>` on the
   * upgrade request. With the global WebSocket (a browser's), which cannot send headers, each
   * connection is preceded by `POST /api/auth/session` with the token (through `fetch`,
   * `credentials: 'same-origin'`): the receiver sets its HttpOnly session cookie, which the
   * WebSocket then carries — so the page must be served from the receiver's origin. Node's own
   * global WebSocket keeps no cookie: in Node, pass `ws`. A page already holding the cookie needs no
   * token. A missing or wrong token ends the subscription with a {@link LiveAuthError} to `onError`.
   */
  readonly token?: string;
  /** The fetch used to sign in and to ask why a browser connection closed (default: the global one). */
  readonly fetch?: typeof globalThis.fetch;
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

/** Where the subscription says a refusal for want of a token comes from. */
const WHERE = 'subscribeLive';

/**
 * Connects to `/ws/monitoring` and calls the handlers as events arrive; reconnects until closed, or
 * until the receiver refuses the read token (HTTP 401: `onError`, then `closed`).
 */
export function subscribeLive(options: LiveOptions): LiveSubscriptionHandle {
  const globalSocket = (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  const Socket = options.WebSocket ?? globalSocket;
  if (!Socket) throw new Error('no WebSocket implementation: pass options.WebSocket (in Node 20, the ws package)');
  const base = options.baseUrl.replace(/\/+$/, '');
  const url = `${base.replace(/^http/, 'ws')}/ws/monitoring`;
  const token = options.token || undefined;
  // The global WebSocket is a browser's: it can send no headers, only the cookies of the page.
  const viaCookie = Socket === globalSocket;
  const fetchImpl = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
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

  type CloseDetail = { closeCode?: number; reason?: string; status?: number };

  const reconnect = (detail: CloseDetail): void => {
    // Jitter spreads the reconnects of many clients after a server restart.
    const retryInMs = Math.round(backoff * (0.75 + Math.random() * 0.5));
    backoff = Math.min(maxBackoff, backoff * 2);
    options.onConnectionChange?.('reconnecting', { retryInMs, ...detail });
    retryTimer = setTimeout(open, retryInMs);
  };

  /** The receiver refused the token: retrying cannot help, so the subscription says why and ends. */
  const refuse = (message: string, detail: CloseDetail): void => {
    closed = true;
    options.onError?.({ code: AUTH_ERROR_CODES.UNAUTHENTICATED, status: 401, message });
    options.onConnectionChange?.('closed', { retryInMs: 0, ...detail, status: 401 });
  };

  /** A browser's sign-in: the token for the session cookie. `true` when the receiver refused the token. */
  const signIn = async (): Promise<boolean> => {
    try {
      const response = await fetchImpl!(`${base}${AUTH_SESSION_PATH}`, {
        method: 'POST',
        headers: bearerHeaders(token),
        credentials: 'same-origin',
      });
      await response.text();
      return response.status === 401;
    } catch {
      // Not reachable: the connection attempt will say so, as it would without a token.
      return false;
    }
  };

  /** After a browser connection closed before it opened: does the receiver say this page is not signed in? */
  const notSignedIn = async (): Promise<boolean> => {
    try {
      const response = await fetchImpl!(`${base}${AUTH_SESSION_PATH}`, {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!response.ok) {
        // A receiver without authentication (404), or one in trouble: a plain reconnect.
        await response.text();
        return false;
      }
      const state = (await response.json()) as { required?: unknown; authenticated?: unknown } | null;
      return state?.required === true && state.authenticated === false;
    } catch {
      return false;
    }
  };

  const connect = (): void => {
    // The subscription travels in the URL, so even the snapshot is filtered after a reconnect.
    const target = `${url}${paused ? '' : filterQuery(filter)}`;
    const current =
      token && !viaCookie
        ? new (Socket as new (url: string, options: WebSocketConnectOptions) => WebSocketLike)(target, { headers: bearerHeaders(token) })
        : new (Socket as new (url: string) => WebSocketLike)(target);
    socket = current;
    let opened = false;
    let refusedStatus: number | undefined;
    current.on?.('unexpected-response', (_request, response) => {
      refusedStatus = response.statusCode;
      response.resume?.();
      // What ws does itself without a listener: end the handshake (an error, then a close).
      current.close();
    });
    current.onopen = () => {
      opened = true;
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
      const detail: CloseDetail = { closeCode: event.code, reason: event.reason };
      if (refusedStatus !== undefined) detail.status = refusedStatus;
      if (closed) {
        options.onConnectionChange?.('closed', { retryInMs: 0, ...detail });
        return;
      }
      if (refusedStatus === 401) {
        refuse(unauthenticatedMessage('the live connection (/ws/monitoring)', token !== undefined, WHERE), detail);
        return;
      }
      if (!opened && viaCookie && fetchImpl) {
        // A browser says nothing of a refused upgrade: ask the receiver whether this page is signed in.
        void notSignedIn().then((refused) => {
          if (closed) return;
          if (!refused) reconnect(detail);
          else if (token === undefined) refuse(unauthenticatedMessage('the live connection (/ws/monitoring)', false, WHERE), detail);
          else
            refuse(
              'the live connection (/ws/monitoring) was refused: the receiver took the read token but the WebSocket did not carry ' +
                "the session cookie it set. The cookie (SameSite=Strict) reaches only the receiver's own origin, and only browsers " +
                'keep it: serve the page from the receiver, or in Node pass the ws package as `WebSocket` (it sends the token itself)',
              detail,
            );
        });
        return;
      }
      reconnect(detail);
    };
  };

  const open = (): void => {
    if (closed) return;
    options.onConnectionChange?.('connecting');
    if (!(viaCookie && token && fetchImpl)) {
      connect();
      return;
    }
    void signIn().then((refused) => {
      if (closed) return;
      if (refused) refuse(unauthenticatedMessage(`POST ${AUTH_SESSION_PATH} (signing the live connection in)`, true, WHERE), {});
      else connect();
    });
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
      // A second close, or one after a refused token, has nothing left to end.
      if (closed) return;
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (stableTimer) clearTimeout(stableTimer);
      if (socket) socket.close(1000, 'client closed');
      else options.onConnectionChange?.('closed', { retryInMs: 0 });
    },
  };
}
