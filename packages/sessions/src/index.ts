export type {
  LlmCallRecord,
  Metadata,
  ProcessingEvent,
  ProcessingSession,
  SessionSource,
  SessionStatus,
  StageRecord,
  TokenCounts,
} from './model.js';
export {
  llmCallRecordSchema,
  processingEventSchema,
  processingSessionSchema,
  stageRecordSchema,
} from './schemas.js';
export type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from './span-record.js';
export { numberAttribute, stringAttribute } from './span-record.js';
export { MAX_SPANS_PER_TRACE, SessionBuilder } from './session-builder.js';
export { SessionStore, isEnded } from './session-store.js';
export type { SessionChange, SessionChangeListener, SessionChangeType, SessionStoreOptions } from './session-store.js';
export { SessionPipeline } from './session-pipeline.js';
export type { SessionPipelineOptions } from './session-pipeline.js';
