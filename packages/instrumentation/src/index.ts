export { ENABLED_ENV, INSTRUMENTATION_SCOPE, createLlmMonitor } from './llm-monitor.js';
export type { LlmMonitor, LlmMonitorOptions, StandaloneLlmCallOptions, StartSessionOptions } from './llm-monitor.js';
export { RecordingSession } from './monitored-session.js';
export type { CompleteOptions, MonitoredSession, SessionSettings, SpanStart, StageOptions } from './monitored-session.js';
export { DISABLED_SESSION } from './disabled-session.js';
export { NOOP_LLM_CALL } from './llm-call.js';
export type { LlmCall, LlmCallOptions, LlmCallResult, LlmMessage } from './llm-call.js';
export type {
  ChainStep,
  ChainStepOptions,
  EmbeddingOptions,
  ModelSelection,
  ModelSelectionOptions,
  ProcessingScope,
  SimilaritySearchOptions,
  TemplateOptions,
  ToolCallOptions,
  VectorStoreOptions,
} from './processing-scope.js';
export { chunkText, chunkUsage } from './stream-tokens.js';
export type { StreamOutcome, StreamTokensOptions } from './stream-tokens.js';
export { markerAttributes, markerSpanChannel } from './live-channel.js';
export type { LiveChannel, LiveEvent, LiveUpdate } from './live-channel.js';
export type { MonitorMetadata } from './attribute-encoding.js';
export type { StepKind } from '@llm-monitor/semconv';
