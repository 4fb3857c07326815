/**
 * The rest of the processing story as child spans: template resolution, model selection, chain
 * steps (nested and parallel), embeddings and vector store work, and LLM calls. Each helper runs the
 * application's own function inside the span, with that span active, ends the span however the
 * function ends, and passes results and errors through untouched.
 */
import { context, diag, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import {
  ATTR_CHAIN_BRANCH,
  ATTR_CHAIN_STEP,
  ATTR_DB_COLLECTION,
  ATTR_DB_OPERATION,
  ATTR_DB_SYSTEM,
  ATTR_EMBEDDING_DIMENSIONS,
  ATTR_EMBEDDING_INPUT_COUNT,
  ATTR_SELECTION_ATTEMPTS,
  ATTR_SELECTION_CANDIDATES,
  ATTR_SELECTION_CHOSEN,
  ATTR_SELECTION_FALLBACKS,
  ATTR_SELECTION_MODEL,
  ATTR_SELECTION_REASON,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STEP_INPUT_PREVIEW,
  ATTR_STEP_KIND,
  ATTR_STEP_OUTPUT_PREVIEW,
  ATTR_TEMPLATE_ID,
  ATTR_TEMPLATE_VARIABLES,
  ATTR_TEMPLATE_VERSION,
  ATTR_VECTOR_RESULT_COUNT,
  ATTR_VECTOR_SCORES,
  ATTR_VECTOR_TOP_K,
  EVENT_SELECTION_FALLBACK,
  GEN_AI,
  GEN_AI_OPERATION,
  OTEL,
  STEP_TYPE,
  llmCallSpanName,
  stepSpanName,
} from '@llm-monitor/semconv';
import type { StepKind } from '@llm-monitor/semconv';
import { errorDetails, preview } from './attribute-encoding.js';
import { startLlmCall } from './llm-call.js';
import type { LlmCall, LlmCallOptions } from './llm-call.js';
import { neverThrow } from './never-throw.js';

/** A template being resolved. */
export interface TemplateOptions {
  readonly templateId: string;
  readonly version?: string;
  /** The variables filled in; only their names are recorded (values may be private). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** A model selection. */
export interface ModelSelectionOptions {
  /** Models considered, in order of preference. */
  readonly candidates: readonly string[];
}

/** Records how a model was chosen, inside {@link ProcessingScope.selectModel}. */
export interface ModelSelection {
  /** A model was tried and failed; the next one is a fallback. */
  fallback(model: string, error: unknown): void;
  /** The model chosen and why (the routing reason). */
  choose(model: string, reason?: string): void;
}

/** An embeddings call (a GenAI `embeddings` span). */
export interface EmbeddingOptions {
  readonly model: string;
  readonly provider?: string;
  /** How many texts are embedded at once. */
  readonly inputCount?: number;
}

/** A similarity search in a vector store. */
export interface SimilaritySearchOptions<T> {
  /** The product: `qdrant`, `pgvector`, `pinecone`, `chroma`, … (`db.system.name`). */
  readonly store: string;
  readonly collection?: string;
  readonly topK: number;
  /** Reads a result's score (default: its `score` property). */
  readonly score?: (result: T) => number | undefined;
}

/** What a chain step is and was given. */
export interface ChainStepOptions {
  /**
   * What the step does, when it is more than a chain: `retrieval`, `rerank`, `agent`, … (default
   * `chain`); the receiver's tree and metrics show it.
   */
  readonly kind?: StepKind;
  /** What the step works on; kept as a preview of `llmContentLength` characters (0 = not kept). */
  readonly input?: unknown;
}

/** A tool the application (or its model) calls. */
export interface ToolCallOptions {
  /** The tool's name (`gen_ai.tool.name`). */
  readonly name: string;
  /** The id the model gave the call, when it asked for it (`gen_ai.tool.call.id`). */
  readonly callId?: string;
  /** The call's arguments; kept as a preview of `llmContentLength` characters (0 = not kept). */
  readonly arguments?: unknown;
}

/** A write or delete in a vector store. */
export interface VectorStoreOptions {
  /** `upsert`, `insert`, `delete`, … (`db.operation.name`). */
  readonly operation: string;
  readonly store: string;
  readonly collection?: string;
  /** Records written or deleted. */
  readonly count?: number;
}

/** Where processing-story spans can be recorded: a session (under its current stage) or a chain step. */
export interface ProcessingScope {
  /** Starts an LLM call span; end it with `call.end({...})`. */
  startLlmCall(options: LlmCallOptions): LlmCall;
  /** Runs `render` as a template-resolution span. */
  resolveTemplate<T>(options: TemplateOptions, render: () => T | Promise<T>): Promise<T>;
  /** Runs `select` as a model-selection span; record fallbacks and the choice on the `selection`. */
  selectModel<T>(options: ModelSelectionOptions, select: (selection: ModelSelection) => T | Promise<T>): Promise<T>;
  /**
   * Runs `run` as a chain step; steps nest through `step`, and run in parallel with `Promise.all`.
   * Its result is kept as the step's output preview (its intermediate result) when content is kept.
   */
  chainStep<T>(name: string, run: (step: ChainStep) => T | Promise<T>, options?: ChainStepOptions): Promise<T>;
  /** Runs `call` as a tool call (a GenAI `execute_tool` span); its result is kept as the output preview when content is kept. */
  toolCall<T>(options: ToolCallOptions, call: () => T | Promise<T>): Promise<T>;
  /** Runs `embed` as a GenAI embeddings span. */
  embed<T>(options: EmbeddingOptions, embed: () => T | Promise<T>): Promise<T>;
  /** Runs `search` as a similarity-search span recording top-k, result count and scores. */
  similaritySearch<T>(options: SimilaritySearchOptions<T>, search: () => readonly T[] | Promise<readonly T[]>): Promise<readonly T[]>;
  /** Runs `write` as a vector-store span (upsert, delete, …). */
  vectorStore<T>(options: VectorStoreOptions, write: () => T | Promise<T>): Promise<T>;
}

/** A chain step: a scope of its own, which can record the conditional branch it took. */
export interface ChainStep extends ProcessingScope {
  /** Records which conditional branch this step took. */
  branch(name: string): void;
}

/** What a scope needs from the session it belongs to. */
export interface ScopeSettings {
  readonly tracer: Tracer;
  readonly sessionId: string | undefined;
  readonly now: () => number;
  /** Characters kept of LLM prompts and responses, and of step inputs and outputs (0 = none). */
  readonly contentLength: number;
  /** Tells a live channel that a step started, so a receiver shows it while it runs. */
  readonly announceStep?: (
    span: Span,
    name: string,
    attributes: Attributes,
    spanType: string,
    parentSpanId: string,
    startTime: number,
  ) => void;
}

interface SpanPlan {
  readonly name: string;
  readonly type: string | undefined;
  readonly kind?: SpanKind;
  readonly attributes: Attributes;
}

/** A scope whose spans go under the context `parent()` returns at the time they start. */
export class RecordingScope implements ProcessingScope {
  readonly #settings: ScopeSettings;
  readonly #parent: () => Context;

  constructor(settings: ScopeSettings, parent: () => Context) {
    this.#settings = settings;
    this.#parent = parent;
  }

  startLlmCall(options: LlmCallOptions): LlmCall {
    return startLlmCall({ ...this.#settings, parent: this.#parent() }, options);
  }

  resolveTemplate<T>(options: TemplateOptions, render: () => T | Promise<T>): Promise<T> {
    const attributes: Attributes = { [ATTR_TEMPLATE_ID]: String(options.templateId) };
    if (options.version !== undefined) attributes[ATTR_TEMPLATE_VERSION] = String(options.version);
    if (options.variables) attributes[ATTR_TEMPLATE_VARIABLES] = Object.keys(options.variables);
    return this.#run({ name: stepSpanName(STEP_TYPE.template, String(options.templateId)), type: STEP_TYPE.template, attributes }, () =>
      render(),
    );
  }

  selectModel<T>(options: ModelSelectionOptions, select: (selection: ModelSelection) => T | Promise<T>): Promise<T> {
    const attempts: string[] = [];
    let chosen: string | undefined;
    let reason: string | undefined;
    let fallbacks = 0;
    let selectionSpan: Span | undefined;
    const selection: ModelSelection = {
      fallback: (model, error) =>
        neverThrow(
          'selectModel.fallback',
          () => {
            attempts.push(String(model));
            fallbacks += 1;
            const { type, message } = errorDetails(error);
            selectionSpan?.addEvent(
              EVENT_SELECTION_FALLBACK,
              { [ATTR_SELECTION_MODEL]: String(model), [OTEL.errorType]: type, [OTEL.exceptionMessage]: message },
              this.#settings.now(),
            );
          },
          undefined,
        ),
      choose: (model, why) => {
        chosen = String(model);
        reason = why;
      },
    };
    return this.#run(
      {
        name: stepSpanName(STEP_TYPE.modelSelection, ''),
        type: STEP_TYPE.modelSelection,
        attributes: { [ATTR_SELECTION_CANDIDATES]: options.candidates.map(String) },
      },
      (span) => {
        selectionSpan = span;
        return select(selection);
      },
      (span, result) => {
        chosen ??= typeof result === 'string' ? result : undefined;
        if (chosen !== undefined) {
          span.setAttribute(ATTR_SELECTION_CHOSEN, chosen);
          attempts.push(chosen);
        }
        if (reason !== undefined) span.setAttribute(ATTR_SELECTION_REASON, reason);
        span.setAttribute(ATTR_SELECTION_ATTEMPTS, attempts);
        span.setAttribute(ATTR_SELECTION_FALLBACKS, fallbacks);
      },
    );
  }

  chainStep<T>(name: string, run: (step: ChainStep) => T | Promise<T>, options?: ChainStepOptions): Promise<T> {
    const attributes: Attributes = { [ATTR_CHAIN_STEP]: String(name) };
    if (options?.kind !== undefined) attributes[ATTR_STEP_KIND] = String(options.kind);
    const input = preview(options?.input, this.#settings.contentLength);
    if (input !== undefined) attributes[ATTR_STEP_INPUT_PREVIEW] = input;
    return this.#run(
      { name: stepSpanName(STEP_TYPE.chainStep, String(name)), type: STEP_TYPE.chainStep, attributes },
      (span, spanContext) => run(new RecordingChainStep(this.#settings, spanContext, span)),
      (span, result) => this.#describeOutput(span, ATTR_STEP_OUTPUT_PREVIEW, result),
    );
  }

  toolCall<T>(options: ToolCallOptions, call: () => T | Promise<T>): Promise<T> {
    const attributes: Attributes = { [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool, [GEN_AI.toolName]: String(options.name) };
    if (options.callId !== undefined) attributes[GEN_AI.toolCallId] = String(options.callId);
    const args = preview(options.arguments, this.#settings.contentLength);
    if (args !== undefined) attributes[GEN_AI.toolCallArguments] = args;
    return this.#run(
      // A GenAI `execute_tool` span, as the conventions name it, so other backends read it too.
      { name: `${GEN_AI_OPERATION.executeTool} ${String(options.name)}`, type: undefined, attributes },
      () => call(),
      (span, result) => this.#describeOutput(span, GEN_AI.toolCallResult, result),
    );
  }

  /** Records a step's result as its output preview, when content is kept. */
  #describeOutput(span: Span, key: string, result: unknown): void {
    const output = preview(result, this.#settings.contentLength);
    if (output !== undefined) span.setAttribute(key, output);
  }

  embed<T>(options: EmbeddingOptions, embed: () => T | Promise<T>): Promise<T> {
    const attributes: Attributes = {
      [GEN_AI.operationName]: GEN_AI_OPERATION.embeddings,
      [GEN_AI.requestModel]: String(options.model),
    };
    if (options.provider) attributes[GEN_AI.providerName] = options.provider;
    if (options.inputCount !== undefined) attributes[ATTR_EMBEDDING_INPUT_COUNT] = options.inputCount;
    return this.#run(
      // An embeddings call is a GenAI span like any LLM call, so GenAI-aware backends list it too.
      { name: llmCallSpanName(GEN_AI_OPERATION.embeddings, String(options.model)), type: undefined, kind: SpanKind.CLIENT, attributes },
      () => embed(),
      (span, result) => {
        const first = Array.isArray(result) ? (result[0] as unknown) : undefined;
        if (Array.isArray(first) || ArrayBuffer.isView(first))
          span.setAttribute(ATTR_EMBEDDING_DIMENSIONS, (first as ArrayLike<number>).length);
      },
    );
  }

  similaritySearch<T>(options: SimilaritySearchOptions<T>, search: () => readonly T[] | Promise<readonly T[]>): Promise<readonly T[]> {
    const attributes: Attributes = {
      [ATTR_DB_SYSTEM]: String(options.store),
      [ATTR_DB_OPERATION]: 'similarity_search',
      [ATTR_VECTOR_TOP_K]: options.topK,
    };
    if (options.collection) attributes[ATTR_DB_COLLECTION] = options.collection;
    const scoreOf = options.score ?? ((result: T) => (result as { score?: unknown })?.score as number | undefined);
    return this.#run(
      { name: stepSpanName(STEP_TYPE.vectorSearch, String(options.store)), type: STEP_TYPE.vectorSearch, attributes },
      () => search(),
      (span, results) => {
        if (!Array.isArray(results)) return;
        span.setAttribute(ATTR_VECTOR_RESULT_COUNT, results.length);
        const scores = results.map(scoreOf).filter((score): score is number => typeof score === 'number' && Number.isFinite(score));
        if (scores.length > 0) span.setAttribute(ATTR_VECTOR_SCORES, scores);
      },
    );
  }

  vectorStore<T>(options: VectorStoreOptions, write: () => T | Promise<T>): Promise<T> {
    const attributes: Attributes = { [ATTR_DB_SYSTEM]: String(options.store), [ATTR_DB_OPERATION]: String(options.operation) };
    if (options.collection) attributes[ATTR_DB_COLLECTION] = options.collection;
    if (options.count !== undefined) attributes[ATTR_VECTOR_RESULT_COUNT] = options.count;
    return this.#run(
      {
        name: stepSpanName(STEP_TYPE.vectorStore, `${String(options.operation)} ${String(options.store)}`),
        type: STEP_TYPE.vectorStore,
        attributes,
      },
      () => write(),
    );
  }

  /**
   * Runs `work` inside a new span. Monitoring failures are reported and skipped; the application's
   * own result or error always comes back unchanged.
   */
  async #run<T>(
    plan: SpanPlan,
    work: (span: Span, spanContext: Context) => T | Promise<T>,
    describe?: (span: Span, result: T) => void,
  ): Promise<T> {
    const parent = this.#parent();
    let span: Span;
    try {
      const attributes: Attributes = { ...plan.attributes };
      if (plan.type !== undefined) attributes[ATTR_SPAN_TYPE] = plan.type;
      if (this.#settings.sessionId !== undefined) attributes[ATTR_SESSION_ID] = this.#settings.sessionId;
      const startTime = this.#settings.now();
      span = this.#settings.tracer.startSpan(plan.name, { attributes, kind: plan.kind ?? SpanKind.INTERNAL, startTime }, parent);
      this.#settings.announceStep?.(span, plan.name, attributes, plan.type ?? '', trace.getSpanContext(parent)?.spanId ?? '', startTime);
    } catch (error) {
      diag.error(`llm-monitor: cannot start span ${plan.name}`, error);
      span = trace.wrapSpanContext(trace.getSpanContext(parent) ?? { traceId: '', spanId: '', traceFlags: 0 });
    }
    const spanContext = trace.setSpan(parent, span);
    try {
      const result = await context.with(spanContext, () => work(span, spanContext));
      if (describe) neverThrow(`describe ${plan.name}`, () => describe(span, result), undefined);
      return result;
    } catch (error) {
      neverThrow(
        `record error of ${plan.name}`,
        () => {
          const { message, type } = errorDetails(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message });
          span.setAttribute(OTEL.errorType, type);
          if (error instanceof Error) span.recordException(error);
        },
        undefined,
      );
      throw error;
    } finally {
      neverThrow(`end ${plan.name}`, () => span.end(this.#settings.now()), undefined);
    }
  }
}

class RecordingChainStep extends RecordingScope implements ChainStep {
  readonly #span: Span;

  constructor(settings: ScopeSettings, spanContext: Context, span: Span) {
    super(settings, () => spanContext);
    this.#span = span;
  }

  branch(name: string): void {
    neverThrow('branch', () => this.#span.setAttribute(ATTR_CHAIN_BRANCH, String(name)), undefined);
  }
}
