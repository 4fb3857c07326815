/**
 * How each convention says what a span is, as one table: our span types, Langfuse observation
 * types, OpenInference span kinds, OpenLLMetry span kinds, LangSmith run types, the Vercel AI SDK's
 * operations and the GenAI operations. Adding a framework is adding a row. Documented in
 * docs/semantic-conventions.md ("Steps").
 */
import {
  ATTR_CHAIN_BRANCH,
  ATTR_CHAIN_STEP,
  ATTR_DB_COLLECTION,
  ATTR_DB_OPERATION,
  ATTR_DB_SYSTEM,
  ATTR_EMBEDDING_DIMENSIONS,
  ATTR_EMBEDDING_INPUT_COUNT,
  ATTR_SELECTION_CANDIDATES,
  ATTR_SELECTION_CHOSEN,
  ATTR_SELECTION_MODEL,
  ATTR_SELECTION_REASON,
  ATTR_SPAN_TYPE,
  ATTR_STEP_KIND,
  ATTR_TEMPLATE_ID,
  ATTR_TEMPLATE_VARIABLES,
  ATTR_TEMPLATE_VERSION,
  ATTR_VECTOR_RESULT_COUNT,
  ATTR_VECTOR_SCORES,
  ATTR_VECTOR_TOP_K,
  EVENT_SELECTION_FALLBACK,
  GEN_AI,
  OTEL,
  STEP_KIND,
  STEP_TYPE,
} from '@llm-monitor/semconv';
import type { StepKind } from '@llm-monitor/semconv';
import { llmCallFacts } from './genai-mapping.js';
import type { ModelFallback, StepConvention, StepFacts } from './model.js';
import { stringAttribute } from './span-record.js';
import type { AttributeValue, Attributes, SpanRecord } from './span-record.js';
import { numericValue } from './span-values.js';

/** A span's place in the tree as a convention tells it. */
export interface StepIdentity {
  readonly kind: StepKind;
  readonly convention: StepConvention;
  readonly name: string;
}

/** One row of the table: which attribute says what a span is, and what each of its values means. */
interface KindAttribute {
  readonly convention: StepConvention;
  readonly key: string;
  /** Values (upper-cased before lookup when `caseless`) and the kind each stands for. */
  readonly kinds: Readonly<Record<string, StepKind>>;
  readonly caseless?: boolean;
  /** Where the step's name is, when it is not the span name. */
  readonly nameKeys?: readonly string[];
}

/** Our processing-story span types. */
const OUR_SPAN_TYPES: Readonly<Record<string, StepKind>> = {
  [STEP_TYPE.template]: STEP_KIND.template,
  [STEP_TYPE.modelSelection]: STEP_KIND.modelSelection,
  [STEP_TYPE.chainStep]: STEP_KIND.chain,
  [STEP_TYPE.vectorSearch]: STEP_KIND.vectorSearch,
  // A write to a vector store is no search: it is told by its facts (operation, count).
  [STEP_TYPE.vectorStore]: STEP_KIND.other,
};

/** The table, in order: the first row whose attribute a span carries decides. */
const KIND_ATTRIBUTES: readonly KindAttribute[] = [
  // Ours: a chain step may say it is more than a chain (`retrieval`, `rerank`, `agent`, …).
  {
    convention: 'llm_monitor',
    key: ATTR_STEP_KIND,
    kinds: Object.fromEntries(Object.values(STEP_KIND).map((kind) => [kind, kind])),
    nameKeys: [ATTR_CHAIN_STEP],
  },
  { convention: 'llm_monitor', key: ATTR_SPAN_TYPE, kinds: OUR_SPAN_TYPES, nameKeys: [ATTR_CHAIN_STEP, ATTR_TEMPLATE_ID] },
  // Langfuse's OpenTelemetry SDK (v4): `langfuse.observation.type`.
  {
    convention: 'langfuse',
    key: 'langfuse.observation.type',
    kinds: {
      span: STEP_KIND.chain,
      generation: STEP_KIND.llmCall,
      event: STEP_KIND.other,
      agent: STEP_KIND.agent,
      tool: STEP_KIND.toolCall,
      chain: STEP_KIND.chain,
      retriever: STEP_KIND.retrieval,
      embedding: STEP_KIND.embedding,
      evaluator: STEP_KIND.other,
      guardrail: STEP_KIND.other,
    },
  },
  // OpenInference (Arize Phoenix; LangChain.js, LlamaIndex, … instrumentations).
  {
    convention: 'openinference',
    key: 'openinference.span.kind',
    caseless: true,
    kinds: {
      CHAIN: STEP_KIND.chain,
      RETRIEVER: STEP_KIND.retrieval,
      RERANKER: STEP_KIND.rerank,
      LLM: STEP_KIND.llmCall,
      EMBEDDING: STEP_KIND.embedding,
      TOOL: STEP_KIND.toolCall,
      AGENT: STEP_KIND.agent,
      PROMPT: STEP_KIND.template,
      GUARDRAIL: STEP_KIND.other,
      EVALUATOR: STEP_KIND.other,
    },
  },
  // OpenLLMetry (Traceloop) decorators: workflow, task, agent, tool.
  {
    convention: 'openllmetry',
    key: 'traceloop.span.kind',
    kinds: { workflow: STEP_KIND.chain, task: STEP_KIND.chain, agent: STEP_KIND.agent, tool: STEP_KIND.toolCall },
    nameKeys: ['traceloop.entity.name'],
  },
  // LangSmith's OpenTelemetry export of LangChain runs.
  {
    convention: 'langsmith',
    key: 'langsmith.span.kind',
    caseless: true,
    kinds: {
      CHAIN: STEP_KIND.chain,
      LLM: STEP_KIND.llmCall,
      TOOL: STEP_KIND.toolCall,
      RETRIEVER: STEP_KIND.retrieval,
      EMBEDDING: STEP_KIND.embedding,
      PROMPT: STEP_KIND.template,
      PARSER: STEP_KIND.chain,
    },
  },
  // GenAI semantic conventions: the operation says it.
  {
    convention: 'gen_ai',
    key: GEN_AI.operationName,
    kinds: {
      execute_tool: STEP_KIND.toolCall,
      invoke_agent: STEP_KIND.agent,
      create_agent: STEP_KIND.agent,
      embeddings: STEP_KIND.embedding,
      chat: STEP_KIND.llmCall,
      text_completion: STEP_KIND.llmCall,
      generate_content: STEP_KIND.llmCall,
    },
    nameKeys: [GEN_AI.toolName, GEN_AI.agentName],
  },
];

/**
 * The Vercel AI SDK names its operations in `ai.operationId` (and the span name): the outer call
 * (`ai.generateText`) is a chain of provider calls (`….doGenerate`) and tool calls (`ai.toolCall`).
 */
const VERCEL_OPERATIONS: readonly (readonly [RegExp, StepKind])[] = [
  [/^ai\.toolCall$/, STEP_KIND.toolCall],
  [/^ai\.embed(Many)?\.doEmbed$/, STEP_KIND.embedding],
  [/^ai\.embed(Many)?$/, STEP_KIND.embedding],
  [/^ai\.\w+\.(doStream|doGenerate)$/, STEP_KIND.llmCall],
  [/^ai\.\w+$/, STEP_KIND.chain],
];

/** Attributes the table and the facts read (admission keeps them; see `span-admission.ts`). */
export const STEP_ATTRIBUTE_KEYS: readonly string[] = [
  ...new Set(KIND_ATTRIBUTES.flatMap((row) => [row.key, ...(row.nameKeys ?? [])])),
  ATTR_DB_SYSTEM,
  'db.system',
  ATTR_DB_COLLECTION,
  ATTR_DB_OPERATION,
  'db.operation',
  GEN_AI.toolName,
  GEN_AI.toolCallId,
  GEN_AI.agentName,
  'tool.name',
  'tool_call.id',
  'ai.toolCall.name',
  'ai.toolCall.id',
  'langfuse.observation.model.name',
  'langfuse.observation.level',
  'langfuse.observation.status_message',
  'langfuse.observation.usage_details',
];

/** Events the facts read: a model selection's fallbacks. */
export const STEP_EVENT_NAMES: readonly (readonly [string, readonly string[]])[] = [
  [EVENT_SELECTION_FALLBACK, [ATTR_SELECTION_MODEL, OTEL.errorType, OTEL.exceptionMessage]],
];

function firstString(attributes: Attributes, keys: readonly string[] | undefined): string | undefined {
  for (const key of keys ?? []) {
    const value = stringAttribute(attributes, key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * The name of our step spans without the `llm_monitor.` prefix of the span name (`model_selection`,
 * `qdrant` → `qdrant docs` when the collection is known).
 */
function ourStepName(span: SpanRecord): string {
  const match = /^llm_monitor\.(\w+)(?: (.+))?$/.exec(span.name);
  if (!match) return span.name;
  const detail = match[2];
  if (detail === undefined) return match[1]!;
  const collection = stringAttribute(span.attributes, ATTR_DB_COLLECTION);
  return collection && !detail.includes(collection) ? `${detail} ${collection}` : detail;
}

/** What a span is as a step: the first convention that says, else an LLM call by its facts, else `other`. */
export function stepIdentityOf(span: SpanRecord): StepIdentity {
  const a = span.attributes;
  // A model call is one whatever else it says, so every call in `llm_calls` is an `llm_call` (or embedding) step.
  const call = llmCallFacts(span);
  for (const row of KIND_ATTRIBUTES) {
    const raw = stringAttribute(a, row.key);
    if (raw === undefined) continue;
    // Own entries only: a value such as `constructor` must not find Object.prototype's.
    const value = row.caseless ? raw.toUpperCase() : raw;
    if (!Object.hasOwn(row.kinds, value)) continue;
    let kind = row.kinds[value]!;
    // A generic step that is a model call (a Langfuse `span` with GenAI attributes) is one; an agent
    // reporting its usage stays an agent.
    if (call && (kind === STEP_KIND.chain || kind === STEP_KIND.other))
      kind = call.operation === 'embeddings' ? STEP_KIND.embedding : STEP_KIND.llmCall;
    const name = firstString(a, row.nameKeys) ?? (row.convention === 'llm_monitor' ? ourStepName(span) : span.name);
    return { kind, convention: row.convention, name };
  }
  const operationId = stringAttribute(a, 'ai.operationId') ?? (span.name.startsWith('ai.') ? span.name : undefined);
  if (operationId !== undefined) {
    for (const [pattern, kind] of VERCEL_OPERATIONS) {
      if (!pattern.test(operationId)) continue;
      const name = kind === STEP_KIND.toolCall ? (stringAttribute(a, 'ai.toolCall.name') ?? span.name) : span.name;
      return { kind, convention: 'vercel_ai', name };
    }
  }
  if (call)
    return { kind: call.operation === 'embeddings' ? STEP_KIND.embedding : STEP_KIND.llmCall, convention: 'gen_ai', name: span.name };
  return { kind: STEP_KIND.other, convention: 'otel', name: span.name };
}

/**
 * A failure a convention says its own way rather than by the span's status: a Langfuse observation
 * of level `ERROR` (its status message as the error); `null` when the span says none.
 */
export function conventionErrorOf(span: SpanRecord): string | null {
  if (span.attributes['langfuse.observation.level'] !== 'ERROR') return null;
  return stringAttribute(span.attributes, 'langfuse.observation.status_message') ?? 'error';
}

/** Strings of an array attribute, at most 100 of them. */
function strings(value: AttributeValue | undefined): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const result = (value as readonly AttributeValue[]).filter((item): item is string => typeof item === 'string').slice(0, 100);
  return result.length > 0 ? result : undefined;
}

/** Finite numbers of an array attribute, at most 100. */
function numbers(value: AttributeValue | undefined): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const result = (value as readonly AttributeValue[])
    .filter((item): item is number => typeof item === 'number' && Number.isFinite(item))
    .slice(0, 100);
  return result.length > 0 ? result : undefined;
}

/** A non-empty string attribute. */
function text(value: AttributeValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

type FactName = Exclude<keyof StepFacts, 'fallbacks'>;

/**
 * Where each fact is read from, in order of preference. Counts are numbers admission checked
 * (`span-values.ts` lists their keys), read through `numericValue` like every number.
 */
const FACT_SOURCES: readonly (readonly [FactName, readonly string[], (attributes: Attributes, key: string) => StepFacts[FactName]])[] = [
  ['store', [ATTR_DB_SYSTEM, 'db.system'], (a, key) => text(a[key])],
  ['collection', [ATTR_DB_COLLECTION], (a, key) => text(a[key])],
  ['operation', [ATTR_DB_OPERATION, 'db.operation'], (a, key) => text(a[key])],
  ['top_k', [ATTR_VECTOR_TOP_K], (a) => numericValue(a, ATTR_VECTOR_TOP_K)],
  ['result_count', [ATTR_VECTOR_RESULT_COUNT], (a) => numericValue(a, ATTR_VECTOR_RESULT_COUNT)],
  ['scores', [ATTR_VECTOR_SCORES], (a, key) => numbers(a[key])],
  ['template_id', [ATTR_TEMPLATE_ID], (a, key) => text(a[key])],
  ['template_version', [ATTR_TEMPLATE_VERSION], (a, key) => text(a[key])],
  ['template_variables', [ATTR_TEMPLATE_VARIABLES], (a, key) => strings(a[key])],
  ['candidates', [ATTR_SELECTION_CANDIDATES], (a, key) => strings(a[key])],
  ['chosen_model', [ATTR_SELECTION_CHOSEN], (a, key) => text(a[key])],
  ['selection_reason', [ATTR_SELECTION_REASON], (a, key) => text(a[key])],
  ['branch', [ATTR_CHAIN_BRANCH], (a, key) => text(a[key])],
  ['tool_name', [GEN_AI.toolName, 'ai.toolCall.name', 'tool.name'], (a, key) => text(a[key])],
  ['tool_call_id', [GEN_AI.toolCallId, 'ai.toolCall.id', 'tool_call.id'], (a, key) => text(a[key])],
  ['agent_name', [GEN_AI.agentName], (a, key) => text(a[key])],
  ['model', [GEN_AI.requestModel, 'ai.model.id', 'llm.model_name', 'langfuse.observation.model.name'], (a, key) => text(a[key])],
  ['dimensions', [ATTR_EMBEDDING_DIMENSIONS], (a) => numericValue(a, ATTR_EMBEDDING_DIMENSIONS)],
  ['input_count', [ATTR_EMBEDDING_INPUT_COUNT], (a) => numericValue(a, ATTR_EMBEDDING_INPUT_COUNT)],
];

/** Each attribute a fact is read from: the fact, its rank among the fact's sources, and its reader. */
const FACT_OF_KEY = new Map(FACT_SOURCES.flatMap(([fact, keys, read]) => keys.map((key, rank) => [key, { fact, rank, read }] as const)));

const NO_FACTS: StepFacts = Object.freeze({});

/** The facts a step's span carries, whatever its kind (a fact absent from the span is absent here). */
export function stepFactsOf(span: SpanRecord, identity: StepIdentity): StepFacts {
  const a = span.attributes;
  const facts: Record<string, unknown> = {};
  const ranks: Record<string, number> = {};
  // One pass over the span's attributes (a span has a few; the table has many sources).
  for (const key in a) {
    const source = FACT_OF_KEY.get(key);
    if (source === undefined || (ranks[source.fact] ?? Infinity) <= source.rank) continue;
    const value = source.read(a, key);
    if (value === undefined) continue;
    facts[source.fact] = value;
    ranks[source.fact] = source.rank;
  }
  const result = facts as StepFacts;
  let fallbacks: ModelFallback[] | undefined;
  for (const event of span.events) {
    if (event.name !== EVENT_SELECTION_FALLBACK || (fallbacks?.length ?? 0) >= 100) continue;
    (fallbacks ??= []).push({
      model: stringAttribute(event.attributes, ATTR_SELECTION_MODEL) ?? '',
      error: stringAttribute(event.attributes, OTEL.exceptionMessage) ?? stringAttribute(event.attributes, OTEL.errorType) ?? null,
    });
  }
  if (fallbacks) result.fallbacks = fallbacks;
  // A tool's and an agent's name belong to tool calls and agents; their step's name stands in.
  if (identity.kind === STEP_KIND.toolCall) {
    if (identity.convention !== 'otel') result.tool_name ??= identity.name;
  } else {
    delete result.tool_name;
    delete result.tool_call_id;
  }
  if (identity.kind === STEP_KIND.agent) result.agent_name ??= identity.name;
  else delete result.agent_name;
  const call = llmCallFacts(span);
  if (call) {
    const model = call.responseModel ?? call.requestModel;
    if (model !== null) result.model = model;
    if (call.provider !== null) result.provider = call.provider;
    if (call.inputTokens !== null) result.input_tokens = call.inputTokens;
    if (call.outputTokens !== null) result.output_tokens = call.outputTokens;
  }
  // Steps without facts (a rerank, a plain span) share one empty object; nothing changes a session's parts.
  for (const _key in result) return result;
  return NO_FACTS;
}
