/**
 * A span processor for live monitoring: it exports ended spans within a short delay (50 ms by
 * default, against the SDK batch processor's 5 s) — at once when nothing was exported for that
 * long, so a quiet application's first update arrives without waiting — and turns the
 * instrumentation's live updates into pending markers at export time, only for spans still running
 * by then: under load a stage that starts and ends within one delay costs no marker at all. Its
 * queues are bounded: when the receiver is down or slow the application is never slowed and memory
 * stays flat; what does not fit is counted and dropped.
 */
import { diag, SpanKind, TraceFlags } from '@opentelemetry/api';
import type { Context, HrTime } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { markerAttributes } from '@llm-monitor/instrumentation';
import type { LiveChannel, LiveUpdate } from '@llm-monitor/instrumentation';

/** Options of {@link LiveSpanProcessor}. */
export interface LiveSpanProcessorOptions {
  /** Longest time an ended span or live update waits before export, in ms (default 25). */
  readonly exportDelayMs?: number;
  /** Most ended spans held while exports are slow or failing (default 2,048); more are dropped. */
  readonly maxQueueSize?: number;
  /** Most live updates held (default 4,096); more are dropped. */
  readonly maxPendingUpdates?: number;
  /** Most spans in one export request (default 2,048). */
  readonly maxExportBatchSize?: number;
  /**
   * An export taking longer counts as failed, in ms (default 10,000). `setupLlmMonitor` gives its OTLP
   * exporter the same timeout, so the exporter's retries end within it too.
   */
  readonly exportTimeoutMs?: number;
}

/** Counters of a {@link LiveSpanProcessor}. */
export interface LiveSpanProcessorStats {
  /** Spans and markers delivered to the exporter successfully. */
  exportedSpans: number;
  /** Spans dropped because the queue was full, or still waiting when a flush or shutdown gave up. */
  droppedSpans: number;
  /** Live updates dropped because too many were waiting. */
  droppedUpdates: number;
  /** Export requests that failed or timed out. */
  failedExports: number;
  /**
   * Spans and markers lost with those failed requests (the exporter had already retried what it
   * could). With the counters above and `queuedSpans`, every span handed to the processor is
   * accounted for: exported, failed, dropped or still waiting.
   */
  failedSpans: number;
  /** Spans waiting now. */
  queuedSpans: number;
}

function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function randomSpanId(): string {
  const bytes = new Uint8Array(8);
  do globalThis.crypto.getRandomValues(bytes);
  while (bytes.every((byte) => byte === 0));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** See the module comment. Use it as a span processor and give it to `createLlmMonitor({ live })`. */
export class LiveSpanProcessor implements SpanProcessor, LiveChannel {
  readonly #exporter: SpanExporter;
  readonly #exportDelayMs: number;
  readonly #maxQueueSize: number;
  readonly #maxPendingUpdates: number;
  readonly #maxExportBatchSize: number;
  readonly #exportTimeoutMs: number;
  #queue: ReadableSpan[] = [];
  #updates: LiveUpdate[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the last export began (`performance.now()`); -Infinity before the first. */
  #lastExportAt = -Infinity;
  #exporting: Promise<void> | undefined;
  #shutDown = false;
  readonly #stats: LiveSpanProcessorStats = {
    exportedSpans: 0,
    droppedSpans: 0,
    droppedUpdates: 0,
    failedExports: 0,
    failedSpans: 0,
    queuedSpans: 0,
  };
  /** Markers are made at export time, only for spans still running: announcing short steps costs nothing. */
  readonly deferred = true;

  constructor(exporter: SpanExporter, options: LiveSpanProcessorOptions = {}) {
    this.#exporter = exporter;
    this.#exportDelayMs = options.exportDelayMs ?? 25;
    this.#maxQueueSize = options.maxQueueSize ?? 2048;
    this.#maxPendingUpdates = options.maxPendingUpdates ?? 4096;
    this.#maxExportBatchSize = options.maxExportBatchSize ?? 2048;
    this.#exportTimeoutMs = options.exportTimeoutMs ?? 10_000;
  }

  /** A snapshot of the counters. */
  stats(): LiveSpanProcessorStats {
    return { ...this.#stats, queuedSpans: this.#queue.length };
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutDown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queue.length >= this.#maxQueueSize) {
      this.#stats.droppedSpans += 1;
      return;
    }
    this.#queue.push(span);
    this.#schedule();
  }

  announce(update: LiveUpdate): void {
    if (this.#shutDown) return;
    if (this.#updates.length >= this.#maxPendingUpdates) {
      this.#stats.droppedUpdates += 1;
      return;
    }
    this.#updates.push(update);
    this.#schedule();
  }

  /**
   * Exports what waits. Bounded: it stops at the first failed or timed-out export (the receiver is
   * down, more attempts would only wait too) and after one export timeout in all; what is left is
   * dropped and counted, so a shutdown never outlasts a process manager's grace period.
   */
  async forceFlush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const deadline = Date.now() + this.#exportTimeoutMs;
    // An export already on its way is not the flush's: its failure (a 400 for its own payload)
    // must not make the flush give up on what waits behind it.
    if (this.#exporting) await this.#exporting;
    const failedBefore = this.#stats.failedExports;
    for (;;) {
      if (this.#exporting) await this.#exporting;
      if (this.#queue.length === 0 && this.#updates.length === 0) return;
      if (this.#stats.failedExports > failedBefore || Date.now() >= deadline) {
        this.#stats.droppedSpans += this.#queue.length;
        this.#stats.droppedUpdates += this.#updates.length;
        this.#queue = [];
        this.#updates = [];
        return;
      }
      await this.#exportNext(deadline - Date.now());
    }
  }

  async shutdown(): Promise<void> {
    if (this.#shutDown) return;
    await this.forceFlush();
    this.#shutDown = true;
    await this.#exporter.shutdown();
  }

  #schedule(): void {
    if (this.#timer || this.#exporting) return;
    // At most one export per delay, and never a delay after the change that asks for it: quiet
    // (nothing exported for a whole delay), what just happened leaves at once — in the next turn, so
    // one burst of calls still travels as one request; busy, it leaves with the next export, one
    // delay after the last, which gathers a batch and lets short stages end before their markers
    // are made.
    const wait = Math.max(0, this.#lastExportAt + this.#exportDelayMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#exportNext();
    }, wait);
    // Never keep the application alive for monitoring.
    this.#timer.unref?.();
  }

  #exportNext(timeoutMs = this.#exportTimeoutMs): Promise<void> {
    if (this.#exporting) return this.#exporting;
    const batch = this.#takeBatch();
    if (batch.length === 0) return Promise.resolve();
    this.#lastExportAt = performance.now();
    this.#exporting = this.#export(batch, timeoutMs).finally(() => {
      this.#exporting = undefined;
      if (this.#queue.length > 0 || this.#updates.length > 0) this.#schedule();
    });
    return this.#exporting;
  }

  #takeBatch(): ReadableSpan[] {
    const markers: ReadableSpan[] = [];
    let taken = 0;
    while (taken < this.#updates.length && markers.length < this.#maxExportBatchSize) {
      const update = this.#updates[taken++]!;
      // Ended by now: the real span (already queued) says all the marker would. Not sampled: the
      // real span will never be exported, so neither is its marker.
      const flags = update.span.spanContext().traceFlags;
      if (update.span.isRecording() && (flags & TraceFlags.SAMPLED) !== 0) markers.push(markerSpan(update));
    }
    this.#updates.splice(0, taken);
    const room = this.#maxExportBatchSize - markers.length;
    return [...markers, ...this.#queue.splice(0, room)];
  }

  #export(batch: ReadableSpan[], timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      const settle = (ok: boolean, error?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        if (ok) this.#stats.exportedSpans += batch.length;
        else {
          this.#stats.failedExports += 1;
          this.#stats.failedSpans += batch.length;
          diag.debug('llm-monitor: live export failed', error);
        }
        resolve();
      };
      const timeout = setTimeout(() => settle(false, new Error('export timed out')), Math.max(1, timeoutMs));
      timeout.unref?.();
      try {
        this.#exporter.export(batch, (result) => settle(result.code === 0, result.error));
      } catch (error) {
        settle(false, error);
      }
    });
  }
}

/** What the SDK's span object offers beyond the API (resource and scope, to copy onto the marker). */
interface SdkSpanParts {
  readonly resource: ReadableSpan['resource'];
  readonly instrumentationScope: ReadableSpan['instrumentationScope'];
}

/** The pending marker for `update`, built as an ended span without going through a tracer. */
function markerSpan(update: LiveUpdate): ReadableSpan {
  const running = update.span.spanContext();
  const parts = update.span as unknown as SdkSpanParts;
  const startTime = toHrTime(update.startTime);
  const endTime = toHrTime(update.at);
  const spanId = randomSpanId();
  return {
    name: update.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId: running.traceId, spanId, traceFlags: running.traceFlags }),
    parentSpanContext: running,
    startTime,
    endTime,
    status: { code: 0 },
    attributes: markerAttributes(update),
    links: [],
    events: update.events.map((event) => ({
      name: event.name,
      attributes: event.attributes,
      time: toHrTime(event.time),
      droppedAttributesCount: 0,
    })),
    duration: toHrTime(update.at - update.startTime),
    ended: true,
    resource: parts.resource,
    instrumentationScope: parts.instrumentationScope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
