/**
 * How the API server compresses what it answers: the page's files, JSON and CSV answers, `/metrics`
 * and the OpenAPI document, by @fastify/compress.
 */
import fastifyCompress from '@fastify/compress';
import type { FastifyCompressOptions } from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Text, JSON, JavaScript, SVG and OpenMetrics, which @fastify/compress's own list misses (Prometheus
 * asks for gzip; a scrape shrinks about tenfold). Event streams are not on it: a compressor holds
 * bytes back until its block fills, and a live event must leave at once. The SSE route writes its
 * socket itself, past every hook, so this is the second guard, not the first.
 */
const COMPRESSIBLE =
  /^(?:text\/(?!event-stream)|application\/(?:json|javascript|openmetrics-text)(?:;|$)|application\/[\w.-]+\+json(?:;|$)|image\/svg\+xml)/;

/** The options {@link installResponseCompression} gives @fastify/compress. */
export const RESPONSE_COMPRESSION: FastifyCompressOptions = {
  globalCompression: true,
  // Requests are not this plugin's business: the API takes small JSON bodies, and the OTLP server,
  // which takes gzip, is another fastify instance with its own decoding.
  globalDecompression: false,
  // gzip only, as the page was served before. Brotli at @fastify/compress's quality 4 measured
  // 1-3% larger on the page's script and stylesheet and 9-13% smaller on large JSON answers, at
  // about the same CPU: not worth a second compressed variant of every URL in caches, when every
  // client takes gzip. No deflate: whoever takes it takes gzip.
  encodings: ['gzip'],
  // Below about a kilobyte an answer fits one packet either way, and compressing costs more than
  // it saves; the health checks, the API index and most error answers stay as they are.
  threshold: 1024,
  customTypes: COMPRESSIBLE,
};

/**
 * Compresses the answers of every route added to `app` after this (the plugin attaches itself to
 * each route as it is added), so call it before any route.
 */
export async function installResponseCompression(app: FastifyInstance): Promise<void> {
  // A 304 has no body, but @fastify/compress would still label it `Content-Encoding: gzip`; a cache
  // that refreshes a stored answer's headers from the 304 (RFC 9111, 4.3.4) would then mislabel
  // the bytes it holds. This hook is the app's own, so it runs before the plugin's, on every route.
  app.addHook('onSend', async (_request, reply, payload) => (reply.statusCode === 304 ? null : payload));
  await app.register(fastifyCompress, RESPONSE_COMPRESSION);
}
