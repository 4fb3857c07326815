/**
 * The decoded form of one OpenTelemetry span, independent of how it travelled (OTLP protobuf or
 * JSON). The receiver decodes into this shape; the session builder consumes it.
 */
import type { LimitHit } from './model.js';

/** An attribute value as OTLP `AnyValue` carries it; bytes arrive as base64 strings. */
export type AttributeValue = string | number | boolean | null | readonly AttributeValue[] | { readonly [key: string]: AttributeValue };

/** Attributes of a span, event or resource, by key. */
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** OTLP `Status.code`: 0 unset, 1 ok, 2 error. */
export type SpanStatusCode = 0 | 1 | 2;

/** A span event (for example a token batch or a recorded exception). */
export interface SpanEventRecord {
  readonly name: string;
  /** Milliseconds since the Unix epoch (fractional). */
  readonly timeUnixMs: number;
  readonly attributes: Attributes;
}

/** One span with its resource and scope, as the session builder sees it. */
export interface SpanRecord {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /** 16 lowercase hex characters. */
  readonly spanId: string;
  /** 16 lowercase hex characters, or `''` for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP `SpanKind` (0 unspecified … 5 consumer). */
  readonly kind: number;
  /** Milliseconds since the Unix epoch (fractional). */
  readonly startTimeUnixMs: number;
  /** Milliseconds since the Unix epoch (fractional); 0 when the span has not ended. */
  readonly endTimeUnixMs: number;
  readonly attributes: Attributes;
  readonly events: readonly SpanEventRecord[];
  /** Events the SDK dropped beyond its limit (OTLP `dropped_events_count`); absent means none. */
  readonly droppedEventsCount?: number;
  /**
   * What the receiver's limits cut of this span when it was admitted (`span-admission.ts`); absent
   * on spans as decoded and on spans nothing was cut of. Kept spans carry it into the store and back,
   * so a session's `limits_hit` survives a restart.
   */
  readonly limitsHit?: readonly LimitHit[];
  readonly status: { readonly code: SpanStatusCode; readonly message: string };
  /** Attributes of the resource that produced the span (`service.name`, …). */
  readonly resource: Attributes;
  /** The instrumentation scope that produced the span. */
  readonly scope: { readonly name: string; readonly version: string };
}

/** Reads a string attribute; other types give `undefined`. */
export function stringAttribute(attributes: Attributes, key: string): string | undefined {
  const value = attributes[key];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a numeric attribute; numeric strings (int64 sent as strings) are accepted. */
export function numberAttribute(attributes: Attributes, key: string): number | undefined {
  const value = attributes[key];
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/**
 * Spans in start order, ties broken by span id so the order is total: a session's spans sort the
 * same whatever order they arrived in.
 */
export function byStart(a: SpanRecord, b: SpanRecord): number {
  return a.startTimeUnixMs - b.startTimeUnixMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}
