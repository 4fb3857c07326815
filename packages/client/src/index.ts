export { MonitorApiError, createMonitorClient } from './monitor-client.js';
export type { AnalyticsQuery, LlmCallPage, LlmCallQuery, MonitorClient, MonitorClientOptions, SessionPage, SessionQuery, StatisticsQuery } from './monitor-client.js';
export type {
  AnalyticsDimension,
  AnalyticsReport,
  LlmCallRecord,
  LlmCallRow,
  Percentiles,
  ProcessingEvent,
  ProcessingSession,
  SessionStatistics,
  SessionStatus,
  StageRecord,
  StatisticsReport,
  StepFacts,
  StepKind,
  StepRecord,
  TokenCounts,
  TopSession,
  TopUser,
  UsageFigures,
  UsageGroup,
} from '@llm-monitor/sessions';
export { subscribeLive } from './live-subscription.js';
export type {
  LiveFilter,
  LiveHandlers,
  LiveOptions,
  LiveSessionSummary,
  LiveStage,
  LiveStepEvent,
  LiveSubscriptionHandle,
  LiveTokens,
  WebSocketLike,
} from './live-subscription.js';
