import { diag, INVALID_SPAN_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import {
  ATTR_INTER_TOKEN_LATENCY_MAX,
  ATTR_PROGRESS,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_STREAM_OUTCOME,
  ATTR_TIME_PER_OUTPUT_TOKEN,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_PER_SECOND,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  OTEL,
  PROGRESS_COMPLETE,
  SPAN_TYPE,
  builtinStageProgress,
  stageSpanName,
} from '@llm-monitor/semconv';
import { errorDetails, metadataAttributes, preview } from './attribute-encoding.js';
import type { MonitorMetadata } from './attribute-encoding.js';
import type { LiveChannel, LiveEvent, LiveUpdate } from './live-channel.js';
import type { LlmCall, LlmCallOptions } from './llm-call.js';
import { neverThrow } from './never-throw.js';
import { RecordingScope } from './processing-scope.js';
import type {
  ChainStep,
  ChainStepOptions,
  EmbeddingOptions,
  ModelSelection,
  ModelSelectionOptions,
  ProcessingScope,
  SimilaritySearchOptions,
  TemplateOptions,
  ToolCallOptions,
  VectorStoreOptions,
} from './processing-scope.js';
import { createSessionClock } from './session-clock.js';
import type { SessionClock } from './session-clock.js';
import { streamTokens } from './stream-tokens.js';
import type { StreamOutcome, StreamTokensOptions } from './stream-tokens.js';
import { TokenTiming, TokenTracker } from './token-tracker.js';
import type { TokenBatch, TokenBatching } from './token-tracker.js';

/** Settings a session inherits from its monitor. */
export interface SessionSettings {
  readonly tracer: Tracer;
  /** Where live updates go; `undefined` turns them off. */
  readonly live: LiveChannel | undefined;
  readonly captureTokenText: boolean;
  readonly previewLength: number;
  /** Characters kept of LLM prompts and responses (0 = none). */
  readonly llmContentLength: number;
  readonly tokenBatching: TokenBatching;
  /** Least time between two live progress updates while tokens stream, in ms. */
  readonly progressIntervalMs: number;
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
  /** Input tokens of the whole session (default: what a wrapped stream reported). */
  readonly inputTokens?: number;
  /** Output tokens of the whole session (default: what a wrapped stream reported, else the streamed count). */
  readonly outputTokens?: number;
}

/**
 * One processing session. Every method is safe to call in any state and with any arguments:
 * misuse and internal errors go to the OpenTelemetry diagnostic logger, never to the caller.
 */
export interface MonitoredSession extends ProcessingScope {
  /** The session id (`llm_monitor.session.id`). */
  readonly sessionId: string;
  /** Current progress, 0–100. */
  readonly progress: number;
  /** True once the session has completed or failed. */
  readonly ended: boolean;
  /** False for a disabled (no-op) session. */
  readonly recording: boolean;
  /** The context whose active span is the current stage (or the session), for the app's own spans. */
  readonly context: Context;
  /** Moves the session to `stage`; the previous stage ends now. Progress never goes backwards. */
  stage(stage: string, options?: StageOptions): void;
  /** Records `count` streamed tokens (and their text, when the monitor captures token text). */
  tokens(count: number, text?: string): void;
  /**
   * Wraps a stream of chunks (strings, or OpenAI/Anthropic-style chunk objects): passes every chunk
   * through unchanged while recording tokens, timings and usage under the `streaming_response` stage,
   * and ends that stage however the stream ends (completed, early `break`, abort, error).
   */
  streamTokens<T>(source: AsyncIterable<T>, options?: StreamTokensOptions<T>): AsyncIterable<T>;
  /** Ends the session successfully: progress 100, the current stage ends. */
  complete(options?: CompleteOptions): void;
  /** Ends the session as failed with `error`; the current stage ends failed too. */
  fail(error: unknown): void;
}

/**
 * The running stage. It is also its own live update, so starting a stage allocates one record, not
 * two: the hot path of the instrumentation.
 */
interface RunningStage extends LiveUpdate {
  context: Context | undefined;
  /** Timing of the tokens recorded during this stage; made at the first one. */
  timing: TokenTiming | undefined;
}

const NO_EVENTS: readonly LiveEvent[] = [];

/** A session that records spans. Created by `LlmMonitor.startSession`. */
export class RecordingSession implements MonitoredSession {
  readonly sessionId: string;
  readonly recording = true;
  readonly #settings: SessionSettings;
  readonly #now: SessionClock;
  readonly #startedAt: number;
  readonly #span: Span;
  readonly #sessionSpanId: string;
  readonly #tracer: Tracer;
  readonly #sessionContext: Context;
  readonly #start: SpanStart;
  readonly #scope: RecordingScope;
  readonly #tokens: TokenTracker;
  #stage: RunningStage | undefined;
  #progress = 0;
  #ended = false;
  /** Usage the wrapped streams reported, summed over streams (OpenAI's final chunk, Anthropic's messages). */
  #streamUsage: { input?: number; output?: number } = {};
  /** Sends the trailing progress update when tokens stop arriving within an interval. */
  #progressTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(settings: SessionSettings, sessionId: string, start: SpanStart, parent: Context) {
    this.sessionId = sessionId;
    this.#settings = settings;
    this.#start = start;
    this.#now = createSessionClock();
    this.#startedAt = this.#now();
    this.#tokens = new TokenTracker(settings.tokenBatching, settings.progressIntervalMs, settings.live !== undefined);
    this.#span = neverThrow(
      'startSession',
      () =>
        settings.tracer.startSpan(
          start.name,
          { attributes: start.attributes, root: true, links: start.links, startTime: this.#startedAt },
          parent,
        ),
      // A non-recording span keeps every later call a cheap no-op.
      trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    );
    this.#sessionContext = trace.setSpan(parent, this.#span);
    this.#sessionSpanId = this.#span.spanContext().spanId;
    this.#tracer = settings.tracer;
    this.#scope = new RecordingScope(
      {
        tracer: settings.tracer,
        sessionId,
        now: this.#now,
        contentLength: settings.llmContentLength,
        // Steps are announced like stages, so a long one shows while it runs — through a channel that
        // makes markers only for spans still running: a marker span per step would double the spans.
        ...(settings.live?.deferred
          ? {
              announceStep: (span: Span, name: string, attributes: Attributes, spanType: string, parentSpanId: string, startTime: number) =>
                this.#announce(span, name, attributes, spanType, parentSpanId, startTime, NO_EVENTS),
            }
          : {}),
      },
      () => this.context,
    );
    this.#announce(this.#span, start.name, start.attributes, SPAN_TYPE.session, '', this.#startedAt, NO_EVENTS);
  }

  get progress(): number {
    return this.#progress;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get context(): Context {
    const stage = this.#stage;
    if (!stage) return this.#sessionContext;
    // Made on first use: most stages never need a context of their own.
    stage.context ??= trace.setSpan(this.#sessionContext, stage.span);
    return stage.context;
  }

  stage(stage: string, options?: StageOptions): void {
    // try/catch inline rather than through neverThrow: this is the hot path, no closure per call.
    try {
      if (this.#ended) throw new Error(`session ${this.sessionId} has ended; stage ${stage} ignored`);
      const builtinProgress = builtinStageProgress(stage);
      const stageProgress = builtinProgress ?? this.#settings.stageProgress(stage);
      if (stageProgress === undefined) throw new Error(`unknown stage "${stage}": register it first`);
      // One instant for the transition: the previous stage ends exactly when this one starts.
      const at = this.#now();
      this.#endStage(at);
      if (stageProgress > this.#progress) this.#progress = stageProgress;
      // Every attribute costs the SDK two passes, so a stage span carries only what cannot be
      // derived: progress only when it is not the stage's own, and the session id only on its
      // live update (the receiver knows the span's session from its trace).
      const attributes: Attributes = { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, [ATTR_STAGE]: stage };
      if (this.#progress !== builtinProgress) attributes[ATTR_PROGRESS] = this.#progress;
      if (options !== undefined) {
        if (options.message !== undefined) attributes[ATTR_STAGE_MESSAGE] = String(options.message);
        if (options.metadata !== undefined) Object.assign(attributes, metadataAttributes(options.metadata));
      }
      const name = stageSpanName(stage);
      const span = this.#tracer.startSpan(name, { attributes, startTime: at }, this.#sessionContext);
      const running: RunningStage = {
        span,
        name,
        spanType: SPAN_TYPE.stage,
        parentSpanId: this.#sessionSpanId,
        startTime: at,
        at,
        attributes,
        events: NO_EVENTS,
        sessionId: this.sessionId,
        progress: this.#progress,
        context: undefined,
        timing: undefined,
      };
      this.#stage = running;
      this.#send(running);
    } catch (error) {
      diag.error('llm-monitor: stage failed', error);
    }
  }

  tokens(count: number, text?: string): void {
    if (this.#ended || typeof count !== 'number' || !(count > 0)) return;
    try {
      const at = this.#now();
      const captured = this.#settings.captureTokenText && text !== undefined ? String(text) : undefined;
      const batch = this.#tokens.record(count, captured, at);
      const stage = this.#stage;
      if (stage) (stage.timing ??= new TokenTiming()).record(count, at);
      if (batch) this.#addTokenEvent(stage?.span ?? this.#span, batch);
      if (this.#settings.live) this.#pace(at);
    } catch (error) {
      diag.error('llm-monitor: tokens failed', error);
    }
  }

  streamTokens<T>(source: AsyncIterable<T>, options: StreamTokensOptions<T> = {}): AsyncIterable<T> {
    return streamTokens<T, RunningStage>(source, options, {
      begin: (message) => {
        this.stage('streaming_response', message === undefined ? undefined : { message });
        return this.#stage;
      },
      tokens: (count, text) => this.tokens(count, text),
      end: (stage, outcome, error, usage) => this.#endStream(stage, outcome, error, usage),
    });
  }

  startLlmCall(options: LlmCallOptions): LlmCall {
    return this.#scope.startLlmCall(options);
  }

  resolveTemplate<T>(options: TemplateOptions, render: () => T | Promise<T>): Promise<T> {
    return this.#scope.resolveTemplate(options, render);
  }

  selectModel<T>(options: ModelSelectionOptions, select: (selection: ModelSelection) => T | Promise<T>): Promise<T> {
    return this.#scope.selectModel(options, select);
  }

  chainStep<T>(name: string, run: (step: ChainStep) => T | Promise<T>, options?: ChainStepOptions): Promise<T> {
    return this.#scope.chainStep(name, run, options);
  }

  toolCall<T>(options: ToolCallOptions, call: () => T | Promise<T>): Promise<T> {
    return this.#scope.toolCall(options, call);
  }

  embed<T>(options: EmbeddingOptions, embed: () => T | Promise<T>): Promise<T> {
    return this.#scope.embed(options, embed);
  }

  similaritySearch<T>(options: SimilaritySearchOptions<T>, search: () => readonly T[] | Promise<readonly T[]>): Promise<readonly T[]> {
    return this.#scope.similaritySearch(options, search);
  }

  vectorStore<T>(options: VectorStoreOptions, write: () => T | Promise<T>): Promise<T> {
    return this.#scope.vectorStore(options, write);
  }

  complete(options: CompleteOptions = {}): void {
    this.#endSession('complete', () => {
      this.#progress = PROGRESS_COMPLETE;
      this.#span.setStatus({ code: SpanStatusCode.OK });
      this.#recordTotals(options.inputTokens, options.outputTokens);
      const resultPreview = preview(options.result, this.#settings.previewLength);
      if (resultPreview !== undefined) this.#span.setAttribute(ATTR_RESULT_PREVIEW, resultPreview);
    });
  }

  fail(error: unknown): void {
    this.#endSession('fail', () => {
      const { message, type } = errorDetails(error);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message });
      this.#span.setAttribute(OTEL.errorType, type);
      if (this.#stage) {
        this.#stage.span.setStatus({ code: SpanStatusCode.ERROR, message });
        this.#stage.span.setAttribute(OTEL.errorType, type);
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
          const rest = this.#tokens.flush(at);
          if (rest) this.#addTokenEvent(this.#span, rest);
          this.#cancelProgressTimer();
          this.#span.end(at);
        }
      },
      undefined,
    );
  }

  #recordTotals(inputTokens: number | undefined, outputTokens: number | undefined): void {
    this.#span.setAttribute(ATTR_PROGRESS, this.#progress);
    const input = inputTokens ?? this.#streamUsage.input;
    if (input !== undefined) this.#span.setAttribute(ATTR_SESSION_INPUT_TOKENS, input);
    const output = outputTokens ?? this.#streamUsage.output ?? (this.#tokens.total > 0 ? this.#tokens.total : undefined);
    if (output !== undefined) this.#span.setAttribute(ATTR_SESSION_OUTPUT_TOKENS, output);
    if (this.#tokens.session.started) this.#recordTimings(this.#span, this.#tokens.session, this.#startedAt);
  }

  #recordTimings(span: Span, timing: TokenTiming, startedAt: number): void {
    const timings = timing.timings(startedAt);
    if (timings.timeToFirstToken !== undefined) span.setAttribute(ATTR_TIME_TO_FIRST_TOKEN, timings.timeToFirstToken);
    if (timings.tokensPerSecond !== undefined) span.setAttribute(ATTR_TOKENS_PER_SECOND, timings.tokensPerSecond);
    if (timings.timePerOutputToken !== undefined) span.setAttribute(ATTR_TIME_PER_OUTPUT_TOKEN, timings.timePerOutputToken);
    if (timings.maxInterTokenLatency !== undefined) span.setAttribute(ATTR_INTER_TOKEN_LATENCY_MAX, timings.maxInterTokenLatency);
  }

  /**
   * A wrapped stream ended: add its usage, and end the stage it entered — only that stage, and only
   * if it is still the current one (the application may have moved on, or asked for no stage).
   */
  #endStream(
    stage: RunningStage | undefined,
    outcome: StreamOutcome,
    error: unknown,
    usage: { input?: number; output?: number } | undefined,
  ): void {
    try {
      if (usage?.input !== undefined) this.#streamUsage.input = (this.#streamUsage.input ?? 0) + usage.input;
      if (usage?.output !== undefined) this.#streamUsage.output = (this.#streamUsage.output ?? 0) + usage.output;
      if (!stage || stage !== this.#stage || this.#ended) return;
      stage.span.setAttribute(ATTR_STREAM_OUTCOME, outcome);
      if (outcome === 'error' || outcome === 'aborted') {
        const { message, type } = errorDetails(error ?? new Error(outcome));
        stage.span.setStatus({ code: SpanStatusCode.ERROR, message });
        stage.span.setAttribute(OTEL.errorType, type);
      }
      this.#endStage(this.#now());
    } catch (failure) {
      diag.error('llm-monitor: end of stream failed', failure);
    }
  }

  #endStage(at: number): void {
    const stage = this.#stage;
    if (!stage) return;
    this.#stage = undefined;
    const rest = this.#tokens.flush(at);
    if (rest) this.#addTokenEvent(stage.span, rest);
    // The stage's real span now carries its tokens; progress not yet announced would be counted twice.
    this.#tokens.dropProgress();
    this.#cancelProgressTimer();
    if (stage.timing) this.#recordTimings(stage.span, stage.timing, stage.startTime);
    stage.span.end(at);
  }

  /**
   * Live progress pacing: the first token at once, then at most one update per interval, and a
   * trailing update once tokens stop arriving, so the last ones never wait for the next token.
   */
  #pace(at: number): void {
    const wait = this.#tokens.progressWaitMs(at);
    if (wait === 0) {
      this.#cancelProgressTimer();
      this.#announceProgress(at);
    } else if (!this.#progressTimer) {
      this.#progressTimer = setTimeout(() => {
        this.#progressTimer = undefined;
        if (!this.#ended && this.#tokens.progressPending) this.#announceProgress(this.#now());
      }, wait);
      // Never keep the application alive for monitoring.
      this.#progressTimer.unref?.();
    }
  }

  #cancelProgressTimer(): void {
    if (this.#progressTimer) {
      clearTimeout(this.#progressTimer);
      this.#progressTimer = undefined;
    }
  }

  #addTokenEvent(span: Span, batch: TokenBatch): void {
    const attributes: Attributes = { [ATTR_TOKENS_COUNT]: batch.count, [ATTR_TOKENS_TOTAL]: batch.total };
    if (batch.text !== undefined) attributes[ATTR_TOKENS_TEXT] = batch.text;
    span.addEvent(EVENT_TOKENS, attributes, batch.at);
  }

  /** Tells the receiver how far the stream is: running total, and the text since the last update. */
  #announceProgress(at: number): void {
    const { count, text } = this.#tokens.takeProgress(at);
    const attributes: Attributes = { [ATTR_TOKENS_COUNT]: count, [ATTR_TOKENS_TOTAL]: this.#tokens.total };
    if (text !== undefined) attributes[ATTR_TOKENS_TEXT] = text;
    const events: LiveEvent[] = [{ name: EVENT_TOKENS, attributes, time: at }];
    const stage = this.#stage;
    if (stage) {
      const progressAttributes = { ...stage.attributes, [ATTR_TOKENS_TOTAL]: this.#tokens.total };
      this.#announce(stage.span, stage.name, progressAttributes, SPAN_TYPE.stage, this.#sessionSpanId, stage.startTime, events, at);
    } else {
      const progressAttributes = { ...this.#start.attributes, [ATTR_TOKENS_TOTAL]: this.#tokens.total };
      this.#announce(this.#span, this.#start.name, progressAttributes, SPAN_TYPE.session, '', this.#startedAt, events, at);
    }
  }

  #announce(
    span: Span,
    name: string,
    attributes: Attributes,
    spanType: string,
    parentSpanId: string,
    startTime: number,
    events: readonly LiveEvent[],
    at = startTime,
  ): void {
    if (!span.isRecording()) return;
    this.#send({
      span,
      name,
      spanType,
      parentSpanId,
      startTime,
      at,
      attributes,
      events,
      sessionId: this.sessionId,
      progress: this.#progress,
    });
  }

  /** Hands an update to the live channel; a failing channel is reported, never passed on. */
  #send(update: LiveUpdate): void {
    const live = this.#settings.live;
    if (!live) return;
    try {
      live.announce(update);
    } catch (error) {
      diag.error('llm-monitor: live update failed', error);
    }
  }
}
