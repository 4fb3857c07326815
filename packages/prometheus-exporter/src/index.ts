export { prometheusExporterPlugin } from './prometheus-plugin.js';
export type { PrometheusExporterOptions } from './prometheus-plugin.js';
export { createOpenMetricsRegistry, GEN_AI_BUCKETS, registerSessionMetrics } from './session-metrics.js';
export type { MetricsRegistry, SessionMetricsOptions, SessionSource } from './session-metrics.js';
export { RETRIEVAL_KINDS, RETRIEVAL_RESULT_BUCKETS, STEP_DURATION_BUCKETS, STEP_KIND_LABELS, STEP_STATUSES } from './step-metrics.js';
export { LabelLimiter, OTHER } from './label-limiter.js';
export { prefersOpenMetrics } from './content-negotiation.js';
export { PROMETHEUS_TEXT_CONTENT_TYPE, renderPrometheusText } from './prometheus-text.js';
