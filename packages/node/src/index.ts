/**
 * `@llm-monitor/node`: llm-monitor for Node.js applications in one install. `setupLlmMonitor()` builds
 * the OpenTelemetry SDK pipeline (the live span processor, an OTLP/HTTP protobuf exporter to the
 * receiver, OpenTelemetry's AsyncLocalStorage context manager) and a monitor on it. Everything
 * `@llm-monitor/instrumentation` exports is exported here too, so one package is all an application
 * imports.
 */
export * from '@llm-monitor/instrumentation';
export { DEFAULT_ENDPOINT, setupLlmMonitor } from './setup.js';
export type { LlmMonitorSetup, SetupOptions } from './setup.js';
export { LiveSpanProcessor } from './live-span-processor.js';
export type { LiveSpanProcessorOptions, LiveSpanProcessorStats } from './live-span-processor.js';
export { contextPropagates, ensureContextManager } from './context-manager.js';
export { UNAUTHENTICATED_WARNING, WRONG_ENDPOINT_WARNING, diagnoseEndpoint } from './endpoint-diagnostics.js';
export type { EndpointDiagnosticsOptions } from './endpoint-diagnostics.js';
