/**
 * A load generator in a process of its own (so its CPU is not the receiver's): floods an OTLP/HTTP
 * endpoint with protobuf requests of new, complete sessions from `concurrency` connections for
 * `durationMs`, as fast as the receiver answers, and prints what came back as one JSON line. With
 * `requests`, it sends exactly that many instead, however long they take.
 *
 * Every request carries `sessionsPerRequest` sessions of our instrumentation (every built-in stage,
 * an LLM call, 20 token events, a root whose content is `contentBytes` long), made unique by
 * patching a request number into a template's trace and session ids (./session-requests.mjs). A
 * request answered 200 is acknowledged: its sessions are
 * `${SESSION_MARK}<8 hex digits of the request number>-<6 digits of the index>`.
 *
 *   node test/support/otlp-flood.mjs '{"url":"http://127.0.0.1:4318/v1/traces","concurrency":24,"durationMs":20000}'
 *
 * Plain JavaScript: a child process started by vitest cannot load TypeScript.
 */
import http from 'node:http';
import { requestOf, sessionRequests } from './session-requests.mjs';

/** What every session id of the flood starts with. */
export const SESSION_MARK = 'flood-';
const TRACE_MARK = 'f1005eed';

const options = {
  concurrency: 16,
  durationMs: 10_000,
  sessionsPerRequest: 30,
  contentBytes: 16_384,
  token: '',
  ...JSON.parse(process.argv[2] ?? '{}'),
};
const url = new URL(options.url);

const made = await sessionRequests({
  sessionsPerRequest: options.sessionsPerRequest,
  traceMark: TRACE_MARK,
  sessionMark: SESSION_MARK,
  content: 'x'.repeat(options.contentBytes),
});
const template = made.template('protobuf');

let requestNumber = 0;
function nextRequest() {
  requestNumber += 1;
  return { number: requestNumber, body: requestOf(template, requestNumber) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
const statuses = {};
const retryAfter = {};
const acknowledged = [];
let errors = 0;
const headers = { 'content-type': 'application/x-protobuf', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };

function send({ body }) {
  return new Promise((resolve) => {
    const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (response) => {
      response.resume();
      response.on('end', () => {
        const after = response.headers['retry-after'];
        if (after !== undefined) retryAfter[after] = (retryAfter[after] ?? 0) + 1;
        resolve(response.statusCode);
      });
    });
    request.on('error', () => resolve('error'));
    request.end(body);
  });
}

const endAt = Date.now() + options.durationMs;
const startedAt = Date.now();
/** Whether another request is due: by count when `requests` is given, else by time. */
const due = () => (options.requests === undefined ? Date.now() < endAt : requestNumber < options.requests);
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    while (due()) {
      const next = nextRequest();
      const status = await send(next);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) acknowledged.push(next.number);
      else if (status === 'error') errors += 1;
      // A refused sender waits a little, as an exporter would (shorter than Retry-After: this is a flood).
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }),
);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    seconds: (Date.now() - startedAt) / 1000,
    requests: requestNumber,
    spansPerRequest: made.spansPerRequest,
    bodyBytes: template.body.length,
    sessionsPerRequest: options.sessionsPerRequest,
    statuses,
    retryAfter,
    errors,
    acknowledged,
  })}\n`,
);
