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
import { requestOf } from '../../test/support/session-requests.mjs';
import { postExport } from './otlp-post.mjs';

const options = JSON.parse(process.argv[2]);
const template = readFileSync(options.templatePath);

let requestNumber = options.firstRequest;
/** The template as `requestOf` takes it. */
const requestTemplate = {
  encoding: 'protobuf',
  body: template,
  traceIdOffsets: options.traceIdOffsets,
  sessionIdOffsets: options.sessionIdOffsets,
};
function nextRequest() {
  requestNumber += 1;
  return requestOf(requestTemplate, requestNumber);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: options.senders });
const headers = { 'content-type': 'application/x-protobuf' };

/** One POST; resolves with its answer (status 0 when the exchange failed), when it was sent and how long it took. */
async function post(body) {
  const sent = performance.now();
  const answer = await postExport(options.otlpUrl, body, { agent, headers, spansPerRequest: options.spansPerRequest });
  return { ...answer, sent, ms: performance.now() - sent };
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
