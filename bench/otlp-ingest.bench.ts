/**
 * What one OTLP request costs the receiver: decoding (protobuf vs JSON) and rebuilding sessions.
 * Baseline: `JSON.parse` of the same request as JSON — the least any JSON receiver pays. Vitest prints
 * each task's rate and how many times faster or slower it is than the others in its group.
 *
 *   pnpm bench
 */
import { bench, describe } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { decodeTraceRequestJson, decodeTraceRequestProtobuf } from '@llm-monitor/receiver';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { SessionBuilder } from '@llm-monitor/sessions';

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
