import { LIVE_ERROR_CODES } from '@llm-monitor/sessions';

/**
 * The receiver's error catalogue. Every error the receiver answers with, logs or exits on carries
 * one of these codes; docs/errors.md documents each. The codes live clients get are spelt once, in
 * `@llm-monitor/sessions` (`LIVE_ERROR_CODES`), which the client imports too: here they are keyed by it.
 */
export const ERROR_CATALOGUE = {
  LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The OTLP request has a Content-Type other than application/x-protobuf or application/json.',
  },
  LLMMON_ERR_UNSUPPORTED_ENCODING: {
    status: 400,
    description: 'The request has a Content-Encoding other than gzip or identity.',
  },
  LLMMON_ERR_MALFORMED_OTLP: {
    status: 400,
    description: 'The OTLP body could not be decoded (bad protobuf, bad JSON, bad gzip, or the wrong message shape).',
  },
  LLMMON_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'The request body, after decompression, exceeds the configured limit (otlp_max_body_bytes).',
  },
  LLMMON_ERR_OVERLOADED: {
    status: 429,
    description:
      'More OTLP requests are being processed than otlp_max_concurrent_requests allows, or more bodies are being received than otlp_max_uploads (in all) or otlp_max_uploads_per_address (from one address); retry after the Retry-After seconds.',
  },
  LLMMON_ERR_MEMORY_SOFT_LIMIT: {
    status: 429,
    description:
      'The receiver\'s memory (V8 heap in use plus buffers) is above memory_soft_limit_mib: ingest is refused with Retry-After until it falls, and counted in llm_monitor_receiver_memory_refusals_total{limit="soft"}.',
  },
  LLMMON_ERR_MEMORY_LIMIT: {
    status: 503,
    description:
      'The receiver\'s memory is above memory_limit_mib: ingest is refused with Retry-After (gRPC UNAVAILABLE) before the process runs out of memory, /readyz reports the memory component unhealthy, and refusals are counted in llm_monitor_receiver_memory_refusals_total{limit="hard"}.',
  },
  LLMMON_ERR_RATE_LIMITED: {
    status: 429,
    description:
      'A client address made more requests to the API port than read_rate_limit_per_minute allows; answered with Retry-After and counted in llm_monitor_receiver_read_rate_limited_total.',
  },
  LLMMON_ERR_SHUTTING_DOWN: {
    status: 503,
    description:
      'The receiver is shutting down and takes no new spans; retry after the Retry-After seconds (another replica, or this one restarted).',
  },
  [LIVE_ERROR_CODES.CLIENT_TOO_SLOW]: {
    status: 429,
    description: 'A live client (WebSocket or SSE) fell more than live_max_buffered_bytes behind; its connection was ended.',
  },
  LLMMON_ERR_UNAUTHENTICATED: {
    status: 401,
    description:
      'The request carries no token, or one that is not in force: OTLP ingest needs Authorization: Bearer <one of ingest_tokens> (gRPC: UNAUTHENTICATED), reading (REST, WebSocket, SSE, /docs, /metrics unless metrics_public) needs one of read_tokens or the browser session cookie. Answered with WWW-Authenticate: Bearer.',
  },
  LLMMON_ERR_FORBIDDEN_ORIGIN: {
    status: 403,
    description:
      'A browser request the receiver will not answer: its Host is not a name of this receiver (a receiver on loopback answers localhost and 127.0.0.1, plus allowed_hosts; DNS rebinding), or it comes from a page of another origin (Origin not this receiver and not in allowed_origins; null included). The WebSocket upgrade is refused the same way.',
  },
  LLMMON_ERR_TOO_MANY_LIVE_CLIENTS: {
    status: 429,
    description:
      'A live connection (WebSocket upgrade or SSE stream) over live_max_clients in all or live_max_clients_per_address from one address; refused before the upgrade, with Retry-After, and counted in llm_monitor_receiver_live_clients_refused_total{reason}.',
  },
  LLMMON_ERR_SESSION_NOT_FOUND: {
    status: 404,
    description: 'No session with that id is held (never seen, or removed by retention).',
  },
  LLMMON_ERR_CONVERSATION_NOT_FOUND: {
    status: 404,
    description: 'No session of that conversation is held.',
  },
  LLMMON_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    description: 'No route answers this method and path.',
  },
  LLMMON_ERR_WEB_NOT_BUILT: {
    status: 503,
    description: 'The web monitor page is not built (packages/web/dist/app is missing); the REST API still answers.',
  },
  [LIVE_ERROR_CODES.BAD_PARAMETER]: {
    status: 400,
    description: 'A query or path parameter is invalid; the message names it.',
  },
  LLMMON_ERR_BAD_REQUEST: {
    status: 400,
    description:
      'The monitor API could not read the request: a body that is not valid JSON, a body where none is taken, a malformed header. The message says what.',
  },
  LLMMON_ERR_FORBIDDEN: {
    status: 403,
    description: 'The path reaches outside what is served (for example a traversal attempt under /docs/static).',
  },
  LLMMON_ERR_CONFIG: {
    status: 500,
    answered: false,
    description: 'A setting from the config file, an environment variable or a flag is invalid; the message names it and its source.',
  },
  LLMMON_ERR_PORT_IN_USE: {
    status: 500,
    answered: false,
    description:
      'At start: the port of the API server (port) or of the OTLP/HTTP server (otlp_port) is already in use. The message names the server, the address and the flag and environment variable that change it; nothing is left listening. Exit code 2.',
  },
  LLMMON_ERR_PORT_NOT_PERMITTED: {
    status: 500,
    answered: false,
    description:
      'At start: the system does not let the receiver listen on the port (EACCES: ports below 1024 need privileges). The message names the server, the address and the flag and environment variable that change it. Exit code 2.',
  },
  LLMMON_ERR_INTERNAL: {
    status: 500,
    description: 'An unexpected error; the receiver logs it with details and keeps running.',
  },
  LLMMON_ERR_OPEN_ON_NETWORK: {
    status: 500,
    answered: false,
    description:
      'Logged at start, never answered: the receiver listens on an interface other machines reach (host is not loopback) with ingest or reading open (no ingest_tokens or read_tokens). /readyz reports the auth component degraded with the same reason until tokens are set.',
  },
  LLMMON_ERR_FANOUT_UNAVAILABLE: {
    status: 500,
    answered: false,
    description:
      'Logged, never answered: the Redis of redis_url cannot be reached, so this replica neither publishes its live sessions to the others nor hears theirs. It keeps serving its own sessions, /readyz reports the fanout component degraded with the reason, and it reconnects by itself, then catches up (publishes what changed here, asks the others for what changed there, reads back from the shared store what ended meanwhile).',
  },
  LLMMON_ERR_REPLICA_ID_IN_USE: {
    status: 500,
    answered: false,
    description:
      "Logged once, never answered: another live receiver publishes under the same replica_id. Both still show each other's sessions, but what they write to a shared store is tagged alike, so a restart of one may restore the other's running sessions; give each replica its own replica_id.",
  },
  LLMMON_ERR_LISTENER_FAILED: {
    status: 500,
    answered: false,
    description:
      'Logged, never answered: a listener of the session store (metrics, live streams) threw while handling a change. The change stays stored, the request that caused it is answered as usual, the other listeners still run; counted in llm_monitor_receiver_internal_errors_total{component}.',
  },
  LLMMON_ERR_TIMER_FAILED: {
    status: 500,
    answered: false,
    description:
      'Logged, never answered: periodic work (a step of the sweep, a live tick) threw. The other steps still run and the timer keeps going; counted in llm_monitor_receiver_internal_errors_total{component}.',
  },
  LLMMON_ERR_VALUE_OUT_OF_RANGE: {
    status: 400,
    answered: false,
    description:
      'Logged at debug once per field, never answered: a span carried a number outside its range (a token count that is negative, fractional or above 2^53, a duration above 31 days, a time outside years 1970–9999, a progress outside 0–100) or a session or conversation id the API cannot be asked for (empty, over 256 characters). The value was dropped (progress: clamped), the span kept; counted in llm_monitor_receiver_values_rejected_total{field}.',
  },
  LLMMON_ERR_STORE_UNAVAILABLE: {
    status: 503,
    description:
      'The history store (SQLite or PostgreSQL) could not commit what a request carried: the database is down, full or read-only. Ingest answers 503 with Retry-After and acknowledges nothing it did not store; /readyz reports the store unhealthy until a commit succeeds again (probed every second). History queries answer 503 while the database is unreachable.',
  },
  LLMMON_ERR_STORE_CORRUPT: {
    status: 500,
    answered: false,
    description:
      'At start: the SQLite file is not a database, is damaged, or belongs to another program (no llm-monitor schema but other tables). The message names the file. Move it aside or point storage_url elsewhere. Exit code 2.',
  },
  LLMMON_ERR_STORE_SCHEMA_NEWER: {
    status: 500,
    answered: false,
    description:
      'At start: the database was migrated by a newer llm-monitor (its schema version is above the one this build knows). Run the newer version, or restore a backup taken before the upgrade. Exit code 2.',
  },
  LLMMON_ERR_STORE_CONNECT: {
    status: 500,
    answered: false,
    description:
      'At start: the database of storage_url cannot be opened or reached (a directory that cannot be created, PostgreSQL refusing the connection or the credentials). The message names the location. Exit code 2.',
  },
} as const;

/** One code of the {@link ERROR_CATALOGUE}. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a catalogue code; the HTTP status comes from the catalogue. */
export class LlmMonitorError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LlmMonitorError';
    this.code = code;
    this.statusCode = ERROR_CATALOGUE[code].status;
  }
}
