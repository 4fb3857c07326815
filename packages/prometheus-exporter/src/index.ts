export { prometheusExporterPlugin } from './prometheus-plugin.js';
export type { PrometheusExporterOptions } from './prometheus-plugin.js';
export { registerSessionMetrics } from './session-metrics.js';
export type { SessionSource } from './session-metrics.js';
