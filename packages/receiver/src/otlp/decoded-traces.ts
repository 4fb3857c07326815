import type { AttributeValue, SpanRecord } from '@llm-monitor/sessions';

/** The spans of one OTLP export request, and the spans that could not be used. */
export interface DecodedTraces {
  readonly spans: SpanRecord[];
  /** Spans refused (bad ids), reported back as OTLP partial success. */
  rejected: number;
  /** Why spans were refused, first reasons first (a few are enough for the error message). */
  readonly rejectReasons: string[];
}

const MAX_REASONS = 5;

/** An empty result to fill. */
export function emptyDecodedTraces(): DecodedTraces {
  return { spans: [], rejected: 0, rejectReasons: [] };
}

/** Counts `count` spans refused for `reason` and keeps the first few distinct reasons. */
export function rejectSpan(decoded: DecodedTraces, reason: string, count = 1): void {
  decoded.rejected += count;
  if (decoded.rejectReasons.length < MAX_REASONS && !decoded.rejectReasons.includes(reason)) {
    decoded.rejectReasons.push(reason);
  }
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const HEX_ID = /^[0-9a-f]*$/;

/**
 * Why the ids of a span make it unusable, or `undefined` when they are fine. The specification asks
 * for 16-byte trace ids and 8-byte span ids, neither all zeros; a parent id is empty or 8 bytes.
 */
export function invalidIdsReason(traceId: string, spanId: string, parentSpanId: string): string | undefined {
  if (traceId.length !== 32 || !HEX_ID.test(traceId) || traceId === ZERO_TRACE_ID) return 'invalid trace id';
  if (spanId.length !== 16 || !HEX_ID.test(spanId) || spanId === ZERO_SPAN_ID) return 'invalid span id';
  if (parentSpanId !== '' && (parentSpanId.length !== 16 || !HEX_ID.test(parentSpanId))) return 'invalid parent span id';
  return undefined;
}

/**
 * Stores an attribute as an own property. A plain assignment of the key `__proto__` would replace
 * the object's prototype instead, letting a sender fake attributes through it.
 */
export function setAttribute(target: Record<string, AttributeValue>, key: string, value: AttributeValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * How deeply attribute values (arrays and key-value lists) may nest. Real instrumentations nest a
 * few levels; the cap turns a hostile body nested thousands deep into a 400 instead of a stack overflow.
 */
export const MAX_VALUE_DEPTH = 32;
