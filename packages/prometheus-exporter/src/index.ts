export { prometheusExporterPlugin } from './prometheus-plugin.js';
export type { PrometheusExporterOptions } from './prometheus-plugin.js';
export { GEN_AI_BUCKETS, registerSessionMetrics } from './session-metrics.js';
export type { ModelPrice, SessionMetricsOptions, SessionSource } from './session-metrics.js';
export { LabelLimiter, OTHER } from './label-limiter.js';
