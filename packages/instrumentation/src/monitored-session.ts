import { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROGRESS,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  GEN_AI,
  OTEL,
  PROGRESS_COMPLETE,
  SPAN_TYPE,
  llmCallSpanName,
  stageSpanName,
} from '@llm-monitor/semconv';
import { metadataAttributes, preview } from './attribute-encoding.js';
import type { MonitorMetadata } from './attribute-encoding.js';
import { neverThrow } from './never-throw.js';
import { createSessionClock } from './session-clock.js';
import type { SessionClock } from './session-clock.js';

/** Settings a session inherits from its monitor. */
export interface SessionSettings {
  readonly tracer: Tracer;
  readonly captureTokenText: boolean;
  readonly previewLength: number;
  readonly pendingMarkers: boolean;
  /** Progress at which a stage begins, or `undefined` for an unknown stage. */
  readonly stageProgress: (stage: string) => number | undefined;
}

/** Name and attributes a span starts with (the API cannot read them back from a span). */
export interface SpanStart {
  readonly name: string;
  readonly attributes: Attributes;
  readonly links?: Link[];
}

/** Details of one stage transition. */
export interface StageOptions {
  /** What the stage is doing, in words (shown in the timeline). */
  readonly message?: string;
  readonly metadata?: MonitorMetadata;
}

/** How a successful session ends. */
export interface CompleteOptions {
  /** The result; only its first characters are kept, as `llm_monitor.result_preview`. */
  readonly result?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/** Details of an LLM call (a GenAI client span). */
export interface LlmCallOptions {
  /** `gen_ai.operation.name`, e.g. `chat`, `embeddings`, `execute_tool`. */
  readonly operation: string;
  /** `gen_ai.provider.name`, e.g. `openai`, `anthropic`, `ollama`. */
  readonly provider?: string;
  /** `gen_ai.request.model`. */
  readonly model: string;
}

/** How an LLM call ends. */
export interface LlmCallResult {
  readonly responseModel?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Set when the call failed. */
  readonly error?: unknown;
}

/** An LLM call in progress; end it once with {@link LlmCall.end}. */
export interface LlmCall {
  end(result?: LlmCallResult): void;
}

function errorDetails(error: unknown): { message: string; type: string } {
  if (error instanceof Error) return { message: error.message || error.name, type: error.name };
  return { message: String(error), type: typeof error };
}

/**
 * One processing session: the root span of its own trace, with one child span per stage. Every
 * method is safe to call in any state; misuse and internal errors go to the OpenTelemetry
 * diagnostic logger, never to the caller.
 */
export class MonitoredSession {
  /** The session id (`llm_monitor.session.id`). */
  readonly sessionId: string;
  readonly #settings: SessionSettings;
  readonly #span: Span;
  readonly #context: Context;
  readonly #now: SessionClock;
  readonly #startedAtMs: number;
  #stageSpan: Span | undefined;
  #stageContext: Context | undefined;
  #progress = 0;
  #streamedTokens = 0;
  #firstTokenAtMs: number | undefined;
  #ended = false;

  /** Created by {@link LlmMonitor.startSession}; not meant to be constructed directly. */
  constructor(settings: SessionSettings, sessionId: string, start: SpanStart, parent: Context) {
    this.sessionId = sessionId;
    this.#settings = settings;
    this.#now = createSessionClock();
    this.#startedAtMs = this.#now();
    this.#span = neverThrow(
      'startSession',
      () =>
        settings.tracer.startSpan(
          start.name,
          { attributes: start.attributes, root: true, links: start.links, startTime: this.#startedAtMs },
          parent,
        ),
      // A non-recording span keeps every later call a cheap no-op.
      trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    );
    this.#context = trace.setSpan(parent, this.#span);
    this.#announce(this.#span, start, this.#startedAtMs, SPAN_TYPE.session, parent);
  }

  /** Current progress, 0–100. */
  get progress(): number {
    return this.#progress;
  }

  /** True once the session has completed or failed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The context whose active span is the session (or its current stage), for the app's own spans. */
  get context(): Context {
    return this.#stageContext ?? this.#context;
  }

  /** Moves the session to `stage`; the previous stage ends now. Progress never goes backwards. */
  stage(stage: string, options: StageOptions = {}): void {
    neverThrow(
      'stage',
      () => {
        if (this.#ended) throw new Error(`session ${this.sessionId} has ended; stage ${stage} ignored`);
        const stageProgress = this.#settings.stageProgress(stage);
        if (stageProgress === undefined) throw new Error(`unknown stage "${stage}": register it first`);
        // One instant for the transition: the previous stage ends exactly when this one starts.
        const at = this.#now();
        this.#endStage(at);
        this.#progress = Math.max(this.#progress, stageProgress);
        const attributes: Attributes = {
          [ATTR_SPAN_TYPE]: SPAN_TYPE.stage,
          [ATTR_SESSION_ID]: this.sessionId,
          [ATTR_STAGE]: stage,
          [ATTR_PROGRESS]: this.#progress,
          ...metadataAttributes(options.metadata),
        };
        if (options.message !== undefined) attributes[ATTR_STAGE_MESSAGE] = options.message;
        const name = stageSpanName(stage);
        const span = this.#settings.tracer.startSpan(name, { attributes, startTime: at }, this.#context);
        this.#stageSpan = span;
        this.#stageContext = trace.setSpan(this.#context, span);
        this.#announce(span, { name, attributes }, at, SPAN_TYPE.stage, this.#context);
      },
      undefined,
    );
  }

  /** Records `count` streamed tokens (and their text, when the monitor captures token text). */
  tokens(count: number, text?: string): void {
    neverThrow(
      'tokens',
      () => {
        if (this.#ended || !(count > 0)) return;
        this.#firstTokenAtMs ??= this.#now();
        this.#streamedTokens += count;
        const attributes: Attributes = {
          [ATTR_TOKENS_COUNT]: count,
          [ATTR_TOKENS_TOTAL]: this.#streamedTokens,
        };
        if (this.#settings.captureTokenText && text !== undefined) attributes[ATTR_TOKENS_TEXT] = text;
        (this.#stageSpan ?? this.#span).addEvent(EVENT_TOKENS, attributes);
      },
      undefined,
    );
  }

  /** Starts an LLM call span (GenAI semantic conventions) under the current stage. */
  startLlmCall(options: LlmCallOptions): LlmCall {
    return neverThrow<LlmCall>(
      'startLlmCall',
      () => {
        const attributes: Attributes = {
          [GEN_AI.operationName]: options.operation,
          [GEN_AI.requestModel]: options.model,
          // Lets the receiver name the session correctly even when this span arrives first.
          [ATTR_SESSION_ID]: this.sessionId,
        };
        if (options.provider) attributes[GEN_AI.providerName] = options.provider;
        const span = this.#settings.tracer.startSpan(
          llmCallSpanName(options.operation, options.model),
          { kind: SpanKind.CLIENT, attributes, startTime: this.#now() },
          this.context,
        );
        return { end: (result) => neverThrow('llm call end', () => endLlmCall(span, this.#now(), result), undefined) };
      },
      { end: () => undefined },
    );
  }

  /** Ends the session successfully: progress 100, the current stage ends. */
  complete(options: CompleteOptions = {}): void {
    this.#endSession('complete', () => {
      this.#progress = PROGRESS_COMPLETE;
      this.#span.setStatus({ code: SpanStatusCode.OK });
      this.#recordTotals(options.inputTokens, options.outputTokens);
      const resultPreview = preview(options.result, this.#settings.previewLength);
      if (resultPreview !== undefined) this.#span.setAttribute(ATTR_RESULT_PREVIEW, resultPreview);
    });
  }

  /** Ends the session as failed with `error`; the current stage ends failed too. */
  fail(error: unknown): void {
    this.#endSession('fail', () => {
      const { message, type } = errorDetails(error);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message });
      this.#span.setAttribute(OTEL.errorType, type);
      if (this.#stageSpan) {
        this.#stageSpan.setStatus({ code: SpanStatusCode.ERROR, message });
        this.#stageSpan.setAttribute(OTEL.errorType, type);
      }
      if (error instanceof Error) this.#span.recordException(error);
      this.#recordTotals(undefined, undefined);
    });
  }

  /**
   * Ends the current stage and the session at one instant. `describe` adds the outcome; whatever it
   * throws, the spans still end, so a bad argument cannot leave a session running forever.
   */
  #endSession(what: string, describe: () => void): void {
    neverThrow(
      what,
      () => {
        if (this.#ended) throw new Error(`session ${this.sessionId} has already ended`);
        this.#ended = true;
        const at = this.#now();
        try {
          describe();
        } finally {
          this.#endStage(at);
          this.#span.end(at);
        }
      },
      undefined,
    );
  }

  #recordTotals(inputTokens: number | undefined, outputTokens: number | undefined): void {
    this.#span.setAttribute(ATTR_PROGRESS, this.#progress);
    if (inputTokens !== undefined) this.#span.setAttribute(ATTR_SESSION_INPUT_TOKENS, inputTokens);
    const output = outputTokens ?? (this.#streamedTokens > 0 ? this.#streamedTokens : undefined);
    if (output !== undefined) this.#span.setAttribute(ATTR_SESSION_OUTPUT_TOKENS, output);
    if (this.#firstTokenAtMs !== undefined) {
      this.#span.setAttribute(ATTR_TIME_TO_FIRST_TOKEN, (this.#firstTokenAtMs - this.#startedAtMs) / 1000);
    }
  }

  #endStage(at: number): void {
    this.#stageSpan?.end(at);
    this.#stageSpan = undefined;
    this.#stageContext = undefined;
  }

  /**
   * Exports a zero-duration "pending" child of `span` right away, so a receiver sees the span while
   * it is still running (a standard SDK exports a span only when it ends).
   */
  #announce(span: Span, start: SpanStart, startTime: number, spanType: string, parent: Context): void {
    if (!this.#settings.pendingMarkers || !span.isRecording()) return;
    // A root span has no parent in `parent`'s context even when one is active there.
    const parentSpanId = spanType === SPAN_TYPE.session ? '' : (trace.getSpan(parent)?.spanContext().spanId ?? '');
    const attributes: Attributes = {
      ...start.attributes,
      [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
      [ATTR_PENDING_SPAN_TYPE]: spanType,
      [ATTR_PENDING_PARENT_ID]: parentSpanId,
    };
    this.#settings.tracer
      .startSpan(start.name, { attributes, startTime }, trace.setSpan(parent, span))
      .end(startTime);
  }
}

function endLlmCall(span: Span, at: number, result: LlmCallResult = {}): void {
  try {
    if (result.responseModel) span.setAttribute(GEN_AI.responseModel, result.responseModel);
    if (result.inputTokens !== undefined) span.setAttribute(GEN_AI.usageInputTokens, result.inputTokens);
    if (result.outputTokens !== undefined) span.setAttribute(GEN_AI.usageOutputTokens, result.outputTokens);
    if (result.error !== undefined) {
      const { message, type } = errorDetails(result.error);
      span.setAttribute(OTEL.errorType, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
  } finally {
    span.end(at);
  }
}
