import type { ProcessingSession } from '@llm-monitor/sessions';

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

/** Typed access to the monitor REST API. */
export interface MonitorClient {
  /** One session with its timeline; throws {@link MonitorApiError} (`LLMMON_ERR_SESSION_NOT_FOUND`) if unknown. */
  getSession(sessionId: string): Promise<ProcessingSession>;
  /** Running sessions, newest first. */
  getActiveSessions(): Promise<ProcessingSession[]>;
  /** Recent sessions, newest first. */
  getRecentSessions(options?: { limit?: number }): Promise<ProcessingSession[]>;
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
    getRecentSessions: ({ limit } = {}) =>
      getJson(`/api/monitoring/sessions/recent${limit === undefined ? '' : `?limit=${limit}`}`),
  };
}
