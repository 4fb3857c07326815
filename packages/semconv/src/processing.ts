/**
 * Names of the spans that tell the rest of the processing story: template resolution, model
 * selection, chain steps and vector store work. They are children of the stage (or chain step)
 * during which they run. Where OpenTelemetry conventions exist (GenAI for embeddings, database
 * conventions for vector stores) their names are used.
 */

/** Values of `llm_monitor.span_type` for processing-story spans. */
export const STEP_TYPE = {
  template: 'template_resolution',
  modelSelection: 'model_selection',
  chainStep: 'chain_step',
  vectorSearch: 'vector_search',
  vectorStore: 'vector_store',
} as const;

/**
 * What a step is, when its span type alone does not say (a chain step that retrieves or reranks);
 * the value of `llm_monitor.step.kind`. The receiver maps every span, ours or not, to one of these.
 */
export const STEP_KIND = {
  chain: 'chain',
  retrieval: 'retrieval',
  rerank: 'rerank',
  template: 'template',
  modelSelection: 'model_selection',
  embedding: 'embedding',
  vectorSearch: 'vector_search',
  toolCall: 'tool_call',
  llmCall: 'llm_call',
  agent: 'agent',
  other: 'other',
} as const;

/** A value of {@link STEP_KIND}. */
export type StepKind = (typeof STEP_KIND)[keyof typeof STEP_KIND];

/** `llm_monitor.step.kind`: one of {@link STEP_KIND}, on a chain step that is more than a chain. */
export const ATTR_STEP_KIND = 'llm_monitor.step.kind';
/**
 * `llm_monitor.step.input_preview`: the first characters of what a step was given (only when the
 * application keeps content, like LLM prompt previews).
 */
export const ATTR_STEP_INPUT_PREVIEW = 'llm_monitor.step.input_preview';
/** `llm_monitor.step.output_preview`: the first characters of what a step returned: its intermediate result. */
export const ATTR_STEP_OUTPUT_PREVIEW = 'llm_monitor.step.output_preview';

/** `llm_monitor.template.id`: the template resolved. */
export const ATTR_TEMPLATE_ID = 'llm_monitor.template.id';
/** `llm_monitor.template.version`: its version. */
export const ATTR_TEMPLATE_VERSION = 'llm_monitor.template.version';
/** `llm_monitor.template.variables`: names of the variables filled in (values are not recorded). */
export const ATTR_TEMPLATE_VARIABLES = 'llm_monitor.template.variables';

/** `llm_monitor.model_selection.candidates`: models considered, in order of preference. */
export const ATTR_SELECTION_CANDIDATES = 'llm_monitor.model_selection.candidates';
/** `llm_monitor.model_selection.chosen`: the model selected. */
export const ATTR_SELECTION_CHOSEN = 'llm_monitor.model_selection.chosen';
/** `llm_monitor.model_selection.reason`: why it was chosen (the routing reason). */
export const ATTR_SELECTION_REASON = 'llm_monitor.model_selection.reason';
/** `llm_monitor.model_selection.attempts`: models tried, in order, the chosen one last. */
export const ATTR_SELECTION_ATTEMPTS = 'llm_monitor.model_selection.attempts';
/** `llm_monitor.model_selection.fallbacks`: how many attempts failed before the choice. */
export const ATTR_SELECTION_FALLBACKS = 'llm_monitor.model_selection.fallbacks';
/** Span event recording one failed attempt: attributes `llm_monitor.model_selection.model` and `error.type`. */
export const EVENT_SELECTION_FALLBACK = 'llm_monitor.model_selection.fallback';
/** `llm_monitor.model_selection.model`: the model of a fallback event. */
export const ATTR_SELECTION_MODEL = 'llm_monitor.model_selection.model';

/** `llm_monitor.chain.step`: the name of a chain step. */
export const ATTR_CHAIN_STEP = 'llm_monitor.chain.step';
/** `llm_monitor.chain.branch`: the conditional branch the step took. */
export const ATTR_CHAIN_BRANCH = 'llm_monitor.chain.branch';

/** `db.system.name`: the vector store product (`qdrant`, `pgvector`, `pinecone`, …), database conventions. */
export const ATTR_DB_SYSTEM = 'db.system.name';
/** `db.collection.name`: the collection or index searched or written. */
export const ATTR_DB_COLLECTION = 'db.collection.name';
/** `db.operation.name`: `similarity_search`, `upsert`, `delete`, … */
export const ATTR_DB_OPERATION = 'db.operation.name';
/** `llm_monitor.vector.top_k`: results asked for. */
export const ATTR_VECTOR_TOP_K = 'llm_monitor.vector.top_k';
/** `llm_monitor.vector.result_count`: results returned (search) or records written/deleted (storage). */
export const ATTR_VECTOR_RESULT_COUNT = 'llm_monitor.vector.result_count';
/** `llm_monitor.vector.scores`: similarity scores of the results, in the order the store returned them. */
export const ATTR_VECTOR_SCORES = 'llm_monitor.vector.scores';
/** `gen_ai.embeddings.dimension.count`: dimensions of the embeddings made (GenAI conventions). */
export const ATTR_EMBEDDING_DIMENSIONS = 'gen_ai.embeddings.dimension.count';
/** `llm_monitor.embeddings.input_count`: how many inputs were embedded in one call. */
export const ATTR_EMBEDDING_INPUT_COUNT = 'llm_monitor.embeddings.input_count';

/** Span name of a processing-story span: `llm_monitor.<type> <detail>`. */
export function stepSpanName(type: string, detail: string): string {
  return detail ? `llm_monitor.${type} ${detail}` : `llm_monitor.${type}`;
}
