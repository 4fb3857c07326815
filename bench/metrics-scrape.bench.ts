/**
 * What a Prometheus scrape of /metrics costs with a full store: 10,000 retained sessions over 50
 * models, 5 tasks and 3 processor types, each with 6 stages and 2 LLM calls, all observed by the
 * session metrics. Rows: the scrape over HTTP in each format (Fastify inject, the whole route), and
 * the two renderings alone. Baseline in the same run: prom-client's own rendering of the same
 * registry (`registry.metrics()`, OpenMetrics).
 *
 *   pnpm exec vitest bench --run bench/metrics-scrape.bench.ts
 */
import Fastify from 'fastify';
import { afterAll, bench, describe } from 'vitest';
import { MemorySessionStore } from '@llm-monitor/sessions';
import type { LlmCallRecord, ProcessingSession } from '@llm-monitor/sessions';
import { createOpenMetricsRegistry, prometheusExporterPlugin, renderPrometheusText } from '@llm-monitor/prometheus-exporter';

const SESSIONS = 10_000;
const MODELS = 50;
const TASKS = ['summarize', 'classify', 'translate', 'extract_entities', 'answer_question'];
const PROCESSORS = ['openai', 'anthropic', 'ollama'];
const STAGES = ['initializing', 'preparing_prompt', 'sending_request', 'streaming_response', 'processing_response', 'finalizing'];

function sessionOf(i: number): ProcessingSession {
  const model = `model-${i % MODELS}`;
  const start = Date.UTC(2026, 10, 22, 12) + i * 100;
  const stages = STAGES.map((stage, s) => ({
    stage,
    start_time: new Date(start + s * 200).toISOString(),
    end_time: new Date(start + (s + 1) * 200).toISOString(),
    duration_ms: 150 + ((i * 7 + s * 13) % 100),
    message: '',
    progress: 0,
    status: 'ok' as const,
    error: null,
    metadata: {},
  }));
  const calls = [0, 1].map((c): LlmCallRecord => ({
    span_id: `${i}-${c}`,
    operation: c === 0 ? 'chat' : 'embeddings',
    provider: PROCESSORS[i % PROCESSORS.length]!,
    request_model: model,
    response_model: model,
    start_time: new Date(start).toISOString(),
    end_time: new Date(start + 500).toISOString(),
    duration_ms: 200 + (i % 900),
    status: i % 20 === 0 ? 'error' : 'ok',
    error: null,
    prompt_preview: null,
    response_preview: null,
    input_tokens: 100 + (i % 3000),
    output_tokens: 10 + (i % 400),
    total_tokens: 110 + (i % 3000) + (i % 400),
    cached_tokens: null,
    finish_reasons: ['stop'],
    user_id: null,
    cost_usd: null,
    time_to_first_token_ms: null,
    metadata: {},
  }));
  return {
    session_id: `session-${i}`,
    trace_id: (i.toString(16) + '0'.repeat(32)).slice(0, 32),
    source: 'llm_monitor',
    status: i % 10 === 0 ? 'failed' : 'completed',
    start_time: new Date(start).toISOString(),
    end_time: new Date(start + 1200).toISOString(),
    duration_ms: 1200 + (i % 5000),
    current_stage: 'finalizing',
    progress: 100,
    content_preview: null,
    result_preview: null,
    task: TASKS[i % TASKS.length]!,
    model,
    provider: PROCESSORS[i % PROCESSORS.length]!,
    processor_type: PROCESSORS[i % PROCESSORS.length]!,
    service_name: 'bench',
    conversation_id: null,
    user_id: null,
    events: [],
    stages,
    llm_calls: calls,
    steps: [],
    steps_dropped: 0,
    streamed_tokens: [],
    token_counts: { input: 1000, output: 200, total: 1200, streamed: 200 },
    cost_usd: null,
    budget_exceeded: [],
    time_to_first_token_ms: 80 + (i % 2000),
    tokens_per_second: 40,
    time_per_output_token_ms: 25,
    metadata: {},
    error: i % 10 === 0 ? 'boom' : null,
  };
}

const store = new MemorySessionStore({ maxSessions: SESSIONS });
const registry = createOpenMetricsRegistry();
const app = Fastify();
const prices = Object.fromEntries(
  Array.from({ length: MODELS }, (_, m) => [`model-${m}`, { input_per_million: 1, output_per_million: 4 }]),
);
await app.register(prometheusExporterPlugin, { sessions: store, registry, metrics: { maxLabelValues: 100, prices } });
await app.ready();
for (let i = 0; i < SESSIONS; i += 1) {
  store.upsert({ ...sessionOf(i), status: 'active', end_time: null, duration_ms: null }, i);
  store.upsert(sessionOf(i), i);
}
const classic = (await app.inject('/metrics')).body;
const openMetrics = (await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } })).body;
const series = classic.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
afterAll(async () => {
  await app.close();
});

describe(`scrape with ${store.size} sessions, ${MODELS} models: ${series} series, ${(classic.length / 1024).toFixed(0)} KiB classic, ${(openMetrics.length / 1024).toFixed(0)} KiB OpenMetrics`, () => {
  bench('baseline: prom-client registry.metrics() (OpenMetrics)', async () => {
    await registry.metrics();
  });
  bench('renderPrometheusText (classic format)', async () => {
    await renderPrometheusText(registry);
  });
  bench('GET /metrics, classic format (whole route)', async () => {
    await app.inject('/metrics');
  });
  bench('GET /metrics, OpenMetrics with exemplars (whole route)', async () => {
    await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } });
  });
});
