/**
 * A load generator in a process of its own (so its CPU is not the receiver's): floods an OTLP/HTTP
 * endpoint with protobuf requests of new, complete sessions from `concurrency` connections for
 * `durationMs`, as fast as the receiver answers, and prints what came back as one JSON line.
 *
 * Every request carries `sessionsPerRequest` sessions of our instrumentation (every built-in stage,
 * 20 token events, a root whose content is `contentBytes` long), made unique by patching a request
 * number into a template's trace and session ids. A request answered 200 is acknowledged: its
 * sessions are `${SESSION_MARK}<8 hex digits of the request number>-<6 digits of the index>`.
 *
 *   node test/support/otlp-flood.mjs '{"url":"http://127.0.0.1:4318/v1/traces","concurrency":24,"durationMs":20000}'
 *
 * Plain JavaScript: a child process started by vitest cannot load TypeScript.
 */
import http from 'node:http';
import { BasicTracerProvider, InMemorySpanExporter, RandomIdGenerator, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

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

const spanIds = new RandomIdGenerator();
let traceNumber = 0;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  idGenerator: {
    generateTraceId: () => `${TRACE_MARK}00000000${(traceNumber++).toString(16).padStart(16, '0')}`,
    generateSpanId: () => spanIds.generateSpanId(),
  },
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const monitor = createLlmMonitor({ tracerProvider: provider, captureTokenText: true });
const content = 'x'.repeat(options.contentBytes);
for (let i = 0; i < options.sessionsPerRequest; i += 1) {
  const sessionId = `${SESSION_MARK}00000000-${String(i).padStart(6, '0')}`;
  const session = monitor.startSession({ sessionId, task: 'flood', model: 'gpt-4o-mini', content });
  for (const stage of BUILTIN_STAGE_IDS) {
    session.stage(stage, { message: `stage ${stage}` });
    if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5, 'a few tokens ');
  }
  session.complete({ inputTokens: 100, outputTokens: 100 });
}
const spans = exporter.getFinishedSpans();
const template = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans));
await provider.shutdown();

function offsetsAfter(buffer, mark) {
  const offsets = [];
  for (let at = buffer.indexOf(mark); at !== -1; at = buffer.indexOf(mark, at + 1)) offsets.push(at + mark.length);
  return offsets;
}
const traceIdOffsets = offsetsAfter(template, Buffer.from(TRACE_MARK, 'hex'));
const sessionIdOffsets = offsetsAfter(template, Buffer.from(SESSION_MARK, 'utf8'));
if (traceIdOffsets.length !== spans.length || sessionIdOffsets.length < options.sessionsPerRequest) {
  throw new Error(`id patching would be wrong: ${traceIdOffsets.length} trace ids for ${spans.length} spans`);
}

let requestNumber = 0;
function nextRequest() {
  requestNumber += 1;
  const body = Buffer.allocUnsafe(template.length);
  template.copy(body);
  const hex = Buffer.from(requestNumber.toString(16).padStart(8, '0'), 'latin1');
  for (const at of traceIdOffsets) body.writeUInt32BE(requestNumber, at);
  for (const at of sessionIdOffsets) hex.copy(body, at);
  return { number: requestNumber, body };
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
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    while (Date.now() < endAt) {
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
    spansPerRequest: spans.length,
    bodyBytes: template.length,
    sessionsPerRequest: options.sessionsPerRequest,
    statuses,
    retryAfter,
    errors,
    acknowledged,
  })}\n`,
);
