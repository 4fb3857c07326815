export type {
  BudgetCrossing,
  LimitHit,
  LimitItem,
  LlmCallRecord,
  Metadata,
  ModelFallback,
  ProcessingEvent,
  ProcessingSession,
  SessionLimit,
  SessionSource,
  SessionStatus,
  StageRecord,
  StepConvention,
  StepFacts,
  StepKind,
  StepRecord,
  TokenCounts,
} from './model.js';
export { STEP_KINDS } from './model.js';
export { LIMIT_ITEMS, SESSION_LIMITS } from './limits-hit.js';
export { upgradeStoredSession } from './stored-session.js';
export { MAX_STEPS_PER_SESSION } from './session-steps.js';
export { DEFAULT_PREVIEW_LENGTH, INPUT_PREVIEW_KEYS, OUTPUT_PREVIEW_KEYS } from './content-previews.js';
export {
  analyticsReportSchema,
  budgetCrossingSchema,
  limitHitSchema,
  llmCallRecordSchema,
  llmCallRowSchema,
  processingEventSchema,
  processingSessionSchema,
  sessionStatisticsSchema,
  stageRecordSchema,
  statisticsReportSchema,
  stepFactsSchema,
  stepRecordSchema,
} from './schemas.js';
export type { AttributeValue, Attributes, SpanEventRecord, SpanRecord, SpanStatusCode } from './span-record.js';
export { numberAttribute, stringAttribute } from './span-record.js';
export { MAX_SPANS_PER_TRACE, SessionBuilder } from './session-builder.js';
export type { AddOutcome, BuilderStats, MergeOutcome, SessionBuilderOptions, TraceEviction, TraceSnapshot } from './session-builder.js';
export { abandonedSession, deriveSession, settledSession } from './session-derivation.js';
export { callCursorAfter, callFiguresOf, MemoryHistoryStore, newestCallFirst, SCAN_CHUNK, sessionFiguresOf } from './history-store.js';
export type { ConversationPage, ForeignCursor, ForeignRecords, HistoryCommit, HistoryStore, SessionFigures } from './history-store.js';
export { DEFAULT_ADMISSION_LIMITS, isReadAttribute, SKELETON_SPAN_BYTES, SPAN_OVERHEAD_BYTES } from './span-admission.js';
export type { AdmissionLimits, CutItem, CutReason } from './span-admission.js';
export { NUMERIC_ATTRIBUTES, VALUE_FIELDS, VALUE_LIMITS } from './span-values.js';
export { CONVERSATION_KEYS, FOREIGN_ATTRIBUTE_KEYS, METADATA_PREFIXES, TASK_KEYS, USER_KEYS } from './genai-mapping.js';
export { STEP_ATTRIBUTE_KEYS, stepIdentityOf } from './step-mapping.js';
export type { ValueField, NumericKey } from './span-values.js';
export { approximateJsonLength, withinJsonLength } from './json-size.js';
export { MemorySessionStore, emitChange, isEnded } from './session-store.js';
export type {
  ListenerErrorHandler,
  SessionChange,
  SessionChangeListener,
  SessionChangeType,
  SessionStore,
  SessionStoreOptions,
  StoreUpdate,
} from './session-store.js';
export { SessionPipeline } from './session-pipeline.js';
export type { IngestResult, PipelineStats, SessionPipelineOptions } from './session-pipeline.js';
export { StatisticsAccumulator, UNKNOWN_KEY, computeStatistics } from './statistics.js';
export type { StatisticsInput, DurationSummary, SessionStatistics, StatisticsReport, StatisticsWindow } from './statistics.js';
export {
  cursorAfter,
  encodeCursor,
  matchesFilter,
  previewsContain,
  startedWithin,
  newestFirst,
  parseCursor,
  querySessions,
} from './session-query.js';
export type { SessionFilter, SessionPage } from './session-query.js';
export { coalesce, eventsBetween, liveStepOf, seenStateOf, sessionStartedEvent, SUMMARY_TEXT_LENGTH, summaryOf } from './live-events.js';
export type {
  LiveClientMessage,
  LiveEvent,
  LiveServerMessage,
  LiveSnapshot,
  LiveStep,
  LiveSubscriptionDescription,
  SeenState,
  SessionSummary,
} from './live-events.js';
export { DEPRECATED_PARAMETER_ALIASES, LIVE_FILTER_PARAMETERS, SESSION_FILTER_PARAMETERS } from './filter-parameters.js';
export type { LiveFilter, SessionFilterParameters } from './filter-parameters.js';
export { CLIENT_ERROR_CODES, LIVE_CLOSE_CODES, LIVE_ERROR_CODES } from './wire-error-codes.js';
export type { ClientErrorCode, LiveErrorCode } from './wire-error-codes.js';
export { costUsd, priceOf, withDefaultPrices } from './model-prices.js';
export { DEFAULT_MODEL_PRICES, DEFAULT_PRICES_SOURCE } from './default-prices.js';
export { CALL_PREVIEW_LENGTH, LLM_CALL_FIELDS, callRowsOf, matchesCallFilter } from './call-log.js';
export type { LlmCallFilter, LlmCallPage, LlmCallRow } from './call-log.js';
export { AnalyticsAccumulator, ANALYTICS_DIMENSIONS, CALL_FIGURE_COLUMNS, computeAnalytics } from './analytics.js';
export type {
  CallFigures,
  AnalyticsDimension,
  AnalyticsQuery,
  AnalyticsReport,
  Percentiles,
  TopSession,
  TopUser,
  UsageFigures,
  UsageGroup,
} from './analytics.js';
export type { ModelPrice, ModelPrices } from './model-prices.js';
