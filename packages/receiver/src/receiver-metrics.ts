/**
 * The receiver's metrics about itself, like a collector's: what came in, what was refused or
 * dropped and why, how many live clients are connected, how full the store is.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { MetricsRegistry } from '@llm-monitor/prometheus-exporter';
import { VALUE_FIELDS } from '@llm-monitor/sessions';
import type { SessionPipeline, SessionStore } from '@llm-monitor/sessions';
import type { ReceiverConfig } from './config.js';
import type { InternalErrors } from './internal-errors.js';
import type { LiveHub, LiveTransport } from './live/live-hub.js';
import type { OtlpIngestObserver } from './otlp/otlp-ingest.js';
import type { OtlpForwarder } from './pipeline/otlp-forwarder.js';
import type { HistoryWriter } from './storage/history-writer.js';
import type { RedisFanout } from './replication/redis-fanout.js';
import type { LiveConnectionRefusals } from './live/live-connection-limits.js';
import type { IngestAdmission } from './otlp/ingest-admission.js';
import type { MemoryGuard } from './otlp/memory-guard.js';

/** What the self-metrics read from. */
export interface ReceiverMetricsSources {
  readonly store: SessionStore;
  /** What the session builder holds, refuses, cuts and lets go. */
  readonly pipeline?: SessionPipeline;
  /** The limits the held amounts are shown against. */
  readonly config?: Pick<ReceiverConfig, 'maxHeldBytes' | 'maxOrphanTraces' | 'maxRemovedTraces'>;
  /** Errors caught at the walls around listeners and timers. */
  readonly internalErrors?: InternalErrors;
  readonly maxSessions: number;
  readonly hub: LiveHub;
  readonly forwarder?: OtlpForwarder;
  /** The group committer to the history store. */
  readonly historyWriter?: HistoryWriter;
  /** The Redis fan-out to other replicas, when `redis_url` is set. */
  readonly fanout?: RedisFanout;
  /** Live connections refused at the caps, by reason. */
  readonly liveRefusals?: LiveConnectionRefusals;
  /** Ingest admission: uploads and processing slots in use and refused. */
  readonly admission?: IngestAdmission;
  /** The memory guard in front of ingest. */
  readonly memory?: MemoryGuard;
  /** Requests refused by the read API's rate limit, since start. */
  readonly rateLimited?: () => number;
}

/**
 * A counter that shows running totals kept elsewhere (the hub's, the forwarder's), read at each
 * scrape: by value of `label`, or one total when there is no label. Every value is shown, zeros too,
 * so the series exist to alert on before anything happens.
 */
function totalsCounter(
  registry: MetricsRegistry,
  name: string,
  help: string,
  label: string | undefined,
  read: () => Record<string, number>,
): void {
  new Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, total] of Object.entries(read())) this.inc(label ? { [label]: value } : {}, total);
    },
  });
}

/** The parts whose errors are counted, shown at zero before any happens. */
const COMPONENTS = ['metrics', 'live_hub', 'receiver_metrics', 'pipeline', 'sweep', 'live_tick', 'live_deliver', 'history'];

/** A gauge read at each scrape. */
function readGauge(registry: MetricsRegistry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** Registers the receiver's self-metrics; returns the observer its ingest endpoint reports to. */
export function registerReceiverMetrics(registry: MetricsRegistry, sources: ReceiverMetricsSources): OtlpIngestObserver {
  const registers = [registry];
  const received = new Counter({
    name: 'llm_monitor_receiver_spans_received_total',
    help: 'Spans received in accepted OTLP requests.',
    registers,
  });
  const refused = new Counter({
    name: 'llm_monitor_receiver_spans_refused_total',
    help: 'Spans of accepted requests refused, by reason (invalid: failed validation; too_late: their session was already removed).',
    labelNames: ['reason'] as const,
    registers,
  });
  const requestsRefused = new Counter({
    name: 'llm_monitor_receiver_requests_refused_total',
    help: 'OTLP requests refused as a whole, by catalogue code (overload, shutdown, size, media type, decoding).',
    labelNames: ['code'] as const,
    registers,
  });
  const decodeErrors = new Counter({
    name: 'llm_monitor_receiver_decode_errors_total',
    help: 'OTLP request bodies that could not be decoded, by encoding.',
    labelNames: ['encoding'] as const,
    registers,
  });
  const requestSize = new Histogram({
    name: 'llm_monitor_receiver_request_size_bytes',
    help: 'Size of OTLP request bodies as sent (compressed if they were), by encoding.',
    labelNames: ['encoding'] as const,
    buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
    registers,
  });
  for (const code of ['LLMMON_ERR_OVERLOADED', 'LLMMON_ERR_MALFORMED_OTLP']) requestsRefused.inc({ code }, 0);
  for (const reason of ['invalid', 'too_late', 'trace_full']) refused.inc({ reason }, 0);

  const transports: LiveTransport[] = ['websocket', 'sse'];
  new Gauge({
    name: 'llm_monitor_live_clients',
    help: 'Live clients connected, by transport.',
    labelNames: ['transport'] as const,
    registers,
    collect() {
      const stats = sources.hub.stats();
      for (const transport of transports) this.set({ transport }, stats.clients_by_transport[transport]);
    },
  });
  totalsCounter(registry, 'llm_monitor_live_events_total', 'Live events fanned out to clients.', undefined, () => ({
    all: sources.hub.stats().events,
  }));
  totalsCounter(
    registry,
    'llm_monitor_live_clients_dropped_total',
    'Live clients dropped for not keeping up, by transport.',
    'transport',
    () => sources.hub.stats().dropped_too_slow,
  );
  totalsCounter(
    registry,
    'llm_monitor_live_events_dropped_total',
    'Live events not sent to clients dropped for not keeping up, by transport.',
    'transport',
    () => sources.hub.stats().events_dropped,
  );
  new Gauge({
    name: 'llm_monitor_store_sessions',
    help: 'Sessions held in the store.',
    registers,
    collect() {
      this.set(sources.store.size);
    },
  });
  new Gauge({
    name: 'llm_monitor_store_max_sessions',
    help: 'Most sessions the store holds before evicting the oldest ended ones.',
    registers,
  }).set(sources.maxSessions);
  const removed = new Counter({
    name: 'llm_monitor_store_sessions_evicted_total',
    help: 'Sessions let go by the store (retention or capacity).',
    registers,
  });
  sources.store.subscribe((change) => {
    if (change.type === 'removed') removed.inc();
  }, 'receiver_metrics');
  const internalErrors = sources.internalErrors;
  if (internalErrors) {
    totalsCounter(
      registry,
      'llm_monitor_receiver_internal_errors_total',
      'Errors caught at a wall (store listener, timer, live delivery), by component; the receiver kept running.',
      'component',
      () => ({
        ...Object.fromEntries(COMPONENTS.map((component) => [component, 0])),
        ...internalErrors.totals(),
      }),
    );
  }
  const pipeline = sources.pipeline;
  if (pipeline) registerHeldMetrics(registry, pipeline, sources.config);
  const writer = sources.historyWriter;
  if (writer) {
    totalsCounter(
      registry,
      'llm_monitor_receiver_history_commits_total',
      'Group commits to the history store (storage_url), by outcome; a failed one answers its requests 503 and is retried.',
      'outcome',
      () => {
        const stats = writer.stats();
        return { ok: stats.commits, failed: stats.failedCommits };
      },
    );
    totalsCounter(
      registry,
      'llm_monitor_receiver_history_sessions_written_total',
      'Session versions written to the history store (a session changed by many requests between two commits is written once).',
      undefined,
      () => ({ '': writer.stats().sessionsWritten }),
    );
    totalsCounter(
      registry,
      'llm_monitor_receiver_history_sessions_dropped_total',
      'Sessions the history store refused on their own (a commit failing for its data, not for the database being away) and left out, so they cannot block the rest.',
      undefined,
      () => ({ '': writer.stats().sessionsDropped }),
    );
    readGauge(
      registry,
      'llm_monitor_receiver_history_pending_sessions',
      'Sessions changed and not yet committed to the history store.',
      () => writer.stats().pending,
    );
    readGauge(
      registry,
      'llm_monitor_receiver_history_last_commit_seconds',
      'Duration of the last successful commit to the history store.',
      () => (writer.stats().lastCommitMs ?? 0) / 1000,
    );
    readGauge(
      registry,
      'llm_monitor_receiver_history_healthy',
      '1 while commits to the history store succeed, 0 while it fails (ingest answers 503).',
      () => (writer.healthy ? 1 : 0),
    );
  }
  const liveRefusals = sources.liveRefusals;
  if (liveRefusals) {
    totalsCounter(
      registry,
      'llm_monitor_receiver_live_clients_refused_total',
      'Live connections (WebSocket, SSE) refused at live_max_clients (reason="total") or live_max_clients_per_address (reason="per_address").',
      'reason',
      () => ({ ...liveRefusals }),
    );
  }
  const { admission, memory, rateLimited } = sources;
  if (admission) {
    new Gauge({
      name: 'llm_monitor_receiver_ingest_slots_in_use',
      help: 'OTLP requests holding an admission slot, by stage: upload (a body being received, otlp_max_uploads) or processing (decoded and ingested, otlp_max_concurrent_requests).',
      labelNames: ['stage'] as const,
      registers,
      collect() {
        this.set({ stage: 'upload' }, admission.uploading);
        this.set({ stage: 'processing' }, admission.inFlight);
      },
    });
    totalsCounter(
      registry,
      'llm_monitor_receiver_ingest_admission_refused_total',
      'OTLP requests refused for want of a slot, by limit: uploads (otlp_max_uploads), uploads_per_address (otlp_max_uploads_per_address) or processing (otlp_max_concurrent_requests).',
      'limit',
      () => ({
        uploads: admission.refusals.uploads,
        uploads_per_address: admission.refusals.uploadsPerAddress,
        processing: admission.refusals.processing,
      }),
    );
  }
  if (memory) {
    readGauge(
      registry,
      'llm_monitor_receiver_memory_used_bytes',
      'Memory the memory guard judges: V8 heap in use plus buffers outside it.',
      () => memory.usedBytes,
    );
    new Gauge({
      name: 'llm_monitor_receiver_memory_limit_bytes',
      help: "The memory guard's limits: soft (memory_soft_limit_mib, ingest answers 429 above it) and hard (memory_limit_mib, 503).",
      labelNames: ['limit'] as const,
      registers,
      collect() {
        this.set({ limit: 'soft' }, memory.softLimitBytes);
        this.set({ limit: 'hard' }, memory.hardLimitBytes);
      },
    });
    totalsCounter(
      registry,
      'llm_monitor_receiver_memory_refusals_total',
      'OTLP requests refused by the memory guard, by limit (soft: 429, hard: 503).',
      'limit',
      () => {
        const current = memory.stats();
        return { soft: current.refusedSoft, hard: current.refusedHard };
      },
    );
    totalsCounter(
      registry,
      'llm_monitor_receiver_memory_forced_collections_total',
      "Full garbage collections the memory guard forced over the soft limit (at most one per 2 s, or per ten times the last one's length), so garbage is not judged as data.",
      undefined,
      () => ({ total: memory.stats().forcedCollections }),
    );
  }
  if (rateLimited) {
    totalsCounter(
      registry,
      'llm_monitor_receiver_read_rate_limited_total',
      'Requests to the API port refused with 429 at read_rate_limit_per_minute.',
      undefined,
      () => ({ total: rateLimited() }),
    );
  }
  const fanout = sources.fanout;
  if (fanout) {
    readGauge(
      registry,
      'llm_monitor_receiver_fanout_connected',
      '1 while the Redis fan-out to other replicas publishes and receives, 0 while Redis is unreachable (degraded).',
      () => (fanout.state === 'connected' ? 1 : 0),
    );
    totalsCounter(
      registry,
      'llm_monitor_receiver_fanout_messages_total',
      'Fan-out messages over Redis, by direction: published, received, rejected (malformed or another format).',
      'direction',
      () => {
        const stats = fanout.stats();
        return { published: stats.messages_published, received: stats.messages_received, rejected: stats.messages_rejected };
      },
    );
    readGauge(
      registry,
      'llm_monitor_receiver_fanout_remote_sessions',
      "Other replicas' sessions this receiver shows live (not counted in this receiver's session metrics).",
      () => fanout.stats().remote_sessions,
    );
  }
  const forwarder = sources.forwarder;
  if (forwarder) {
    totalsCounter(
      registry,
      'llm_monitor_receiver_forward_requests_total',
      'Requests forwarded downstream, by outcome (forwarded, failed, dropped).',
      'outcome',
      () => ({ ...forwarder.stats() }),
    );
  }

  return {
    requestRead(encoding, bodyBytes) {
      requestSize.observe({ encoding }, bodyBytes);
    },
    requestAccepted(spans, invalid, tooLate, traceFull) {
      received.inc(spans);
      if (invalid > 0) refused.inc({ reason: 'invalid' }, invalid);
      if (tooLate > 0) refused.inc({ reason: 'too_late' }, tooLate);
      if (traceFull > 0) refused.inc({ reason: 'trace_full' }, traceFull);
    },
    requestRefused(code, encoding) {
      requestsRefused.inc({ code });
      if (code === 'LLMMON_ERR_MALFORMED_OTLP') decodeErrors.inc({ encoding: encoding ?? 'unknown' });
    },
  };
}

/**
 * What the session builder holds against its bounds, and what it rejected, cut and let go: every
 * holding place is visible, and nothing is dropped without a count.
 */
function registerHeldMetrics(registry: MetricsRegistry, pipeline: SessionPipeline, config: ReceiverMetricsSources['config']): void {
  const registers = [registry];
  // One read of the pipeline's stats per scrape, however many metrics show parts of it.
  let cached: { at: number; stats: ReturnType<SessionPipeline['stats']> } | undefined;
  const stats = (): ReturnType<SessionPipeline['stats']> => {
    const now = Date.now();
    if (!cached || now - cached.at > 100) cached = { at: now, stats: pipeline.stats() };
    return cached.stats;
  };
  totalsCounter(
    registry,
    'llm_monitor_budget_exceeded_total',
    'Budgets crossed (budget_* settings), by budget: session_tokens, session_cost, user_daily_tokens, user_daily_cost.',
    'budget',
    () => ({ ...stats().budgetsExceeded }),
  );
  totalsCounter(
    registry,
    'llm_monitor_receiver_values_rejected_total',
    'Numbers and ids from spans outside their range (dropped; progress clamped), by the session field they were for.',
    'field',
    () => Object.fromEntries(VALUE_FIELDS.map((field) => [field, stats().valuesRejected[field]])),
  );
  new Counter({
    name: 'llm_monitor_receiver_content_cut_total',
    help: 'Span content cut on admission: strings shortened to max_attribute_value_length, attributes and events not kept over max_span_bytes or max_trace_bytes.',
    labelNames: ['item', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [item, reason, count] of stats().cut) this.inc({ item, reason }, count);
    },
  });
  totalsCounter(
    registry,
    'llm_monitor_receiver_steps_dropped_total',
    'Steps left out of sessions beyond max_steps_per_session (each counted once; the session says how many in steps_dropped).',
    undefined,
    () => ({ '': stats().stepsDropped }),
  );
  totalsCounter(
    registry,
    'llm_monitor_receiver_traces_evicted_total',
    'Traces let go before their session ended or before they became one, by reason (orphan_idle, orphan_cap, held_bytes, memory: shed by the memory guard over its soft limit).',
    'reason',
    () => ({ ...stats().tracesEvicted }),
  );
  new Gauge({
    name: 'llm_monitor_receiver_held_traces',
    help: 'Traces the session builder holds, by kind: session (in the store, with its spans), released (an ended session in the store that let its spans go after release_spans_after_seconds) or orphan (no session yet, kept in case a GenAI span or root follows).',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const current = stats();
      this.set({ kind: 'session' }, current.traces - current.orphanTraces);
      this.set({ kind: 'orphan' }, current.orphanTraces);
      this.set({ kind: 'released' }, current.releasedTraces);
    },
  });
  readGauge(registry, 'llm_monitor_receiver_held_spans', 'Spans and live markers the session builder holds.', () => stats().spans);
  readGauge(
    registry,
    'llm_monitor_receiver_held_bytes',
    'Estimated bytes the session builder holds (kept strings and values, per-span overhead, parent maps).',
    () => stats().bytes,
  );
  totalsCounter(
    registry,
    'llm_monitor_receiver_sessions_compacted_total',
    'Ended sessions replaced in the live window by their compact form (details deflated) once their trace let its spans go (release_spans_after_seconds).',
    undefined,
    () => ({ total: stats().sessionsCompacted }),
  );
  readGauge(
    registry,
    'llm_monitor_receiver_removed_traces',
    'Removed traces remembered so their late spans are refused.',
    () => stats().removedTraces,
  );
  if (config) {
    new Gauge({
      name: 'llm_monitor_receiver_max_held_bytes',
      help: 'The bound of llm_monitor_receiver_held_bytes (max_held_bytes).',
      registers,
    }).set(config.maxHeldBytes);
    new Gauge({
      name: 'llm_monitor_receiver_max_orphan_traces',
      help: 'The bound of orphan traces held (max_orphan_traces).',
      registers,
    }).set(config.maxOrphanTraces);
    new Gauge({
      name: 'llm_monitor_receiver_max_removed_traces',
      help: 'The bound of removed traces remembered (max_removed_traces).',
      registers,
    }).set(config.maxRemovedTraces);
  }
}
