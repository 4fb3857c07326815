/**
 * One measurement of bench/step-tree.bench.ts, in a process of its own: a receiver built from the
 * receiver module it is given, fed the demo workload's sessions (made by the real instrumentation,
 * demo-shaped-session.mjs) as OTLP protobuf requests through
 * `inject`, and the process CPU that took. A process per measurement, so no receiver inherits another
 * one's heap or JIT state. Plain JavaScript: a child process started by vitest cannot load TypeScript.
 *
 * Its one argument is JSON: { receiverModule, spansPerRequest, sets, sessionsPerSet, options }.
 * It prints one line of JSON: { spans, cpuSeconds, heapPerSessionBytes }.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { runDemoShapedSession } from './demo-shaped-session.mjs';

const { receiverModule, spansPerRequest, sets, sessionsPerSet, options } = JSON.parse(process.argv[2]);
const { buildReceiver } = await import(receiverModule);

/** One set of demo sessions (new trace ids) as request bodies. */
async function demoSet() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const monitor = createLlmMonitor({ tracerProvider: provider });
  for (let i = 0; i < sessionsPerSet; i += 1) {
    await runDemoShapedSession(monitor.startSession({ task: 'bench', model: 'gpt-4o-mini', content: 'benchmark input' }));
  }
  const spans = exporter.getFinishedSpans();
  const bodies = [];
  for (let at = 0; at < spans.length; at += spansPerRequest)
    bodies.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.slice(at, at + spansPerRequest))));
  return { bodies, spans: spans.length };
}

const made = [];
for (let set = 0; set < sets; set += 1) made.push(await demoSet());
const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', ...options });
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const before = process.cpuUsage();
let spans = 0;
for (const { bodies, spans: count } of made) {
  for (const payload of bodies) {
    const answer = await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf' },
      payload,
    });
    if (answer.statusCode !== 200) throw new Error(`ingest answered ${answer.statusCode}: ${answer.body}`);
  }
  spans += count;
}
const used = process.cpuUsage(before);
global.gc?.();
const heapPerSessionBytes = (process.memoryUsage().heapUsed - heapBefore) / (sets * sessionsPerSet);
await receiver.close();
process.stdout.write(`${JSON.stringify({ spans, cpuSeconds: (used.user + used.system) / 1e6, heapPerSessionBytes })}\n`);
