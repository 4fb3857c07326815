/**
 * The load process of bench/suite/retained-memory.bench.ts, a process of its own (so that neither its
 * CPU nor its heap is the receiver's): sends `sessions` complete, realistic sessions to an OTLP/HTTP
 * endpoint, `sessionsPerRequest` to a protobuf request, `concurrency` requests in flight, and prints
 * one JSON line of what happened.
 *
 * The request is made once by our own instrumentation (live marker spans off: what a batch exporter
 * sends of finished work): per session a root, the ten built-in stages, one LLM call and 20 streamed
 * token events. Each request sent is a copy with its own trace ids (4 bytes of request number) and
 * session ids (`${SESSION_MARK}<8 hex digits of request number>-<6 digits of index>`), so the receiver
 * sees new sessions every time. A refused request is sent again after a pause, as an exporter would.
 *
 *   node bench/suite/session-sender.mjs '{"url":"http://127.0.0.1:4318/v1/traces","sessions":100000}'
 *
 * Plain JavaScript: a child process started by vitest cannot load TypeScript.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { requestOf, sessionRequests } from '../../test/support/session-requests.mjs';

/** What every session id sent starts with. */
export const SESSION_MARK = 'retained-';
const TRACE_MARK = '4e7a1bed';

const options = { sessions: 1000, sessionsPerRequest: 30, concurrency: 4, firstRequest: 0, ...JSON.parse(process.argv[2] ?? '{}') };

const made = await sessionRequests({ sessionsPerRequest: options.sessionsPerRequest, traceMark: TRACE_MARK, sessionMark: SESSION_MARK });
const template = made.template('protobuf');

const requests = Math.ceil(options.sessions / options.sessionsPerRequest);
const lastRequest = options.firstRequest + requests;
let requestNumber = options.firstRequest;
const requestBody = (number) => requestOf(template, number);

const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
const statuses = {};
let rejectedSpans = 0;

/** One POST; resolves with its status (0 when the exchange failed) and the spans it rejected. */
function post(body) {
  return new Promise((resolve) => {
    const request = http.request(
      options.url,
      { method: 'POST', agent, timeout: 60_000, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', () => resolve({ status: 0, rejected: 0 }));
        response.on('end', () => {
          let rejected = 0;
          if (response.statusCode === 200) {
            try {
              rejected = Number(ProtobufTraceSerializer.deserializeResponse(Buffer.concat(chunks)).partialSuccess?.rejectedSpans ?? 0);
            } catch {
              rejected = made.spansPerRequest;
            }
          }
          resolve({ status: response.statusCode ?? 0, rejected });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', () => resolve({ status: 0, rejected: 0 }));
    request.end(body);
  });
}

const startedAt = performance.now();
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    while (requestNumber < lastRequest) {
      requestNumber += 1;
      const body = requestBody(requestNumber);
      for (;;) {
        const { status, rejected } = await post(body);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) {
          rejectedSpans += rejected;
          break;
        }
        await sleep(500);
      }
    }
  }),
);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    seconds: (performance.now() - startedAt) / 1000,
    requests,
    sessions: requests * options.sessionsPerRequest,
    spansPerSession: made.spansPerRequest / options.sessionsPerRequest,
    spansPerRequest: made.spansPerRequest,
    bodyBytes: template.body.length,
    statuses,
    rejectedSpans,
    lastSessionId: `${SESSION_MARK}${lastRequest.toString(16).padStart(8, '0')}-${String(options.sessionsPerRequest - 1).padStart(6, '0')}`,
  })}\n`,
);
