export {
  BUILTIN_STAGES,
  BUILTIN_STAGE_IDS,
  PROGRESS_COMPLETE,
  TERMINAL_STAGES,
  builtinStageProgress,
  isBuiltinStage,
  isValidProgress,
  isValidStageId,
} from './stages.js';
export type { BuiltinStageId, StageDefinition, StageId } from './stages.js';
export {
  ATTR_CONTENT_PREVIEW,
  ATTR_METADATA_PREFIX,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROCESSOR_TYPE,
  ATTR_PROGRESS,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  GEN_AI,
  GEN_AI_OPERATION,
  LLM_MONITOR_NAMESPACE,
  OTEL,
  SPAN_TYPE,
} from './attributes.js';
export type { SpanType } from './attributes.js';
export { llmCallSpanName, sessionSpanName, stageSpanName } from './spans.js';
