/**
 * Browser sessions: a browser cannot put a header on a WebSocket, and a token must never sit in a
 * URL (it lands in logs and histories). So the page trades the read token, once, for a cookie:
 * `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it), valid 12 hours.
 *
 * The cookie is stateless — its expiry and an HMAC of it keyed by the read token that made it — so
 * every replica that has the same read tokens accepts it, none keeps a table of sessions, and
 * revoking the token ends every session made with it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The cookie's name. */
export const SESSION_COOKIE = 'llm_monitor_session';

/** How long a browser session lasts. */
export const SESSION_LIFETIME_MS = 12 * 3600 * 1000;

function signature(token: string, expiresMs: number): Buffer {
  return createHmac('sha256', token).update(`llm-monitor-browser-session:${expiresMs}`).digest();
}

/** The cookie value of a session made with `token`, valid until `expiresMs`. */
export function sessionCookieValue(token: string, expiresMs: number): string {
  return `${expiresMs}.${signature(token, expiresMs).toString('base64url')}`;
}

/** True when `value` is a session made with one of `tokens` and not expired at `nowMs`. */
export function validSessionCookie(value: string | undefined, tokens: readonly string[], nowMs: number): boolean {
  if (value === undefined) return false;
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const expiresMs = Number(match[1]);
  if (!(expiresMs > nowMs) || expiresMs > nowMs + SESSION_LIFETIME_MS) return false;
  const presented = Buffer.from(match[2]!, 'base64url');
  let valid = false;
  for (const token of tokens) valid = timingSafeEqual(presented, signature(token, expiresMs)) || valid;
  return valid;
}

/** The value of cookie `name` in a `Cookie` header, or `undefined`. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The `Set-Cookie` header that starts a session (`secure` when the page was reached over HTTPS). */
export function setSessionCookie(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_LIFETIME_MS / 1000}${secure ? '; Secure' : ''}`;
}

/** The `Set-Cookie` header that ends it. */
export function clearSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
