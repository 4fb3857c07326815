/**
 * Read authentication on the API server: with `read_tokens` set, every route that shows data — the
 * REST API, the WebSocket and SSE streams, `/docs`, and `/metrics` unless `metrics_public` — needs
 * `Authorization: Bearer <read token>` or the browser session cookie. What stays open: `/healthz`
 * and `/readyz` (probes carry no token) and the page's own files, which hold no data (the page asks
 * for the token and trades it for the cookie at `/api/auth/session`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LlmMonitorError } from '../errors.js';
import { apiErrorSchema } from '../api/api-errors.js';
import {
  clearSessionCookie,
  cookieOf,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  sessionCookieValue,
  setSessionCookie,
  validSessionCookie,
} from './browser-session.js';
import { bearerTokenOf } from './token-set.js';
import type { TokenSet } from './token-set.js';

/** Where the page trades the read token for a cookie. */
export const AUTH_SESSION_PATH = '/api/auth/session';

/** Options of {@link installReadAuth}. */
export interface ReadAuthOptions {
  readonly tokens: TokenSet;
  /** `/metrics` without a token (`metrics_public`). */
  readonly metricsPublic: boolean;
}

/**
 * A refused WebSocket upgrade keeps no connection: the socket of an upgrade request is the
 * WebSocket server's, not the HTTP server's keep-alive pool, so nothing else would close it — a
 * client that does not hang up after its 401 or 403 would hold it, and hold up shutdown.
 */
export function closeRefusedUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.upgrade === undefined) return;
  void reply.header('connection', 'close');
  reply.raw.once('finish', () => request.raw.socket.destroy());
}

/** True for the paths that show data. */
function isProtected(path: string, metricsPublic: boolean): boolean {
  if (path === AUTH_SESSION_PATH) return false;
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/ws/') || path === '/docs' || path.startsWith('/docs/')) return true;
  return !metricsPublic && path === '/metrics';
}

/** True when a request carries a valid read token or browser session. */
function authenticated(request: FastifyRequest, tokens: TokenSet): boolean {
  const bearer = bearerTokenOf(request.headers.authorization);
  if (bearer !== undefined) return tokens.matches(bearer);
  return validSessionCookie(cookieOf(request.headers.cookie, SESSION_COOKIE), tokens.tokens(), Date.now());
}

/** True when the page was reached over HTTPS (directly or through a proxy that says so): the cookie is then `Secure`. */
function overHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

const sessionStateSchema = {
  type: 'object',
  required: ['required', 'authenticated'],
  properties: { required: { type: 'boolean' }, authenticated: { type: 'boolean' } },
} as const;

/** Adds the check to every route of `app` and the browser session routes. Call before the routes it guards. */
export function installReadAuth(app: FastifyInstance, { tokens, metricsPublic }: ReadAuthOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!tokens.required) return;
    const path = request.url.split('?', 1)[0]!;
    if (!isProtected(path, metricsPublic) || authenticated(request, tokens)) return;
    void reply.header('www-authenticate', 'Bearer realm="llm-monitor"');
    closeRefusedUpgrade(request, reply);
    throw new LlmMonitorError(
      'LLMMON_ERR_UNAUTHENTICATED',
      request.headers.authorization === undefined && request.headers.cookie === undefined
        ? `${request.method} ${path} needs a read token: send Authorization: Bearer <token> (one of read_tokens), or log in on the page`
        : `${request.method} ${path}: the read token or browser session is not valid (wrong, revoked or expired)`,
    );
  });

  app.get(
    AUTH_SESSION_PATH,
    {
      schema: {
        summary: 'Whether reading needs a token, and whether this request carries a valid one',
        response: { 200: sessionStateSchema },
      },
    },
    async (request) => ({ required: tokens.required, authenticated: !tokens.required || authenticated(request, tokens) }),
  );

  app.post(
    AUTH_SESSION_PATH,
    {
      schema: {
        summary: 'Trades the read token (Authorization: Bearer) for a browser session cookie, HttpOnly and SameSite=Strict, valid 12 hours',
        response: { 204: { type: 'null' }, 401: apiErrorSchema },
      },
    },
    async (request, reply) => {
      const bearer = bearerTokenOf(request.headers.authorization);
      if (tokens.required && !tokens.matches(bearer)) {
        void reply.header('www-authenticate', 'Bearer realm="llm-monitor"');
        throw new LlmMonitorError(
          'LLMMON_ERR_UNAUTHENTICATED',
          bearer === undefined ? 'log in with Authorization: Bearer <read token>' : 'that token is not one of the read tokens',
        );
      }
      if (bearer !== undefined && tokens.required) {
        void reply.header('set-cookie', setSessionCookie(sessionCookieValue(bearer, Date.now() + SESSION_LIFETIME_MS), overHttps(request)));
      }
      void reply.code(204);
    },
  );

  app.delete(
    AUTH_SESSION_PATH,
    { schema: { summary: 'Ends the browser session (clears its cookie)', response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      void reply.header('set-cookie', clearSessionCookie(overHttps(request))).code(204);
    },
  );
}
