/**
 * `buildReceiver(config)`: the two servers of llm-monitor wired to one session pipeline, built but
 * not listening, so tests can `inject()` or listen on port 0. `main` (cli.ts) adds signals and the demo.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Logger } from 'pino';
import { SessionPipeline } from '@llm-monitor/sessions';
import { createOpenMetricsRegistry, prometheusExporterPlugin } from '@llm-monitor/prometheus-exporter';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { apiFrameworkErrors, installApiErrorHandling } from './api/api-errors.js';
import { healthRoutes } from './api/health-routes.js';
import type { ComponentHealth } from './api/health-routes.js';
import { statisticsRoutes } from './api/statistics-routes.js';
import { LiveHub } from './live/live-hub.js';
import { sseRoute } from './live/sse-route.js';
import { websocketRoute } from './live/websocket-route.js';
import { sessionRoutes } from './api/session-routes.js';
import type { ReceiverConfig } from './config.js';
import { DEFAULT_CONFIG, parseModelPrices, validateConfig } from './config.js';
import { registerReceiverMetrics } from './receiver-metrics.js';
import { encodeStatus, GRPC_CODE } from './otlp/encode-response.js';
import { OTLP_TRACES_PATH, otlpFrameworkErrors, otlpIngestPlugin } from './otlp/otlp-ingest.js';
import { OtlpForwarder } from './pipeline/otlp-forwarder.js';
import { createRedactor } from './pipeline/redaction.js';
import { loadWebApp, locateWebApp, webAppRoutes } from './web/web-app-routes.js';

/** `Name=value` entries as headers. */
function headersOf(entries: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at > 0) headers[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return headers;
}

/** Longest time one OTLP request may take to arrive and be answered. */
const OTLP_REQUEST_TIMEOUT_MS = 30_000;
/** Longest time shutdown waits for open requests and forwarding before it cuts them off. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Resolves with `work`, or after `ms` — whichever comes first. */
function within(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void work.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => clearTimeout(timer));
  });
}

/** What `/api` answers: where everything is. */
const API_INDEX = {
  name: 'llm-monitor',
  endpoints: {
    web_monitor: '/',
    session: '/api/monitoring/sessions/{session_id}',
    active_sessions: '/api/monitoring/sessions/active',
    recent_sessions: '/api/monitoring/sessions/recent?limit=50',
    statistics: '/api/monitoring/statistics',
    conversation: '/api/monitoring/conversations/{conversation_id}',
    model_prices: '/api/monitoring/model-prices',
    metrics: '/metrics',
    health: '/healthz',
    readiness: '/readyz',
    websocket: '/ws/monitoring',
    stream: '/api/monitoring/stream',
    openapi: '/docs',
  },
};

/** How often ended sessions past their retention are swept. */
const SWEEP_INTERVAL_MS = 10_000;

/** Addresses the receiver listens on once started. */
export interface ReceiverAddresses {
  /** Base URL of the monitor API, e.g. `http://127.0.0.1:8000`. */
  readonly apiUrl: string;
  /** Full URL of the OTLP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly otlpTracesUrl: string;
}

/** A built receiver. */
export interface Receiver {
  readonly config: Readonly<ReceiverConfig>;
  readonly pipeline: SessionPipeline;
  /** The OTLP/HTTP server (`POST /v1/traces`). */
  readonly otlpServer: FastifyInstance;
  /** The monitor API server (REST, health, metrics). */
  readonly apiServer: FastifyInstance;
  readonly logger: Logger;
  /** The fan-out of live events to WebSocket and SSE clients. */
  readonly hub: LiveHub;
  /** The forwarder to another OTLP endpoint, when `forward_endpoint` is set. */
  readonly forwarder: OtlpForwarder | undefined;
  /** Starts both servers; resolves with the addresses actually bound (ports may have been 0). */
  listen(): Promise<ReceiverAddresses>;
  /** Stops accepting, drains open requests and stops both servers. */
  close(): Promise<void>;
}

/** Options of {@link buildReceiver} beyond the config. */
export interface BuildReceiverOptions {
  /** Logger to use (default: pino at `config.logLevel` to stdout). */
  readonly logger?: Logger;
  /** Longest time one OTLP request may take to arrive and be answered, in ms (default 30,000). */
  readonly requestTimeoutMs?: number;
  /** Longest time `close()` waits for open requests and forwarding, in ms (default 10,000). */
  readonly shutdownGraceMs?: number;
  /** The built web page to serve at `/` (default: dist/app of the installed `@llm-monitor/web`). */
  readonly webAppDirectory?: string;
}

function urlOf(server: FastifyInstance): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Builds the receiver: both servers and the session pipeline between them. */
export async function buildReceiver(
  partialConfig: Partial<ReceiverConfig> = {},
  options: BuildReceiverOptions = {},
): Promise<Receiver> {
  const config: ReceiverConfig = validateConfig({ ...DEFAULT_CONFIG, ...partialConfig });
  const modelPrices = parseModelPrices(config.modelPrices);
  const logger = options.logger ?? pino({ level: config.logLevel, name: 'llm-monitor' });
  const pipeline = new SessionPipeline({
    retentionMs: config.retentionSeconds * 1000,
    maxSessions: config.maxSessions,
    abandonAfterMs: config.abandonAfterSeconds * 1000,
    settleAfterMs: config.settleAfterSeconds * 1000,
  });

  const otlpServer = Fastify({
    loggerInstance: logger.child({ server: 'otlp' }) as FastifyBaseLogger,
    // Per-request lines would flood the log at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.otlpMaxBodyBytes,
    frameworkErrors: otlpFrameworkErrors,
    // Our own 503 (with Retry-After and a google.rpc.Status) answers requests during shutdown.
    return503OnClosing: false,
    // A client that stalls its upload must not hold an admission slot (or shutdown) for ever.
    requestTimeout: options.requestTimeoutMs ?? OTLP_REQUEST_TIMEOUT_MS,
    connectionTimeout: options.requestTimeoutMs ?? OTLP_REQUEST_TIMEOUT_MS,
  });
  otlpServer.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type('application/json')
      .send(encodeStatus('json', GRPC_CODE.invalidArgument, `LLMMON_ERR_ROUTE_NOT_FOUND: no route for ${request.method} ${request.url}; OTLP traces go to POST ${OTLP_TRACES_PATH}`));
  });
  const redact = createRedactor({ content: config.redactContent, attributes: config.redactAttributes, mode: config.redactMode });
  const forwarder = config.forwardEndpoint
    ? new OtlpForwarder({ endpoint: config.forwardEndpoint, headers: headersOf(config.forwardHeaders), logger: logger.child({ component: 'forwarder' }) })
    : undefined;
  if (forwarder && redact) {
    // Allowed only with forward_unredacted (the config refuses otherwise): say it once more.
    logger.warn('forwarded spans are not redacted: redaction applies to what llm-monitor stores and shows');
  }
  let closing = false;
  const hub = new LiveHub(pipeline.store, { tickMs: config.liveTickMs });
  // One registry for the session metrics and the receiver's own, served together at /metrics.
  const registry = createOpenMetricsRegistry();
  const ingestObserver = registerReceiverMetrics(registry, { store: pipeline.store, maxSessions: config.maxSessions, hub, ...(forwarder ? { forwarder } : {}) });
  await otlpServer.register(otlpIngestPlugin, {
    maxBodyBytes: config.otlpMaxBodyBytes,
    maxConcurrentRequests: config.otlpMaxConcurrentRequests,
    isClosing: () => closing,
    observer: ingestObserver,
    onSpans: (spans) => pipeline.ingest(redact ? redact(spans) : spans, Date.now()).ignored,
    ...(forwarder ? { onAccepted: (body: Buffer, contentType: string, encoding: string | undefined) => forwarder.forward(body, contentType, encoding) } : {}),
  });

  const apiServer = Fastify({
    loggerInstance: logger.child({ server: 'api' }) as FastifyBaseLogger,
    frameworkErrors: apiFrameworkErrors,
    // Per-request lines would flood the log at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installApiErrorHandling(apiServer);
  await apiServer.register(swagger, {
    openapi: {
      info: { title: 'llm-monitor', version: '0.1.0', description: 'Live LLM processing sessions rebuilt from OpenTelemetry spans.' },
    },
  });
  // The UI's assets come from the package itself: no CDN at run time.
  await apiServer.register(swaggerUi, { routePrefix: '/docs' });
  const storeHealth = (): ComponentHealth => {
    const fill = pipeline.store.size / config.maxSessions;
    return { status: fill >= 0.9 ? 'degraded' : 'healthy', details: { sessions: pipeline.store.size, max_sessions: config.maxSessions, traces: pipeline.traceCount } };
  };
  const ingestHealth = (): ComponentHealth => {
    if (closing) return { status: 'unhealthy', details: { reason: 'shutting down' } };
    const listening = otlpServer.server.listening;
    return { status: listening ? 'healthy' : 'unhealthy', details: { listening, max_body_bytes: config.otlpMaxBodyBytes, ...(forwarder ? { forwarding: forwarder.stats() } : {}) } };
  };
  const fanoutHealth = (): ComponentHealth => ({ status: closing ? 'unhealthy' : 'healthy', details: { ...hub.stats() } });
  await apiServer.register(healthRoutes, { checks: { ingest: ingestHealth, store: storeHealth, fanout: fanoutHealth } });
  await apiServer.register(websocketRoute, { hub, maxBufferedBytes: config.liveMaxBufferedBytes, pingIntervalMs: config.livePingSeconds * 1000 });
  await apiServer.register(sseRoute, { hub, maxBufferedBytes: config.liveMaxBufferedBytes });
  await apiServer.register(webAppRoutes, { assets: loadWebApp(options.webAppDirectory ?? locateWebApp()), apiIndex: API_INDEX });
  apiServer.get('/api/monitoring/model-prices', {
    schema: {
      summary: 'The price table of the model_prices setting: USD per million input and output tokens, by model',
      response: { 200: { type: 'object', required: ['prices'], properties: { prices: { type: 'object', additionalProperties: { type: 'object', properties: { input_per_million: { type: 'number' }, output_per_million: { type: 'number' } } } } } } },
    },
  }, async () => ({ prices: modelPrices }));
  await apiServer.register(sessionRoutes, { store: pipeline.store });
  await apiServer.register(statisticsRoutes, { store: pipeline.store });
  await apiServer.register(prometheusExporterPlugin, {
    sessions: pipeline.store,
    registry,
    metrics: { maxLabelValues: config.metricsMaxLabelValues, prices: modelPrices },
  });

  let sweepTimer: NodeJS.Timeout | undefined;
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;

  return {
    config,
    pipeline,
    otlpServer,
    apiServer,
    logger,
    forwarder,
    hub,
    async listen() {
      await otlpServer.listen({ host: config.host, port: config.otlpPort });
      await apiServer.listen({ host: config.host, port: config.port });
      sweepTimer = setInterval(() => pipeline.sweep(Date.now()), SWEEP_INTERVAL_MS);
      sweepTimer.unref();
      return { apiUrl: urlOf(apiServer), otlpTracesUrl: `${urlOf(otlpServer)}${OTLP_TRACES_PATH}` };
    },
    async close() {
      closing = true;
      if (sweepTimer) clearInterval(sweepTimer);
      // Ingest first, so spans accepted while the API drains are not lost on the way out. Each step
      // has a deadline: a stalled client or downstream must not keep the process from stopping.
      const otlpClosed = otlpServer.close();
      await within(otlpClosed, graceMs);
      otlpServer.server.closeAllConnections();
      await otlpClosed;
      if (forwarder) await forwarder.drain(graceMs);
      // Live clients would hold the API server open: tell them it is going.
      hub.close();
      const apiClosed = apiServer.close();
      await within(apiClosed, graceMs);
      apiServer.server.closeAllConnections();
      await apiClosed;
    },
  };
}
