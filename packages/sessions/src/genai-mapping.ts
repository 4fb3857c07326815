/**
 * How spans of instrumentations we did not write describe an LLM call. Each convention names the
 * same facts differently; this file turns them into one shape, so the session builder needs to know
 * none of them. The mapping is documented in docs/semantic-conventions.md ("Spans from other
 * instrumentations").
 */
import {
  ATTR_METADATA_PREFIX,
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_SPAN_TYPE,
  ATTR_USAGE_TOTAL_TOKENS,
  GEN_AI,
  GEN_AI_OPERATION,
} from '@llm-monitor/semconv';
import { metadataWithPrefixes } from './attribute-values.js';
import { INPUT_PREVIEW_KEYS, OUTPUT_PREVIEW_KEYS, firstPreview, messagesPreview } from './content-previews.js';
import type { Metadata } from './model.js';
import { memoOf } from './span-memo.js';
import { stringAttribute } from './span-record.js';
import type { Attributes, SpanRecord } from './span-record.js';
import { boundedDuration, numericValue } from './span-values.js';
import type { NumericKey } from './span-values.js';

/** An LLM call as any convention describes it. */
export interface LlmCallFacts {
  readonly operation: string;
  readonly provider: string | null;
  readonly requestModel: string | null;
  readonly responseModel: string | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  /** Total tokens as the span reports them (`null` when it does not: the record adds input and output). */
  readonly totalTokens: number | null;
  /** Input tokens read from the provider's prompt cache. */
  readonly cachedTokens: number | null;
  /** Why the model stopped (`stop`, `length`, `tool_calls`, …), one per choice. */
  readonly finishReasons: readonly string[] | null;
  /** The user the call was made for, when the call span says. */
  readonly userId: string | null;
  /** Milliseconds from the call's start to its first streamed chunk, when the span says. */
  readonly timeToFirstTokenMs: number | null;
  readonly promptPreview: string | null;
  readonly responsePreview: string | null;
  /** Metadata of the call itself (agent, role, …), from every convention's metadata attributes. */
  readonly metadata: Metadata;
}

/**
 * Prefixes of metadata attributes, by convention: ours, Langfuse's, the Vercel AI SDK's telemetry
 * metadata and OpenLLMetry's association properties. Admission keeps attributes under them.
 */
export const METADATA_PREFIXES = [
  ATTR_METADATA_PREFIX,
  'langfuse.observation.metadata.',
  'ai.telemetry.metadata.',
  'traceloop.association.properties.',
] as const;

/** Prefixes of a foreign session's metadata on its root span: the call prefixes and Langfuse's trace metadata. */
export const ROOT_METADATA_PREFIXES = [...METADATA_PREFIXES, 'langfuse.trace.metadata.'] as const;

function first(attributes: Attributes, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = stringAttribute(attributes, key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function firstNumber(attributes: Attributes, keys: readonly NumericKey[]): number | undefined {
  for (const key of keys) {
    const value = numericValue(attributes, key);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The Vercel AI SDK's provider call spans: `ai.streamText.doStream`, `ai.generateText.doGenerate`, … */
const VERCEL_PROVIDER_CALL = /^ai\.\w+\.(doStream|doGenerate|doEmbed)$/;
/** OpenInference span kinds that are model calls. */
const OPENINFERENCE_MODEL_KINDS = new Set(['LLM', 'EMBEDDING']);

/** The convention a span follows as an LLM call, or `undefined` when it is no LLM call. */
function conventionOf(span: SpanRecord): 'gen_ai' | 'vercel' | 'openinference' | 'langfuse' | undefined {
  const a = span.attributes;
  // Our own session, stage and step spans are not calls, whatever they carry.
  if (a[ATTR_SPAN_TYPE] !== undefined) return undefined;
  // A tool call is a step of its own (step-mapping.ts), not a call to a model.
  if (a[GEN_AI.operationName] === GEN_AI_OPERATION.executeTool) return undefined;
  const observation = stringAttribute(a, 'langfuse.observation.type');
  if (
    (observation === 'generation' || observation === 'embedding') &&
    a['langfuse.observation.model.name'] !== undefined &&
    a[GEN_AI.requestModel] === undefined
  )
    return 'langfuse';
  const operationId = stringAttribute(a, 'ai.operationId') ?? span.name;
  if (VERCEL_PROVIDER_CALL.test(operationId)) return 'vercel';
  // The Vercel SDK's outer spans (`ai.streamText`) repeat their provider call's usage: not a call.
  if (operationId.startsWith('ai.') && a['ai.model.id'] !== undefined) return undefined;
  if (
    a[GEN_AI.operationName] !== undefined ||
    a[GEN_AI.requestModel] !== undefined ||
    a[GEN_AI.providerName] !== undefined ||
    a[GEN_AI.system] !== undefined
  ) {
    return 'gen_ai';
  }
  const kind = stringAttribute(a, 'openinference.span.kind');
  if (kind !== undefined && OPENINFERENCE_MODEL_KINDS.has(kind.toUpperCase()) && a['llm.model_name'] !== undefined) return 'openinference';
  if (kind !== undefined && OPENINFERENCE_MODEL_KINDS.has(kind.toUpperCase()) && a['embedding.model_name'] !== undefined)
    return 'openinference';
  return undefined;
}

/** True when the span is an LLM call under any convention we map. */
export function isLlmCall(span: SpanRecord): boolean {
  return conventionOf(span) !== undefined;
}

/** Time to the first chunk of a Vercel provider call: its attribute, else its `ai.stream.firstChunk` event. */
function vercelTimeToFirstChunk(span: SpanRecord): number | undefined {
  const attribute = firstNumber(span.attributes, ['ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']);
  if (attribute !== undefined) return attribute;
  const event = span.events.find((candidate) => candidate.name === 'ai.stream.firstChunk');
  if (!event) return undefined;
  const fromEvent = firstNumber(event.attributes, ['ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']);
  // An unknown time (0) on either side says nothing about when the first chunk came.
  if (fromEvent !== undefined || event.timeUnixMs === 0 || span.startTimeUnixMs === 0) return fromEvent;
  return boundedDuration(event.timeUnixMs - span.startTimeUnixMs);
}

/**
 * Time to the first token of a Langfuse generation: its `completion_start_time` (an ISO time, as JSON
 * text) after the span's start; only a time within the span counts.
 */
function langfuseTimeToFirstToken(span: SpanRecord): number | null {
  const raw = stringAttribute(span.attributes, 'langfuse.observation.completion_start_time');
  if (raw === undefined || span.startTimeUnixMs === 0) return null;
  const at = Date.parse(raw.startsWith('"') ? raw.slice(1, -1) : raw);
  if (!Number.isFinite(at) || at < span.startTimeUnixMs || (span.endTimeUnixMs !== 0 && at > span.endTimeUnixMs)) return null;
  return boundedDuration(at - span.startTimeUnixMs);
}

/** Attributes of an LLM call's finish reasons: a list (GenAI), or one reason (the Vercel AI SDK). */
const FINISH_REASON_KEYS = [
  GEN_AI.responseFinishReasons,
  'ai.response.finishReason',
  'llm.response.finish_reason',
  'llm.finish_reason',
] as const;

/** Why the call stopped, from the first of {@link FINISH_REASON_KEYS} the span carries. */
function finishReasons(attributes: Attributes): string[] | null {
  for (const key of FINISH_REASON_KEYS) {
    const value = attributes[key];
    if (typeof value === 'string' && value !== '') return [value];
    if (Array.isArray(value)) {
      const reasons = (value as readonly unknown[]).filter((reason): reason is string => typeof reason === 'string' && reason !== '');
      if (reasons.length > 0) return reasons.slice(0, MAX_FINISH_REASONS);
    }
  }
  return null;
}

/** Most finish reasons kept per call (one per choice; a request rarely asks for more). */
const MAX_FINISH_REASONS = 16;

/** What every convention reports alike: totals, cache, finish reasons, the user. */
function commonFacts(a: Attributes): Pick<LlmCallFacts, 'totalTokens' | 'cachedTokens' | 'finishReasons' | 'userId'> {
  return {
    totalTokens:
      firstNumber(a, [ATTR_USAGE_TOTAL_TOKENS, 'ai.usage.totalTokens', 'llm.usage.total_tokens', 'llm.token_count.total']) ?? null,
    cachedTokens:
      firstNumber(a, [
        'gen_ai.usage.cache_read.input_tokens',
        'gen_ai.usage.cache_read_input_tokens',
        'ai.usage.cachedInputTokens',
        'llm.token_count.prompt_details.cache_read',
      ]) ?? null,
    finishReasons: finishReasons(a),
    userId: first(a, USER_KEYS) ?? null,
  };
}

/** The facts of an LLM call span, or `undefined` when the span is none (read once per record: `span-memo.ts`). */
export function llmCallFacts(span: SpanRecord): LlmCallFacts | undefined {
  const memo = memoOf(span);
  if (memo.facts === undefined) memo.facts = readLlmCallFacts(span) ?? null;
  return memo.facts ?? undefined;
}

function readLlmCallFacts(span: SpanRecord): LlmCallFacts | undefined {
  const convention = conventionOf(span);
  if (!convention) return undefined;
  const a = span.attributes;
  // GenAI names first in every case: OpenLLMetry writes them, and so do recent Vercel AI SDKs.
  const genAiInput = firstNumber(a, [GEN_AI.usageInputTokens, GEN_AI.usagePromptTokens]);
  const genAiOutput = firstNumber(a, [GEN_AI.usageOutputTokens, GEN_AI.usageCompletionTokens]);
  const previews = {
    promptPreview: stringAttribute(a, ATTR_PROMPT_PREVIEW) ?? messagesPreview(a, 'input') ?? firstPreview(a, INPUT_PREVIEW_KEYS),
    responsePreview: stringAttribute(a, ATTR_RESPONSE_PREVIEW) ?? messagesPreview(a, 'output') ?? firstPreview(a, OUTPUT_PREVIEW_KEYS),
    metadata: metadataWithPrefixes(a, METADATA_PREFIXES),
    ...commonFacts(a),
  };
  if (convention === 'langfuse') {
    const model = stringAttribute(a, 'langfuse.observation.model.name') ?? null;
    return {
      operation: a['langfuse.observation.type'] === 'embedding' ? 'embeddings' : 'chat',
      provider: null,
      requestModel: model,
      responseModel: model,
      inputTokens: firstNumber(a, ['langfuse.observation.usage_details.input']) ?? null,
      outputTokens: firstNumber(a, ['langfuse.observation.usage_details.output']) ?? null,
      timeToFirstTokenMs: langfuseTimeToFirstToken(span),
      ...previews,
      totalTokens: previews.totalTokens ?? firstNumber(a, ['langfuse.observation.usage_details.total']) ?? null,
      cachedTokens: previews.cachedTokens ?? firstNumber(a, ['langfuse.observation.usage_details.cache_read_input_tokens']) ?? null,
    };
  }
  if (convention === 'vercel') {
    const providerCall = /\.(doStream|doGenerate|doEmbed)$/.exec(stringAttribute(a, 'ai.operationId') ?? span.name)?.[1];
    return {
      operation: stringAttribute(a, GEN_AI.operationName) ?? (providerCall === 'doEmbed' ? 'embeddings' : 'chat'),
      provider: first(a, [GEN_AI.providerName, GEN_AI.system, 'ai.model.provider']) ?? null,
      requestModel: first(a, [GEN_AI.requestModel, 'ai.model.id']) ?? null,
      responseModel: first(a, [GEN_AI.responseModel, 'ai.response.model']) ?? null,
      inputTokens: genAiInput ?? firstNumber(a, ['ai.usage.inputTokens', 'ai.usage.promptTokens']) ?? null,
      outputTokens: genAiOutput ?? firstNumber(a, ['ai.usage.outputTokens', 'ai.usage.completionTokens']) ?? null,
      timeToFirstTokenMs: vercelTimeToFirstChunk(span) ?? null,
      ...previews,
    };
  }
  if (convention === 'openinference') {
    const kind = stringAttribute(a, 'openinference.span.kind')?.toUpperCase();
    return {
      operation: kind === 'EMBEDDING' ? 'embeddings' : 'chat',
      provider: first(a, ['llm.provider', 'llm.system']) ?? null,
      requestModel: first(a, ['llm.model_name', 'embedding.model_name']) ?? null,
      responseModel: first(a, ['llm.model_name', 'embedding.model_name']) ?? null,
      inputTokens: firstNumber(a, ['llm.token_count.prompt']) ?? null,
      outputTokens: firstNumber(a, ['llm.token_count.completion']) ?? null,
      timeToFirstTokenMs: null,
      ...previews,
    };
  }
  return {
    // OpenLLMetry before the current conventions wrote `llm.request.type` (`chat`, `completion`).
    operation: first(a, [GEN_AI.operationName, 'llm.request.type']) ?? span.name,
    provider: first(a, [GEN_AI.providerName, GEN_AI.system]) ?? null,
    requestModel: first(a, [GEN_AI.requestModel]) ?? null,
    responseModel: first(a, [GEN_AI.responseModel]) ?? null,
    inputTokens: genAiInput ?? null,
    outputTokens: genAiOutput ?? null,
    timeToFirstTokenMs: null,
    ...previews,
  };
}

/** Attributes naming the conversation (or chat session) a span belongs to, in order of preference. */
export const CONVERSATION_KEYS = [
  GEN_AI.conversationId,
  'session.id',
  'langfuse.session.id',
  'traceloop.association.properties.session_id',
  'ai.telemetry.metadata.sessionId',
] as const;

/** Attributes naming the end user. */
export const USER_KEYS = [
  'user.id',
  'langfuse.user.id',
  'traceloop.association.properties.user_id',
  'ai.telemetry.metadata.userId',
] as const;

/** Attributes naming what a foreign session is for (its task). */
export const TASK_KEYS = ['ai.telemetry.functionId', 'traceloop.workflow.name', 'traceloop.entity.name', 'langfuse.trace.name'] as const;

/**
 * The attributes of other conventions this file reads (besides the GenAI names and the numbers of
 * `span-values.ts`): the builder keeps these and drops the rest of a foreign span's attributes.
 */
export const FOREIGN_ATTRIBUTE_KEYS: readonly string[] = [
  'ai.operationId',
  'ai.model.id',
  'ai.model.provider',
  'ai.response.model',
  'openinference.span.kind',
  'llm.model_name',
  'embedding.model_name',
  'llm.provider',
  'llm.system',
  'llm.request.type',
  'langfuse.observation.type',
  'langfuse.observation.model.name',
  'langfuse.observation.completion_start_time',
  ...FINISH_REASON_KEYS,
  ...CONVERSATION_KEYS,
  ...USER_KEYS,
  ...TASK_KEYS,
];

/** Events of other conventions this file reads, with the attributes it reads of each. */
export const FOREIGN_EVENT_NAMES: readonly (readonly [string, readonly string[]])[] = [
  ['ai.stream.firstChunk', ['ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']],
];

/** The first of `keys` on the first of `spans` that has one (spans in order: the root first). */
export function firstOnSpans(spans: readonly SpanRecord[], keys: readonly string[]): string | null {
  for (const span of spans) {
    for (const key of keys) {
      const value = stringAttribute(span.attributes, key);
      if (value !== undefined && value !== '') return value;
    }
  }
  return null;
}
