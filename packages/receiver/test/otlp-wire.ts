/**
 * OTLP export requests written by hand, field by field, for tests that need what an SDK will not
 * produce: any value of any type on any key, int64 extremes, NaN doubles, millions of spans quickly.
 * Field numbers follow opentelemetry-proto (trace/v1, common/v1, resource/v1), as the decoder does;
 * `otlp-decoders.test.ts` checks this encoder against the SDK's own serializer.
 */

/** An attribute value on the wire: each OTLP `AnyValue` case. */
export type WireValue =
  | { readonly string: string }
  | { readonly bool: boolean }
  | { readonly int: bigint }
  | { readonly double: number }
  | { readonly bytes: Uint8Array }
  | { readonly array: readonly WireValue[] }
  | { readonly kvlist: readonly WireAttribute[] }
  | { readonly empty: true };

/** One key-value pair. */
export interface WireAttribute {
  readonly key: string;
  readonly value: WireValue;
}

/** One span event. */
export interface WireEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: readonly WireAttribute[];
}

/** One span; ids as hex. */
export interface WireSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind?: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: readonly WireAttribute[];
  readonly events?: readonly WireEvent[];
  readonly droppedEventsCount?: number;
  readonly status?: { readonly code: number; readonly message: string };
}

/** Spans of one resource and scope. */
export interface WireResourceSpans {
  readonly resource: readonly WireAttribute[];
  readonly scope?: { readonly name: string; readonly version: string };
  readonly spans: readonly WireSpan[];
}

/** Builds protobuf bytes into chunks, joined once at the end. */
class Writer {
  readonly #chunks: Uint8Array[] = [];
  length = 0;

  bytes(bytes: Uint8Array): this {
    this.#chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }

  varint(value: bigint | number): this {
    let rest = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (rest >= 0x80n) {
      out.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    out.push(Number(rest));
    return this.bytes(Uint8Array.from(out));
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  lengthDelimited(field: number, payload: Writer | Uint8Array): this {
    const bytes = payload instanceof Writer ? payload.finish() : payload;
    return this.tag(field, 2).varint(bytes.length).bytes(bytes);
  }

  string(field: number, text: string): this {
    return this.lengthDelimited(field, Buffer.from(text, 'utf8'));
  }

  fixed64(field: number, value: bigint): this {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(BigInt.asUintN(64, value));
    return this.tag(field, 1).bytes(bytes);
  }

  double(field: number, value: number): this {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(value);
    return this.tag(field, 1).bytes(bytes);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.#chunks, this.length);
  }
}

function anyValue(value: WireValue): Writer {
  const writer = new Writer();
  if ('string' in value) writer.string(1, value.string);
  else if ('bool' in value) writer.tag(2, 0).varint(value.bool ? 1 : 0);
  else if ('int' in value) writer.tag(3, 0).varint(value.int);
  else if ('double' in value) writer.double(4, value.double);
  else if ('array' in value) {
    const array = new Writer();
    for (const item of value.array) array.lengthDelimited(1, anyValue(item));
    writer.lengthDelimited(5, array);
  } else if ('kvlist' in value) {
    const list = new Writer();
    for (const entry of value.kvlist) list.lengthDelimited(1, keyValue(entry));
    writer.lengthDelimited(6, list);
  } else if ('bytes' in value) writer.lengthDelimited(7, value.bytes);
  return writer;
}

function keyValue(attribute: WireAttribute): Writer {
  return new Writer().string(1, attribute.key).lengthDelimited(2, anyValue(attribute.value));
}

function span(spanRecord: WireSpan): Writer {
  const writer = new Writer()
    .lengthDelimited(1, Buffer.from(spanRecord.traceId, 'hex'))
    .lengthDelimited(2, Buffer.from(spanRecord.spanId, 'hex'));
  if (spanRecord.parentSpanId) writer.lengthDelimited(4, Buffer.from(spanRecord.parentSpanId, 'hex'));
  writer
    .string(5, spanRecord.name)
    .tag(6, 0)
    .varint(spanRecord.kind ?? 1);
  writer.fixed64(7, spanRecord.startTimeUnixNano).fixed64(8, spanRecord.endTimeUnixNano);
  for (const attribute of spanRecord.attributes) writer.lengthDelimited(9, keyValue(attribute));
  for (const event of spanRecord.events ?? []) {
    const eventWriter = new Writer().fixed64(1, event.timeUnixNano).string(2, event.name);
    for (const attribute of event.attributes) eventWriter.lengthDelimited(3, keyValue(attribute));
    writer.lengthDelimited(11, eventWriter);
  }
  if (spanRecord.droppedEventsCount) writer.tag(12, 0).varint(spanRecord.droppedEventsCount);
  if (spanRecord.status)
    writer.lengthDelimited(15, new Writer().string(2, spanRecord.status.message).tag(3, 0).varint(spanRecord.status.code));
  return writer;
}

/** An `ExportTraceServiceRequest` in protobuf. */
export function encodeTraceRequest(resourceSpans: readonly WireResourceSpans[]): Buffer {
  const request = new Writer();
  for (const group of resourceSpans) {
    const resource = new Writer();
    for (const attribute of group.resource) resource.lengthDelimited(1, keyValue(attribute));
    const scopeSpans = new Writer();
    if (group.scope) scopeSpans.lengthDelimited(1, new Writer().string(1, group.scope.name).string(2, group.scope.version));
    for (const each of group.spans) scopeSpans.lengthDelimited(2, span(each));
    request.lengthDelimited(1, new Writer().lengthDelimited(1, resource).lengthDelimited(2, scopeSpans));
  }
  return Buffer.from(request.finish());
}

/** Nanoseconds since the epoch of a time in milliseconds. */
export function nanos(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/** A 32-hex trace id and a 16-hex span id made from numbers (never all zeros). */
export function traceIdOf(n: number): string {
  return (n + 1).toString(16).padStart(32, '0');
}
export function spanIdOf(n: number): string {
  return (n + 1).toString(16).padStart(16, '0');
}

/** Shorthands for attribute values. */
export const wire = {
  string: (value: string): WireValue => ({ string: value }),
  int: (value: bigint | number): WireValue => ({ int: BigInt(value) }),
  double: (value: number): WireValue => ({ double: value }),
  bool: (value: boolean): WireValue => ({ bool: value }),
  attributes: (values: Record<string, WireValue>): WireAttribute[] => Object.entries(values).map(([key, value]) => ({ key, value })),
};
