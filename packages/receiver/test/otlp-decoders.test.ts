import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson, decodeTraceRequestProtobuf, OtlpJsonError, ProtobufError } from '../src/index.js';
import { asJson, asProtobuf, deeplyNestedJson, deeplyNestedProtobuf, ROOT_ATTRIBUTES, sdkSpans } from './otlp-fixtures.js';
import { encodeTraceRequest, nanos, wire } from './otlp-wire.js';

describe('OTLP decoders', () => {
  it('decode what the OpenTelemetry SDK serialises, identically for protobuf and JSON', async () => {
    const spans = await sdkSpans();
    const fromProtobuf = decodeTraceRequestProtobuf(asProtobuf(spans));
    const fromJson = decodeTraceRequestJson(JSON.parse(asJson(spans).toString('utf8')));
    expect(fromProtobuf.rejected).toBe(0);
    expect(fromJson).toEqual(fromProtobuf);

    const root = fromProtobuf.spans.find((s) => s.name === 'root')!;
    const child = fromProtobuf.spans.find((s) => s.name === 'child')!;
    const sdkRoot = spans.find((s) => s.name === 'root')!;
    expect(root.traceId).toBe(sdkRoot.spanContext().traceId);
    expect(root.spanId).toBe(sdkRoot.spanContext().spanId);
    expect(root.parentSpanId).toBe('');
    expect(child.parentSpanId).toBe(root.spanId);
    expect(root.kind).toBe(2);
    expect(child.kind).toBe(3);
    expect(root.startTimeUnixMs).toBeCloseTo(1_763_812_800_123.456, 3);
    expect(root.endTimeUnixMs).toBeCloseTo(1_763_812_800_300, 3);
    expect(root.attributes).toEqual(ROOT_ATTRIBUTES);
    expect(root.events).toEqual([
      { name: 'tokens', timeUnixMs: expect.closeTo(1_763_812_800_200, 3), attributes: { 'llm_monitor.tokens.count': 3 } },
    ]);
    expect(root.status).toEqual({ code: 2, message: 'boom' });
    expect(root.resource).toMatchObject({ 'service.name': 'fixture-app', 'service.instance.id': 'i-1' });
    expect(root.scope).toEqual({ name: 'fixture-scope', version: '1.2.3' });
  });

  it('read the test encoder of otlp-wire.ts exactly as the SDK serializer: the fuzz and memory tests can trust it', async () => {
    const spans = await sdkSpans();
    const fromSdk = decodeTraceRequestProtobuf(asProtobuf(spans));
    const sdkRoot = spans.find((s) => s.name === 'root')!;
    const sdkChild = spans.find((s) => s.name === 'child')!;
    const handMade = encodeTraceRequest([
      {
        resource: wire.attributes({ 'service.name': wire.string('fixture-app'), 'service.instance.id': wire.string('i-1') }),
        scope: { name: 'fixture-scope', version: '1.2.3' },
        spans: [
          {
            traceId: sdkRoot.spanContext().traceId,
            spanId: sdkRoot.spanContext().spanId,
            name: 'root',
            kind: 2,
            startTimeUnixNano: BigInt(sdkRoot.startTime[0]) * 1_000_000_000n + BigInt(sdkRoot.startTime[1]),
            endTimeUnixNano: BigInt(sdkRoot.endTime[0]) * 1_000_000_000n + BigInt(sdkRoot.endTime[1]),
            attributes: wire.attributes({
              text: wire.string('héllo ✓'),
              count: wire.int(42),
              negative: wire.int(-7),
              big: wire.int(2 ** 40),
              ratio: wire.double(0.25),
              flag: wire.bool(true),
              names: { array: [wire.string('a'), wire.string('b')] },
              numbers: { array: [wire.int(1), wire.int(2), wire.int(3)] },
              'gen_ai.request.model': wire.string('fixture-model'),
            }),
            events: [
              {
                timeUnixNano: BigInt(sdkRoot.events[0]!.time[0]) * 1_000_000_000n + BigInt(sdkRoot.events[0]!.time[1]),
                name: 'tokens',
                attributes: wire.attributes({ 'llm_monitor.tokens.count': wire.int(3) }),
              },
            ],
            status: { code: 2, message: 'boom' },
          },
          {
            traceId: sdkChild.spanContext().traceId,
            spanId: sdkChild.spanContext().spanId,
            parentSpanId: sdkRoot.spanContext().spanId,
            name: 'child',
            kind: 3,
            startTimeUnixNano: nanos(1_763_812_800_150),
            endTimeUnixNano: nanos(1_763_812_800_180),
            attributes: [],
          },
        ],
      },
    ]);
    const byName = (decoded: ReturnType<typeof decodeTraceRequestProtobuf>) =>
      [...decoded.spans].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(decodeTraceRequestProtobuf(handMade))).toEqual(byName(fromSdk));
  });

  it('reject malformed protobuf with a ProtobufError', async () => {
    const body = asProtobuf(await sdkSpans());
    expect(() => decodeTraceRequestProtobuf(body.subarray(0, body.length - 3))).toThrow(ProtobufError);
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/truncated/);
    expect(() => decodeTraceRequestProtobuf(Buffer.from([0x0b]))).toThrow(/wire type 3/);
  });

  it('skip unknown fields, as protobuf requires', async () => {
    const body = asProtobuf(await sdkSpans());
    // Field 99 (varint) and field 100 (length-delimited) prepended to the request.
    const unknown = Buffer.from([0x98, 0x06, 0x01, 0xa2, 0x06, 0x02, 0x68, 0x69]);
    expect(decodeTraceRequestProtobuf(Buffer.concat([unknown, body]))).toEqual(decodeTraceRequestProtobuf(body));
  });

  it('accept the JSON variants the specification allows', () => {
    const decoded = decodeTraceRequestJson({
      resource_spans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  trace_id: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'n',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: 1_544_712_660_000_000_000,
                  endTimeUnixNano: '1544712661000000000',
                  attributes: [
                    { key: 'i', value: { intValue: '-12' } },
                    { key: 'd', value: { doubleValue: 'NaN' } },
                    { key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } },
                    { key: 'b', value: { bytesValue: 'aGk=' } },
                  ],
                  status: { code: 'STATUS_CODE_OK' },
                  futureField: { ignored: true },
                },
              ],
            },
          ],
        },
      ],
    });
    const span = decoded.spans[0]!;
    expect(span.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(span.kind).toBe(3);
    expect(span.startTimeUnixMs).toBe(1_544_712_660_000);
    expect(span.endTimeUnixMs).toBe(1_544_712_661_000);
    expect(span.attributes).toEqual({ i: -12, d: Number.NaN, kv: { x: true }, b: 'aGk=' });
    expect(span.status.code).toBe(1);
  });

  it('count spans with unusable ids as rejected and keep the rest', () => {
    const good = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'ok' };
    const decoded = decodeTraceRequestJson({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                good,
                { ...good, traceId: '00000000000000000000000000000000' },
                { ...good, spanId: 'xyz' },
                { ...good, parentSpanId: 'abc' },
              ],
            },
          ],
        },
      ],
    });
    expect(decoded.spans.map((s) => s.name)).toEqual(['ok']);
    expect(decoded.rejected).toBe(3);
    expect(decoded.rejectReasons).toEqual(['invalid trace id', 'invalid span id', 'invalid parent span id']);
  });

  it('reject JSON of the wrong shape with an OtlpJsonError naming the place', () => {
    expect(() => decodeTraceRequestJson([])).toThrow(OtlpJsonError);
    expect(() => decodeTraceRequestJson({ resourceSpans: {} })).toThrow('request.resourceSpans must be an array');
    expect(() => decodeTraceRequestJson({ resourceSpans: [{ scopeSpans: [{ spans: [1] }] }] })).toThrow(
      'resourceSpans[0].scopeSpans[0].spans[0] must be an object',
    );
  });
});

describe('hostile input', () => {
  const ids = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' };

  it('keeps an attribute named __proto__ as data, without touching the prototype', () => {
    const decoded = decodeTraceRequestJson(
      JSON.parse(
        JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      ...ids,
                      attributes: [
                        {
                          key: '__proto__',
                          value: { kvlistValue: { values: [{ key: 'llm_monitor.span_type', value: { stringValue: 'session' } }] } },
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    );
    const attributes = decoded.spans[0]!.attributes;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(attributes['llm_monitor.span_type']).toBeUndefined();
    expect(Object.keys(attributes)).toEqual(['__proto__']);
  });

  it('passes times no date can hold on as they are, and unreadable ones as NaN: the session builder judges and counts them', () => {
    const decoded = decodeTraceRequestJson({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { ...ids, startTimeUnixNano: 1e300, endTimeUnixNano: '9'.repeat(40) },
                { ...ids, startTimeUnixNano: 'soon' },
              ],
            },
          ],
        },
      ],
    });
    expect(decoded.spans[0]!.startTimeUnixMs).toBe(1e294);
    expect(decoded.spans[0]!.endTimeUnixMs).toBeGreaterThan(1e33);
    expect(decoded.spans[1]!.startTimeUnixMs).toBeNaN();
    expect(decoded.spans[1]!.endTimeUnixMs).toBe(0);
  });
});

describe('nesting far beyond the stack', () => {
  it('is refused as malformed by both decoders, not a stack overflow', () => {
    expect(() => decodeTraceRequestProtobuf(deeplyNestedProtobuf(50_000))).toThrow(ProtobufError);
    expect(() => decodeTraceRequestJson(JSON.parse(deeplyNestedJson(50_000)))).toThrow(OtlpJsonError);
  });
});
