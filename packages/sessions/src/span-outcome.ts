/** How a span ended, as sessions, stages, steps and calls report it. */
import { OTEL } from '@llm-monitor/semconv';
import { stringAttribute } from './span-record.js';
import type { SpanRecord } from './span-record.js';

/** OTLP `Status.code` of a failed span. */
export const STATUS_ERROR = 2;

/** The error of a failed span: its status message, else its exception's message, else its `error.type`; `null` when it did not fail. */
export function errorOf(span: SpanRecord): string | null {
  if (span.status.code !== STATUS_ERROR) return null;
  if (span.status.message) return span.status.message;
  const exception = span.events.find((event) => event.name === OTEL.exceptionEvent);
  const message = exception && stringAttribute(exception.attributes, OTEL.exceptionMessage);
  return message ?? stringAttribute(span.attributes, OTEL.errorType) ?? 'error';
}

/** `running` until the span ends, then `ok` or `error`. */
export function spanOutcome(span: SpanRecord): 'running' | 'ok' | 'error' {
  if (span.endTimeUnixMs === 0) return 'running';
  return span.status.code === STATUS_ERROR ? 'error' : 'ok';
}
