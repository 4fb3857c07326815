/**
 * Keeps browsers from being turned against the receiver. Two checks, on every request:
 *
 * - **Host.** A page on `evil.example` whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding)
 *   reaches a receiver on loopback as "same origin", with `Host: evil.example`. A receiver bound to
 *   loopback therefore answers only requests that name this machine (`localhost`, `*.localhost`,
 *   `127.x.x.x`, `[::1]`) or a host in `allowed_hosts`. Bound to another interface, it cannot know
 *   every name it is reached by (a Service name, a load balancer's): it takes any unless
 *   `allowed_hosts` is set — there its tokens protect it.
 * - **Origin** on the WebSocket upgrade and on every request that carries one: a browser names the
 *   page that opened the connection; one of another origin (`http://evil.example`, or `null` from a
 *   sandboxed frame or a file) is refused unless listed in `allowed_origins`. Same origin (the
 *   Origin's host and port are the request's Host) is always fine; clients that are not browsers send
 *   no Origin and are judged by their token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LlmMonitorError } from '../errors.js';
import { closeRefusedUpgrade } from './read-auth.js';

/** Options of {@link installBrowserGuard}. */
export interface BrowserGuardOptions {
  /** The interface the server is bound to (`host`). */
  readonly boundHost: string;
  /** Host names accepted besides this machine's loopback names (`allowed_hosts`; `*` accepts any). */
  readonly allowedHosts: readonly string[];
  /** Origins accepted besides the request's own (`allowed_origins`, e.g. `https://grafana.example.com`). */
  readonly allowedOrigins: readonly string[];
}

/** True for the names only this machine answers to. */
function isLoopbackName(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    hostname === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** The host name of a `Host` header (port and case left out), or `undefined` when it is not one. */
export function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** True when `origin` is the page of the receiver the request names in `Host`. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (origin === 'null') return false;
  try {
    return new URL(origin).host.toLowerCase() === (host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** The reason a request is refused, or `undefined` when it passes. */
export function browserGuardRefusal(
  request: Pick<FastifyRequest, 'headers'>,
  { boundHost, allowedHosts, allowedOrigins }: BrowserGuardOptions,
): string | undefined {
  const host = request.headers.host;
  const hostname = hostnameOf(host);
  const anyHost = allowedHosts.includes('*') || (allowedHosts.length === 0 && !isLoopbackName(boundHost));
  const listed = hostname !== undefined && allowedHosts.some((allowed) => allowed.toLowerCase() === hostname);
  if (!anyHost && !listed && !(hostname !== undefined && isLoopbackName(hostname))) {
    return `Host ${JSON.stringify(host ?? '')} is not a name of this receiver: it answers to localhost and 127.0.0.1${
      allowedHosts.length > 0 ? ` and ${allowedHosts.join(', ')}` : ''
    } (add the name you use to allowed_hosts, LLM_MONITOR_ALLOWED_HOSTS)`;
  }
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  if (allowedOrigins.includes(origin)) return undefined;
  if (sameOrigin(origin, host)) return undefined;
  return `Origin ${JSON.stringify(origin)} is not this receiver's page: a page of another origin may not read it (add it to allowed_origins, LLM_MONITOR_ALLOWED_ORIGINS)`;
}

/** Adds the checks to every request of `app`. Call before the routes it guards. */
export function installBrowserGuard(app: FastifyInstance, options: BrowserGuardOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = browserGuardRefusal(request, options);
    if (refusal === undefined) return;
    closeRefusedUpgrade(request, reply);
    throw new LlmMonitorError('LLMMON_ERR_FORBIDDEN_ORIGIN', refusal);
  });
}
