import type { AnalyticsDimension, AnalyticsReport, LlmCallRow, ProcessingSession, SessionStatus, StatisticsReport } from '@llm-monitor/sessions';

/** Options of {@link createMonitorClient}. */
export interface MonitorClientOptions {
  /** Base URL of the monitor API, e.g. `http://127.0.0.1:8000`. */
  readonly baseUrl: string;
  /** The fetch to use (default: the global one, in browsers and Node 20+). */
  readonly fetch?: typeof globalThis.fetch;
}

/** An error answer of the API, with its catalogue code (`LLMMON_ERR_*`). */
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

/** Filters of the recent-sessions list (all optional; every one given must match). */
export interface SessionQuery {
  readonly limit?: number;
  /** `next_cursor` of the previous page. */
  readonly cursor?: string;
  readonly status?: readonly SessionStatus[];
  readonly model?: string;
  readonly task?: string;
  readonly processorType?: string;
  readonly conversation?: string;
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
  readonly groupBy?: readonly AnalyticsDimension[];
  /** ISO 8601 or ms since the epoch. */
  readonly since?: string | number;
  readonly until?: string | number;
  /** A trailing window such as `24h`, `7d` or `30d`. */
  readonly window?: string;
  /** How many top sessions and users (the server's default is 10). */
  readonly top?: number;
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
}

type AnyQuery = SessionQuery | StatisticsQuery | LlmCallQuery | AnalyticsQuery;

/** Query keys whose URL parameter is spelt differently. */
const PARAMETER_NAMES: Readonly<Record<string, string>> = { processorType: 'processor_type', groupBy: 'group_by' };

function queryString(query: AnyQuery & { format?: string } = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const name = PARAMETER_NAMES[key] ?? key;
    params.set(name, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Creates a {@link MonitorClient}. */
export function createMonitorClient(options: MonitorClientOptions): MonitorClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl.replace(/\/+$/, '');

  async function getJson<T>(path: string): Promise<T> {
    const response = await fetchImpl(`${base}${path}`, { headers: { accept: 'application/json' } });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw new MonitorApiError(response.status, 'LLMMON_ERR_CLIENT_BAD_RESPONSE', `GET ${path}: response is not JSON`);
    }
    if (!response.ok) {
      const error = (body ?? {}) as { code?: string; message?: string };
      throw new MonitorApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? `GET ${path} failed`);
    }
    return body as T;
  }

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
  };
}
