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
  // Makes the fixture trace a GenAI session, so tests can see what reached the pipeline.
  'gen_ai.request.model': 'fixture-model',
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

/** A protobuf request with one span whose attribute value nests `depth` arrays deep. */
export function deeplyNestedProtobuf(depth: number): Buffer {
  const lengthPrefixed = (field: number, payload: Buffer): Buffer => {
    const length: number[] = [];
    for (let rest = payload.length; ; rest = Math.floor(rest / 128)) {
      if (rest < 128) {
        length.push(rest);
        break;
      }
      length.push((rest % 128) | 0x80);
    }
    return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), payload]);
  };
  let value = lengthPrefixed(1, Buffer.from('leaf')); // AnyValue { string_value }
  for (let i = 0; i < depth; i += 1) value = lengthPrefixed(5, lengthPrefixed(1, value)); // AnyValue { array_value { values } }
  const keyValue = Buffer.concat([lengthPrefixed(1, Buffer.from('deep')), lengthPrefixed(2, value)]);
  const span = Buffer.concat([lengthPrefixed(1, Buffer.alloc(16, 1)), lengthPrefixed(2, Buffer.alloc(8, 2)), lengthPrefixed(9, keyValue)]);
  return lengthPrefixed(1, lengthPrefixed(2, lengthPrefixed(2, span)));
}

/** The same as {@link deeplyNestedProtobuf}, in OTLP/JSON. */
export function deeplyNestedJson(depth: number): string {
  let value = '{"stringValue":"leaf"}';
  for (let i = 0; i < depth; i += 1) value = `{"arrayValue":{"values":[${value}]}}`;
  return `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'01'.repeat(16)}","spanId":"${'02'.repeat(8)}","attributes":[{"key":"deep","value":${value}}]}]}]}]}`;
}

/** One running span, as the OTLP/JSON request an exporter would send: for tests that need one session. */
export function oneSpanRequest(span: { traceId: string; spanId: string; name: string; attributes: Record<string, string> }): {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  payload: object;
} {
  const attributes = Object.entries(span.attributes).map(([key, value]) => ({ key, value: { stringValue: value } }));
  return {
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json' },
    payload: {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: span.traceId, spanId: span.spanId, name: span.name, startTimeUnixNano: '1763812800000000000', attributes },
              ],
            },
          ],
        },
      ],
    },
  };
}
