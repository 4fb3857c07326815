export { MonitorApiError, createMonitorClient } from './monitor-client.js';
export type { MonitorClient, MonitorClientOptions, SessionPage, SessionQuery, StatisticsQuery } from './monitor-client.js';
export type { ProcessingEvent, ProcessingSession, SessionStatistics, SessionStatus, StageRecord, StatisticsReport, TokenCounts } from '@llm-monitor/sessions';
