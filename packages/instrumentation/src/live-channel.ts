import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROGRESS,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  SPAN_TYPE,
} from '@llm-monitor/semconv';

/** An event carried by a live update (token batches while a stage streams). */
export interface LiveEvent {
  readonly name: string;
  readonly attributes: Attributes;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

/**
 * News about a span that is still running: it started, or it made progress. A standard SDK exports a
 * span only when it ends, so this is how a receiver learns about running sessions and stages.
 */
export interface LiveUpdate {
  /** The running span. */
  readonly span: Span;
  readonly name: string;
  /** `session` or `stage`. */
  readonly spanType: string;
  /** Span id of the running span's parent, `''` for a session. */
  readonly parentSpanId: string;
  /** When the running span started (ms since the epoch). */
  readonly startTime: number;
  /** When this update was taken (ms since the epoch). */
  readonly at: number;
  /** The running span's attributes as of now. */
  readonly attributes: Attributes;
  /**
   * The session id and progress, for the marker: kept apart from `attributes` so the hot path
   * shares the span's own attribute object, and only a marker actually sent pays for the copy.
   */
  readonly sessionId: string;
  readonly progress: number;
  /** Events since the previous update of this span (token batches, with their text when captured). */
  readonly events: readonly LiveEvent[];
}

/** Where live updates go. */
export interface LiveChannel {
  announce(update: LiveUpdate): void;
  /**
   * True when the channel makes a marker only for a span still running when it exports (the
   * {@link LiveSpanProcessor}): then announcing every step costs nothing for the many short ones, and
   * the session announces its steps too, not only itself and its stages.
   */
  readonly deferred?: boolean;
}

/** The attributes of the pending marker for `update` (see docs/semantic-conventions.md). */
export function markerAttributes(update: LiveUpdate): Attributes {
  return {
    ...update.attributes,
    [ATTR_SESSION_ID]: update.sessionId,
    [ATTR_PROGRESS]: update.progress,
    [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
    [ATTR_PENDING_SPAN_TYPE]: update.spanType,
    [ATTR_PENDING_PARENT_ID]: update.parentSpanId,
  };
}

/**
 * The channel that works with any tracer provider: each update becomes a pending-marker span, a
 * child of the running span, started at its start and ended now, so any span processor exports it.
 */
export function markerSpanChannel(tracer: () => Tracer): LiveChannel {
  return {
    announce(update) {
      const marker = tracer().startSpan(
        update.name,
        { attributes: markerAttributes(update), startTime: update.startTime },
        trace.setSpan(ROOT_CONTEXT, update.span),
      );
      for (const event of update.events) marker.addEvent(event.name, event.attributes, event.time);
      marker.end(update.at);
    },
  };
}
