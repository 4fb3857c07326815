import { CLIENT_ERROR_CODES } from '@llm-monitor/sessions';
import type {
  AnalyticsDimension,
  AnalyticsReport,
  LlmCallRow,
  ModelPrices,
  ProcessingSession,
  SessionFilterParameters,
  StatisticsReport,
} from '@llm-monitor/sessions';
import { AUTH_SESSION_PATH, bearerHeaders, unauthenticatedMessage } from './auth.js';
import type { AuthState } from './auth.js';

/** Options of {@link createMonitorClient}. */
export interface MonitorClientOptions {
  /** Base URL of the monitor API, e.g. `http://127.0.0.1:8000`. */
  readonly baseUrl: string;
  /** The fetch to use (default: the global one, in browsers and Node 20+). */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * A read token of the receiver (one of its `read_tokens`, `LLM_MONITOR_READ_TOKENS`), sent as
   * `Authorization: Bearer <token>` with every request. Needed when the receiver requires tokens,
   * except in a page served by the receiver that holds its session cookie
   * ({@link MonitorClient.startBrowserSession}). Without it no `authorization` header is sent. A
   * missing or wrong token makes every call throw a {@link MonitorApiError} with status 401 (code
   * `LLMMON_ERR_UNAUTHENTICATED`, `AUTH_ERROR_CODES.UNAUTHENTICATED`). The URLs the client builds
   * (`exportUrl`, …) carry no token: fetch them with the header, or open them in a page that holds
   * the session cookie.
   */
  readonly token?: string;
}

/**
 * An error answer of the API, with its catalogue code (`LLMMON_ERR_*`), or one of the client's own
 * (`CLIENT_ERROR_CODES`) when the answer is not the API's. A 401 (status `401`, the server's code
 * `LLMMON_ERR_UNAUTHENTICATED`) says in its message whether the read token is missing or wrong.
 */
export class MonitorApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'MonitorApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Filters of the recent-sessions list (all optional; every one given must match). The filter's
 * names are the wire's (`SessionFilterParameters`), the same as the live streams take.
 */
export interface SessionQuery extends SessionFilterParameters {
  readonly limit?: number;
  /** `next_cursor` of the previous page. */
  readonly cursor?: string;
  /**
   * @deprecated The old spelling of `processor_type`; still sent as `processor_type`, unless
   * `processor_type` is given too (then that one counts).
   */
  readonly processorType?: string;
  /** ISO 8601 or ms since the epoch. */
  readonly since?: string | number;
  readonly until?: string | number;
  /** A trailing window such as `15m`. */
  readonly window?: string;
  /** Text in the content or result preview. */
  readonly q?: string;
}

/** One page of recent sessions. */
export interface SessionPage {
  sessions: ProcessingSession[];
  /** Pass as `cursor` for the next page; `null` on the last. */
  next_cursor: string | null;
}

/** A statistics window: `since`/`until` times, or a trailing `window` such as `1h`. */
export interface StatisticsQuery {
  readonly since?: string | number;
  readonly until?: string | number;
  readonly window?: string;
}

/** Filters of the LLM call log (all optional; every one given must match). */
export interface LlmCallQuery {
  /** Calls of this session. */
  readonly session?: string;
  /** Calls of this conversation. */
  readonly conversation?: string;
  /** Calls of this user. */
  readonly user?: string;
  /** The answering or the requested model. */
  readonly model?: string;
  readonly status?: readonly LlmCallRow['status'][];
  /** Started at or after: ISO 8601 or ms since the epoch. */
  readonly since?: string | number;
  /** Started before: ISO 8601 or ms since the epoch. */
  readonly until?: string | number;
  /** A trailing window such as `15m`, `1h` or `7d`. */
  readonly window?: string;
  /** Case-insensitive text in the prompt or response preview. */
  readonly q?: string;
  /** Calls per page, 1–1,000 (the server's default is 50). */
  readonly limit?: number;
  /** `next_cursor` of the previous page. */
  readonly cursor?: string;
}

/** One page of the LLM call log, newest first. */
export interface LlmCallPage {
  calls: LlmCallRow[];
  /** Pass as `cursor` for the next page; `null` on the last. */
  next_cursor: string | null;
}

/** What usage analytics to compute: the grouping and the time window. */
export interface AnalyticsQuery {
  /** One or two dimensions, e.g. `['model', 'day']`; empty or absent for the totals only. */
  readonly group_by?: readonly AnalyticsDimension[];
  /** @deprecated The old spelling of `group_by`; still sent as `group_by`, unless `group_by` is given too (then that one counts). */
  readonly groupBy?: readonly AnalyticsDimension[];
  /** ISO 8601 or ms since the epoch. */
  readonly since?: string | number;
  readonly until?: string | number;
  /** A trailing window such as `24h`, `7d` or `30d`. */
  readonly window?: string;
  /** How many top sessions and users (the server's default is 10). */
  readonly top?: number;
}

/** The price table the receiver prices sessions and calls with. */
export interface ModelPriceTable {
  /** USD per million input and output tokens, by model: the built-in prices with the receiver's `model_prices` setting over them. */
  prices: ModelPrices;
}

/** Typed access to the monitor REST API. */
export interface MonitorClient {
  /** One session with its timeline; throws {@link MonitorApiError} (`LLMMON_ERR_SESSION_NOT_FOUND`) if unknown. */
  getSession(sessionId: string): Promise<ProcessingSession>;
  /** Running sessions, newest first. */
  getActiveSessions(): Promise<ProcessingSession[]>;
  /** A page of recent sessions, newest first, filtered. */
  getRecentSessions(query?: SessionQuery): Promise<SessionPage>;
  /** Statistics, overall and by model, task and processor type. */
  getStatistics(query?: StatisticsQuery): Promise<StatisticsReport>;
  /** The sessions of one conversation, oldest first. */
  getConversation(conversationId: string): Promise<{ conversation_id: string; sessions: ProcessingSession[] }>;
  /** The URL that downloads the filtered sessions as CSV or JSON. */
  exportUrl(format: 'csv' | 'json', query?: SessionQuery): string;
  /**
   * A page of the LLM call log (`GET /api/monitoring/llm-calls`), newest first, filtered. Each row
   * joins the call with its session's context (conversation, user, service, task) and its cost.
   * Page on with `next_cursor`.
   */
  getLlmCalls(query?: LlmCallQuery): Promise<LlmCallPage>;
  /** The URL that downloads the filtered LLM calls, every field, as CSV or JSON (`limit` and `cursor` apply as to a page). */
  llmCallsExportUrl(format: 'csv' | 'json', query?: LlmCallQuery): string;
  /**
   * Usage analytics (`GET /api/monitoring/analytics`): sessions, calls, tokens, cost, error rate and
   * latency percentiles over a window, grouped by up to two dimensions, with the most expensive
   * sessions and users.
   */
  getAnalytics(query?: AnalyticsQuery): Promise<AnalyticsReport>;
  /** The URL that downloads the groups of {@link MonitorClient.getAnalytics} as CSV. */
  analyticsExportUrl(query?: AnalyticsQuery): string;
  /**
   * The price table (`GET /api/monitoring/model-prices`). Sessions and calls already carry
   * `cost_usd`; the table prices what they do not (`costUsd` of `@llm-monitor/sessions`).
   */
  getModelPrices(): Promise<ModelPriceTable>;
  /**
   * Whether the receiver requires a read token, and whether this client's requests pass: its
   * `token`, or in a page its session cookie (`GET /api/auth/session`, answered to anyone). A
   * receiver without authentication routes answers 404 (a {@link MonitorApiError}).
   */
  getAuthState(): Promise<AuthState>;
  /**
   * Signs a browser page in: `POST /api/auth/session` with `token` (default: the client's `token`)
   * as a bearer read token. The receiver answers by setting its HttpOnly, SameSite=Strict session
   * cookie (`llm_monitor_session`), which the page's later requests and its WebSocket carry, so a
   * page served by the receiver needs the token only once. A missing or wrong token throws a
   * {@link MonitorApiError} with status 401. Outside a browser the cookie is not kept: pass
   * `token` instead.
   */
  startBrowserSession(token?: string): Promise<void>;
}

type AnyQuery = SessionQuery | StatisticsQuery | LlmCallQuery | AnalyticsQuery;

/**
 * The client's old spellings of query keys (deprecated), with the wire name each stands for: every
 * other key of a query is its URL parameter as it is.
 */
const DEPRECATED_QUERY_KEYS: ReadonlyMap<string, string> = new Map([
  ['processorType', 'processor_type'],
  ['groupBy', 'group_by'],
]);

function queryString(query: AnyQuery & { format?: string } = {}): string {
  const params = new URLSearchParams();
  const given = query as Readonly<Record<string, unknown>>;
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const name = DEPRECATED_QUERY_KEYS.get(key);
    // An old spelling counts only when its new name is not given too.
    if (name !== undefined && given[name] !== undefined) continue;
    params.set(name ?? key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Creates a {@link MonitorClient}. */
export function createMonitorClient(options: MonitorClientOptions): MonitorClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl.replace(/\/+$/, '');
  const token = options.token || undefined;

  /** Sends one request and reads its JSON answer; an error answer throws a {@link MonitorApiError}. */
  async function request<T>(method: 'GET' | 'POST', path: string, bearer: string | undefined, where = 'createMonitorClient'): Promise<T> {
    const response = await fetchImpl(`${base}${path}`, {
      method,
      headers: { accept: 'application/json', ...bearerHeaders(bearer) },
      // The default of fetch, said out loud: a page served by the receiver sends (and keeps) its session cookie.
      credentials: 'same-origin',
    });
    const text = await response.text();
    let body: unknown;
    let json = true;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      json = false;
    }
    const error = (json && typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown };
    // An error answer without a code is not the API's (a proxy's, another server's).
    const code = typeof error.code === 'string' ? error.code : CLIENT_ERROR_CODES.BAD_RESPONSE;
    if (response.status === 401) {
      // Whoever answered, a 401 is about the token: say which way, and what the server said besides.
      const said = typeof error.message === 'string' ? ` (the server says: ${error.message})` : '';
      throw new MonitorApiError(401, code, `${unauthenticatedMessage(`${method} ${path}`, bearer !== undefined, where)}${said}`);
    }
    if (!json) throw new MonitorApiError(response.status, CLIENT_ERROR_CODES.BAD_RESPONSE, `${method} ${path}: response is not JSON`);
    if (!response.ok) {
      const message = typeof error.message === 'string' ? error.message : `${method} ${path} failed with HTTP ${response.status}`;
      throw new MonitorApiError(response.status, code, message);
    }
    return body as T;
  }

  const getJson = <T>(path: string): Promise<T> => request<T>('GET', path, token);

  return {
    getSession: (sessionId) => getJson(`/api/monitoring/sessions/${encodeURIComponent(sessionId)}`),
    getActiveSessions: () => getJson('/api/monitoring/sessions/active'),
    getRecentSessions: (query) => getJson(`/api/monitoring/sessions/recent${queryString(query)}`),
    getStatistics: (query) => getJson(`/api/monitoring/statistics${queryString(query)}`),
    getConversation: (conversationId) => getJson(`/api/monitoring/conversations/${encodeURIComponent(conversationId)}`),
    exportUrl: (format, query = {}) => `${base}/api/monitoring/sessions/recent${queryString({ ...query, format })}`,
    getLlmCalls: (query) => getJson(`/api/monitoring/llm-calls${queryString(query)}`),
    llmCallsExportUrl: (format, query = {}) => `${base}/api/monitoring/llm-calls${queryString({ ...query, format })}`,
    getAnalytics: (query) => getJson(`/api/monitoring/analytics${queryString(query)}`),
    analyticsExportUrl: (query = {}) => `${base}/api/monitoring/analytics${queryString({ ...query, format: 'csv' })}`,
    getModelPrices: () => getJson('/api/monitoring/model-prices'),
    getAuthState: () => getJson(AUTH_SESSION_PATH),
    startBrowserSession: async (sessionToken) => {
      const given = sessionToken || undefined;
      await request<unknown>('POST', AUTH_SESSION_PATH, given ?? token, given ? 'startBrowserSession' : 'createMonitorClient');
    },
  };
}
