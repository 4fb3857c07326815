export { INSTRUMENTATION_SCOPE, createLlmMonitor } from './llm-monitor.js';
export type { LlmMonitor, LlmMonitorOptions, StartSessionOptions } from './llm-monitor.js';
export { MonitoredSession } from './monitored-session.js';
export type {
  CompleteOptions,
  LlmCall,
  LlmCallOptions,
  LlmCallResult,
  SpanStart,
  StageOptions,
} from './monitored-session.js';
export type { MonitorMetadata } from './attribute-encoding.js';
