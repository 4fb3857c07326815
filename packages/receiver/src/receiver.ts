/**
 * `buildReceiver(config)`: the two servers of llm-monitor wired to one session pipeline, built but
 * not listening, so tests can `inject()` or listen on port 0. `main` (cli.ts) adds signals and the demo.
 */
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Logger } from 'pino';
import { MemoryHistoryStore, SessionPipeline, withDefaultPrices } from '@llm-monitor/sessions';
import type { HistoryStore, ProcessingSession, ValueField, SpanRecord } from '@llm-monitor/sessions';
import { createOpenMetricsRegistry, prometheusExporterPlugin } from '@llm-monitor/prometheus-exporter';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { apiClientError, apiFrameworkErrors, installApiErrorHandling } from './api/api-errors.js';
import { healthRoutes } from './api/health-routes.js';
import type { ComponentHealth } from './api/health-routes.js';
import { statisticsRoutes } from './api/statistics-routes.js';
import { analyticsRoutes } from './api/analytics-routes.js';
import { llmCallRoutes } from './api/llm-call-routes.js';
import { HistoryWriter } from './storage/history-writer.js';
import { openHistoryStore } from './storage/open-history.js';
import { RetentionJob } from './storage/retention-job.js';
import { parseStorageUrl } from './storage/storage-url.js';
import type { StorageLocation } from './storage/storage-url.js';
import { LiveHub } from './live/live-hub.js';
import { sseRoute, SSE_PATH } from './live/sse-route.js';
import { installLiveConnectionLimits } from './live/live-connection-limits.js';
import type { LiveConnectionRefusals } from './live/live-connection-limits.js';
import { websocketRoute, WEBSOCKET_PATH } from './live/websocket-route.js';
import { sessionRoutes } from './api/session-routes.js';
import type { ReceiverConfig } from './config.js';
import { DEFAULT_CONFIG, parseModelPrices, validateConfig } from './config.js';
import { InternalErrors } from './internal-errors.js';
import { listenError, listenOn } from './listen-errors.js';
import { RECEIVER_VERSION } from './version.js';
import { registerReceiverMetrics } from './receiver-metrics.js';
import { encodeStatus, GRPC_CODE } from './otlp/encode-response.js';
import { OTLP_TRACES_PATH, otlpClientError, otlpFrameworkErrors, otlpIngestPlugin } from './otlp/otlp-ingest.js';
import type { SpanRefusals } from './otlp/otlp-ingest.js';
import { IngestAdmission } from './otlp/ingest-admission.js';
import { MemoryGuard } from './otlp/memory-guard.js';
import { EventLoopWatch } from './event-loop-watch.js';
import type { EventLoopWatchOptions } from './event-loop-watch.js';
import { OtlpGrpcServer } from './otlp/otlp-grpc.js';
import { SlicedWork } from './otlp/sliced-work.js';
import { compactedSession } from './pipeline/compacted-session.js';
import type { Steps } from './otlp/sliced-work.js';
import { OtlpForwarder } from './pipeline/otlp-forwarder.js';
import { createRedactor } from './pipeline/redaction.js';
import { locateWebApp, webAppRoutes } from './web/web-app-routes.js';
import { installResponseCompression } from './web/response-compression.js';
import { CombinedLiveSessions } from './replication/live-sessions.js';
import { bearerTokenOf, TokenSet } from './auth/token-set.js';
import { installReadAuth } from './auth/read-auth.js';
import { installBrowserGuard } from './auth/browser-guard.js';
import { LlmMonitorError } from './errors.js';
import type { LiveSessionView } from './replication/live-sessions.js';
import { RemoteSessions } from './replication/remote-sessions.js';
import type { RedisFanout } from './replication/redis-fanout.js';

/** True for the hosts only this machine reaches. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

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
    void work
      .then(
        () => resolve(),
        () => resolve(),
      )
      .finally(() => clearTimeout(timer));
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
    llm_calls: '/api/monitoring/llm-calls',
    analytics: '/api/monitoring/analytics?group_by=model,day&window=7d',
    model_prices: '/api/monitoring/model-prices',
    metrics: '/metrics',
    health: '/healthz',
    readiness: '/readyz',
    websocket: '/ws/monitoring',
    stream: '/api/monitoring/stream',
    openapi: '/docs',
  },
};

/** Paths the read API's rate limit counts: data, docs and metrics; not the probes or the page's files. */
function isRateLimitedPath(url: string): boolean {
  return url.startsWith('/api') || url.startsWith('/ws/') || url.startsWith('/docs') || url.startsWith('/metrics');
}

/** Spans redacted between two yields of a request's ingest. */
const REDACT_SLICE = 256;

/**
 * How the API port treats connections: an idle keep-alive connection is closed after 10 s, and a
 * request whose headers (or whole request) have not arrived in 10 s (30 s) is cut — Node's defaults
 * (fastify: 72 s keep-alive; Node: 60 s headers, 300 s request, checked every 30 s) let idle and
 * half-sent connections linger for minutes. Upgraded WebSockets and SSE streams are not requests
 * being received, so none of this ends them.
 */
const API_KEEP_ALIVE_MS = 10_000;
const API_HEADERS_TIMEOUT_MS = 10_000;
const API_REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks the two timeouts above (its default, 30 s, would make them up to 30 s late). */
const CONNECTIONS_CHECK_MS = 1000;

const MIB = 1024 * 1024;

/** Addresses the receiver listens on once started. */
export interface ReceiverAddresses {
  /** Base URL of the monitor API, e.g. `http://127.0.0.1:8000`. */
  readonly apiUrl: string;
  /** Full URL of the OTLP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly otlpTracesUrl: string;
  /** Address of the OTLP/gRPC server, as gRPC exporters take it, e.g. `http://127.0.0.1:4317`. */
  readonly otlpGrpcUrl: string;
}

/** A built receiver. */
export interface Receiver {
  readonly config: Readonly<ReceiverConfig>;
  readonly pipeline: SessionPipeline;
  /** Where history is kept (`storage_url`): memory, SQLite or PostgreSQL. */
  readonly history: HistoryStore;
  /** The group committer between the live sessions and {@link Receiver.history}. */
  readonly historyWriter: HistoryWriter;
  /** The OTLP/HTTP server (`POST /v1/traces`). */
  readonly otlpServer: FastifyInstance;
  /** The OTLP/gRPC server (`TraceService/Export`). */
  readonly otlpGrpcServer: OtlpGrpcServer;
  /** The monitor API server (REST, health, metrics). */
  readonly apiServer: FastifyInstance;
  readonly logger: Logger;
  /** The fan-out of live events to WebSocket and SSE clients. */
  readonly hub: LiveHub;
  /** The forwarder to another OTLP endpoint, when `forward_endpoint` is set. */
  readonly forwarder: OtlpForwarder | undefined;
  /** The ingest tokens in force (`ingest_tokens` and its file); empty when ingest is open. */
  readonly ingestTokens: Pick<TokenSet, 'required' | 'tokens'>;
  /** The live fan-out to other replicas over Redis, when `redis_url` is set. */
  readonly fanout: RedisFanout | undefined;
  /** Ingest admission shared by both transports: upload and processing slots, behind the memory guard. */
  readonly admission: IngestAdmission;
  /** The memory guard in front of ingest. */
  readonly memoryGuard: MemoryGuard;
  /** Other replicas' sessions, as the fan-out last heard them (empty without `redis_url`). */
  readonly remoteSessions: RemoteSessions;
  /** What the live streams and `/sessions/active` show: this receiver's sessions, and other replicas' when fanned out. */
  readonly liveSessions: LiveSessionView;
  /** Starts the three servers; resolves with the addresses actually bound (ports may have been 0). */
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
  /** A history store to use instead of opening the one `storage_url` names (tests inject failing ones). */
  readonly history?: HistoryStore;
  /** How the event loop's lag is judged on `/readyz` (default: 5 s windows, degraded from 200 ms, unhealthy from 1 s). */
  readonly eventLoop?: EventLoopWatchOptions;
  /** Reads the memory the guard judges, in bytes (default: V8 heap in use plus buffers; tests drive it). */
  readonly measureMemory?: () => number;
}

function urlOf(server: FastifyInstance): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Builds the receiver: both servers and the session pipeline between them. */
export async function buildReceiver(partialConfig: Partial<ReceiverConfig> = {}, options: BuildReceiverOptions = {}): Promise<Receiver> {
  const config: ReceiverConfig = validateConfig({ ...DEFAULT_CONFIG, ...partialConfig });
  // A receiver that is one of several (fanned out over Redis, or given an id) tags what it writes to
  // the store, so a restart restores only its own running sessions and split traces are merged. A
  // single receiver writes untagged and restores everything, as it always did, whatever its host
  // name becomes (a recreated container, a new pod).
  const replicated = config.redisUrl !== '' || config.replicaId !== '';
  // The host name names a container or a pod; two receivers on one host set replica_id apart.
  if (config.replicaId === '') config.replicaId = hostname();
  const storeReplicaId = replicated ? config.replicaId : '';
  // The built-in price table (docs/configuration.md#prices), with model_prices over it.
  const modelPrices = withDefaultPrices(parseModelPrices(config.modelPrices));
  const logger = options.logger ?? pino({ level: config.logLevel, name: 'llm-monitor' });
  const history =
    options.history ?? (await openHistoryStore(parseStorageUrl(config.storageUrl) as StorageLocation, { replicaId: storeReplicaId }));
  const internalErrors = new InternalErrors(logger);
  // Said once per field: a sender that gets one wrong usually gets it wrong on every span.
  const reportedFields = new Set<ValueField>();
  const pipeline = new SessionPipeline({
    retentionMs: config.retentionSeconds * 1000,
    maxSessions: config.maxSessions,
    abandonAfterMs: config.abandonAfterSeconds * 1000,
    settleAfterMs: config.settleAfterSeconds * 1000,
    releaseSpansAfterMs: config.releaseSpansAfterSeconds * 1000,
    maxSpansPerTrace: config.maxSpansPerTrace,
    maxStepsPerSession: config.maxStepsPerSession,
    stepPreviewLength: config.stepPreviewLength,
    maxAttributeValueLength: config.maxAttributeValueLength,
    maxSpanBytes: config.maxSpanBytes,
    maxTraceBytes: config.maxTraceBytes,
    maxHeldBytes: config.maxHeldBytes,
    maxOrphanTraces: config.maxOrphanTraces,
    orphanTraceIdleMs: config.orphanTraceIdleSeconds * 1000,
    maxRemovedTraces: config.maxRemovedTraces,
    prices: modelPrices,
    budgets: {
      sessionTokens: config.budgetSessionTokens,
      sessionCostUsd: config.budgetSessionCostUsd,
      userDailyTokens: config.budgetUserDailyTokens,
      userDailyCostUsd: config.budgetUserDailyCostUsd,
    },
    compactSession: compactedSession,
    // The memory history holds the very session objects of the live window: it takes the compact
    // form too, or the whole one would stay alive there.
    ...(history instanceof MemoryHistoryStore ? { onCompacted: (session: ProcessingSession) => history.adopt(session) } : {}),
    onListenerError: (error, listener) => internalErrors.report('LLMMON_ERR_LISTENER_FAILED', listener, error),
    onSweepError: (error, step) => internalErrors.report('LLMMON_ERR_TIMER_FAILED', `sweep_${step}`, error),
    onValueRejected: (field, value) => {
      if (reportedFields.has(field)) return;
      reportedFields.add(field);
      logger.debug(
        { code: 'LLMMON_ERR_VALUE_OUT_OF_RANGE', field, value: String(value).slice(0, 100) },
        `LLMMON_ERR_VALUE_OUT_OF_RANGE: a span carried ${field} out of range; dropped (logged once per field, counted in llm_monitor_receiver_values_rejected_total)`,
      );
    },
  });
  const work = new SlicedWork();
  // Tokens: read (and their files watched) before anything listens; a file that cannot be read stops the start.
  const tokenReload =
    (purpose: string) =>
    (outcome: { tokens: number } | { error: Error }): void => {
      if ('error' in outcome)
        logger.error({ code: 'LLMMON_ERR_CONFIG', err: outcome.error }, `${outcome.error.message}; the ${purpose} tokens in force stay`);
      else logger.info({ tokens: outcome.tokens }, `${purpose} tokens reloaded: ${outcome.tokens} in force`);
    };
  const ingestTokens = new TokenSet({
    purpose: 'ingest',
    tokens: config.ingestTokens,
    file: config.ingestTokensFile,
    onReload: tokenReload('ingest'),
  });
  const readTokens = new TokenSet({
    purpose: 'read',
    tokens: config.readTokens,
    file: config.readTokensFile,
    onReload: tokenReload('read'),
  });
  const authorizeIngest = (authorization: string | undefined): void => {
    if (!ingestTokens.required) return;
    const token = bearerTokenOf(authorization);
    if (ingestTokens.matches(token)) return;
    throw new LlmMonitorError(
      'LLMMON_ERR_UNAUTHENTICATED',
      token === undefined
        ? 'OTLP ingest needs a token: send Authorization: Bearer <token> (one of ingest_tokens; OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>")'
        : 'the ingest token is not one of ingest_tokens (wrong or revoked)',
    );
  };
  // The sessions that were running when the receiver last stopped come back before anything
  // listens: the metrics count what happens from now on, and the live view shows them at once.
  let restored: number;
  try {
    if (config.budgetUserDailyTokens > 0 || config.budgetUserDailyCostUsd > 0) {
      // What users spent today (and yesterday, for sessions still running across midnight) counts
      // toward their daily budgets after a restart too.
      const startOfYesterday = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
      for await (const chunk of history.sessionFigures({ sinceMs: startOfYesterday })) pipeline.seedBudgets(chunk);
    }
    restored = pipeline.restore(await history.runningTraces(), Date.now());
  } catch (error) {
    await history.close().catch(() => undefined);
    throw error;
  }
  if (restored > 0)
    logger.info({ sessions: restored, store: history.kind }, `restored ${restored} running session(s) from ${history.location}`);
  const historyWriter = new HistoryWriter(history, {
    store: pipeline.store,
    takeUnsaved: (traceId) => pipeline.takeUnsaved(traceId),
    // Spans of one trace reaching several replicas (docs/storage.md, "Several receivers"): rows
    // carry their span counts, and what the others stored of the traces held here is merged.
    spanCountOf: (traceId) => pipeline.spanCountOf(traceId),
    mergeForeign: (snapshot) => void pipeline.mergeStored(snapshot, Date.now()),
    onForeignError: (error) =>
      (error as { code?: unknown }).code === 'LLMMON_ERR_STORE_UNAVAILABLE'
        ? logger.warn(
            { err: error, code: 'LLMMON_ERR_STORE_UNAVAILABLE', store: history.location },
            `LLMMON_ERR_STORE_UNAVAILABLE: cannot read what other replicas stored of the traces held here from ${history.location}; a later commit tries again`,
          )
        : internalErrors.report('LLMMON_ERR_INTERNAL', 'history_merge', error),
    onCommitError: (error) =>
      logger.error(
        { err: error, code: 'LLMMON_ERR_STORE_UNAVAILABLE', store: history.location },
        `LLMMON_ERR_STORE_UNAVAILABLE: cannot write to ${history.location}; ingest answers 503 until it recovers`,
      ),
    onRecovered: () => logger.info({ store: history.location }, `the history store ${history.location} accepts writes again`),
    onSessionDropped: (error, session) =>
      internalErrors.report(
        'LLMMON_ERR_INTERNAL',
        'history',
        new Error(
          `${history.location} refused session ${session.session_id} (trace ${session.trace_id}); it is left out of the history: ${(error as Error).message}`,
          { cause: error },
        ),
      ),
  });
  const retention = new RetentionJob(history, {
    retentionMs: config.historyRetentionDays * 24 * 3600 * 1000,
    onError: (error) => internalErrors.report('LLMMON_ERR_TIMER_FAILED', 'history_retention', error),
  });
  // Behind trusted proxies the client is the one X-Forwarded-For names (per-address limits, logs).
  const trustProxy = config.trustProxy.length > 0 ? { trustProxy: config.trustProxy } : {};
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
    http: { connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    clientErrorHandler: otlpClientError,
    ...trustProxy,
  });
  otlpServer.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type('application/json')
      .send(
        encodeStatus(
          'json',
          GRPC_CODE.invalidArgument,
          `LLMMON_ERR_ROUTE_NOT_FOUND: no route for ${request.method} ${request.url}; OTLP traces go to POST ${OTLP_TRACES_PATH}`,
        ),
      );
  });
  const redact = createRedactor({ content: config.redactContent, attributes: config.redactAttributes, mode: config.redactMode });
  const forwarder = config.forwardEndpoint
    ? new OtlpForwarder({
        endpoint: config.forwardEndpoint,
        headers: headersOf(config.forwardHeaders),
        logger: logger.child({ component: 'forwarder' }),
      })
    : undefined;
  if (forwarder && redact) {
    // Allowed only with forward_unredacted (the config refuses otherwise): say it once more.
    logger.warn('forwarded spans are not redacted: redaction applies to what llm-monitor stores and shows');
  }
  let closing = false;
  const remoteSessions = new RemoteSessions({
    maxSessions: config.maxSessions,
    retentionMs: config.retentionSeconds * 1000,
    staleAfterMs: config.abandonAfterSeconds * 1000,
    onListenerError: (error, listener) => internalErrors.report('LLMMON_ERR_LISTENER_FAILED', listener, error),
  });
  // ioredis is loaded only when a Redis is named (about 11 MiB a receiver on its own need not carry).
  const replication = config.redisUrl ? await import('./replication/redis-fanout.js') : undefined;
  const redisLocation = (url: string): string => replication?.redisLocation(url) ?? url;
  const fanout = replication
    ? new replication.RedisFanout({
        url: config.redisUrl,
        channel: config.redisChannel,
        replicaId: config.replicaId,
        local: pipeline.store,
        remote: remoteSessions,
        history,
        holdsTrace: (traceId) => pipeline.spanCountOf(traceId) > 0,
        onSplitTraces: (traceIds) => {
          historyWriter.reconcile(traceIds).catch((error: unknown) => internalErrors.report('LLMMON_ERR_INTERNAL', 'fanout', error));
        },
        onStateChange: (state, reason) => {
          if (state === 'degraded')
            logger.warn(
              { code: 'LLMMON_ERR_FANOUT_UNAVAILABLE', redis: redisLocation(config.redisUrl) },
              `LLMMON_ERR_FANOUT_UNAVAILABLE: ${reason}; the fan-out resumes by itself when Redis answers`,
            );
          else if (state === 'connected')
            logger.info({ redis: redisLocation(config.redisUrl), replica: config.replicaId }, `live fan-out: ${reason}`);
        },
        onError: (error, where) => internalErrors.report('LLMMON_ERR_INTERNAL', `fanout_${where}`, error),
        onDuplicateReplicaId: (instance) =>
          logger.warn(
            { code: 'LLMMON_ERR_REPLICA_ID_IN_USE', replica: config.replicaId, other_instance: instance },
            `LLMMON_ERR_REPLICA_ID_IN_USE: another live receiver publishes as replica ${config.replicaId}; give each replica its own replica_id (LLM_MONITOR_REPLICA_ID), or a restart may restore the other's running sessions`,
          ),
      })
    : undefined;
  if (fanout && history.kind !== 'postgres') {
    logger.warn(
      { store: history.location },
      `redis_url is set but the history is ${history.location}: replicas share live sessions, but each keeps its own history (lists, call log, analytics); share a PostgreSQL storage_url`,
    );
  }
  const liveSessions: LiveSessionView = fanout ? new CombinedLiveSessions(pipeline.store, remoteSessions) : pipeline.store;
  const hub = new LiveHub(liveSessions, {
    tickMs: config.liveTickMs,
    onError: (error, where) => internalErrors.report('LLMMON_ERR_TIMER_FAILED', `live_${where}`, error),
  });
  // One set of admission slots for both transports: a request in flight holds memory whichever
  // way it came; the memory guard stands before both.
  const memoryGuard = new MemoryGuard({
    hardLimitBytes: config.memoryLimitMib * MIB,
    softLimitBytes: config.memorySoftLimitMib * MIB,
    ...(options.measureMemory ? { measure: options.measureMemory } : {}),
    // A tenth of the live window at a time (at least 100): enough to matter, little enough that
    // what the page shows thins out gradually.
    shed: () => pipeline.shed(Math.max(100, Math.ceil(pipeline.store.size / 10))),
  });
  const admission = new IngestAdmission({
    maxConcurrentRequests: config.otlpMaxConcurrentRequests,
    maxUploads: config.otlpMaxUploads,
    maxUploadsPerAddress: config.otlpMaxUploadsPerAddress,
    isClosing: () => closing,
    storeAvailable: () => historyWriter.healthy,
    memory: memoryGuard,
  });
  const eventLoop = new EventLoopWatch(options.eventLoop);
  let rateLimited = 0;
  // One registry for the session metrics and the receiver's own, served together at /metrics.
  const registry = createOpenMetricsRegistry();
  const liveRefusals: LiveConnectionRefusals = { total: 0, per_address: 0 };
  const ingestObserver = registerReceiverMetrics(registry, {
    liveRefusals,
    admission,
    memory: memoryGuard,
    rateLimited: () => rateLimited,
    store: pipeline.store,
    pipeline,
    config,
    internalErrors,
    maxSessions: config.maxSessions,
    hub,
    historyWriter,
    ...(forwarder ? { forwarder } : {}),
    ...(fanout ? { fanout } : {}),
  });
  /** One request's spans: redacted and ingested, a slice at a time. */
  function* ingestSteps(spans: SpanRecord[]): Steps<SpanRefusals> {
    let kept = spans;
    if (redact) {
      kept = [];
      for (let i = 0; i < spans.length; i += REDACT_SLICE) {
        kept.push(...redact(spans.slice(i, i + REDACT_SLICE)));
        yield;
      }
    }
    const result = yield* pipeline.ingestSteps(kept, Date.now());
    return { tooLate: result.ignored, traceFull: result.refusedTraceFull };
  }
  const onAccepted = forwarder
    ? { onAccepted: (body: Buffer, contentType: string, encoding: string | undefined) => forwarder.forward(body, contentType, encoding) }
    : {};
  installBrowserGuard(otlpServer, { boundHost: config.host, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  await otlpServer.register(otlpIngestPlugin, {
    authorize: authorizeIngest,
    maxBodyBytes: config.otlpMaxBodyBytes,
    bodyIdleMs: config.otlpBodyIdleSeconds * 1000,
    maxConcurrentRequests: config.otlpMaxConcurrentRequests,
    isClosing: () => closing,
    admission,
    observer: ingestObserver,
    work,
    ingest: ingestSteps,
    commit: () => historyWriter.flush(),
    storeAvailable: () => historyWriter.healthy,
    ...onAccepted,
  });
  const otlpGrpcServer = new OtlpGrpcServer({
    authorize: authorizeIngest,
    maxBodyBytes: config.otlpMaxBodyBytes,
    admission,
    maxConcurrentStreams: config.otlpMaxConcurrentRequests,
    observer: ingestObserver,
    work,
    ingest: ingestSteps,
    commit: () => historyWriter.flush(),
    onInternalError: (error) => logger.error({ err: error, server: 'otlp-grpc' }, 'internal error while receiving spans'),
    log: (line) => logger.debug({ server: 'otlp-grpc' }, line),
    ...onAccepted,
  });

  const apiServer = Fastify({
    loggerInstance: logger.child({ server: 'api' }) as FastifyBaseLogger,
    frameworkErrors: apiFrameworkErrors,
    // Per-request lines would flood the log at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: apiClientError,
    keepAliveTimeout: API_KEEP_ALIVE_MS,
    requestTimeout: API_REQUEST_TIMEOUT_MS,
    http: { headersTimeout: API_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    ...trustProxy,
  });
  installApiErrorHandling(apiServer, {
    host: config.host,
    // An exporter pointed at this port is told the OTLP port actually bound (otlp_port may be 0).
    otlpPort: () => {
      const address = otlpServer.server.address();
      return address !== null && typeof address === 'object' ? address.port : config.otlpPort;
    },
  });
  // Security headers on every answer (API, /docs, /metrics, the page): no sniffing, no framing, no
  // referrer, same-origin isolation. The CSP is the strictest there is (the answers are data); the
  // page and Swagger UI replace it with their own. No HSTS: that is for whatever terminates TLS.
  await apiServer.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    hsts: false,
    crossOriginEmbedderPolicy: false,
  });
  // Per client address, before anything else judges the request: a client guessing tokens is
  // limited like one reading too fast. Probes and the page's own files are not counted.
  await apiServer.register(rateLimit, { global: false });
  if (config.readRateLimitPerMinute > 0) {
    apiServer.addHook(
      'onRequest',
      apiServer.rateLimit({
        max: config.readRateLimitPerMinute,
        timeWindow: 60_000,
        allowList: (request) => !isRateLimitedPath(request.url),
        onExceeded: () => {
          rateLimited += 1;
        },
        errorResponseBuilder: (request, context) =>
          new LlmMonitorError(
            'LLMMON_ERR_RATE_LIMITED',
            `more than ${context.max} requests a minute from ${request.ip} (read_rate_limit_per_minute); retry in ${context.after}`,
          ),
      }),
    );
  }
  const browserGuard = { boundHost: config.host, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins };
  // Before every route: they guard the routes added after them.
  installBrowserGuard(apiServer, browserGuard);
  installReadAuth(apiServer, { tokens: readTokens, metricsPublic: config.metricsPublic });
  // Before every route: it compresses the answers of the routes added after it.
  await installResponseCompression(apiServer);
  await apiServer.register(swagger, {
    openapi: {
      info: {
        title: 'llm-monitor',
        version: RECEIVER_VERSION,
        description: 'Live LLM processing sessions rebuilt from OpenTelemetry spans.',
      },
    },
  });
  // The UI's assets come from the package itself: no CDN at run time.
  // staticCSP: Swagger UI's own policy (its scripts by hash) replaces the strict one above.
  // Its upgrade-insecure-requests is left out: the receiver speaks plain HTTP unless something in
  // front terminates TLS, and an upgraded script request would fail.
  await apiServer.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  const storeHealth = (): ComponentHealth => {
    const fill = pipeline.store.size / config.maxSessions;
    const writes = historyWriter.stats();
    const details = {
      sessions: pipeline.store.size,
      max_sessions: config.maxSessions,
      traces: pipeline.traceCount,
      history: { kind: history.kind, location: history.location, durable: history.durable, ...writes, retention: retention.stats() },
    };
    if (!writes.healthy) {
      return {
        status: 'unhealthy',
        reason: `${history.location} cannot take writes (${writes.error ?? 'unknown error'}): ingest answers 503 until a commit succeeds (probed every second)`,
        details,
      };
    }
    if (fill >= 0.9) {
      return {
        status: 'degraded',
        reason: `the live window holds ${pipeline.store.size} of max_sessions ${config.maxSessions}: the oldest ended sessions are evicted from it`,
        details,
      };
    }
    return { status: 'healthy', details };
  };
  const ingestHealth = (): ComponentHealth => {
    const listening = otlpServer.server.listening;
    const grpcListening = otlpGrpcServer.port !== undefined;
    const details = {
      listening,
      grpc_listening: grpcListening,
      requests_in_flight: admission.inFlight,
      max_concurrent_requests: config.otlpMaxConcurrentRequests,
      uploads: admission.uploading,
      max_uploads: config.otlpMaxUploads,
      refused: { ...admission.refusals },
      max_body_bytes: config.otlpMaxBodyBytes,
      ...(forwarder ? { forwarding: forwarder.stats() } : {}),
    };
    if (closing) return { status: 'unhealthy', reason: 'shutting down: new requests get 503', details };
    if (!listening || !grpcListening) {
      return {
        status: 'unhealthy',
        reason: `not listening (${[listening ? '' : 'OTLP/HTTP', grpcListening ? '' : 'OTLP/gRPC'].filter(Boolean).join(', ')})`,
        details,
      };
    }
    // At its admission limits the receiver still serves, but senders are being told to back off.
    if (admission.inFlight >= config.otlpMaxConcurrentRequests || admission.uploading >= config.otlpMaxUploads) {
      return {
        status: 'degraded',
        reason: `at its admission limits (${admission.inFlight}/${config.otlpMaxConcurrentRequests} requests processed, ${admission.uploading}/${config.otlpMaxUploads} bodies received): new requests get 429`,
        details,
      };
    }
    return { status: 'healthy', details };
  };
  // Live streams to this receiver's clients, and the fan-out to other replicas: Redis gone is
  // degraded, not unhealthy — this receiver still serves its own sessions.
  const fanoutHealth = (): ComponentHealth => {
    if (closing) return { status: 'unhealthy', reason: 'shutting down: live clients are being disconnected', details: { ...hub.stats() } };
    if (!fanout) return { status: 'healthy', details: { ...hub.stats(), replication: { enabled: false } } };
    const replication = fanout.stats();
    return {
      status: replication.state === 'connected' ? 'healthy' : 'degraded',
      ...(replication.state === 'connected' ? {} : { reason: replication.reason }),
      details: { ...hub.stats(), replication },
    };
  };
  // Memory: the guard's reading against its limits, and what the session builder holds against its
  // bounds, so a receiver on its way to running out says so before it does.
  const memoryHealth = (): ComponentHealth => {
    const guard = memoryGuard.stats();
    const heap = getHeapStatistics();
    const held = pipeline.stats();
    const heldFill = held.bytes / held.maxHeldBytes;
    const orphanFill = held.orphanTraces / config.maxOrphanTraces;
    const mib = (bytes: number): number => Math.round(bytes / MIB);
    const details = {
      used_bytes: guard.usedBytes,
      soft_limit_bytes: guard.softLimitBytes,
      hard_limit_bytes: guard.hardLimitBytes,
      refused: { soft: guard.refusedSoft, hard: guard.refusedHard },
      forced_collections: guard.forcedCollections,
      shed: guard.shed,
      rss_bytes: process.memoryUsage.rss(),
      heap_used_bytes: heap.used_heap_size,
      heap_limit_bytes: heap.heap_size_limit,
      held_bytes: held.bytes,
      max_held_bytes: held.maxHeldBytes,
      traces: held.traces,
      orphan_traces: held.orphanTraces,
      max_orphan_traces: config.maxOrphanTraces,
      spans: held.spans,
      removed_traces: held.removedTraces,
      ingest_jobs: work.pending,
    };
    const checkedAt = new Date(guard.checkedAt);
    if (guard.pressure === 'hard') {
      return {
        status: 'unhealthy',
        reason: `${mib(guard.usedBytes)} MiB in use, above memory_limit_mib (${mib(guard.hardLimitBytes)} MiB): ingest answers 503`,
        checkedAt,
        details,
      };
    }
    const reasons: string[] = [];
    if (guard.pressure === 'soft')
      reasons.push(
        `${mib(guard.usedBytes)} MiB in use, above memory_soft_limit_mib (${mib(guard.softLimitBytes)} MiB): ingest answers 429`,
      );
    if (heldFill >= 0.9)
      reasons.push(`the session builder holds ${Math.round(heldFill * 100)}% of max_held_bytes: the oldest traces are let go`);
    if (orphanFill >= 0.9)
      reasons.push(
        `${held.orphanTraces} of max_orphan_traces ${config.maxOrphanTraces} traces without a session held: the oldest are let go`,
      );
    return reasons.length > 0
      ? { status: 'degraded', reason: reasons.join('; '), checkedAt, details }
      : { status: 'healthy', checkedAt, details };
  };
  // Who may send and read. Open on loopback is the default and fine; open on an interface others
  // reach is said loudly, at start and here, until tokens are set.
  const openToNetwork = (): string[] => {
    if (isLoopbackHost(config.host)) return [];
    return [...(ingestTokens.required ? [] : ['ingest']), ...(readTokens.required ? [] : ['reading'])];
  };
  const authHealth = (): ComponentHealth => {
    const open = openToNetwork();
    return {
      status: open.length > 0 ? 'degraded' : 'healthy',
      ...(open.length > 0 ? { reason: openWarning(open) } : {}),
      details: {
        host: config.host,
        ingest: ingestTokens.required ? { tokens: ingestTokens.size } : 'open',
        read: readTokens.required ? { tokens: readTokens.size, metrics_public: config.metricsPublic } : 'open',
      },
    };
  };
  const openWarning = (open: string[]): string =>
    `bound to ${config.host}, which other machines reach, with ${open.join(' and ')} open to anyone: set ${open
      .map((part) => (part === 'ingest' ? 'ingest_tokens (LLM_MONITOR_INGEST_TOKENS)' : 'read_tokens (LLM_MONITOR_READ_TOKENS)'))
      .join(' and ')}, or bind 127.0.0.1 (docs/security.md)`;
  await apiServer.register(healthRoutes, {
    checks: {
      ingest: ingestHealth,
      store: storeHealth,
      fanout: fanoutHealth,
      memory: memoryHealth,
      event_loop: () => eventLoop.health(),
      auth: authHealth,
    },
  });
  installLiveConnectionLimits(apiServer, {
    refusals: liveRefusals,
    paths: [WEBSOCKET_PATH, SSE_PATH],
    maxClients: config.liveMaxClients,
    maxClientsPerAddress: config.liveMaxClientsPerAddress,
  });
  await apiServer.register(websocketRoute, {
    hub,
    maxBufferedBytes: config.liveMaxBufferedBytes,
    pingIntervalMs: config.livePingSeconds * 1000,
  });
  await apiServer.register(sseRoute, { hub, maxBufferedBytes: config.liveMaxBufferedBytes });
  await apiServer.register(webAppRoutes, { directory: options.webAppDirectory ?? locateWebApp(), apiIndex: API_INDEX });
  apiServer.get(
    '/api/monitoring/model-prices',
    {
      schema: {
        summary:
          'The price table: the built-in prices (a snapshot of @pydantic/genai-prices) with the model_prices setting over them; USD per million input and output tokens, by model',
        response: {
          200: {
            type: 'object',
            required: ['prices'],
            properties: {
              prices: {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  properties: { input_per_million: { type: 'number' }, output_per_million: { type: 'number' } },
                },
              },
            },
          },
        },
      },
    },
    async () => ({ prices: modelPrices }),
  );
  await apiServer.register(sessionRoutes, { store: liveSessions, history });
  await apiServer.register(statisticsRoutes, { history });
  await apiServer.register(llmCallRoutes, { history });
  await apiServer.register(analyticsRoutes, { history });
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
    history,
    historyWriter,
    otlpServer,
    otlpGrpcServer,
    apiServer,
    logger,
    forwarder,
    ingestTokens,
    fanout,
    admission,
    memoryGuard,
    remoteSessions,
    liveSessions,
    hub,
    async listen() {
      await listenOn(otlpServer, 'otlpPort', config.host, config.otlpPort);
      let grpcPort: number;
      try {
        try {
          grpcPort = await otlpGrpcServer.listen(config.host, config.otlpGrpcPort);
        } catch (error) {
          throw listenError(error, 'otlpGrpcPort', config.host, config.otlpGrpcPort);
        }
        try {
          await listenOn(apiServer, 'port', config.host, config.port);
        } catch (error) {
          await otlpGrpcServer.close(0);
          throw error;
        }
      } catch (error) {
        // A failed start leaves nothing listening: an OTLP port left open would take spans that no
        // API shows, and keep the port from the next attempt.
        await otlpServer.close();
        throw error;
      }
      sweepTimer = setInterval(() => {
        // A wall: the pipeline guards each step of the sweep; this catches anything beyond them.
        try {
          pipeline.sweep(Date.now());
        } catch (error) {
          internalErrors.report('LLMMON_ERR_TIMER_FAILED', 'sweep', error);
        }
        // Ended sessions that let their spans go are compacted in slices between requests.
        work
          .run(pipeline.compactSteps())
          .catch((error: unknown) => internalErrors.report('LLMMON_ERR_TIMER_FAILED', 'sweep_compact', error));
        // What the sweep decided (abandoned, settled, removed) goes to the store in the background;
        // a failure is the writer's to report and retry.
        historyWriter.flush().catch(() => undefined);
      }, config.sweepIntervalSeconds * 1000);
      sweepTimer.unref();
      retention.start();
      fanout?.start();
      ingestTokens.watch();
      readTokens.watch();
      const open = openToNetwork();
      if (open.length > 0)
        logger.warn({ code: 'LLMMON_ERR_OPEN_ON_NETWORK', host: config.host }, `LLMMON_ERR_OPEN_ON_NETWORK: ${openWarning(open)}`);
      const otlpUrl = new URL(urlOf(otlpServer));
      otlpUrl.port = String(grpcPort);
      return { apiUrl: urlOf(apiServer), otlpTracesUrl: `${urlOf(otlpServer)}${OTLP_TRACES_PATH}`, otlpGrpcUrl: otlpUrl.origin };
    },
    async close() {
      closing = true;
      if (sweepTimer) clearInterval(sweepTimer);
      ingestTokens.close();
      readTokens.close();
      retention.stop();
      // Ingest first, so spans accepted while the API drains are not lost on the way out. Each step
      // has a deadline: a stalled client or downstream must not keep the process from stopping.
      const otlpClosed = otlpServer.close();
      await Promise.all([within(otlpClosed, graceMs), otlpGrpcServer.close(graceMs)]);
      otlpServer.server.closeAllConnections();
      await otlpClosed;
      if (forwarder) await forwarder.drain(graceMs);
      // What the last requests changed is published, then the others are told this replica goes.
      await fanout?.close();
      eventLoop.close();
      // Live clients would hold the API server open: tell them it is going.
      hub.close();
      const apiClosed = apiServer.close();
      await within(apiClosed, graceMs);
      apiServer.server.closeAllConnections();
      // Bounded too: a socket the HTTP server no longer tracks (an upgraded one) must not keep
      // the process from stopping.
      await within(apiClosed, graceMs);
      // Last: what the last requests and sweep changed is committed, then the database let go.
      await within(historyWriter.close(), graceMs);
      await history.close().catch((error: unknown) => logger.warn({ err: error }, 'error while closing the history store'));
    },
  };
}
