import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { registerSessionMetrics } from './session-metrics.js';
import type { SessionMetricsOptions, SessionSource } from './session-metrics.js';

/** Options of {@link prometheusExporterPlugin}. */
export interface PrometheusExporterOptions {
  /** Where sessions come from (the receiver passes its session store). */
  readonly sessions: SessionSource;
  /** Registry to use; a new one by default, so several instances never share series. */
  readonly registry?: Registry;
  /** Also export prom-client's default process metrics (default `true`). */
  readonly processMetrics?: boolean;
  /** Path of the scrape endpoint (default `/metrics`). */
  readonly path?: string;
  /** Label bounds and prices (see {@link SessionMetricsOptions}). */
  readonly metrics?: SessionMetricsOptions;
}

/** A fastify plugin that serves session metrics in the Prometheus text format. */
export async function prometheusExporterPlugin(app: FastifyInstance, options: PrometheusExporterOptions): Promise<void> {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const stop = registerSessionMetrics(registry, options.sessions, options.metrics);
  app.addHook('onClose', async () => stop());
  app.get(options.path ?? '/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    void reply.type(registry.contentType);
    return text;
  });
}
