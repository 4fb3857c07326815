import { ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import {
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_USAGE_TOTAL_TOKENS,
  GEN_AI,
  GEN_AI_OPERATION,
  OTEL,
  llmCallSpanName,
} from '@llm-monitor/semconv';
import { errorDetails, metadataAttributes, preview } from './attribute-encoding.js';
import type { MonitorMetadata } from './attribute-encoding.js';
import { neverThrow } from './never-throw.js';

/** One message of a chat prompt. */
export interface LlmMessage {
  readonly role: string;
  readonly content: string;
}

/** What an LLM call is, given when it starts. */
export interface LlmCallOptions {
  /** The call type, `gen_ai.operation.name`: `chat` (default), `text_completion`, `embeddings`, `execute_tool`. */
  readonly operation?: string;
  /** `gen_ai.request.model`. */
  readonly model: string;
  /** `gen_ai.provider.name`, e.g. `openai`, `anthropic`, `ollama`. */
  readonly provider?: string;
  /** The prompt: text or chat messages. Kept as a preview of `llmContentLength` characters (0 = not kept). */
  readonly prompt?: string | readonly LlmMessage[];
  /** `user.id` of the end user. */
  readonly userId?: string;
  /** `gen_ai.conversation.id`: the conversation the call belongs to. */
  readonly conversationId?: string;
  readonly metadata?: MonitorMetadata;
}

/** How an LLM call ended. */
export interface LlmCallResult {
  /** `gen_ai.response.model`. */
  readonly responseModel?: string;
  /** The response text; kept as a preview like the prompt. */
  readonly response?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** `gen_ai.response.finish_reasons`, e.g. `stop`, `length`, `tool_calls`. */
  readonly finishReason?: string;
  /** Set when the call failed. */
  readonly error?: unknown;
}

/** An LLM call in progress; end it once with {@link LlmCall.end}. */
export interface LlmCall {
  end(result?: LlmCallResult): void;
}

/** The LLM call that records nothing (disabled monitoring, or an internal error). */
export const NOOP_LLM_CALL: LlmCall = { end: () => undefined };

/** What an LLM call span needs from where it runs. */
export interface LlmCallContext {
  readonly tracer: Tracer;
  readonly parent: Context;
  readonly sessionId: string | undefined;
  /** Characters kept of prompt and response (0 = none). */
  readonly contentLength: number;
  readonly now: () => number;
}

function promptText(prompt: string | readonly LlmMessage[]): string {
  return typeof prompt === 'string' ? prompt : prompt.map((message) => `${message.role}: ${message.content}`).join('\n');
}

/** The GenAI `gen_ai.*.messages` JSON, each content cut to `length` characters. */
function messagesJson(messages: readonly LlmMessage[], length: number, finishReason?: string): string {
  return JSON.stringify(
    messages.map((message) => ({
      role: message.role,
      parts: [{ type: 'text', content: preview(message.content, length) ?? '' }],
      ...(finishReason ? { finish_reason: finishReason } : {}),
    })),
  );
}

/** Starts an LLM call span (GenAI client span) under `where.parent`. */
export function startLlmCall(where: LlmCallContext, options: LlmCallOptions): LlmCall {
  return neverThrow<LlmCall>(
    'startLlmCall',
    () => {
      const operation = options.operation ?? GEN_AI_OPERATION.chat;
      const attributes: Attributes = {
        [GEN_AI.operationName]: operation,
        [GEN_AI.requestModel]: String(options.model),
        ...metadataAttributes(options.metadata),
      };
      // Lets the receiver name the session correctly even when this span arrives first.
      if (where.sessionId !== undefined) attributes[ATTR_SESSION_ID] = where.sessionId;
      if (options.provider) attributes[GEN_AI.providerName] = options.provider;
      if (options.userId) attributes[OTEL.userId] = String(options.userId);
      if (options.conversationId) attributes[GEN_AI.conversationId] = String(options.conversationId);
      if (options.prompt !== undefined && where.contentLength > 0) {
        const promptPreview = preview(promptText(options.prompt), where.contentLength);
        if (promptPreview !== undefined) attributes[ATTR_PROMPT_PREVIEW] = promptPreview;
        const messages = typeof options.prompt === 'string' ? [{ role: 'user', content: options.prompt }] : options.prompt;
        attributes[GEN_AI.inputMessages] = messagesJson(messages, where.contentLength);
      }
      const span = where.tracer.startSpan(
        llmCallSpanName(operation, String(options.model)),
        { kind: SpanKind.CLIENT, attributes, startTime: where.now() },
        where.parent,
      );
      let ended = false;
      return {
        end: (result) =>
          neverThrow(
            'llm call end',
            () => {
              if (ended) throw new Error('LLM call has already ended');
              ended = true;
              endLlmCall(span, where, result);
            },
            undefined,
          ),
      };
    },
    NOOP_LLM_CALL,
  );
}

function endLlmCall(span: Span, where: LlmCallContext, result: LlmCallResult = {}): void {
  const at = where.now();
  try {
    if (result.responseModel) span.setAttribute(GEN_AI.responseModel, result.responseModel);
    if (result.inputTokens !== undefined) span.setAttribute(GEN_AI.usageInputTokens, result.inputTokens);
    if (result.outputTokens !== undefined) span.setAttribute(GEN_AI.usageOutputTokens, result.outputTokens);
    if (result.inputTokens !== undefined && result.outputTokens !== undefined) {
      span.setAttribute(ATTR_USAGE_TOTAL_TOKENS, result.inputTokens + result.outputTokens);
    }
    if (result.finishReason) span.setAttribute(GEN_AI.responseFinishReasons, [result.finishReason]);
    if (result.response !== undefined && where.contentLength > 0) {
      const responsePreview = preview(result.response, where.contentLength);
      if (responsePreview !== undefined) span.setAttribute(ATTR_RESPONSE_PREVIEW, responsePreview);
      span.setAttribute(
        GEN_AI.outputMessages,
        messagesJson([{ role: 'assistant', content: String(result.response) }], where.contentLength, result.finishReason),
      );
    }
    if (result.error !== undefined) {
      const { message, type } = errorDetails(result.error);
      span.setAttribute(OTEL.errorType, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      if (result.error instanceof Error) span.recordException(result.error, at);
    }
  } finally {
    span.end(at);
  }
}

/** The span of an LLM call that is the root of its own trace (a call outside any session). */
export function rootLlmCallContext(tracer: Tracer, contentLength: number, now: () => number, sessionId?: string): LlmCallContext {
  return { tracer, parent: ROOT_CONTEXT, sessionId, contentLength, now };
}
