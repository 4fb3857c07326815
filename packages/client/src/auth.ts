/**
 * Authentication against a receiver that requires tokens. With its `read_tokens` setting
 * (`LLM_MONITOR_READ_TOKENS`) every read route — REST, the WebSocket, SSE — takes either
 * `Authorization: Bearer <read token>` or the browser session cookie that `POST /api/auth/session`
 * (with that header) sets; without one it answers HTTP 401 with the code
 * {@link AUTH_ERROR_CODES.UNAUTHENTICATED}. The client sends the header when given a `token`
 * (`createMonitorClient`, `subscribeLive`); a browser's WebSocket cannot send headers, so there the
 * live subscription signs in for the cookie first.
 */

/** The error code of an answer refused for want of a valid token (HTTP 401). */
export const AUTH_ERROR_CODES = {
  /**
   * No token, or one the receiver does not take: HTTP 401 with `WWW-Authenticate: Bearer
   * realm="llm-monitor"`. The REST client raises it as a `MonitorApiError` (status 401); the live
   * subscription hands it to `onError` and ends.
   */
  UNAUTHENTICATED: 'LLMMON_ERR_UNAUTHENTICATED',
} as const;

/** Whether the receiver requires a read token, and whether this request carried a valid one (`GET /api/auth/session`). */
export interface AuthState {
  /** The receiver has `read_tokens`: its read routes need a token or the session cookie. */
  required: boolean;
  /** The request carried a valid read token or session cookie (always `true` when nothing is required). */
  authenticated: boolean;
}

/** The path of the session routes: `GET` tells the {@link AuthState}, `POST` with a bearer read token sets the session cookie. */
export const AUTH_SESSION_PATH = '/api/auth/session';

/** The `authorization` header that carries `token`, or no header without one (an empty token is none). */
export function bearerHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * What a 401 means, said for `what` (e.g. `GET /api/monitoring/statistics`): the read token is
 * missing, or the one given to `where` (e.g. `createMonitorClient`) is wrong. It never repeats the token.
 */
export function unauthenticatedMessage(what: string, tokenGiven: boolean, where: string): string {
  return tokenGiven
    ? `${what} failed with HTTP 401: the read token is wrong: the receiver does not take the \`token\` given to ${where} (it must be one of the receiver's read_tokens)`
    : `${what} failed with HTTP 401: the read token is missing: the receiver requires one of its read_tokens; pass it as \`token\` to ${where}`;
}
