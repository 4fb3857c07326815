/**
 * The baseline of bench/suite/ingest.bench.ts: the least a receiver can do with an OTLP/HTTP export
 * request — a plain `node:http` server that reads `POST /v1/traces`, decompresses it when it is
 * gzipped (as the receiver does: `zlib.gunzip` with the same output limit), decodes it with the
 * receiver's own decoders (dist/otlp: protobuf, or JSON parsed by `parseJsonRequestSteps` then
 * `decodeTraceRequestJson`, the path otlp-ingest.ts takes, run to their end at once), and answers 200
 * with the export response the receiver would send. Nothing is kept: no sessions, no store.
 *
 * Prints `listening <url of /v1/traces>` once it listens on a free port of 127.0.0.1.
 * Plain JavaScript: a child process started by vitest cannot load TypeScript.
 */
import http from 'node:http';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { decodeTraceRequestJson } from '../../packages/receiver/dist/otlp/decode-json.js';
import { decodeTraceRequestProtobuf } from '../../packages/receiver/dist/otlp/decode-protobuf.js';
import { encodeExportResponse } from '../../packages/receiver/dist/otlp/encode-response.js';
import { parseJsonRequestSteps } from '../../packages/receiver/dist/otlp/json-slices.js';
import { runToEnd } from '../../packages/receiver/dist/otlp/sliced-work.js';

const gunzip = promisify(gunzipCallback);
/** The receiver's default `otlp_max_body_bytes` is not needed here: the bench's bodies are far below this. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function answer(request, response) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  const encoding = (request.headers['content-type'] ?? '').startsWith('application/json') ? 'json' : 'protobuf';
  const body = request.headers['content-encoding'] === 'gzip' ? await gunzip(raw, { maxOutputLength: MAX_BODY_BYTES }) : raw;
  const decoded =
    encoding === 'protobuf'
      ? decodeTraceRequestProtobuf(body)
      : decodeTraceRequestJson(runToEnd(parseJsonRequestSteps(body.toString('utf8'))));
  const errorMessage = decoded.rejected > 0 ? `rejected ${decoded.rejected} span(s): ${decoded.rejectReasons.join('; ')}` : '';
  const payload = encodeExportResponse(encoding, decoded.rejected, errorMessage);
  response.writeHead(200, {
    'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

const server = http.createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/v1/traces') {
    response.writeHead(404).end();
    return;
  }
  answer(request, response).catch((error) => {
    response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening http://127.0.0.1:${port}/v1/traces\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
