import type { ProcessingSession, SessionStatus, StatisticsReport } from '@llm-monitor/sessions';

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
}

function queryString(query: SessionQuery | StatisticsQuery = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const name = key === 'processorType' ? 'processor_type' : key;
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
    exportUrl: (format, query = {}) => `${base}/api/monitoring/sessions/recent${queryString({ ...query, format } as SessionQuery)}`,
  };
}
