/**
 * One OTLP/HTTP export as the load processes of the benches send it (bench/suite/ingest-load.mjs,
 * bench/support/storage-load.mjs): a POST over a keep-alive agent, its answer read whole. Plain
 * JavaScript: the load processes vitest starts cannot load TypeScript.
 */
import http from 'node:http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

const REQUEST_TIMEOUT_MS = 60_000;

/** Spans an export answer says were rejected (partial success), in the request's encoding. */
export function rejectedIn(answer, contentType) {
  if (answer.length === 0) return 0;
  if (contentType === 'application/json') return Number(JSON.parse(answer.toString('utf8')).partialSuccess?.rejectedSpans ?? 0);
  return Number(ProtobufTraceSerializer.deserializeResponse(answer).partialSuccess?.rejectedSpans ?? 0);
}

/**
 * POSTs `body` to `url`; resolves with the status (0 when the exchange failed), the spans rejected
 * (all `spansPerRequest` when a 200's answer cannot be read) and the server's `Retry-After` in seconds
 * (1 when it gave none). Never rejects.
 */
export function postExport(url, body, { agent, headers, spansPerRequest }) {
  return new Promise((resolve) => {
    const failed = () => resolve({ status: 0, rejected: 0, retryAfterS: 1 });
    const request = http.request(
      url,
      { method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: { ...headers, 'content-length': body.length } },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', failed);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          let rejected = 0;
          if (status === 200) {
            try {
              rejected = rejectedIn(Buffer.concat(chunks), headers['content-type']);
            } catch {
              rejected = spansPerRequest;
            }
          }
          resolve({ status, rejected, retryAfterS: Number(response.headers['retry-after'] ?? 1) });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', failed);
    request.end(body);
  });
}
