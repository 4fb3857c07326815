/**
 * Attribute names of the llm-monitor span contract. Our own attributes live under `llm_monitor.`;
 * wherever the OpenTelemetry GenAI semantic conventions define a name we use theirs (see
 * {@link GEN_AI}), so any GenAI-aware backend understands our LLM call spans as well.
 */

/** Namespace prefix of every llm-monitor attribute, event and span type. */
export const LLM_MONITOR_NAMESPACE = 'llm_monitor';

/** What an llm-monitor span stands for; the value of {@link ATTR_SPAN_TYPE}. */
export const SPAN_TYPE = {
  /** The root span of a processing session; its trace is the session. */
  session: 'session',
  /** One processing stage; a child of the session span. */
  stage: 'stage',
  /**
   * A zero-duration marker exported the moment a session or stage span starts, so a receiver can
   * show it while it runs; its parent is the span it announces (see docs/semantic-conventions.md).
   */
  pending: 'pending',
} as const;

/** A value of {@link ATTR_SPAN_TYPE}. */
export type SpanType = (typeof SPAN_TYPE)[keyof typeof SPAN_TYPE];

/** `llm_monitor.span_type`: one of {@link SPAN_TYPE}; absent on spans we did not make. */
export const ATTR_SPAN_TYPE = 'llm_monitor.span_type';
/** `llm_monitor.session.id`: the session id, on the session span and on every span of ours beneath it. */
export const ATTR_SESSION_ID = 'llm_monitor.session.id';
/** `llm_monitor.stage`: the stage id (see `BUILTIN_STAGES`), on stage spans. */
export const ATTR_STAGE = 'llm_monitor.stage';
/** `llm_monitor.stage.message`: what the stage is doing, in words, on stage spans. */
export const ATTR_STAGE_MESSAGE = 'llm_monitor.stage.message';
/** `llm_monitor.progress`: session progress 0–100 when the stage began (or at the session's end). */
export const ATTR_PROGRESS = 'llm_monitor.progress';
/** `llm_monitor.task`: what the session is for (e.g. `summarize`), on the session span. */
export const ATTR_TASK = 'llm_monitor.task';
/** `llm_monitor.processor_type`: the component that processes the request (e.g. `ollama`). */
export const ATTR_PROCESSOR_TYPE = 'llm_monitor.processor_type';
/** `llm_monitor.content_preview`: the first characters of the input content. */
export const ATTR_CONTENT_PREVIEW = 'llm_monitor.content_preview';
/** `llm_monitor.result_preview`: the first characters of the result, on a successful session span. */
export const ATTR_RESULT_PREVIEW = 'llm_monitor.result_preview';
/**
 * Prefix of metadata attributes: `llm_monitor.metadata.<key>`. Primitive values are kept as they are;
 * objects are JSON-encoded strings.
 */
export const ATTR_METADATA_PREFIX = 'llm_monitor.metadata.';
/** `llm_monitor.usage.input_tokens`: input tokens of the whole session (on the session span). */
export const ATTR_SESSION_INPUT_TOKENS = 'llm_monitor.usage.input_tokens';
/** `llm_monitor.usage.output_tokens`: output tokens of the whole session (on the session span). */
export const ATTR_SESSION_OUTPUT_TOKENS = 'llm_monitor.usage.output_tokens';
/** `llm_monitor.time_to_first_token`: seconds from the session start to the first streamed token. */
export const ATTR_TIME_TO_FIRST_TOKEN = 'llm_monitor.time_to_first_token';
/** `llm_monitor.tokens_per_second`: output tokens per second after the first token (stream or session). */
export const ATTR_TOKENS_PER_SECOND = 'llm_monitor.tokens_per_second';
/**
 * `llm_monitor.time_per_output_token`: mean seconds between output tokens after the first — the
 * inter-token latency, as the GenAI conventions define `gen_ai.server.time_per_output_token`.
 */
export const ATTR_TIME_PER_OUTPUT_TOKEN = 'llm_monitor.time_per_output_token';
/** `llm_monitor.inter_token_latency.max`: the longest gap, in seconds, between two token arrivals (stalls). */
export const ATTR_INTER_TOKEN_LATENCY_MAX = 'llm_monitor.inter_token_latency.max';
/** `llm_monitor.stream.outcome`: how a wrapped stream ended: `completed`, `cancelled`, `aborted` or `error`. */
export const ATTR_STREAM_OUTCOME = 'llm_monitor.stream.outcome';
/** `llm_monitor.usage.total_tokens`: input plus output tokens of an LLM call. */
export const ATTR_USAGE_TOTAL_TOKENS = 'llm_monitor.usage.total_tokens';
/** `llm_monitor.prompt_preview`: the first characters of an LLM call's prompt (configurable, can be off). */
export const ATTR_PROMPT_PREVIEW = 'llm_monitor.prompt_preview';
/** `llm_monitor.response_preview`: the first characters of an LLM call's response (configurable, can be off). */
export const ATTR_RESPONSE_PREVIEW = 'llm_monitor.response_preview';
/** `llm_monitor.pending.parent_id`: on a pending marker, the parent span id of the span it announces. */
export const ATTR_PENDING_PARENT_ID = 'llm_monitor.pending.parent_id';
/** `llm_monitor.pending.span_type`: on a pending marker, the {@link SpanType} of the span it announces. */
export const ATTR_PENDING_SPAN_TYPE = 'llm_monitor.pending.span_type';

// Token event attributes (on EVENT_TOKENS).
/** `llm_monitor.tokens.count`: tokens recorded by this event. */
export const ATTR_TOKENS_COUNT = 'llm_monitor.tokens.count';
/** `llm_monitor.tokens.total`: running count of streamed tokens in the session, this event included. */
export const ATTR_TOKENS_TOTAL = 'llm_monitor.tokens.total';
/** `llm_monitor.tokens.text`: the token text of this event; only when the application opts in. */
export const ATTR_TOKENS_TEXT = 'llm_monitor.tokens.text';

/** Span event recording streamed tokens, on the `streaming_response` stage span. */
export const EVENT_TOKENS = 'llm_monitor.tokens';

/**
 * OpenTelemetry GenAI semantic convention names we read and write. `system` and the
 * `prompt_tokens` / `completion_tokens` forms are deprecated but still sent by older
 * instrumentations, so the receiver understands them.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** @deprecated by the conventions in favour of `gen_ai.provider.name`; read, never written. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  /** @deprecated by the conventions in favour of `gen_ai.usage.input_tokens`; read, never written. */
  usagePromptTokens: 'gen_ai.usage.prompt_tokens',
  /** @deprecated by the conventions in favour of `gen_ai.usage.output_tokens`; read, never written. */
  usageCompletionTokens: 'gen_ai.usage.completion_tokens',
  conversationId: 'gen_ai.conversation.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
} as const;

/** Values of `gen_ai.operation.name` used by llm-monitor's LLM call spans. */
export const GEN_AI_OPERATION = {
  chat: 'chat',
  textCompletion: 'text_completion',
  embeddings: 'embeddings',
  executeTool: 'execute_tool',
  invokeAgent: 'invoke_agent',
  createAgent: 'create_agent',
} as const;

/** General OpenTelemetry attributes the contract uses. */
export const OTEL = {
  /** `error.type`: the class of error on a failed span (semantic conventions, stable). */
  errorType: 'error.type',
  /** `user.id`: the end user on whose behalf the session runs. */
  userId: 'user.id',
  /** `session.id`: the application's own session (conversation) id. */
  sessionId: 'session.id',
  /** `service.name`: the resource attribute naming the application. */
  serviceName: 'service.name',
  /** Event name of a recorded exception. */
  exceptionEvent: 'exception',
  exceptionMessage: 'exception.message',
  exceptionType: 'exception.type',
} as const;
