/**
 * OTLP/gRPC ingest over a real HTTP/2 socket: the official OpenTelemetry gRPC exporter (protobuf,
 * with and without gzip) and a raw grpc-js client sending what no exporter would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, makeGenericClientConstructor, status as GrpcStatus } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { buildReceiver, LlmMonitorError } from '../src/index.js';
import type { Receiver, ReceiverAddresses } from '../src/index.js';
import { grpcStatusOf, OTLP_GRPC_EXPORT_PATH, OTLP_TRACE_SERVICE, passBytes } from '../src/otlp/otlp-grpc.js';
import { asProtobuf, sdkSpans } from './otlp-fixtures.js';

const RawTraceService = makeGenericClientConstructor(OTLP_TRACE_SERVICE, 'TraceService');

/** Sends `body` as the Export message; resolves with the response bytes, or rejects with the status. */
function exportRaw(client: Client, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(OTLP_GRPC_EXPORT_PATH, passBytes, passBytes, body, new Metadata(), {}, (error, response) =>
      error ? reject(error) : resolve(response!),
    );
  });
}

let receiver: Receiver;
let addresses: ReceiverAddresses;
let client: Client;

beforeAll(async () => {
  receiver = await buildReceiver({
    port: 0,
    otlpPort: 0,
    otlpGrpcPort: 0,
    storageUrl: 'memory:',
    logLevel: 'silent',
    otlpMaxBodyBytes: 256 * 1024,
    otlpMaxConcurrentRequests: 1,
  });
  addresses = await receiver.listen();
  client = new RawTraceService(new URL(addresses.otlpGrpcUrl).host, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await receiver.close();
});

describe('OTLP/gRPC TraceService/Export', () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`takes the official gRPC exporter's spans (compression ${compression}) and builds their session`, async () => {
      const exporter = new OTLPTraceExporter({ url: addresses.otlpGrpcUrl, compression: compression as never });
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `grpc-${compression}` }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      const tracer = provider.getTracer('grpc-test');
      const span = tracer.startSpan('chat gpt-4o-mini', {
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 12,
          'gen_ai.usage.output_tokens': 5,
        },
      });
      span.end();
      const traceId = span.spanContext().traceId;
      await provider.forceFlush();
      await provider.shutdown();
      const session = [...receiver.pipeline.store.values()].find((candidate) => candidate.trace_id === traceId);
      expect(session).toMatchObject({ service_name: `grpc-${compression}`, model: 'gpt-4o-mini', token_counts: { input: 12, output: 5 } });
    });
  }

  it('answers partial success in the ExportTraceServiceResponse for spans it refuses', async () => {
    const spans = await sdkSpans();
    const body = asProtobuf(spans);
    const traceId = Buffer.from(spans[0]!.spanContext().traceId, 'hex');
    for (let at = body.indexOf(traceId); at !== -1; at = body.indexOf(traceId, at + 1)) body.fill(0, at, at + 16);
    const response = await exportRaw(client, body);
    // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 2, error_message (2) } }
    expect(response[0]).toBe(0x0a);
    expect(response[2]).toBe(0x08);
    expect(response[3]).toBe(spans.length);
    expect(response.toString('utf8')).toContain('invalid trace id');
  });

  it('refuses a message that is not an ExportTraceServiceRequest with INVALID_ARGUMENT, and goes on serving', async () => {
    const refused = await exportRaw(client, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])).catch((error: ServiceError) => error);
    expect(refused).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect((refused as ServiceError).details).toMatch(/^LLMMON_ERR_MALFORMED_OTLP: cannot decode protobuf ExportTraceServiceRequest/);
    expect(await exportRaw(client, asProtobuf(await sdkSpans()))).toEqual(Buffer.alloc(0));
  });

  it('refuses a message larger than otlp_max_body_bytes with RESOURCE_EXHAUSTED', async () => {
    const refused = await exportRaw(client, Buffer.alloc(300 * 1024)).catch((error: ServiceError) => error);
    expect(refused).toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED });
  });

  it('shares its admission slots with OTLP/HTTP: overloaded, it answers RESOURCE_EXHAUSTED with a RetryInfo', async () => {
    // The one processing slot (otlp_max_concurrent_requests 1) is held, as an OTLP/HTTP request
    // being decoded holds it: both transports are refused.
    const release = receiver.admission.enter();
    try {
      const refused = await exportRaw(client, asProtobuf(await sdkSpans())).then(
        () => undefined,
        (error: ServiceError) => error,
      );
      expect(refused).toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED });
      expect(refused!.details).toMatch(/^LLMMON_ERR_OVERLOADED/);
      const details = refused!.metadata.get('grpc-status-details-bin')[0] as Buffer;
      expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
      // RetryInfo { retry_delay (1) { seconds (1) = 1 } }
      expect(details.includes(Buffer.from([0x0a, 0x02, 0x08, 0x01]))).toBe(true);
      const http = await fetch(addresses.otlpTracesUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: asProtobuf(await sdkSpans()),
      });
      expect(http.status).toBe(429);
    } finally {
      release();
    }
    // The slot is free again.
    expect(await exportRaw(client, asProtobuf(await sdkSpans()))).toEqual(Buffer.alloc(0));
  });

  it('says which server could not have its port, with the catalogue code', async () => {
    const taken = await buildReceiver({
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: Number(new URL(addresses.otlpGrpcUrl).port),
      storageUrl: 'memory:',
      logLevel: 'silent',
    });
    const failure = await taken.listen().catch((error: unknown) => error);
    await taken.close();
    expect(failure).toBeInstanceOf(LlmMonitorError);
    expect((failure as LlmMonitorError).code).toBe('LLMMON_ERR_PORT_IN_USE');
    expect((failure as LlmMonitorError).message).toContain('the OTLP/gRPC server cannot listen on 127.0.0.1:');
    expect((failure as LlmMonitorError).message).toContain('--otlp-grpc-port or LLM_MONITOR_OTLP_GRPC_PORT');
  });

  it('maps each refusal to the status the OTLP specification gives gRPC, with a RetryInfo where a retry helps', () => {
    const unavailable = grpcStatusOf(new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'the history store cannot take writes now'));
    expect(unavailable).toMatchObject({
      code: GrpcStatus.UNAVAILABLE,
      details: 'LLMMON_ERR_STORE_UNAVAILABLE: the history store cannot take writes now',
    });
    // RetryInfo { retry_delay (1) { seconds (1) = 5 } }
    expect((unavailable.metadata!.get('grpc-status-details-bin')[0] as Buffer).includes(Buffer.from([0x0a, 0x02, 0x08, 0x05]))).toBe(true);
    expect(grpcStatusOf(new LlmMonitorError('LLMMON_ERR_SHUTTING_DOWN', 'going'))).toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    const malformed = grpcStatusOf(new LlmMonitorError('LLMMON_ERR_MALFORMED_OTLP', 'bad'));
    expect(malformed).toEqual({ code: GrpcStatus.INVALID_ARGUMENT, details: 'LLMMON_ERR_MALFORMED_OTLP: bad' });
    expect(grpcStatusOf(new LlmMonitorError('LLMMON_ERR_INTERNAL', 'oops'))).toMatchObject({ code: GrpcStatus.INTERNAL });
  });
});
