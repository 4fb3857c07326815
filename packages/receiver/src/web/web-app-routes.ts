/**
 * Serves the web monitor (`@llm-monitor/web`, built by Vite into its dist/app) at `/`, through
 * @fastify/static: hashed assets are cached by browsers for a year, index.html is revalidated on
 * every load so a new build shows at once, and both answer a matching `If-None-Match` with 304.
 * Compression is the API server's (see response-compression.ts). `/` answers JSON (the API index)
 * to clients that prefer JSON to HTML.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HTML, JSON_MEDIA_TYPE, preferredMediaType } from '../api/negotiation.js';
import { LlmMonitorError } from '../errors.js';

/**
 * The page may load only its own files and talk only to its own origin; nothing inline runs. A
 * prompt that smuggled markup into the page would still find no way to execute.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Built file names carry a content hash: a changed file has a new name, so caching forever is safe. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/** Where the built page is: dist/app of the `@llm-monitor/web` package, if it is installed. */
export function locateWebApp(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@llm-monitor/web/package.json');
    return join(dirname(manifest), 'dist', 'app');
  } catch {
    return undefined;
  }
}

/** True when `directory` holds a built page (its index.html). */
function isWebAppBuilt(directory: string | undefined): directory is string {
  return directory !== undefined && existsSync(join(directory, 'index.html'));
}

/**
 * Headers every answer of these routes gets, 304s included. A hook rather than @fastify/static's
 * `setHeaders`, which runs before the library's own headers in some versions and after them in others.
 */
async function pageHeaders(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  void reply.header('x-content-type-options', 'nosniff');
  // @fastify/compress names accept-encoding only when it compresses; the answer depends on it
  // whether or not it did, so a cache must always key on it.
  if (!reply.hasHeader('vary')) void reply.header('vary', 'accept-encoding');
  // The mime table @fastify/send uses still says application/javascript; RFC 9239 made
  // text/javascript the one type.
  if (String(reply.getHeader('content-type')).startsWith('application/javascript')) void reply.type('text/javascript; charset=utf-8');
  return payload;
}

/**
 * Lets a conditional request be answered 304 even when it says `Cache-Control: no-cache`, as
 * fetch() adds to every request it is handed an If-None-Match for. The directive asks caches on the
 * way to check with the origin; the origin answering the client's own condition is that check, and
 * RFC 9110 (13.1.2) wants a 304 for a match. @fastify/send, like jshttp's `fresh`, answers 200.
 */
async function honourConditions(request: FastifyRequest): Promise<void> {
  const { headers } = request.raw;
  if (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) delete headers['cache-control'];
}

/** Options of {@link webAppRoutes}. */
export interface WebAppRoutesOptions {
  /**
   * The built page: a directory with index.html and assets/ (dist/app, from {@link locateWebApp}).
   * It is looked at once, at start; without a build there `/` explains how to make one.
   */
  readonly directory: string | undefined;
  /** What `/api` (and `/` for JSON clients) answer: the API's entry points. */
  readonly apiIndex: Record<string, unknown>;
}

/** `GET /` (the page), `GET /assets/*` and `GET /api` (the API index). */
export async function webAppRoutes(app: FastifyInstance, { directory, apiIndex }: WebAppRoutesOptions): Promise<void> {
  app.get('/api', { schema: { hide: true } }, async () => apiIndex);
  app.addHook('onRequest', honourConditions);
  app.addHook('onSend', pageHeaders);
  const built = isWebAppBuilt(directory);
  if (built) {
    await app.register(fastifyStatic, {
      root: join(directory, 'assets'),
      prefix: '/assets/',
      maxAge: ASSET_MAX_AGE_MS,
      immutable: true,
      // @fastify/static's ETag is weak (size and time), one for the file in every encoding: a weak
      // tag says "the same content", which the gzip form is, and If-None-Match compares weakly, so
      // either form revalidates to 304. Ranges are off: the files are small, and a weak tag cannot
      // guard them (If-Range needs a strong one).
      acceptRanges: false,
      index: false,
      list: false,
      redirect: false,
    });
  }
  // Not found under /assets/ (or /assets/ without a build) is the API's not-found answer:
  // LLMMON_ERR_ROUTE_NOT_FOUND as JSON.
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    // The same URL answers HTML or JSON by Accept: caches must keep them apart.
    void reply.header('vary', 'accept, accept-encoding');
    // The server's preference goes first: the page when there is one; without it, the index, so
    // only a client that asks for HTML over JSON (a browser) hears that the page is missing.
    const offers = built ? ([HTML, JSON_MEDIA_TYPE] as const) : ([JSON_MEDIA_TYPE, HTML] as const);
    if (preferredMediaType(request.headers.accept, offers) === JSON_MEDIA_TYPE) return apiIndex;
    if (!built)
      throw new LlmMonitorError(
        'LLMMON_ERR_WEB_NOT_BUILT',
        'the web monitor is not built: run `pnpm build` in the repository (the REST API is at /api)',
      );
    void reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('referrer-policy', 'no-referrer');
    return reply.sendFile('index.html', directory, { cacheControl: false });
  });
}
