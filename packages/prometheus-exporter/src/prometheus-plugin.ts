import { collectDefaultMetrics, Registry } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createOpenMetricsRegistry, registerSessionMetrics } from './session-metrics.js';
import type { MetricsRegistry, SessionMetricsOptions, SessionSource } from './session-metrics.js';
import { PROMETHEUS_TEXT_CONTENT_TYPE, renderPrometheusText } from './prometheus-text.js';
import { prefersOpenMetrics } from './content-negotiation.js';

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Options of {@link prometheusExporterPlugin}. */
export interface PrometheusExporterOptions {
  /** Where sessions come from (the receiver passes its session store). */
  readonly sessions: SessionSource;
  /**
   * Registry to use; a new OpenMetrics one by default, so several instances never share series.
   * Exemplars need an OpenMetrics registry; a classic one serves the Prometheus text format only.
   */
  readonly registry?: MetricsRegistry;
  /** Also export prom-client's default process metrics (default `true`). */
  readonly processMetrics?: boolean;
  /** Path of the scrape endpoint (default `/metrics`). */
  readonly path?: string;
  /** Label bounds and prices (see {@link SessionMetricsOptions}). */
  readonly metrics?: SessionMetricsOptions;
}

/** A fastify plugin that serves session metrics in the Prometheus text format. */
export async function prometheusExporterPlugin(app: FastifyInstance, options: PrometheusExporterOptions): Promise<void> {
  const registry: MetricsRegistry = options.registry ?? createOpenMetricsRegistry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry as Registry<PrometheusContentType> });
    // Gauges named like counters break Prometheus's naming rules (promtool flags them); the same
    // figures remain, by type, in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const misnamed of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(misnamed);
  }
  const stop = registerSessionMetrics(registry, options.sessions, options.metrics);
  app.addHook('onClose', async () => stop());
  const openMetricsRegistry = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
  app.get(options.path ?? '/metrics', async (request, reply) => {
    if (openMetricsRegistry && prefersOpenMetrics(request.headers.accept)) {
      void reply.type(Registry.OPENMETRICS_CONTENT_TYPE);
      return registry.metrics();
    }
    void reply.type(PROMETHEUS_TEXT_CONTENT_TYPE);
    return openMetricsRegistry ? renderPrometheusText(registry) : registry.metrics();
  });
}
