/**
 * Serves the web monitor (`@llm-monitor/web`, built by Vite into its dist/app) at `/`. The built
 * files are read once at start and held in memory with their gzip form and ETag: hashed assets are
 * cached by browsers for a year, index.html is revalidated on every load so a new build shows at
 * once. `/` answers JSON (the API index) to clients that ask for JSON rather than HTML.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LlmMonitorError } from '../errors.js';

/** One built file, ready to send. */
export interface WebAsset {
  readonly body: Buffer;
  /** The gzip form, when it is smaller. */
  readonly gzip: Buffer | null;
  readonly etag: string;
  readonly gzipEtag: string;
  readonly contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

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

/** Where the built page is: dist/app of the `@llm-monitor/web` package, if it is installed. */
export function locateWebApp(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@llm-monitor/web/package.json');
    return join(dirname(manifest), 'dist', 'app');
  } catch {
    return undefined;
  }
}

function* filesUnder(directory: string): Generator<string> {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** Reads every built file under `directory`, by URL path (`/index.html`, `/assets/…`); `undefined` if there is no build. */
export function loadWebApp(directory: string | undefined): Map<string, WebAsset> | undefined {
  if (!directory || !existsSync(join(directory, 'index.html'))) return undefined;
  const assets = new Map<string, WebAsset>();
  for (const file of filesUnder(directory)) {
    const body = readFileSync(file);
    const contentType = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    const compressed = /^(text|application\/json|image\/svg)/.test(contentType) ? gzipSync(body) : null;
    const tag = createHash('sha256').update(body).digest('base64url').slice(0, 27);
    assets.set(`/${relative(directory, file).split(sep).join('/')}`, {
      body,
      gzip: compressed && compressed.length < body.length ? compressed : null,
      etag: `"${tag}"`,
      // The gzip form is other bytes: it gets its own tag, so no cache mixes the two up.
      gzipEtag: `"${tag}-gz"`,
      contentType,
    });
  }
  return assets;
}

/** True when `If-None-Match` names `etag`: `*`, a list, weak or strong (RFC 9110 compares weakly here). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/** True when `Accept-Encoding` takes gzip (listed without `q=0`, or through `*`). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  let gzip: number | undefined;
  let any: number | undefined;
  for (const entry of (acceptEncoding ?? '').split(',')) {
    const [name = '', ...parameters] = entry.trim().toLowerCase().split(';');
    const q = parameters.map((parameter) => /^\s*q=([0-9.]+)\s*$/.exec(parameter)?.[1]).find((value) => value !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    if (name === 'gzip' || name === 'x-gzip') gzip = weight;
    else if (name === '*') any = weight;
  }
  return (gzip ?? any ?? 0) > 0;
}

/** Sends `asset` (gzip when taken), or 304; `vary` names the request headers the answer depends on. */
function send(request: FastifyRequest, reply: FastifyReply, asset: WebAsset, cacheControl: string, vary = 'accept-encoding'): FastifyReply {
  const gzip = asset.gzip !== null && acceptsGzip(request.headers['accept-encoding']);
  const etag = gzip ? asset.gzipEtag : asset.etag;
  void reply.header('etag', etag).header('cache-control', cacheControl).header('vary', vary).header('x-content-type-options', 'nosniff');
  if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
  void reply.type(asset.contentType);
  if (gzip) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

/** True when the client asks for JSON and not for a page (curl with `-H accept:application/json`, API clients). */
function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && !accept.includes('text/html');
}

/** Options of {@link webAppRoutes}. */
export interface WebAppRoutesOptions {
  /** The built page, from {@link loadWebApp}; without it `/` explains how to build it. */
  readonly assets: Map<string, WebAsset> | undefined;
  /** What `/api` (and `/` for JSON clients) answer: the API's entry points. */
  readonly apiIndex: Record<string, unknown>;
}

/** `GET /` (the page), `GET /assets/*` and `GET /api` (the API index). */
export async function webAppRoutes(app: FastifyInstance, { assets, apiIndex }: WebAppRoutesOptions): Promise<void> {
  app.get('/api', { schema: { hide: true } }, async () => apiIndex);
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const accept = request.headers.accept;
    const index = assets?.get('/index.html');
    if (wantsJson(accept)) return apiIndex;
    if (!index) {
      // Without a page, only a browser (which asks for HTML) needs to hear why; curl gets the index.
      if (accept?.includes('text/html')) throw new LlmMonitorError('LLMMON_ERR_WEB_NOT_BUILT', 'the web monitor is not built: run `pnpm build` in the repository (the REST API is at /api)');
      return apiIndex;
    }
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('referrer-policy', 'no-referrer');
    // The same URL answers HTML or JSON by Accept: caches must keep them apart.
    return send(request, reply, index, 'no-cache', 'accept, accept-encoding');
  });
  app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets?.get(`/assets/${request.params['*']}`);
    if (!asset) throw new LlmMonitorError('LLMMON_ERR_ROUTE_NOT_FOUND', `no web asset ${request.url}`);
    // Built file names carry a content hash: a changed file has a new name, so caching forever is safe.
    return send(request, reply, asset, 'public, max-age=31536000, immutable');
  });
}
