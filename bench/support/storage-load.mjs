/**
 * The load process of bench/storage.bench.ts: a child process of its own, so that making and sending
 * requests never shares an event loop (or a V8 heap) with the bench's `/healthz` probes, nor with the
 * receiver. Plain JavaScript: a child process started by vitest cannot load TypeScript.
 *
 * Its one argument is JSON: { otlpUrl, templatePath, traceIdOffsets, sessionIdOffsets, spansPerRequest,
 * senders, warmupMs, loadMs, firstRequest }. The template is one protobuf request; each request sent
 * is a copy with its own trace ids (4 bytes of request number) and session ids (8 hex characters of
 * request number), so the receiver sees new sessions every time, never duplicates it could take
 * cheaply. `senders` loops each send a request and wait for its answer before the next one.
 *
 * It tells its parent over IPC: `{ type: 'phase', name: 'load' }` when the measured window starts
 * (after `warmupMs` of the same load), `{ type: 'phase', name: 'after' }` when it ends (`loadMs` later:
 * the parent reads the receiver's CPU time then), and finally `{ type: 'done', answers }` with every
 * answer received within the window (status, spans rejected, milliseconds from send to answer).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

const options = JSON.parse(process.argv[2]);
const template = readFileSync(options.templatePath);
const REQUEST_TIMEOUT_MS = 60_000;

let requestNumber = options.firstRequest;
function nextRequest() {
  requestNumber += 1;
  const body = Buffer.allocUnsafe(template.length);
  template.copy(body);
  const hex = Buffer.from(requestNumber.toString(16).padStart(8, '0'), 'latin1');
  for (const at of options.traceIdOffsets) body.writeUInt32BE(requestNumber, at);
  for (const at of options.sessionIdOffsets) hex.copy(body, at);
  return body;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: options.senders });

/** One POST; resolves with its answer (status 0 when the exchange failed). */
function post(body) {
  const sent = performance.now();
  return new Promise((resolve) => {
    const failed = () => resolve({ status: 0, rejected: 0, sent, ms: performance.now() - sent, retryAfterS: 1 });
    const request = http.request(
      options.otlpUrl,
      {
        method: 'POST',
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', failed);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          let rejected = 0;
          if (status === 200) {
            try {
              rejected = Number(ProtobufTraceSerializer.deserializeResponse(Buffer.concat(chunks)).partialSuccess?.rejectedSpans ?? 0);
            } catch {
              rejected = options.spansPerRequest;
            }
          }
          resolve({ status, rejected, sent, ms: performance.now() - sent, retryAfterS: Number(response.headers['retry-after'] ?? 1) });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', failed);
    request.end(body);
  });
}

const started = performance.now();
const loadStart = started + options.warmupMs;
const loadEnd = loadStart + options.loadMs;
const answers = [];

async function sender() {
  while (performance.now() < loadEnd) {
    const answer = await post(nextRequest());
    const at = performance.now();
    if (at >= loadStart && at <= loadEnd) answers.push({ status: answer.status, rejected: answer.rejected, ms: answer.ms });
    // A refused request is retried as an OTLP exporter would: after Retry-After.
    if (answer.status !== 200) await sleep(Math.min(5, answer.retryAfterS) * 1000);
  }
}

async function phases() {
  await sleep(Math.max(0, loadStart - performance.now()));
  process.send({ type: 'phase', name: 'load' });
  await sleep(Math.max(0, loadEnd - performance.now()));
  process.send({ type: 'phase', name: 'after' });
}

await Promise.all([phases(), ...Array.from({ length: options.senders }, sender)]);
agent.destroy();
process.send({ type: 'done', answers }, () => process.disconnect());
