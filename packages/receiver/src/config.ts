/**
 * Receiver settings from four sources, each overriding the one before: defaults, the YAML config
 * file, `LLM_MONITOR_<NAME>` environment variables, command-line flags. One table describes every
 * setting, so the parser, `--help` and docs/configuration.md cannot disagree.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { ModelPrice } from '@llm-monitor/sessions';
import { closestName } from './did-you-mean.js';
import { LlmMonitorError } from './errors.js';
import { parseStorageUrl } from './storage/storage-url.js';

/** The receiver's settings. */
export interface ReceiverConfig {
  /** Interface both servers bind to. */
  host: string;
  /** Port of the monitor API (REST, health, metrics); 0 picks a free port. */
  port: number;
  /** Port of the OTLP/HTTP receiver; 0 picks a free port. */
  otlpPort: number;
  /** Port of the OTLP/gRPC receiver (`TraceService/Export`); 0 picks a free port. */
  otlpGrpcPort: number;
  /** Largest OTLP request body accepted, in bytes after decompression. */
  otlpMaxBodyBytes: number;
  /** Most OTLP requests received and decoded at once; more are answered 429 with Retry-After. */
  otlpMaxConcurrentRequests: number;
  /** Seconds an OTLP upload may go without a byte before it is cut off and its admission slot freed. */
  otlpBodyIdleSeconds: number;
  /** Most OTLP/HTTP request bodies being received at once; more are answered 429 before their body is read. */
  otlpMaxUploads: number;
  /** Most OTLP/HTTP request bodies being received at once from one client address. */
  otlpMaxUploadsPerAddress: number;
  /** Memory (V8 heap in use plus buffers) above which ingest is refused with 503, in MiB; 0 = 90% of V8's heap limit. */
  memoryLimitMib: number;
  /** Memory above which ingest is refused with 429, in MiB; 0 = 80% of `memoryLimitMib`. */
  memorySoftLimitMib: number;
  /** Requests per minute one client address may make to the read API (REST, /docs, /metrics, live connects); 0 = no limit. */
  readRateLimitPerMinute: number;
  /**
   * Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` names the client (for the
   * per-address limits and the logs); none: the connection's address is the client.
   */
  trustProxy: string[];
  /** Seconds an ended session is kept. */
  retentionSeconds: number;
  /** Most sessions held; the oldest ended ones are evicted first. */
  maxSessions: number;
  /** Seconds without a new span after which an active session is marked abandoned. */
  abandonAfterSeconds: number;
  /** Seconds after which a foreign session whose root is elsewhere is settled from its ended calls. */
  settleAfterSeconds: number;
  /** Seconds after its last span that a completed or failed session lets its spans go; later spans of it are refused. */
  releaseSpansAfterSeconds: number;
  /** Seconds between sweeps (abandoning, settling, retention, forgetting idle traces). */
  sweepIntervalSeconds: number;
  /** Most spans and pending markers held per trace; more are refused and reported. */
  maxSpansPerTrace: number;
  /** Most steps a session lists (the earliest); the rest are counted. */
  maxStepsPerSession: number;
  /** Characters of a step's input and output preview. */
  stepPreviewLength: number;
  /** Longest string kept from a span (attribute values, names, status messages), in characters. */
  maxAttributeValueLength: number;
  /** Estimated bytes of attributes and events kept per span; beyond, the rest is cut. */
  maxSpanBytes: number;
  /** Estimated bytes held per trace; spans beyond keep only what places them in the session. */
  maxTraceBytes: number;
  /** Estimated bytes held across all traces; beyond, the oldest traces and sessions are let go. */
  maxHeldBytes: number;
  /** Most traces held that are no session (yet); beyond, the oldest are let go. */
  maxOrphanTraces: number;
  /** Seconds a trace that is no session is kept after its last span. */
  orphanTraceIdleSeconds: number;
  /** Most removed traces remembered (their late spans are refused instead of starting over). */
  maxRemovedTraces: number;
  /** Redact prompt and response content before anything is stored or shown. */
  redactContent: boolean;
  /** More attributes to redact: exact names or `/regular expressions/`. */
  redactAttributes: string[];
  /** `mask` replaces redacted values with `[REDACTED]`; `drop` removes them. */
  redactMode: 'mask' | 'drop';
  /** Forward every accepted OTLP request, unchanged, to this OTLP/HTTP traces URL ('' = off). */
  forwardEndpoint: string;
  /** Headers for the forwarded requests, as `Name=value`. */
  forwardHeaders: string[];
  /** Forward even though redaction is on (forwarded requests are the originals, unredacted). */
  forwardUnredacted: boolean;
  /** Milliseconds between batches of live events (WebSocket and SSE). */
  liveTickMs: number;
  /** Most distinct values of a metric label (model, task, …); beyond it values are exported as `other`. */
  metricsMaxLabelValues: number;
  /** Prices for the cost metric: `model=input/output`, in USD per million tokens. */
  modelPrices: string[];
  /**
   * Where history is kept: `sqlite:<path>` (the default, a file created on first start),
   * `postgres://…` (PostgreSQL, for teams and replicas) or `memory:` (nothing kept beyond the live window).
   */
  storageUrl: string;
  /** Days of history kept in the store; older sessions and calls are deleted in the background. */
  historyRetentionDays: number;
  /** Bearer tokens OTLP ingest accepts (HTTP and gRPC); none: ingest is open. */
  ingestTokens: string[];
  /** A file of further ingest tokens, one per line, read again when it changes ('' = none). */
  ingestTokensFile: string;
  /** Bearer tokens for reading: REST, live streams, /docs, /metrics (unless metricsPublic); none: reading is open. */
  readTokens: string[];
  /** A file of further read tokens, one per line, read again when it changes ('' = none). */
  readTokensFile: string;
  /** Serve /metrics without a read token (for a Prometheus that cannot send one). */
  metricsPublic: boolean;
  /** Host names requests may name besides this machine's loopback names (`*`: any); none and bound beyond loopback: any. */
  allowedHosts: string[];
  /** Origins (browser pages) allowed besides the receiver's own, e.g. `https://grafana.example.com`. */
  allowedOrigins: string[];
  /** Redis for live fan-out across replicas (`redis://…`, `rediss://…`); '' = this receiver shows only its own live sessions. */
  redisUrl: string;
  /** The Redis pub/sub channel replicas of one deployment share. */
  redisChannel: string;
  /**
   * This receiver's name among replicas: tags what it writes to a shared store (a restart restores
   * the running sessions written under it) and what it publishes. '' (the default): the host name.
   */
  replicaId: string;
  /** Tokens one session may use before it is marked over budget (0 = no budget). */
  budgetSessionTokens: number;
  /** USD one session may cost before it is marked over budget (0 = no budget). */
  budgetSessionCostUsd: number;
  /** Tokens one user may use per UTC day (0 = no budget). */
  budgetUserDailyTokens: number;
  /** USD one user may spend per UTC day (0 = no budget). */
  budgetUserDailyCostUsd: number;
  /** Bytes a live client may have waiting before it is dropped as too slow. */
  liveMaxBufferedBytes: number;
  /** Most live connections (WebSocket and SSE) in all. */
  liveMaxClients: number;
  /** Most live connections from one client address. */
  liveMaxClientsPerAddress: number;
  /** Seconds between WebSocket pings; a client that misses one is dropped. */
  livePingSeconds: number;
  /** Run the demo workload in the same process. */
  demo: boolean;
  /** Sessions the demo starts per second. */
  demoRate: number;
  /** pino log level. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

type SettingType =
  | 'string'
  | 'port'
  | 'positiveInteger'
  | 'count'
  | 'positiveNumber'
  | 'rate'
  | 'boolean'
  | 'logLevel'
  | 'list'
  | 'redactMode'
  | 'url'
  | 'storageUrl'
  | 'redisUrl'
  | 'limit';

/** One setting: its names in each source, type, default and meaning. */
export interface SettingDefinition {
  readonly key: keyof ReceiverConfig;
  /** Key in the YAML file (snake_case). */
  readonly file: string;
  /** Command-line flag, without the leading dashes. */
  readonly flag: string;
  /** Environment variable. */
  readonly env: string;
  readonly type: SettingType;
  readonly description: string;
}

/** Every setting of the receiver. */
export const SETTINGS: readonly SettingDefinition[] = [
  { key: 'host', file: 'host', flag: 'host', env: 'LLM_MONITOR_HOST', type: 'string', description: 'interface to bind both servers to' },
  {
    key: 'port',
    file: 'port',
    flag: 'port',
    env: 'LLM_MONITOR_PORT',
    type: 'port',
    description: 'port of the API server: web monitor, REST API, /docs, /metrics; 0 = any free port',
  },
  {
    key: 'otlpPort',
    file: 'otlp_port',
    flag: 'otlp-port',
    env: 'LLM_MONITOR_OTLP_PORT',
    type: 'port',
    description: 'port of the OTLP/HTTP server (POST /v1/traces), where exporters send; 0 = any free port',
  },
  {
    key: 'otlpGrpcPort',
    file: 'otlp_grpc_port',
    flag: 'otlp-grpc-port',
    env: 'LLM_MONITOR_OTLP_GRPC_PORT',
    type: 'port',
    description: 'port of the OTLP/gRPC server (TraceService/Export), where gRPC exporters and the Collector send; 0 = any free port',
  },
  {
    key: 'otlpMaxBodyBytes',
    file: 'otlp_max_body_bytes',
    flag: 'otlp-max-body-bytes',
    env: 'LLM_MONITOR_OTLP_MAX_BODY_BYTES',
    type: 'positiveInteger',
    description: 'largest OTLP request body, in bytes after decompression',
  },
  {
    key: 'otlpMaxConcurrentRequests',
    file: 'otlp_max_concurrent_requests',
    flag: 'otlp-max-concurrent-requests',
    env: 'LLM_MONITOR_OTLP_MAX_CONCURRENT_REQUESTS',
    type: 'positiveInteger',
    description: 'most OTLP requests in progress at once; more get 429 with Retry-After',
  },
  {
    key: 'otlpBodyIdleSeconds',
    file: 'otlp_body_idle_seconds',
    flag: 'otlp-body-idle-seconds',
    env: 'LLM_MONITOR_OTLP_BODY_IDLE_SECONDS',
    type: 'positiveNumber',
    description: 'seconds an OTLP upload may go without a byte before it is cut off and its admission slot freed',
  },
  {
    key: 'otlpMaxUploads',
    file: 'otlp_max_uploads',
    flag: 'otlp-max-uploads',
    env: 'LLM_MONITOR_OTLP_MAX_UPLOADS',
    type: 'positiveInteger',
    description:
      'most OTLP/HTTP bodies being received at once; more get 429 before their body is read (a request takes one of otlp_max_concurrent_requests only once its body is complete)',
  },
  {
    key: 'otlpMaxUploadsPerAddress',
    file: 'otlp_max_uploads_per_address',
    flag: 'otlp-max-uploads-per-address',
    env: 'LLM_MONITOR_OTLP_MAX_UPLOADS_PER_ADDRESS',
    type: 'positiveInteger',
    description:
      'most OTLP/HTTP bodies being received at once from one client address, so stalled uploads from one place cannot take every upload slot',
  },
  {
    key: 'memoryLimitMib',
    file: 'memory_limit_mib',
    flag: 'memory-limit-mib',
    env: 'LLM_MONITOR_MEMORY_LIMIT_MIB',
    type: 'limit',
    description:
      'memory (V8 heap in use plus buffers) above which ingest answers 503 with Retry-After, in MiB; 0 = 90% of the V8 heap limit. Set it below a container memory limit',
  },
  {
    key: 'memorySoftLimitMib',
    file: 'memory_soft_limit_mib',
    flag: 'memory-soft-limit-mib',
    env: 'LLM_MONITOR_MEMORY_SOFT_LIMIT_MIB',
    type: 'limit',
    description: 'memory above which ingest answers 429 with Retry-After, in MiB; 0 = 80% of memory_limit_mib',
  },
  {
    key: 'readRateLimitPerMinute',
    file: 'read_rate_limit_per_minute',
    flag: 'read-rate-limit-per-minute',
    env: 'LLM_MONITOR_READ_RATE_LIMIT_PER_MINUTE',
    type: 'count',
    description:
      'requests per minute one client address may make to the API port (REST, /docs, /metrics, live connections; not /healthz, /readyz or the page); more get 429 with Retry-After; 0 = no limit',
  },
  {
    key: 'trustProxy',
    file: 'trust_proxy',
    flag: 'trust-proxy',
    env: 'LLM_MONITOR_TRUST_PROXY',
    type: 'list',
    description:
      'addresses or CIDR ranges of reverse proxies in front (e.g. 10.0.0.0/8) whose X-Forwarded-For names the client for the per-address limits; none: the connection address counts',
  },
  {
    key: 'retentionSeconds',
    file: 'retention_seconds',
    flag: 'retention-seconds',
    env: 'LLM_MONITOR_RETENTION_SECONDS',
    type: 'positiveNumber',
    description: 'how long an ended session is kept, in seconds',
  },
  {
    key: 'maxSessions',
    file: 'max_sessions',
    flag: 'max-sessions',
    env: 'LLM_MONITOR_MAX_SESSIONS',
    type: 'positiveInteger',
    description: 'most sessions held; the oldest ended ones are evicted first',
  },
  {
    key: 'abandonAfterSeconds',
    file: 'abandon_after_seconds',
    flag: 'abandon-after-seconds',
    env: 'LLM_MONITOR_ABANDON_AFTER_SECONDS',
    type: 'positiveNumber',
    description: 'seconds without a new span before an active session is marked abandoned',
  },
  {
    key: 'settleAfterSeconds',
    file: 'settle_after_seconds',
    flag: 'settle-after-seconds',
    env: 'LLM_MONITOR_SETTLE_AFTER_SECONDS',
    type: 'positiveNumber',
    description: 'seconds before a session of another instrumentation whose root never came is settled from its ended calls',
  },
  {
    key: 'releaseSpansAfterSeconds',
    file: 'release_spans_after_seconds',
    flag: 'release-spans-after-seconds',
    env: 'LLM_MONITOR_RELEASE_SPANS_AFTER_SECONDS',
    type: 'positiveNumber',
    description:
      'seconds after its last span that a completed or failed session lets its spans go (later spans of it are refused as too late)',
  },
  {
    key: 'sweepIntervalSeconds',
    file: 'sweep_interval_seconds',
    flag: 'sweep-interval-seconds',
    env: 'LLM_MONITOR_SWEEP_INTERVAL_SECONDS',
    type: 'positiveNumber',
    description: 'seconds between sweeps: abandoning, settling, retention, forgetting idle traces',
  },
  {
    key: 'maxSpansPerTrace',
    file: 'max_spans_per_trace',
    flag: 'max-spans-per-trace',
    env: 'LLM_MONITOR_MAX_SPANS_PER_TRACE',
    type: 'positiveInteger',
    description: 'most spans and live markers held per trace; more are refused (reported as rejected)',
  },
  {
    key: 'maxStepsPerSession',
    file: 'max_steps_per_session',
    flag: 'max-steps-per-session',
    env: 'LLM_MONITOR_MAX_STEPS_PER_SESSION',
    type: 'count',
    description: 'most steps a session lists (the earliest); the rest are counted in steps_dropped (0 = no tree of steps)',
  },
  {
    key: 'stepPreviewLength',
    file: 'step_preview_length',
    flag: 'step-preview-length',
    env: 'LLM_MONITOR_STEP_PREVIEW_LENGTH',
    type: 'positiveInteger',
    description: "characters kept of a step's input and output preview",
  },
  {
    key: 'maxAttributeValueLength',
    file: 'max_attribute_value_length',
    flag: 'max-attribute-value-length',
    env: 'LLM_MONITOR_MAX_ATTRIBUTE_VALUE_LENGTH',
    type: 'positiveInteger',
    description: 'longest string kept from a span, in characters; longer ones are cut',
  },
  {
    key: 'maxSpanBytes',
    file: 'max_span_bytes',
    flag: 'max-span-bytes',
    env: 'LLM_MONITOR_MAX_SPAN_BYTES',
    type: 'positiveInteger',
    description: 'estimated bytes of attributes and events kept per span; the rest is cut',
  },
  {
    key: 'maxTraceBytes',
    file: 'max_trace_bytes',
    flag: 'max-trace-bytes',
    env: 'LLM_MONITOR_MAX_TRACE_BYTES',
    type: 'positiveInteger',
    description: 'estimated bytes held per trace; later spans keep only what places them in the session',
  },
  {
    key: 'maxHeldBytes',
    file: 'max_held_bytes',
    flag: 'max-held-bytes',
    env: 'LLM_MONITOR_MAX_HELD_BYTES',
    type: 'positiveInteger',
    description: 'estimated bytes held across all traces; beyond, the oldest traces and sessions are let go',
  },
  {
    key: 'maxOrphanTraces',
    file: 'max_orphan_traces',
    flag: 'max-orphan-traces',
    env: 'LLM_MONITOR_MAX_ORPHAN_TRACES',
    type: 'positiveInteger',
    description: 'most traces held that are no session yet (plain traces kept in case a GenAI span follows)',
  },
  {
    key: 'orphanTraceIdleSeconds',
    file: 'orphan_trace_idle_seconds',
    flag: 'orphan-trace-idle-seconds',
    env: 'LLM_MONITOR_ORPHAN_TRACE_IDLE_SECONDS',
    type: 'positiveNumber',
    description: 'seconds a trace that is no session is kept after its last span',
  },
  {
    key: 'maxRemovedTraces',
    file: 'max_removed_traces',
    flag: 'max-removed-traces',
    env: 'LLM_MONITOR_MAX_REMOVED_TRACES',
    type: 'positiveInteger',
    description: 'most removed traces remembered, so their late spans are refused rather than start a session again',
  },
  {
    key: 'redactContent',
    file: 'redact_content',
    flag: 'redact-content',
    env: 'LLM_MONITOR_REDACT_CONTENT',
    type: 'boolean',
    description: 'redact prompt and response content before anything is stored or shown',
  },
  {
    key: 'redactAttributes',
    file: 'redact_attributes',
    flag: 'redact-attributes',
    env: 'LLM_MONITOR_REDACT_ATTRIBUTES',
    type: 'list',
    description: 'more attributes to redact: names or /regular expressions/, comma-separated',
  },
  {
    key: 'redactMode',
    file: 'redact_mode',
    flag: 'redact-mode',
    env: 'LLM_MONITOR_REDACT_MODE',
    type: 'redactMode',
    description: 'mask (replace with [REDACTED]) or drop',
  },
  {
    key: 'storageUrl',
    file: 'storage_url',
    flag: 'storage-url',
    env: 'LLM_MONITOR_STORAGE_URL',
    type: 'storageUrl',
    description: 'where history is kept: sqlite:<path>, postgres://user@host:5432/db, or memory: (nothing kept)',
  },
  {
    key: 'ingestTokens',
    file: 'ingest_tokens',
    flag: 'ingest-tokens',
    env: 'LLM_MONITOR_INGEST_TOKENS',
    type: 'list',
    description: 'bearer tokens OTLP ingest accepts (HTTP and gRPC), comma-separated; none: ingest is open',
  },
  {
    key: 'ingestTokensFile',
    file: 'ingest_tokens_file',
    flag: 'ingest-tokens-file',
    env: 'LLM_MONITOR_INGEST_TOKENS_FILE',
    type: 'string',
    description: 'a file of further ingest tokens, one per line (# comments), read again when it changes',
  },
  {
    key: 'readTokens',
    file: 'read_tokens',
    flag: 'read-tokens',
    env: 'LLM_MONITOR_READ_TOKENS',
    type: 'list',
    description: 'bearer tokens for reading (REST, WebSocket, SSE, /docs, /metrics), comma-separated; none: reading is open',
  },
  {
    key: 'readTokensFile',
    file: 'read_tokens_file',
    flag: 'read-tokens-file',
    env: 'LLM_MONITOR_READ_TOKENS_FILE',
    type: 'string',
    description: 'a file of further read tokens, one per line (# comments), read again when it changes',
  },
  {
    key: 'metricsPublic',
    file: 'metrics_public',
    flag: 'metrics-public',
    env: 'LLM_MONITOR_METRICS_PUBLIC',
    type: 'boolean',
    description: 'serve /metrics without a read token (a Prometheus that cannot send one)',
  },
  {
    key: 'allowedHosts',
    file: 'allowed_hosts',
    flag: 'allowed-hosts',
    env: 'LLM_MONITOR_ALLOWED_HOSTS',
    type: 'list',
    description: 'host names requests may name besides localhost and 127.0.0.1 (* = any); none and bound beyond loopback: any',
  },
  {
    key: 'allowedOrigins',
    file: 'allowed_origins',
    flag: 'allowed-origins',
    env: 'LLM_MONITOR_ALLOWED_ORIGINS',
    type: 'list',
    description: "browser origins allowed besides the receiver's own page (WebSocket upgrades and requests that carry Origin)",
  },
  {
    key: 'redisUrl',
    file: 'redis_url',
    flag: 'redis-url',
    env: 'LLM_MONITOR_REDIS_URL',
    type: 'redisUrl',
    description: "Redis for live fan-out across replicas (redis://host:6379, rediss://…); empty = only this receiver's live sessions",
  },
  {
    key: 'redisChannel',
    file: 'redis_channel',
    flag: 'redis-channel',
    env: 'LLM_MONITOR_REDIS_CHANNEL',
    type: 'string',
    description: 'the Redis pub/sub channel the replicas of one deployment share',
  },
  {
    key: 'replicaId',
    file: 'replica_id',
    flag: 'replica-id',
    env: 'LLM_MONITOR_REPLICA_ID',
    type: 'string',
    description: "this receiver's name among replicas (what it writes to a shared store and publishes); default: the host name",
  },
  {
    key: 'historyRetentionDays',
    file: 'history_retention_days',
    flag: 'history-retention-days',
    env: 'LLM_MONITOR_HISTORY_RETENTION_DAYS',
    type: 'positiveNumber',
    description: 'days of history kept in the store (sessions and LLM calls)',
  },
  {
    key: 'budgetSessionTokens',
    file: 'budget_session_tokens',
    flag: 'budget-session-tokens',
    env: 'LLM_MONITOR_BUDGET_SESSION_TOKENS',
    type: 'limit',
    description: 'tokens one session may use before it is marked over budget (0 = none)',
  },
  {
    key: 'budgetSessionCostUsd',
    file: 'budget_session_cost_usd',
    flag: 'budget-session-cost-usd',
    env: 'LLM_MONITOR_BUDGET_SESSION_COST_USD',
    type: 'limit',
    description: 'USD one session may cost before it is marked over budget (0 = none)',
  },
  {
    key: 'budgetUserDailyTokens',
    file: 'budget_user_daily_tokens',
    flag: 'budget-user-daily-tokens',
    env: 'LLM_MONITOR_BUDGET_USER_DAILY_TOKENS',
    type: 'limit',
    description: 'tokens one user may use per UTC day (0 = none)',
  },
  {
    key: 'budgetUserDailyCostUsd',
    file: 'budget_user_daily_cost_usd',
    flag: 'budget-user-daily-cost-usd',
    env: 'LLM_MONITOR_BUDGET_USER_DAILY_COST_USD',
    type: 'limit',
    description: 'USD one user may spend per UTC day (0 = none)',
  },
  {
    key: 'forwardEndpoint',
    file: 'forward_endpoint',
    flag: 'forward-endpoint',
    env: 'LLM_MONITOR_FORWARD_ENDPOINT',
    type: 'url',
    description: 'forward every accepted OTLP request unchanged to this OTLP/HTTP traces URL',
  },
  {
    key: 'forwardHeaders',
    file: 'forward_headers',
    flag: 'forward-headers',
    env: 'LLM_MONITOR_FORWARD_HEADERS',
    type: 'list',
    description: 'headers of forwarded requests, Name=value, comma-separated',
  },
  {
    key: 'forwardUnredacted',
    file: 'forward_unredacted',
    flag: 'forward-unredacted',
    env: 'LLM_MONITOR_FORWARD_UNREDACTED',
    type: 'boolean',
    description: 'allow forwarding while redaction is on (what is forwarded is the original, unredacted)',
  },
  {
    key: 'metricsMaxLabelValues',
    file: 'metrics_max_label_values',
    flag: 'metrics-max-label-values',
    env: 'LLM_MONITOR_METRICS_MAX_LABEL_VALUES',
    type: 'positiveInteger',
    description: 'most distinct values of a metric label (model, task, …); more are exported as "other"',
  },
  {
    key: 'modelPrices',
    file: 'model_prices',
    flag: 'model-prices',
    env: 'LLM_MONITOR_MODEL_PRICES',
    type: 'list',
    description: 'prices for llm_monitor_cost_usd_total: model=input/output in USD per million tokens, comma-separated',
  },
  {
    key: 'liveTickMs',
    file: 'live_tick_ms',
    flag: 'live-tick-ms',
    env: 'LLM_MONITOR_LIVE_TICK_MS',
    type: 'positiveInteger',
    description: 'milliseconds between batches of live events (WebSocket, SSE)',
  },
  {
    key: 'liveMaxBufferedBytes',
    file: 'live_max_buffered_bytes',
    flag: 'live-max-buffered-bytes',
    env: 'LLM_MONITOR_LIVE_MAX_BUFFERED_BYTES',
    type: 'positiveInteger',
    description: 'bytes a live client may have waiting before it is dropped as too slow',
  },
  {
    key: 'liveMaxClients',
    file: 'live_max_clients',
    flag: 'live-max-clients',
    env: 'LLM_MONITOR_LIVE_MAX_CLIENTS',
    type: 'positiveInteger',
    description: 'most live connections (WebSocket and SSE) in all; more are refused with 429',
  },
  {
    key: 'liveMaxClientsPerAddress',
    file: 'live_max_clients_per_address',
    flag: 'live-max-clients-per-address',
    env: 'LLM_MONITOR_LIVE_MAX_CLIENTS_PER_ADDRESS',
    type: 'positiveInteger',
    description: 'most live connections from one client address; more are refused with 429',
  },
  {
    key: 'livePingSeconds',
    file: 'live_ping_seconds',
    flag: 'live-ping-seconds',
    env: 'LLM_MONITOR_LIVE_PING_SECONDS',
    type: 'positiveNumber',
    description: 'seconds between WebSocket pings; a client that misses one is dropped',
  },
  {
    key: 'demo',
    file: 'demo',
    flag: 'demo',
    env: 'LLM_MONITOR_DEMO',
    type: 'boolean',
    description: 'also run the demo workload in this process',
  },
  {
    key: 'demoRate',
    file: 'demo_rate',
    flag: 'demo-rate',
    env: 'LLM_MONITOR_DEMO_RATE',
    type: 'rate',
    description: 'sessions the demo starts per second (0.01 to 1000)',
  },
  {
    key: 'logLevel',
    file: 'log_level',
    flag: 'log-level',
    env: 'LLM_MONITOR_LOG_LEVEL',
    type: 'logLevel',
    description: 'fatal, error, warn, info, debug, trace or silent',
  },
];

/** Defaults of every setting. */
export const DEFAULT_CONFIG: Readonly<ReceiverConfig> = {
  host: '127.0.0.1',
  port: 8000,
  otlpPort: 4318,
  otlpGrpcPort: 4317,
  otlpMaxBodyBytes: 20 * 1024 * 1024,
  otlpMaxConcurrentRequests: 16,
  otlpBodyIdleSeconds: 5,
  otlpMaxUploads: 256,
  otlpMaxUploadsPerAddress: 32,
  memoryLimitMib: 0,
  memorySoftLimitMib: 0,
  readRateLimitPerMinute: 1200,
  trustProxy: [],
  retentionSeconds: 3600,
  maxSessions: 10_000,
  abandonAfterSeconds: 300,
  settleAfterSeconds: 30,
  releaseSpansAfterSeconds: 60,
  sweepIntervalSeconds: 10,
  maxSpansPerTrace: 5000,
  maxStepsPerSession: 1000,
  stepPreviewLength: 1000,
  maxAttributeValueLength: 16_384,
  maxSpanBytes: 1_048_576,
  maxTraceBytes: 4_194_304,
  maxHeldBytes: 536_870_912,
  maxOrphanTraces: 10_000,
  orphanTraceIdleSeconds: 300,
  maxRemovedTraces: 100_000,
  redactContent: false,
  redactAttributes: [],
  redactMode: 'mask',
  forwardEndpoint: '',
  forwardHeaders: [],
  forwardUnredacted: false,
  liveTickMs: 25,
  metricsMaxLabelValues: 50,
  modelPrices: [],
  storageUrl: 'sqlite:./data/llm-monitor.db',
  historyRetentionDays: 30,
  ingestTokens: [],
  ingestTokensFile: '',
  readTokens: [],
  readTokensFile: '',
  metricsPublic: false,
  allowedHosts: [],
  allowedOrigins: [],
  redisUrl: '',
  redisChannel: 'llm-monitor:sessions',
  replicaId: '',
  budgetSessionTokens: 0,
  budgetSessionCostUsd: 0,
  budgetUserDailyTokens: 0,
  budgetUserDailyCostUsd: 0,
  liveMaxBufferedBytes: 1024 * 1024,
  liveMaxClients: 2000,
  liveMaxClientsPerAddress: 200,
  livePingSeconds: 30,
  demo: false,
  demoRate: 2,
  logLevel: 'info',
};

/** Environment variable naming the config file when `--config` is not given. */
export const CONFIG_FILE_ENV = 'LLM_MONITOR_CONFIG';

/**
 * Splits a comma-separated list, keeping `/regular expressions/` whole even when they contain commas
 * (`/^x{1,3}$/`).
 */
function splitList(text: string): string[] {
  const items: string[] = [];
  for (const piece of text.split(',')) {
    const open = items.length > 0 ? items[items.length - 1]! : undefined;
    if (open !== undefined && open.trimStart().startsWith('/') && !/^\s*\/.+\/[a-z]*\s*$/.test(open)) {
      items[items.length - 1] = `${open},${piece}`;
    } else {
      items.push(piece);
    }
  }
  return items;
}

/** Bounds of a rate per second: slower than one per 100 s or faster than 1000/s is a typo. */
const MIN_RATE = 0.01;
const MAX_RATE = 1000;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function invalid(setting: SettingDefinition, source: string, value: unknown, expected: string): LlmMonitorError {
  return new LlmMonitorError(
    'LLMMON_ERR_CONFIG',
    `${source}: ${JSON.stringify(value)} is not a valid ${setting.file} (expected ${expected})`,
  );
}

/** A URL setting: '' when unset, else the URL as given, refused unless one of `protocols`. */
function urlSetting(setting: SettingDefinition, source: string, raw: unknown, protocols: readonly string[], expected: string): string {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  if (text === '' || text === undefined) return '';
  if (typeof text !== 'string') throw invalid(setting, source, raw, expected);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(setting, source, raw, expected);
  }
  if (!protocols.includes(url.protocol)) throw invalid(setting, source, raw, expected);
  return text;
}

/** Converts a raw value (string from env/flags, any YAML value from the file) to the setting's type. */
function convert(setting: SettingDefinition, raw: unknown, source: string): ReceiverConfig[keyof ReceiverConfig] {
  const asText = typeof raw === 'string' ? raw.trim() : raw;
  switch (setting.type) {
    case 'string':
      if (typeof asText !== 'string' || asText === '') throw invalid(setting, source, raw, 'a non-empty string');
      return asText;
    case 'boolean':
      if (typeof asText === 'boolean') return asText;
      if (asText === 'true' || asText === '1' || asText === 'yes') return true;
      if (asText === 'false' || asText === '0' || asText === 'no') return false;
      throw invalid(setting, source, raw, 'true or false');
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? splitList(raw) : undefined;
      if (!items || items.some((item) => typeof item !== 'string'))
        throw invalid(setting, source, raw, 'a list of strings (comma-separated)');
      return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
    }
    case 'redactMode':
      if (asText !== 'mask' && asText !== 'drop') throw invalid(setting, source, raw, 'mask or drop');
      return asText;
    case 'url':
      return urlSetting(setting, source, raw, ['http:', 'https:'], 'an http(s) URL');
    case 'redisUrl':
      return urlSetting(setting, source, raw, ['redis:', 'rediss:'], 'a redis:// or rediss:// URL');
    case 'storageUrl': {
      if (typeof asText !== 'string') throw invalid(setting, source, raw, 'sqlite:<path>, postgres://… or memory:');
      const parsed = parseStorageUrl(asText);
      if (typeof parsed === 'string') throw invalid(setting, source, raw, parsed);
      return asText;
    }
    case 'logLevel':
      if (typeof asText !== 'string' || !LOG_LEVELS.has(asText)) throw invalid(setting, source, raw, [...LOG_LEVELS].join(', '));
      return asText as ReceiverConfig['logLevel'];
    default: {
      const value = typeof asText === 'number' ? asText : typeof asText === 'string' && asText !== '' ? Number(asText) : NaN;
      if (setting.type === 'port') {
        if (!Number.isInteger(value) || value < 0 || value > 65535) throw invalid(setting, source, raw, 'an integer from 0 to 65535');
      } else if (setting.type === 'positiveInteger') {
        if (!Number.isInteger(value) || value <= 0) throw invalid(setting, source, raw, 'a positive integer');
      } else if (setting.type === 'count') {
        if (!Number.isInteger(value) || value < 0) throw invalid(setting, source, raw, 'an integer ≥ 0');
      } else if (setting.type === 'rate') {
        if (!Number.isFinite(value) || value < MIN_RATE || value > MAX_RATE) {
          throw invalid(setting, source, raw, `a number from ${MIN_RATE} to ${MAX_RATE}`);
        }
      } else if (setting.type === 'limit') {
        if (!Number.isFinite(value) || value < 0) throw invalid(setting, source, raw, 'a number ≥ 0 (0 = no limit)');
      } else if (!Number.isFinite(value) || value <= 0) {
        throw invalid(setting, source, raw, 'a positive number');
      }
      return value;
    }
  }
}

/** A raw value and where it came from, before conversion. */
interface RawSetting {
  readonly value: unknown;
  readonly source: string;
}

type RawSettings = Partial<Record<keyof ReceiverConfig, RawSetting>>;

/** Reads a YAML config file: its raw values by setting; unknown keys are refused. */
function readConfigFileRaw(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', `config file ${path} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', `config file ${path} must hold a mapping of settings`);
  }
  const result: RawSettings = {};
  for (const [key, value] of Object.entries(document)) {
    const setting = SETTINGS.find((candidate) => candidate.file === key);
    if (!setting) {
      const suggestion = closestName(
        key,
        SETTINGS.map((s) => s.file),
      );
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `config file ${path}: unknown setting "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''} (known: ${SETTINGS.map((s) => s.file).join(', ')})`,
      );
    }
    result[setting.key] = { value, source: `config file ${path}, ${key}` };
  }
  return result;
}

function readEnvironmentRaw(env: NodeJS.ProcessEnv): RawSettings {
  const result: RawSettings = {};
  for (const setting of SETTINGS) {
    const value = env[setting.env];
    // An empty variable (`LLM_MONITOR_DEMO=`) counts as unset, as shells and compose files often leave them.
    if (value !== undefined && value !== '') result[setting.key] = { value, source: `environment variable ${setting.env}` };
  }
  return result;
}

function readFlagsRaw(flags: Readonly<Record<string, string | boolean | undefined>>): RawSettings {
  const result: RawSettings = {};
  for (const setting of SETTINGS) {
    const value = flags[setting.flag];
    if (value !== undefined) result[setting.key] = { value, source: `flag --${setting.flag}` };
  }
  return result;
}

/** Where settings come from; each later source wins. */
export interface ConfigSources {
  /** Path of the YAML file (from `--config`); falls back to `LLM_MONITOR_CONFIG`. */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
}

/**
 * Resolves the effective config: defaults < file < environment < flags. Only the winning value of
 * each setting is validated, so a flag can override a broken environment variable.
 */
export function resolveConfig(sources: ConfigSources = {}): ReceiverConfig {
  const env = sources.env ?? {};
  const configFile = sources.configFile ?? env[CONFIG_FILE_ENV];
  const raw: RawSettings = {
    ...(configFile ? readConfigFileRaw(configFile) : {}),
    ...readEnvironmentRaw(env),
    ...readFlagsRaw(sources.flags ?? {}),
  };
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const setting of SETTINGS) {
    const winner = raw[setting.key];
    if (winner) config[setting.key] = convert(setting, winner.value, winner.source);
  }
  return validateConfig(config as unknown as ReceiverConfig, (key) => raw[key]?.source ?? 'default');
}

/**
 * Checks what no single setting can: rule syntax, header form, and settings that conflict. Throws
 * `LLMMON_ERR_CONFIG` naming the setting's source; returns the config unchanged.
 */
export function validateConfig(config: ReceiverConfig, sourceOf: (key: keyof ReceiverConfig) => string = (key) => key): ReceiverConfig {
  // Every server binds to the same host, so one port for two fails at start with a bare EADDRINUSE;
  // said here, before anything listens, it can name both settings. 0 asks each for a free port of its own.
  const servers = [
    { key: 'port', file: 'port', name: 'the API server', how: '--port or LLM_MONITOR_PORT' },
    { key: 'otlpPort', file: 'otlp_port', name: 'the OTLP/HTTP server', how: '--otlp-port or LLM_MONITOR_OTLP_PORT' },
    { key: 'otlpGrpcPort', file: 'otlp_grpc_port', name: 'the OTLP/gRPC server', how: '--otlp-grpc-port or LLM_MONITOR_OTLP_GRPC_PORT' },
  ] as const;
  for (const [index, first] of servers.entries()) {
    for (const second of servers.slice(index + 1)) {
      if (config[first.key] !== config[second.key] || config[first.key] === 0) continue;
      const from = (key: (typeof servers)[number]['key']): string => (sourceOf(key) === key ? '' : ` (${sourceOf(key)})`);
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${first.file}${from(first.key)} and ${second.file}${from(second.key)} are both ${config[first.key]}: ${first.name} and ${second.name} need a port each; change one (${first.how}, ${second.how}), or set both to 0 for any free ports`,
      );
    }
  }
  for (const rule of config.redactAttributes) {
    const pattern = /^\/(.+)\/([a-z]*)$/.exec(rule);
    if (!pattern) continue;
    try {
      new RegExp(pattern[1]!, pattern[2]!.replace(/[gy]/g, ''));
    } catch (error) {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${sourceOf('redactAttributes')}: ${rule} is not a valid regular expression: ${(error as Error).message}`,
      );
    }
  }
  for (const header of config.forwardHeaders) {
    if (header.indexOf('=') <= 0) {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${sourceOf('forwardHeaders')}: ${JSON.stringify(header)} is not a header (expected Name=value)`,
      );
    }
  }
  // It names rows in a shared store and travels in every message: short, and nothing that needs quoting.
  if (config.replicaId !== '' && !/^[A-Za-z0-9._:-]{1,128}$/.test(config.replicaId)) {
    throw new LlmMonitorError(
      'LLMMON_ERR_CONFIG',
      `${sourceOf('replicaId')}: ${JSON.stringify(config.replicaId)} is not a replica id (expected 1 to 128 letters, digits, '.', '_', ':' or '-'); set replica_id or LLM_MONITOR_REPLICA_ID`,
    );
  }
  parseModelPrices(config.modelPrices, sourceOf('modelPrices'));
  const storage = parseStorageUrl(config.storageUrl);
  if (typeof storage === 'string') {
    throw new LlmMonitorError(
      'LLMMON_ERR_CONFIG',
      `${sourceOf('storageUrl')}: ${JSON.stringify(config.storageUrl)} is not a storage URL: expected ${storage}`,
    );
  }
  if (config.memoryLimitMib > 0 && config.memorySoftLimitMib > config.memoryLimitMib) {
    throw new LlmMonitorError(
      'LLMMON_ERR_CONFIG',
      `memory_soft_limit_mib (${config.memorySoftLimitMib}) is above memory_limit_mib (${config.memoryLimitMib}): the soft limit refuses ingest first, so it must be the lower one`,
    );
  }
  for (const proxy of config.trustProxy) {
    if (!isAddressOrRange(proxy)) {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${sourceOf('trustProxy')}: ${JSON.stringify(proxy)} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, ::1)`,
      );
    }
  }
  const redacting = config.redactContent || config.redactAttributes.length > 0;
  if (redacting && config.forwardEndpoint && !config.forwardUnredacted) {
    throw new LlmMonitorError(
      'LLMMON_ERR_CONFIG',
      'forward_endpoint forwards the original requests, without redaction; set forward_unredacted: true to allow that, or leave redaction or forwarding off',
    );
  }
  return config;
}

/** True for an IPv4 or IPv6 address, optionally with a `/prefix`. */
function isAddressOrRange(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

/** The highest price a model may have, in USD per million tokens. */
const MAX_PRICE_PER_MILLION = 1_000_000;

/**
 * Reads `model=input/output` entries (USD per million tokens; the model name may itself hold `=`,
 * the last one separates). Throws `LLMMON_ERR_CONFIG` naming `source` on a malformed entry.
 */
export function parseModelPrices(entries: readonly string[], source = 'modelPrices'): Record<string, ModelPrice> {
  // No prototype: a model named `__proto__` or `constructor` is an entry like any other.
  const prices: Record<string, ModelPrice> = Object.create(null) as Record<string, ModelPrice>;
  for (const entry of entries) {
    const match = /^(.+)=\s*([0-9]*\.?[0-9]+)\s*\/\s*([0-9]*\.?[0-9]+)\s*$/.exec(entry);
    if (!match || match[1]!.trim() === '') {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${source}: ${JSON.stringify(entry)} is not a price (expected model=input/output in USD per million tokens, e.g. gpt-4o-mini=0.15/0.6)`,
      );
    }
    const input = Number(match[2]);
    const output = Number(match[3]);
    // A price a double cannot hold (or no model costs) would turn every cost into Infinity.
    if (!(input <= MAX_PRICE_PER_MILLION && output <= MAX_PRICE_PER_MILLION)) {
      throw new LlmMonitorError(
        'LLMMON_ERR_CONFIG',
        `${source}: ${JSON.stringify(entry)} has a price above ${MAX_PRICE_PER_MILLION} USD per million tokens`,
      );
    }
    prices[match[1]!.trim()] = { input_per_million: input, output_per_million: output };
  }
  return prices;
}
