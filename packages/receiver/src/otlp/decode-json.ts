/**
 * Decodes an ExportTraceServiceRequest in the OTLP/JSON encoding: lowerCamelCase keys (the original
 * snake_case names are accepted too, as proto3 JSON parsers do), hex trace and span ids, int64 as
 * string or number, enums as integers (or their names), unknown fields ignored.
 */
import type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from '@llm-monitor/sessions';
import { emptyDecodedTraces, invalidIdsReason, MAX_VALUE_DEPTH, rejectSpan, setAttribute } from './decoded-traces.js';
import type { DecodedTraces } from './decoded-traces.js';
import { runToEnd } from './sliced-work.js';
import type { Steps } from './sliced-work.js';

/** Spans decoded between two yields of {@link decodeTraceRequestJsonSteps}. */
const SPANS_PER_STEP = 128;

/** The JSON is valid but not an export request of the expected shape. */
export class OtlpJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpJsonError';
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value under the lowerCamelCase key, else under the original proto field name. */
function field(object: JsonObject, camel: string, snake: string): unknown {
  const value = object[camel];
  return value === undefined ? object[snake] : value;
}

function list(object: JsonObject, camel: string, snake: string, path: string): unknown[] {
  const value = field(object, camel, snake);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpJsonError(`${path}.${camel} must be an array`);
  return value;
}

function objectAt(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new OtlpJsonError(`${path} must be an object`);
  return value;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

const DIGITS = /^\d+$/;

/**
 * Nanoseconds (decimal string or number) to milliseconds; 0 when absent, `NaN` when unreadable. The
 * session builder checks the range (and counts what it rejects), so nothing is judged here.
 */
function nanosToMillis(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value / 1e6;
  if (typeof value !== 'string' || !DIGITS.test(value)) return NaN;
  // Split off the last six digits so the milliseconds keep their fraction exactly.
  if (value.length <= 6) return Number(value) / 1e6;
  return Number(value.slice(0, -6)) + Number(value.slice(-6)) / 1e6;
}

function int64(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return null;
}

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const STATUS_CODE_NAMES: Record<string, SpanStatusCode> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

function enumValue(value: unknown, names: Record<string, number>): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') return names[value] ?? 0;
  return 0;
}

/** Decodes a parsed OTLP/JSON export request; throws {@link OtlpJsonError} on a wrong shape. */
export function decodeTraceRequestJson(body: unknown): DecodedTraces {
  return runToEnd(decodeTraceRequestJsonSteps(body));
}

/**
 * {@link decodeTraceRequestJson} in steps: yields after every {@link SPANS_PER_STEP} spans, so a
 * large request can be decoded a slice at a time (see `sliced-work.ts`).
 */
export function* decodeTraceRequestJsonSteps(body: unknown): Steps<DecodedTraces> {
  const request = objectAt(body, 'request');
  const decoded = emptyDecodedTraces();
  let count = 0;
  const resourceSpansList = list(request, 'resourceSpans', 'resource_spans', 'request');
  for (let r = 0; r < resourceSpansList.length; r += 1) {
    const path = `resourceSpans[${r}]`;
    const resourceSpans = objectAt(resourceSpansList[r], path);
    const resourceValue = field(resourceSpans, 'resource', 'resource');
    const resource = isObject(resourceValue) ? attributes(resourceValue, `${path}.resource`) : {};
    const scopeSpansList = list(resourceSpans, 'scopeSpans', 'scope_spans', path);
    for (let s = 0; s < scopeSpansList.length; s += 1) {
      const scopePath = `${path}.scopeSpans[${s}]`;
      const scopeSpans = objectAt(scopeSpansList[s], scopePath);
      const scopeValue = field(scopeSpans, 'scope', 'scope');
      const scope = isObject(scopeValue) ? { name: text(scopeValue.name), version: text(scopeValue.version) } : { name: '', version: '' };
      const spans = list(scopeSpans, 'spans', 'spans', scopePath);
      for (let i = 0; i < spans.length; i += 1) {
        const span = spanRecord(objectAt(spans[i], `${scopePath}.spans[${i}]`), `${scopePath}.spans[${i}]`, resource, scope);
        const reason = invalidIdsReason(span.traceId, span.spanId, span.parentSpanId);
        if (reason) rejectSpan(decoded, reason);
        else decoded.spans.push(span);
        count += 1;
        if (count % SPANS_PER_STEP === 0) yield;
      }
    }
  }
  return decoded;
}

function spanRecord(span: JsonObject, path: string, resource: Attributes, scope: SpanRecord['scope']): SpanRecord {
  const statusValue = field(span, 'status', 'status');
  const status = isObject(statusValue) ? statusValue : {};
  const code = enumValue(status.code, STATUS_CODE_NAMES);
  return {
    // Ids are hex in OTLP/JSON (not base64 as plain proto3 JSON would have them).
    traceId: text(field(span, 'traceId', 'trace_id')).toLowerCase(),
    spanId: text(field(span, 'spanId', 'span_id')).toLowerCase(),
    parentSpanId: text(field(span, 'parentSpanId', 'parent_span_id')).toLowerCase(),
    name: text(span.name),
    kind: enumValue(span.kind, SPAN_KIND_NAMES),
    startTimeUnixMs: nanosToMillis(field(span, 'startTimeUnixNano', 'start_time_unix_nano')),
    endTimeUnixMs: nanosToMillis(field(span, 'endTimeUnixNano', 'end_time_unix_nano')),
    attributes: attributes(span, path),
    events: list(span, 'events', 'events', path).map((item, e) => {
      const event = objectAt(item, `${path}.events[${e}]`);
      const record: SpanEventRecord = {
        name: text(event.name),
        timeUnixMs: nanosToMillis(field(event, 'timeUnixNano', 'time_unix_nano')),
        attributes: attributes(event, `${path}.events[${e}]`),
      };
      return record;
    }),
    ...droppedEvents(span),
    status: { code: code === 1 || code === 2 ? code : 0, message: text(status.message) },
    resource,
    scope,
  };
}

function droppedEvents(span: JsonObject): { droppedEventsCount?: number } {
  const dropped = int64(field(span, 'droppedEventsCount', 'dropped_events_count'));
  return dropped !== null && dropped > 0 ? { droppedEventsCount: dropped } : {};
}

function attributes(owner: JsonObject, path: string, depth = 0): Attributes {
  const result: Record<string, AttributeValue> = {};
  for (const item of list(owner, 'attributes', 'attributes', path)) {
    if (!isObject(item) || typeof item.key !== 'string') continue;
    setAttribute(result, item.key, anyValue(item.value, depth));
  }
  return result;
}

function anyValue(value: unknown, depth: number): AttributeValue {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpJsonError(`attribute values nest deeper than ${MAX_VALUE_DEPTH} levels`);
  if (!isObject(value)) return null;
  if ('stringValue' in value || 'string_value' in value) return text(field(value, 'stringValue', 'string_value'));
  if ('boolValue' in value || 'bool_value' in value) return field(value, 'boolValue', 'bool_value') === true;
  if ('intValue' in value || 'int_value' in value) return int64(field(value, 'intValue', 'int_value'));
  if ('doubleValue' in value || 'double_value' in value) {
    const double = field(value, 'doubleValue', 'double_value');
    // proto3 JSON writes NaN and the infinities as strings.
    return typeof double === 'number' ? double : typeof double === 'string' ? Number(double) : null;
  }
  const array = field(value, 'arrayValue', 'array_value');
  if (isObject(array)) return Array.isArray(array.values) ? array.values.map((item) => anyValue(item, depth + 1)) : [];
  const kvlist = field(value, 'kvlistValue', 'kvlist_value');
  if (isObject(kvlist)) return Array.isArray(kvlist.values) ? attributes({ attributes: kvlist.values }, 'kvlistValue', depth + 1) : {};
  const bytes = field(value, 'bytesValue', 'bytes_value');
  if (typeof bytes === 'string') return bytes;
  return null;
}
