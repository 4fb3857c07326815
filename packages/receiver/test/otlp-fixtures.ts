import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Attributes of the fixture's root span: every attribute type OTLP carries. */
export const ROOT_ATTRIBUTES = {
  text: 'héllo ✓',
  count: 42,
  negative: -7,
  big: 2 ** 40,
  ratio: 0.25,
  flag: true,
  names: ['a', 'b'],
  numbers: [1, 2, 3],
};

/** Real spans made by the OpenTelemetry SDK, covering every attribute type and span field. */
export async function sdkSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'fixture-app', 'service.instance.id': 'i-1' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('fixture-scope', '1.2.3');
  const root = tracer.startSpan('root', {
    kind: SpanKind.SERVER,
    startTime: 1_763_812_800_123.456,
    attributes: ROOT_ATTRIBUTES,
  });
  root.addEvent('tokens', { 'llm_monitor.tokens.count': 3 }, 1_763_812_800_200);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  const child = tracer.startSpan('child', { kind: SpanKind.CLIENT, startTime: 1_763_812_800_150 }, trace.setSpan(context.active(), root));
  child.end(1_763_812_800_180);
  root.end(1_763_812_800_300);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** The spans as the OTLP/HTTP protobuf exporter would send them. */
export function asProtobuf(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

/** The spans as the OTLP/HTTP JSON exporter would send them. */
export function asJson(spans: ReadableSpan[]): Buffer {
  return Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
}
