export { MonitorApiError, createMonitorClient } from './monitor-client.js';
export type { MonitorClient, MonitorClientOptions } from './monitor-client.js';
export type { ProcessingEvent, ProcessingSession, SessionStatus, StageRecord, TokenCounts } from '@llm-monitor/sessions';
