/**
 * The load process of bench/suite/ingest.bench.ts: a process of its own, so that making, compressing
 * and sending requests never costs the CPU of the process measured. Plain JavaScript: a child process
 * started by vitest cannot load TypeScript.
 *
 * Its one argument is JSON: { url, templatePath, contentType, gzip, idFormat, traceIdOffsets,
 * sessionIdOffsets, spansPerRequest, senders, warmupMs, loadMs, maxRequests, firstRequest }. The
 * template is one export request (protobuf or JSON); every request sent is a copy with its own trace
 * ids (4 bytes of request number after the mark; in JSON, 8 hex digits) and session ids (8 hex digits
 * of request number), so the server always sees new sessions, never one it already knows. With
 * `gzip`, each copy is compressed before it is sent (`Content-Encoding: gzip`), as an exporter does.
 * `senders` loops each send a request and wait for its answer before the next one; they stop after
 * `warmupMs + loadMs`, or once `maxRequests` were sent, whichever comes first.
 *
 * It tells its parent over IPC: `{ type: 'phase', name: 'load' }` when the measured window starts
 * (after `warmupMs` of the same load), `{ type: 'phase', name: 'after' }` once the last request is
 * answered (the parent reads the server's CPU time at both), then `{ type: 'done', ... }` with what
 * came back within the window.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { requestOf } from '../../test/support/session-requests.mjs';
import { postExport } from '../support/otlp-post.mjs';

const gzip = promisify(gzipCallback);
const options = JSON.parse(process.argv[2]);
const template = readFileSync(options.templatePath);

let requestNumber = options.firstRequest;
let sent = 0;

/** The template as `requestOf` takes it. */
const requestTemplate = {
  encoding: options.idFormat === 'hex' ? 'json' : 'protobuf',
  body: template,
  traceIdOffsets: options.traceIdOffsets,
  sessionIdOffsets: options.sessionIdOffsets,
};

/** The next request's body: the template with new trace and session ids, compressed when asked. */
async function nextBody() {
  requestNumber += 1;
  const body = requestOf(requestTemplate, requestNumber);
  return options.gzip ? gzip(body) : body;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: options.senders });
const headers = { 'content-type': options.contentType, ...(options.gzip ? { 'content-encoding': 'gzip' } : {}) };

/** One POST; resolves with its answer (status 0 when the exchange failed). */
const post = (body) => postExport(options.url, body, { agent, headers, spansPerRequest: options.spansPerRequest });

const started = performance.now();
const loadStart = started + options.warmupMs;
const loadEnd = loadStart + options.loadMs;
const statuses = {};
let requests = 0;
let acceptedSpans = 0;
let rejectedSpans = 0;
let bodyBytes = 0;
let loadStarted = false;

async function sender() {
  while (performance.now() < loadEnd && sent < options.maxRequests) {
    sent += 1;
    const body = await nextBody();
    const answer = await post(body);
    // Answers within the window count: after its start, and (the senders stop at its end) all after.
    if (loadStarted) {
      requests += 1;
      bodyBytes += body.length;
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status === 200) {
        acceptedSpans += options.spansPerRequest - answer.rejected;
        rejectedSpans += answer.rejected;
      }
    }
    // A refused request is retried as an OTLP exporter would: after Retry-After.
    if (answer.status !== 200) await sleep(Math.min(5, answer.retryAfterS) * 1000);
  }
}

const windowStart = sleep(Math.max(0, loadStart - performance.now())).then(() => {
  loadStarted = true;
  process.send({ type: 'phase', name: 'load' });
});
await Promise.all(Array.from({ length: options.senders }, sender));
await windowStart;
const seconds = (performance.now() - loadStart) / 1000;
process.send({ type: 'phase', name: 'after' });
agent.destroy();
process.send(
  { type: 'done', seconds, requests, statuses, acceptedSpans, rejectedSpans, bodyBytes: requests > 0 ? bodyBytes / requests : 0, sent },
  () => process.disconnect(),
);
