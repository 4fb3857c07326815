/**
 * Decodes `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` from protobuf into
 * span records. Field numbers follow opentelemetry-proto's trace/v1, common/v1 and resource/v1.
 */
import type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from '@llm-monitor/sessions';
import { emptyDecodedTraces, invalidIdsReason, rejectSpan } from './decoded-traces.js';
import type { DecodedTraces } from './decoded-traces.js';
import { ProtobufReader, WIRE } from './protobuf-reader.js';

interface ScopeInfo {
  name: string;
  version: string;
}

/** Decodes a protobuf export request; throws `ProtobufError` when the body is not one. */
export function decodeTraceRequestProtobuf(body: Buffer): DecodedTraces {
  const decoded = emptyDecodedTraces();
  const request = new ProtobufReader(body);
  while (request.hasMore) {
    const [field, wire] = request.tag();
    if (field === 1) {
      request.expect(wire, WIRE.lengthDelimited, 'resource_spans');
      readResourceSpans(request.message(), decoded);
    } else request.skip(wire);
  }
  return decoded;
}

function readResourceSpans(reader: ProtobufReader, decoded: DecodedTraces): void {
  let resource: Attributes = {};
  const scopeSpans: ProtobufReader[] = [];
  // The resource may follow its scope spans on the wire; collect first, then decode.
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'resource');
      resource = readResource(reader.message());
    } else if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'scope_spans');
      scopeSpans.push(reader.message());
    } else reader.skip(wire);
  }
  for (const scope of scopeSpans) readScopeSpans(scope, resource, decoded);
}

function readResource(reader: ProtobufReader): Attributes {
  const attributes: Record<string, AttributeValue> = {};
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'resource.attributes');
      readKeyValue(reader.message(), attributes);
    } else reader.skip(wire);
  }
  return attributes;
}

function readScopeSpans(reader: ProtobufReader, resource: Attributes, decoded: DecodedTraces): void {
  let scope: ScopeInfo = { name: '', version: '' };
  const spans: ProtobufReader[] = [];
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'scope');
      scope = readScope(reader.message());
    } else if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'spans');
      spans.push(reader.message());
    } else reader.skip(wire);
  }
  for (const span of spans) {
    const record = readSpan(span, resource, scope);
    const reason = invalidIdsReason(record.traceId, record.spanId, record.parentSpanId);
    if (reason) rejectSpan(decoded, reason);
    else decoded.spans.push(record);
  }
}

function readScope(reader: ProtobufReader): ScopeInfo {
  const scope: ScopeInfo = { name: '', version: '' };
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'scope.name');
      scope.name = reader.string();
    } else if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'scope.version');
      scope.version = reader.string();
    } else reader.skip(wire);
  }
  return scope;
}

function readSpan(reader: ProtobufReader, resource: Attributes, scope: ScopeInfo): SpanRecord {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startTimeUnixMs = 0;
  let endTimeUnixMs = 0;
  const attributes: Record<string, AttributeValue> = {};
  const events: SpanEventRecord[] = [];
  let status: { code: SpanStatusCode; message: string } = { code: 0, message: '' };
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        reader.expect(wire, WIRE.lengthDelimited, 'span.trace_id');
        traceId = reader.hex();
        break;
      case 2:
        reader.expect(wire, WIRE.lengthDelimited, 'span.span_id');
        spanId = reader.hex();
        break;
      case 4:
        reader.expect(wire, WIRE.lengthDelimited, 'span.parent_span_id');
        parentSpanId = reader.hex();
        break;
      case 5:
        reader.expect(wire, WIRE.lengthDelimited, 'span.name');
        name = reader.string();
        break;
      case 6:
        reader.expect(wire, WIRE.varint, 'span.kind');
        kind = reader.varint();
        break;
      case 7:
        reader.expect(wire, WIRE.fixed64, 'span.start_time_unix_nano');
        startTimeUnixMs = reader.fixed64NanosAsMillis();
        break;
      case 8:
        reader.expect(wire, WIRE.fixed64, 'span.end_time_unix_nano');
        endTimeUnixMs = reader.fixed64NanosAsMillis();
        break;
      case 9:
        reader.expect(wire, WIRE.lengthDelimited, 'span.attributes');
        readKeyValue(reader.message(), attributes);
        break;
      case 11:
        reader.expect(wire, WIRE.lengthDelimited, 'span.events');
        events.push(readEvent(reader.message()));
        break;
      case 15:
        reader.expect(wire, WIRE.lengthDelimited, 'span.status');
        status = readStatus(reader.message());
        break;
      default:
        reader.skip(wire);
    }
  }
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
    status,
    resource,
    scope,
  };
}

function readEvent(reader: ProtobufReader): SpanEventRecord {
  let timeUnixMs = 0;
  let name = '';
  const attributes: Record<string, AttributeValue> = {};
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.fixed64, 'event.time_unix_nano');
      timeUnixMs = reader.fixed64NanosAsMillis();
    } else if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'event.name');
      name = reader.string();
    } else if (field === 3) {
      reader.expect(wire, WIRE.lengthDelimited, 'event.attributes');
      readKeyValue(reader.message(), attributes);
    } else reader.skip(wire);
  }
  return { name, timeUnixMs, attributes };
}

function readStatus(reader: ProtobufReader): { code: SpanStatusCode; message: string } {
  let code = 0;
  let message = '';
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'status.message');
      message = reader.string();
    } else if (field === 3) {
      reader.expect(wire, WIRE.varint, 'status.code');
      code = reader.varint();
    } else reader.skip(wire);
  }
  // Unknown enum values are treated as unset, as proto3 open enums allow.
  return { code: code === 1 || code === 2 ? code : 0, message };
}

/** Reads one KeyValue into `target` (a repeated key keeps its last value, as protobuf maps do). */
function readKeyValue(reader: ProtobufReader, target: Record<string, AttributeValue>): void {
  let key = '';
  let value: AttributeValue = null;
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'key');
      key = reader.string();
    } else if (field === 2) {
      reader.expect(wire, WIRE.lengthDelimited, 'value');
      value = readAnyValue(reader.message());
    } else reader.skip(wire);
  }
  target[key] = value;
}

function readAnyValue(reader: ProtobufReader): AttributeValue {
  let value: AttributeValue = null;
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    switch (field) {
      case 1:
        reader.expect(wire, WIRE.lengthDelimited, 'string_value');
        value = reader.string();
        break;
      case 2:
        reader.expect(wire, WIRE.varint, 'bool_value');
        value = reader.varint() !== 0;
        break;
      case 3:
        reader.expect(wire, WIRE.varint, 'int_value');
        value = reader.int64();
        break;
      case 4:
        reader.expect(wire, WIRE.fixed64, 'double_value');
        value = reader.double();
        break;
      case 5: {
        reader.expect(wire, WIRE.lengthDelimited, 'array_value');
        value = readArrayValue(reader.message());
        break;
      }
      case 6: {
        reader.expect(wire, WIRE.lengthDelimited, 'kvlist_value');
        const list = reader.message();
        const entries: Record<string, AttributeValue> = {};
        while (list.hasMore) {
          const [entryField, entryWire] = list.tag();
          if (entryField === 1) {
            list.expect(entryWire, WIRE.lengthDelimited, 'kvlist_value.values');
            readKeyValue(list.message(), entries);
          } else list.skip(entryWire);
        }
        value = entries;
        break;
      }
      case 7:
        reader.expect(wire, WIRE.lengthDelimited, 'bytes_value');
        value = reader.base64();
        break;
      default:
        reader.skip(wire);
    }
  }
  return value;
}

function readArrayValue(reader: ProtobufReader): AttributeValue[] {
  const values: AttributeValue[] = [];
  while (reader.hasMore) {
    const [field, wire] = reader.tag();
    if (field === 1) {
      reader.expect(wire, WIRE.lengthDelimited, 'array_value.values');
      values.push(readAnyValue(reader.message()));
    } else reader.skip(wire);
  }
  return values;
}
