export { MonitorApiError, createMonitorClient } from './monitor-client.js';
export type { MonitorClient, MonitorClientOptions, SessionPage, SessionQuery, StatisticsQuery } from './monitor-client.js';
export type { ProcessingEvent, ProcessingSession, SessionStatistics, SessionStatus, StageRecord, StatisticsReport, TokenCounts } from '@llm-monitor/sessions';
export { subscribeLive } from './live-subscription.js';
export type {
  LiveFilter,
  LiveHandlers,
  LiveOptions,
  LiveSessionSummary,
  LiveStage,
  LiveSubscriptionHandle,
  LiveTokens,
  WebSocketLike,
} from './live-subscription.js';
