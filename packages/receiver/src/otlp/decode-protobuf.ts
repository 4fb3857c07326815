/**
 * Decodes `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` from protobuf into
 * span records. Field numbers follow opentelemetry-proto's trace/v1, common/v1 and resource/v1.
 * Each `read…` function reads one message from the reader's position up to `end`.
 */
import type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from '@llm-monitor/sessions';
import { emptyDecodedTraces, invalidIdsReason, MAX_VALUE_DEPTH, rejectSpan, setAttribute } from './decoded-traces.js';
import type { DecodedTraces } from './decoded-traces.js';
import { ProtobufError, ProtobufReader, WIRE } from './protobuf-reader.js';
import { runToEnd } from './sliced-work.js';
import type { Steps } from './sliced-work.js';

/** Spans decoded between two yields of {@link decodeTraceRequestProtobufSteps}. */
const SPANS_PER_STEP = 128;

interface ScopeInfo {
  name: string;
  version: string;
}

/** Decodes a protobuf export request; throws `ProtobufError` when the body is not one. */
export function decodeTraceRequestProtobuf(body: Buffer): DecodedTraces {
  return runToEnd(decodeTraceRequestProtobufSteps(body));
}

/**
 * {@link decodeTraceRequestProtobuf} in steps: yields after every {@link SPANS_PER_STEP} spans, so a
 * large request can be decoded a slice at a time (see `sliced-work.ts`).
 */
export function* decodeTraceRequestProtobufSteps(body: Buffer): Steps<DecodedTraces> {
  const decoded = emptyDecodedTraces();
  const reader = new ProtobufReader(body);
  const progress = { spans: 0 };
  while (reader.position < body.length) {
    const tag = reader.tag();
    if (tag >>> 3 === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'resource_spans');
      yield* readResourceSpans(reader, reader.lengthDelimited(), decoded, progress);
    } else reader.skip(tag & 7);
  }
  return decoded;
}

function* readResourceSpans(reader: ProtobufReader, end: number, decoded: DecodedTraces, progress: { spans: number }): Steps<void> {
  let resource: Attributes = {};
  // The resource may follow its scope spans on the wire: remember where they are, decode after.
  const scopeSpans: [number, number][] = [];
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'resource');
      resource = readResource(reader, reader.lengthDelimited());
    } else if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'scope_spans');
      const scopeEnd = reader.lengthDelimited();
      scopeSpans.push([reader.position, scopeEnd]);
      reader.position = scopeEnd;
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'ResourceSpans');
  for (const [start, scopeEnd] of scopeSpans) {
    reader.position = start;
    yield* readScopeSpans(reader, scopeEnd, resource, decoded, progress);
  }
  reader.position = end;
}

function readResource(reader: ProtobufReader, end: number): Attributes {
  const attributes: Record<string, AttributeValue> = {};
  while (reader.position < end) {
    const tag = reader.tag();
    if (tag >>> 3 === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'resource.attributes');
      readKeyValue(reader, reader.lengthDelimited(), attributes);
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'Resource');
  return attributes;
}

function* readScopeSpans(
  reader: ProtobufReader,
  end: number,
  resource: Attributes,
  decoded: DecodedTraces,
  progress: { spans: number },
): Steps<void> {
  let scope: ScopeInfo = { name: '', version: '' };
  const spans: SpanRecord[] = [];
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'scope');
      scope = readScope(reader, reader.lengthDelimited());
    } else if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'spans');
      spans.push(readSpan(reader, reader.lengthDelimited(), resource));
      progress.spans += 1;
      // The reader belongs to this request alone: it resumes where it stopped.
      if (progress.spans % SPANS_PER_STEP === 0) yield;
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'ScopeSpans');
  for (const span of spans) {
    // The scope may come after the spans on the wire, so it is set once all are read.
    (span as { scope: ScopeInfo }).scope = scope;
    const reason = invalidIdsReason(span.traceId, span.spanId, span.parentSpanId);
    if (reason) rejectSpan(decoded, reason);
    else decoded.spans.push(span);
  }
}

function readScope(reader: ProtobufReader, end: number): ScopeInfo {
  const scope: ScopeInfo = { name: '', version: '' };
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'scope.name');
      scope.name = reader.string();
    } else if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'scope.version');
      scope.version = reader.string();
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'InstrumentationScope');
  return scope;
}

const NO_SCOPE: ScopeInfo = { name: '', version: '' };

function readSpan(reader: ProtobufReader, end: number, resource: Attributes): SpanRecord {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startTimeUnixMs = 0;
  let endTimeUnixMs = 0;
  const attributes: Record<string, AttributeValue> = {};
  const events: SpanEventRecord[] = [];
  let droppedEventsCount = 0;
  let status: { code: SpanStatusCode; message: string } = { code: 0, message: '' };
  while (reader.position < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        reader.expect(tag, WIRE.lengthDelimited, 'span.trace_id');
        traceId = reader.hex();
        break;
      case 2:
        reader.expect(tag, WIRE.lengthDelimited, 'span.span_id');
        spanId = reader.hex();
        break;
      case 4:
        reader.expect(tag, WIRE.lengthDelimited, 'span.parent_span_id');
        parentSpanId = reader.hex();
        break;
      case 5:
        reader.expect(tag, WIRE.lengthDelimited, 'span.name');
        name = reader.string();
        break;
      case 6:
        reader.expect(tag, WIRE.varint, 'span.kind');
        kind = reader.varint();
        break;
      case 7:
        reader.expect(tag, WIRE.fixed64, 'span.start_time_unix_nano');
        startTimeUnixMs = reader.fixed64NanosAsMillis();
        break;
      case 8:
        reader.expect(tag, WIRE.fixed64, 'span.end_time_unix_nano');
        endTimeUnixMs = reader.fixed64NanosAsMillis();
        break;
      case 9:
        reader.expect(tag, WIRE.lengthDelimited, 'span.attributes');
        readKeyValue(reader, reader.lengthDelimited(), attributes);
        break;
      case 11:
        reader.expect(tag, WIRE.lengthDelimited, 'span.events');
        events.push(readEvent(reader, reader.lengthDelimited()));
        break;
      case 12:
        reader.expect(tag, WIRE.varint, 'span.dropped_events_count');
        droppedEventsCount = reader.varint();
        break;
      case 15:
        reader.expect(tag, WIRE.lengthDelimited, 'span.status');
        status = readStatus(reader, reader.lengthDelimited());
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  reader.endOf(end, 'Span');
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixMs,
    endTimeUnixMs,
    attributes,
    events,
    ...(droppedEventsCount > 0 ? { droppedEventsCount } : {}),
    status,
    resource,
    scope: NO_SCOPE,
  };
}

function readEvent(reader: ProtobufReader, end: number): SpanEventRecord {
  let timeUnixMs = 0;
  let name = '';
  const attributes: Record<string, AttributeValue> = {};
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 1) {
      reader.expect(tag, WIRE.fixed64, 'event.time_unix_nano');
      timeUnixMs = reader.fixed64NanosAsMillis();
    } else if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'event.name');
      name = reader.string();
    } else if (field === 3) {
      reader.expect(tag, WIRE.lengthDelimited, 'event.attributes');
      readKeyValue(reader, reader.lengthDelimited(), attributes);
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'Span.Event');
  return { name, timeUnixMs, attributes };
}

function readStatus(reader: ProtobufReader, end: number): { code: SpanStatusCode; message: string } {
  let code = 0;
  let message = '';
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'status.message');
      message = reader.string();
    } else if (field === 3) {
      reader.expect(tag, WIRE.varint, 'status.code');
      code = reader.varint();
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'Status');
  // Unknown enum values are treated as unset, as proto3 open enums allow.
  return { code: code === 1 || code === 2 ? code : 0, message };
}

/** Reads one KeyValue into `target` (a repeated key keeps its last value, as protobuf maps do). */
function readKeyValue(reader: ProtobufReader, end: number, target: Record<string, AttributeValue>, depth = 0): void {
  let key = '';
  let value: AttributeValue = null;
  while (reader.position < end) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'key');
      key = reader.string();
    } else if (field === 2) {
      reader.expect(tag, WIRE.lengthDelimited, 'value');
      value = readAnyValue(reader, reader.lengthDelimited(), depth);
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'KeyValue');
  setAttribute(target, key, value);
}

function readAnyValue(reader: ProtobufReader, end: number, depth: number): AttributeValue {
  if (depth > MAX_VALUE_DEPTH) throw new ProtobufError(`attribute values nest deeper than ${MAX_VALUE_DEPTH} levels`);
  let value: AttributeValue = null;
  while (reader.position < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        reader.expect(tag, WIRE.lengthDelimited, 'string_value');
        value = reader.string();
        break;
      case 2:
        reader.expect(tag, WIRE.varint, 'bool_value');
        value = reader.varint() !== 0;
        break;
      case 3:
        reader.expect(tag, WIRE.varint, 'int_value');
        value = reader.int64();
        break;
      case 4:
        reader.expect(tag, WIRE.fixed64, 'double_value');
        value = reader.double();
        break;
      case 5:
        reader.expect(tag, WIRE.lengthDelimited, 'array_value');
        value = readArrayValue(reader, reader.lengthDelimited(), depth + 1);
        break;
      case 6: {
        reader.expect(tag, WIRE.lengthDelimited, 'kvlist_value');
        value = readKeyValueList(reader, reader.lengthDelimited(), depth + 1);
        break;
      }
      case 7:
        reader.expect(tag, WIRE.lengthDelimited, 'bytes_value');
        value = reader.base64();
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  reader.endOf(end, 'AnyValue');
  return value;
}

function readArrayValue(reader: ProtobufReader, end: number, depth: number): AttributeValue[] {
  const values: AttributeValue[] = [];
  while (reader.position < end) {
    const tag = reader.tag();
    if (tag >>> 3 === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'array_value.values');
      values.push(readAnyValue(reader, reader.lengthDelimited(), depth));
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'ArrayValue');
  return values;
}

function readKeyValueList(reader: ProtobufReader, end: number, depth: number): Record<string, AttributeValue> {
  const entries: Record<string, AttributeValue> = {};
  while (reader.position < end) {
    const tag = reader.tag();
    if (tag >>> 3 === 1) {
      reader.expect(tag, WIRE.lengthDelimited, 'kvlist_value.values');
      readKeyValue(reader, reader.lengthDelimited(), entries, depth);
    } else reader.skip(tag & 7);
  }
  reader.endOf(end, 'KeyValueList');
  return entries;
}
