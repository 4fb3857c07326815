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
  sessionStatisticsSchema,
  stageRecordSchema,
  statisticsReportSchema,
} from './schemas.js';
export type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from './span-record.js';
export { numberAttribute, stringAttribute } from './span-record.js';
export { MAX_SPANS_PER_TRACE, SessionBuilder } from './session-builder.js';
export { SessionStore, isEnded } from './session-store.js';
export type { SessionChange, SessionChangeListener, SessionChangeType, SessionStoreOptions } from './session-store.js';
export { SessionPipeline } from './session-pipeline.js';
export type { SessionPipelineOptions } from './session-pipeline.js';
export { UNKNOWN_KEY, computeStatistics } from './statistics.js';
export type { DurationSummary, SessionStatistics, StatisticsReport, StatisticsWindow } from './statistics.js';
export { cursorAfter, matchesFilter, newestFirst, parseCursor, querySessions } from './session-query.js';
export type { SessionFilter, SessionPage } from './session-query.js';
export { coalesce, eventsBetween, seenStateOf, summaryOf } from './live-events.js';
export type { LiveEvent, SeenState, SessionSummary } from './live-events.js';
export { costUsd } from './model-prices.js';
export type { ModelPrice, ModelPrices } from './model-prices.js';
