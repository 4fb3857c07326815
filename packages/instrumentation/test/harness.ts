import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_SPAN_TYPE } from '@llm-monitor/semconv';

/** A real SDK pipeline into memory, and the diagnostic errors the instrumentation reported. */
export interface Harness {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  readonly diagErrors: unknown[][];
  /** Finished spans that are not pending markers. */
  spans(): ReadableSpan[];
  /** The pending markers exported so far. */
  markers(): ReadableSpan[];
  close(): Promise<void>;
}

export function createHarness(): Harness {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const diagErrors: unknown[][] = [];
  const logger: DiagLogger = {
    error: (...args) => diagErrors.push(args),
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, DiagLogLevel.ERROR);
  return {
    exporter,
    provider,
    diagErrors,
    spans: () => exporter.getFinishedSpans().filter((span) => span.attributes[ATTR_SPAN_TYPE] !== 'pending'),
    markers: () => exporter.getFinishedSpans().filter((span) => span.attributes[ATTR_SPAN_TYPE] === 'pending'),
    close: async () => {
      diag.disable();
      await provider.shutdown();
    },
  };
}

/** Milliseconds since the epoch of an SDK high-resolution time. */
export function millis([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}

/** An async iterable of `items`, optionally throwing after `failAfter` items; records whether it was returned. */
export function source<T>(items: readonly T[], failAfter?: number): AsyncIterable<T> & { returned: boolean } {
  const iterable = {
    returned: false,
    [Symbol.asyncIterator]() {
      let index = 0;
      return {
        next: async (): Promise<IteratorResult<T>> => {
          await new Promise((resolve) => setImmediate(resolve));
          if (failAfter !== undefined && index >= failAfter) throw new Error('upstream reset');
          return index < items.length ? { done: false, value: items[index++]! } : { done: true, value: undefined };
        },
        return: async (): Promise<IteratorResult<T>> => {
          iterable.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return iterable;
}
