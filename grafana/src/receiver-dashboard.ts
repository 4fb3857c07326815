/** Receiver health: what comes in, what is refused or dropped, live clients, and the process. */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { INSTANCE_FILTER, llmMonitorDashboard, timeseries } from './panel-kit.js';

export function receiverDashboard(): DashboardBuilder {
  return llmMonitorDashboard(
    'llm-monitor-receiver',
    'LLM monitor / Receiver health',
    'Spans in, refused and dropped, request sizes, WebSocket and SSE clients, memory, CPU and event-loop lag.',
  )
    .withPanel(
      timeseries('Spans per second', 'Spans received, and spans refused by reason (alert: LlmMonitorReceiverRefusingData).', 'short', [
        {
          expr: `sum by (instance) (rate(llm_monitor_receiver_spans_received_total{${INSTANCE_FILTER}}[$__rate_interval]))`,
          legend: 'received {{instance}}',
        },
        {
          expr: `sum by (reason) (rate(llm_monitor_receiver_spans_refused_total{${INSTANCE_FILTER}}[$__rate_interval]))`,
          legend: 'refused: {{reason}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Refused requests and drops', 'Whole requests refused, by error code; live events dropped for slow clients.', 'short', [
        {
          expr: `sum by (code) (rate(llm_monitor_receiver_requests_refused_total{${INSTANCE_FILTER}}[$__rate_interval]))`,
          legend: '{{code}}',
        },
        {
          expr: `sum by (transport) (rate(llm_monitor_live_events_dropped_total{${INSTANCE_FILTER}}[$__rate_interval]))`,
          legend: 'live events dropped: {{transport}}',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'Request size',
        'Median and p95 size of OTLP request bodies as sent.',
        'bytes',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(llm_monitor_receiver_request_size_bytes_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      timeseries('Live clients', 'WebSocket and SSE clients connected.', 'short', [
        { expr: `sum by (transport) (llm_monitor_live_clients{${INSTANCE_FILTER}})`, legend: '{{transport}}' },
      ]),
    )
    .withPanel(
      timeseries('Store', "Sessions held, against the store's capacity.", 'short', [
        { expr: `sum by (instance) (llm_monitor_store_sessions{${INSTANCE_FILTER}})`, legend: 'sessions {{instance}}' },
        { expr: `sum by (instance) (llm_monitor_store_max_sessions{${INSTANCE_FILTER}})`, legend: 'capacity {{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Memory', 'Resident memory and V8 heap used.', 'bytes', [
        { expr: `process_resident_memory_bytes{${INSTANCE_FILTER}}`, legend: 'resident {{instance}}' },
        { expr: `sum by (instance) (nodejs_heap_size_used_bytes{${INSTANCE_FILTER}})`, legend: 'heap used {{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('CPU', 'CPU seconds per second (1 = one core).', 'percentunit', [
        { expr: `rate(process_cpu_seconds_total{${INSTANCE_FILTER}}[$__rate_interval])`, legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Event-loop lag', 'p99 event-loop delay: above a few milliseconds, the receiver is busy.', 's', [
        { expr: `nodejs_eventloop_lag_p99_seconds{${INSTANCE_FILTER}}`, legend: '{{instance}}' },
      ]),
    );
}
