/**
 * What one OTLP request costs the receiver, and how many spans per second one core takes through
 * the whole ingest path. Each iteration is one request of 1,100 spans (50 sessions): spans per second
 * = 1,100 × hz. Baselines in the same run: `JSON.parse` of the JSON form (the least any JSON receiver
 * pays), and protobuf decoding alone (for the cost of building sessions on top).
 *
 * Target (issue #4): twice the OpenTelemetry Collector's sizing rule of about 15,000 spans/s per core,
 * that is 30,000 spans/s through the whole path.
 *
 *   pnpm exec vitest bench --run bench/otlp-ingest.bench.ts
 */
import { bench, describe } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { gzipSync } from 'node:zlib';
import { afterAll } from 'vitest';
import { buildReceiver, decodeTraceRequestJson, decodeTraceRequestProtobuf } from '@llm-monitor/receiver';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { SessionBuilder, SessionPipeline } from '@llm-monitor/sessions';

const SESSIONS = 50;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const monitor = createLlmMonitor({ tracerProvider: provider, captureTokenText: true });
for (let i = 0; i < SESSIONS; i += 1) {
  const session = monitor.startSession({ task: 'summarize', model: 'gpt-4o-mini', content: 'benchmark input '.repeat(10) });
  for (const stage of BUILTIN_STAGE_IDS) {
    session.stage(stage, { message: `stage ${stage}` });
    if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5, 'a few tokens ');
  }
  session.complete({ inputTokens: 100, outputTokens: 100 });
}
const spans = exporter.getFinishedSpans();
const protobuf = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
const jsonText = json.toString('utf8');
const decoded = decodeTraceRequestProtobuf(protobuf).spans;

describe(`decode one request: ${SESSIONS} sessions, ${spans.length} spans (protobuf ${protobuf.length} B, JSON ${json.length} B)`, () => {
  bench('baseline: JSON.parse only', () => {
    JSON.parse(jsonText);
  });
  bench('decodeTraceRequestJson(JSON.parse)', () => {
    decodeTraceRequestJson(JSON.parse(jsonText));
  });
  bench('decodeTraceRequestProtobuf', () => {
    decodeTraceRequestProtobuf(protobuf);
  });
});

describe(`rebuild sessions from ${decoded.length} decoded spans`, () => {
  bench('baseline: decodeTraceRequestProtobuf', () => {
    decodeTraceRequestProtobuf(protobuf);
  });
  bench('SessionBuilder.ingest (one batch)', () => {
    new SessionBuilder().ingest(decoded);
  });
});

const gzipped = gzipSync(protobuf);
const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
const pipeline = new SessionPipeline();
afterAll(async () => {
  await receiver.close();
});

describe(`the whole ingest path, ${spans.length} spans per request (spans/s = ${spans.length} × hz)`, () => {
  bench('baseline: decodeTraceRequestProtobuf alone', () => {
    decodeTraceRequestProtobuf(protobuf);
  });
  bench('decode + SessionPipeline.ingest (builder and store)', () => {
    pipeline.ingest(decodeTraceRequestProtobuf(protobuf).spans, Date.now());
  });
  bench('POST /v1/traces protobuf (fastify inject: parse, decode, build, store, answer)', async () => {
    await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: protobuf,
    });
  });
  bench('POST /v1/traces protobuf + gzip', async () => {
    await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      payload: gzipped,
    });
  });
});
