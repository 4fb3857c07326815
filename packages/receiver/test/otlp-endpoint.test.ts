import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReceiver, decodeTraceRequestProtobuf } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { asProtobuf, deeplyNestedJson, deeplyNestedProtobuf, sdkSpans } from './otlp-fixtures.js';

let receiver: Receiver;

beforeEach(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', otlpMaxBodyBytes: 64 * 1024 });
});

afterEach(async () => {
  await receiver.close();
});

function post(body: Buffer | string, headers: Record<string, string>) {
  return receiver.otlpServer.inject({ method: 'POST', url: '/v1/traces', payload: body, headers });
}

/** A valid JSON request whose spans are sessions the pipeline can see. */
function sessionRequest(spanCount: number, traceId = '5b8efff798038103d269b633813fc60c'): string {
  const spans = Array.from({ length: spanCount }, (_, i) => ({
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'chat m',
    startTimeUnixNano: '1763812800000000000',
    endTimeUnixNano: '1763812801000000000',
    attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }],
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
}

describe('POST /v1/traces', () => {
  it('accepts protobuf and answers with an empty protobuf ExportTraceServiceResponse', async () => {
    const spans = await sdkSpans();
    const response = await post(asProtobuf(spans), { 'content-type': 'application/x-protobuf' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    expect(response.rawPayload.length).toBe(0);
    const session = receiver.pipeline.store.get(spans[0]!.spanContext().traceId);
    expect(session).toMatchObject({ model: 'fixture-model', status: 'failed', error: 'boom', service_name: 'fixture-app' });
  });

  it('accepts JSON and answers in JSON', async () => {
    const response = await post(sessionRequest(2), { 'content-type': 'application/json; charset=utf-8' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({});
    expect(receiver.pipeline.store.get('5b8efff798038103d269b633813fc60c')?.model).toBe('m');
  });

  it('accepts gzip bodies, protobuf and JSON', async () => {
    const spans = await sdkSpans();
    const protobuf = await post(gzipSync(asProtobuf(spans)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(protobuf.statusCode).toBe(200);
    expect(receiver.pipeline.store.get(spans[0]!.spanContext().traceId)?.model).toBe('fixture-model');

    const json = await post(gzipSync(sessionRequest(1, 'c'.repeat(32))), {
      'content-type': 'application/json',
      'content-encoding': 'GZIP',
    });
    expect(json.statusCode).toBe(200);
    expect(receiver.pipeline.store.get('c'.repeat(32))?.model).toBe('m');
  });

  it('answers 400, not a crash, for attribute values nested a thousand deep', async () => {
    for (const [body, type] of [
      [deeplyNestedProtobuf(1_000), 'application/x-protobuf'],
      [deeplyNestedJson(1_000), 'application/json'],
    ] as const) {
      const response = await post(body, { 'content-type': type });
      expect(response.statusCode).toBe(400);
      expect(response.rawPayload.toString('utf8')).toMatch(/LLMMON_ERR_MALFORMED_OTLP/);
    }
    // Reasonable nesting is fine.
    expect((await post(deeplyNestedProtobuf(8), { 'content-type': 'application/x-protobuf' })).statusCode).toBe(200);
    expect((await post(deeplyNestedJson(8), { 'content-type': 'application/json' })).statusCode).toBe(200);
  });

  it('reports refused spans as partial success, keeping the good ones', async () => {
    const request = JSON.parse(sessionRequest(2)) as { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] };
    request.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.spanId = '0000000000000000';
    const response = await post(JSON.stringify(request), { 'content-type': 'application/json' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: 'rejected 1 span(s): invalid span id' } });
    expect(receiver.pipeline.store.size).toBe(1);
  });

  it('answers 415 with a google.rpc.Status for an unknown content type', async () => {
    const response = await post('hello', { 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 3, message: expect.stringMatching(/^LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE: .*text\/plain/) });
  });

  it('answers 400 for an unknown content encoding', async () => {
    const response = await post('x', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/^LLMMON_ERR_UNSUPPORTED_ENCODING: .*"br"/);
  });

  it('answers 400 in the request encoding for malformed bodies, and keeps what was accepted', async () => {
    await post(sessionRequest(1), { 'content-type': 'application/json' });
    const badJson = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().message).toMatch(/^LLMMON_ERR_MALFORMED_OTLP: cannot decode json/);

    const badProtobuf = await post(Buffer.from([0x0a, 0x05, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(badProtobuf.statusCode).toBe(400);
    expect(badProtobuf.headers['content-type']).toBe('application/x-protobuf');
    // google.rpc.Status: field 1 (code) = 3, then field 2 (message).
    expect([...badProtobuf.rawPayload.subarray(0, 3)]).toEqual([0x08, 0x03, 0x12]);
    expect(badProtobuf.rawPayload.toString('utf8')).toContain('LLMMON_ERR_MALFORMED_OTLP');

    const badGzip = await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(badGzip.statusCode).toBe(400);
    expect(receiver.pipeline.store.size).toBe(1);
  });

  it('answers 413 for bodies over the limit, before and after decompression', async () => {
    const large = sessionRequest(600);
    expect(large.length).toBeGreaterThan(64 * 1024);
    const raw = await post(large, { 'content-type': 'application/json' });
    expect(raw.statusCode).toBe(413);
    expect(raw.json().message).toMatch(/^LLMMON_ERR_PAYLOAD_TOO_LARGE/);

    const compressed = gzipSync(large);
    expect(compressed.length).toBeLessThan(64 * 1024);
    const inflated = await post(compressed, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(inflated.statusCode).toBe(413);
    expect(inflated.json().message).toMatch(/^LLMMON_ERR_PAYLOAD_TOO_LARGE: decompressed body exceeds 65536 bytes/);
  });

  it('answers 404 with a Status for other paths', async () => {
    const response = await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/metrics',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toMatch(/^LLMMON_ERR_ROUTE_NOT_FOUND/);
  });

  it('decodes the partial-success response of the protobuf encoding', async () => {
    const spans = await sdkSpans();
    const body = asProtobuf(spans);
    // Break the trace id of every span: 16 zero bytes are invalid.
    const traceId = Buffer.from(spans[0]!.spanContext().traceId, 'hex');
    const broken = Buffer.from(body);
    for (let at = broken.indexOf(traceId); at !== -1; at = broken.indexOf(traceId, at + 1)) broken.fill(0, at, at + 16);
    expect(decodeTraceRequestProtobuf(broken).rejected).toBe(spans.length);
    const response = await post(broken, { 'content-type': 'application/x-protobuf' });
    expect(response.statusCode).toBe(200);
    // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 2, error_message (2) } }
    expect(response.rawPayload[0]).toBe(0x0a);
    expect(response.rawPayload[2]).toBe(0x08);
    expect(response.rawPayload[3]).toBe(spans.length);
  });
});

describe('spans of a session already removed', () => {
  it('are reported as rejected, with the reason', async () => {
    const body = sessionRequest(1, 'd'.repeat(32));
    await post(body, { 'content-type': 'application/json' });
    // The session completes (its one span ended) and retention removes it.
    receiver.pipeline.sweep(Date.now() + 2 * 3600_000);
    expect(receiver.pipeline.store.size).toBe(0);
    const late = await post(body, { 'content-type': 'application/json' });
    expect(late.json()).toEqual({
      partialSuccess: {
        rejectedSpans: '1',
        errorMessage: 'rejected 1 span(s): session already ended or removed (release_spans_after_seconds, retention)',
      },
    });
  });

  it('answer application/protobuf requests in application/protobuf', async () => {
    const response = await post(asProtobuf(await sdkSpans()), { 'content-type': 'application/protobuf' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/protobuf');
  });
});
