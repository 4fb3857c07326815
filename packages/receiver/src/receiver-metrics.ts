/**
 * The receiver's metrics about itself, like a collector's: what came in, what was refused or
 * dropped and why, how many live clients are connected, how full the store is.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { MetricsRegistry } from '@llm-monitor/prometheus-exporter';
import type { SessionStore } from '@llm-monitor/sessions';
import type { LiveHub, LiveTransport } from './live/live-hub.js';
import type { OtlpIngestObserver } from './otlp/otlp-ingest.js';
import type { OtlpForwarder } from './pipeline/otlp-forwarder.js';

/** What the self-metrics read from. */
export interface ReceiverMetricsSources {
  readonly store: SessionStore;
  readonly maxSessions: number;
  readonly hub: LiveHub;
  readonly forwarder?: OtlpForwarder;
}

/**
 * A counter that shows running totals kept elsewhere (the hub's, the forwarder's), read at each
 * scrape: by value of `label`, or one total when there is no label. Every value is shown, zeros too,
 * so the series exist to alert on before anything happens.
 */
function totalsCounter(registry: MetricsRegistry, name: string, help: string, label: string | undefined, read: () => Record<string, number>): void {
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

/** Registers the receiver's self-metrics; returns the observer its ingest endpoint reports to. */
export function registerReceiverMetrics(registry: MetricsRegistry, sources: ReceiverMetricsSources): OtlpIngestObserver {
  const registers = [registry];
  const received = new Counter({ name: 'llm_monitor_receiver_spans_received_total', help: 'Spans received in accepted OTLP requests.', registers });
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
  const decodeErrors = new Counter({ name: 'llm_monitor_receiver_decode_errors_total', help: 'OTLP request bodies that could not be decoded, by encoding.', labelNames: ['encoding'] as const, registers });
  const requestSize = new Histogram({
    name: 'llm_monitor_receiver_request_size_bytes',
    help: 'Size of OTLP request bodies as sent (compressed if they were), by encoding.',
    labelNames: ['encoding'] as const,
    buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
    registers,
  });
  for (const code of ['LLMMON_ERR_OVERLOADED', 'LLMMON_ERR_MALFORMED_OTLP']) requestsRefused.inc({ code }, 0);
  for (const reason of ['invalid', 'too_late']) refused.inc({ reason }, 0);

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
  totalsCounter(registry, 'llm_monitor_live_events_total', 'Live events fanned out to clients.', undefined, () => ({ all: sources.hub.stats().events }));
  totalsCounter(registry, 'llm_monitor_live_clients_dropped_total', 'Live clients dropped for not keeping up, by transport.', 'transport', () => sources.hub.stats().dropped_too_slow);
  totalsCounter(registry, 'llm_monitor_live_events_dropped_total', 'Live events not sent to clients dropped for not keeping up, by transport.', 'transport', () => sources.hub.stats().events_dropped);
  new Gauge({
    name: 'llm_monitor_store_sessions',
    help: 'Sessions held in the store.',
    registers,
    collect() {
      this.set(sources.store.size);
    },
  });
  new Gauge({ name: 'llm_monitor_store_max_sessions', help: 'Most sessions the store holds before evicting the oldest ended ones.', registers }).set(sources.maxSessions);
  const removed = new Counter({ name: 'llm_monitor_store_sessions_evicted_total', help: 'Sessions let go by the store (retention or capacity).', registers });
  sources.store.subscribe((change) => {
    if (change.type === 'removed') removed.inc();
  });
  const forwarder = sources.forwarder;
  if (forwarder) {
    totalsCounter(registry, 'llm_monitor_receiver_forward_requests_total', 'Requests forwarded downstream, by outcome (forwarded, failed, dropped).', 'outcome', () => ({ ...forwarder.stats() }));
  }

  return {
    requestRead(encoding, bodyBytes) {
      requestSize.observe({ encoding }, bodyBytes);
    },
    requestAccepted(spans, invalid, tooLate) {
      received.inc(spans);
      if (invalid > 0) refused.inc({ reason: 'invalid' }, invalid);
      if (tooLate > 0) refused.inc({ reason: 'too_late' }, tooLate);
    },
    requestRefused(code, encoding) {
      requestsRefused.inc({ code });
      if (code === 'LLMMON_ERR_MALFORMED_OTLP') decodeErrors.inc({ encoding: encoding ?? 'unknown' });
    },
  };
}
