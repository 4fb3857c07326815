/**
 * /metrics as Prometheus sees it: sessions instrumented with setupLlmMonitor go through a real
 * receiver over OTLP/HTTP, and the scrape shows them in both exposition formats, promtool finds
 * nothing to fault, and refused input shows up in the receiver's self-metrics.
 */
import { describe, expect, it } from 'vitest';
import { context } from '@opentelemetry/api';
import { setupLlmMonitor } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import { runPromtool, toolAvailable } from './support/tools.js';
import { until } from './support/wait.js';

const server = useReceiver({ modelPrices: ['gpt-4o-mini=0.15/0.6'], metricsMaxLabelValues: 3 });
const promtool = toolAvailable('promtool', 'prometheus');

async function scrape(accept?: string): Promise<{ contentType: string; body: string }> {
  const response = await fetch(`${server.apiUrl}/metrics`, accept ? { headers: { accept } } : {});
  expect(response.status).toBe(200);
  return { contentType: response.headers.get('content-type') ?? '', body: await response.text() };
}

/** The value of one sample, found by its name and every label given (in any order). */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const own = new Map([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => own.get(key) === value)) return Number(match[3]);
  }
  return undefined;
}

describe('/metrics of a receiver that saw sessions', () => {
  it('shows sessions, stages, tokens, calls, cost, errors and the receiver itself', async () => {
    const setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'metrics-e2e', progressIntervalMs: 0 });
    try {
      const ok = setup.monitor.startSession({ task: 'summarize', model: 'gpt-4o-mini', processorType: 'openai' });
      ok.stage('sending_request');
      const call = ok.startLlmCall({ operation: 'chat', provider: 'openai', model: 'gpt-4o-mini' });
      ok.stage('streaming_response');
      ok.tokens(2, 'Hi ');
      ok.tokens(1, 'there');
      call.end({ inputTokens: 1000, outputTokens: 3 });
      ok.complete({ result: 'Hi there' });
      const bad = setup.monitor.startSession({ task: 'classify', model: 'gpt-4o-mini', processorType: 'openai' });
      bad.stage('processing_response');
      bad.fail(new Error('no label'));
    } finally {
      await setup.shutdown();
    }

    await until(
      'the failed session in /metrics',
      async () => (sample((await scrape()).body, 'llm_monitor_sessions_ended_total', { status: 'failed' }) ?? 0) >= 1,
    );
    const { contentType, body } = await scrape();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const labels = { model: 'gpt-4o-mini', processor_type: 'openai' };
    expect(sample(body, 'llm_monitor_sessions_started_total', { task: 'summarize', ...labels })).toBe(1);
    expect(sample(body, 'llm_monitor_sessions_ended_total', { status: 'completed', task: 'summarize', ...labels })).toBe(1);
    expect(sample(body, 'llm_monitor_sessions_ended_total', { status: 'failed', task: 'classify', ...labels })).toBe(1);
    expect(sample(body, 'llm_monitor_sessions_active')).toBe(0);
    expect(sample(body, 'llm_monitor_errors_total', { stage: 'processing_response' })).toBe(1);
    expect(sample(body, 'llm_monitor_stage_duration_seconds_count', { stage: 'streaming_response' })).toBe(1);
    expect(sample(body, 'gen_ai_server_time_to_first_token_seconds_count', { gen_ai_request_model: 'gpt-4o-mini' })).toBe(1);
    expect(sample(body, 'gen_ai_server_time_per_output_token_seconds_count', { gen_ai_request_model: 'gpt-4o-mini' })).toBe(1);
    expect(sample(body, 'gen_ai_client_token_usage_sum', { gen_ai_request_model: 'gpt-4o-mini', gen_ai_token_type: 'input' })).toBe(1000);
    expect(
      sample(body, 'gen_ai_client_token_usage_bucket', { gen_ai_request_model: 'gpt-4o-mini', gen_ai_token_type: 'input', le: '1024' }),
    ).toBe(1);
    expect(
      sample(body, 'gen_ai_client_token_usage_bucket', { gen_ai_request_model: 'gpt-4o-mini', gen_ai_token_type: 'input', le: '256' }),
    ).toBe(0);
    expect(
      sample(body, 'gen_ai_client_operation_duration_seconds_count', {
        gen_ai_operation_name: 'chat',
        gen_ai_request_model: 'gpt-4o-mini',
        gen_ai_provider_name: 'openai',
      }),
    ).toBe(1);
    expect(sample(body, 'llm_monitor_llm_calls_total', { model: 'gpt-4o-mini', operation: 'chat' })).toBe(1);
    expect(sample(body, 'llm_monitor_tokens_total', { model: 'gpt-4o-mini', direction: 'input' })).toBe(1000);
    expect(sample(body, 'llm_monitor_cost_usd_total', { model: 'gpt-4o-mini' })).toBeCloseTo((1000 * 0.15 + 3 * 0.6) / 1e6, 12);
    expect(sample(body, 'llm_monitor_receiver_spans_received_total')).toBeGreaterThan(0);
    expect(sample(body, 'llm_monitor_store_sessions')).toBe(2);
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('reports refused requests and decode errors without losing what was accepted', async () => {
    const before = (await scrape()).body;
    const response = await fetch(server.otlpTracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0xff, 0xff, 0xff]),
    });
    expect(response.status).toBe(400);
    const after = (await scrape()).body;
    const refused = { code: 'LLMMON_ERR_MALFORMED_OTLP' };
    expect(sample(after, 'llm_monitor_receiver_requests_refused_total', refused)).toBe(
      (sample(before, 'llm_monitor_receiver_requests_refused_total', refused) ?? 0) + 1,
    );
    expect(sample(after, 'llm_monitor_receiver_decode_errors_total', { encoding: 'protobuf' })).toBe(1);
    expect(sample(after, 'llm_monitor_sessions_started_total', { task: 'summarize', model: 'gpt-4o-mini' })).toBe(1);
  });

  it('bounds label values: beyond metrics_max_label_values tasks are "other", and says so', async () => {
    const setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'metrics-e2e', progressIntervalMs: 0 });
    try {
      for (const task of ['t1', 't2', 't3']) setup.monitor.startSession({ task, model: 'gpt-4o-mini' }).complete();
    } finally {
      await setup.shutdown();
    }
    await until(
      'two task values folded into other',
      async () => (sample((await scrape()).body, 'llm_monitor_label_overflow_total', { label: 'task' }) ?? 0) >= 2,
    );
    const body = (await scrape()).body;
    // summarize and classify came first; t1 is the third and last distinct task allowed.
    expect(sample(body, 'llm_monitor_sessions_started_total', { task: 't1' })).toBe(1);
    expect(sample(body, 'llm_monitor_sessions_started_total', { task: 'other' })).toBe(2);
    expect(sample(body, 'llm_monitor_sessions_started_total', { task: 't3' })).toBeUndefined();
  });

  it('serves OpenMetrics with trace-id exemplars to a scraper that asks for it', async () => {
    const { contentType, body } = await scrape('application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1');
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toMatch(/^# TYPE llm_monitor_sessions_started counter$/m);
    expect(body).toMatch(/^gen_ai_server_time_to_first_token_seconds_bucket\{[^}]*\} 1 # \{trace_id="[0-9a-f]{32}"\} [0-9.e-]+ [0-9.]+$/m);
    // And the classic format is still right after an OpenMetrics scrape.
    expect((await scrape()).body).toMatch(/^# TYPE llm_monitor_sessions_started_total counter$/m);
  });

  it('counts each step once, when it ends, by kind, with tools and fallback models bounded', async () => {
    const setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'metrics-e2e', progressIntervalMs: 0 });
    const tracer = setup.tracerProvider.getTracer('metrics-e2e');
    try {
      const session = setup.monitor.startSession({ task: 'summarize', model: 'gpt-4o-mini', processorType: 'openai' });
      await session.chainStep('retrieve', async (step) => {
        await step.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 3 }, async () => ['doc-1', 'doc-2']);
      });
      await session.selectModel({ candidates: ['claude-sonnet-4', 'gpt-4o-mini'] }, async (selection) => {
        selection.fallback('claude-sonnet-4', new Error('503 model overloaded'));
        selection.choose('gpt-4o-mini', 'the first that answered');
        return 'gpt-4o-mini';
      });
      // Five tools by GenAI execute_tool spans; metrics_max_label_values is 3 here.
      await session.chainStep('agent', async () => {
        for (const tool of ['t-a', 't-b', 't-c', 't-d', 't-e']) {
          tracer
            .startSpan(
              `execute_tool ${tool}`,
              { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
              context.active(),
            )
            .end();
        }
      });
      session.complete({ result: 'done' });
    } finally {
      await setup.shutdown();
    }
    await until(
      'the tool calls in /metrics',
      async () => (sample((await scrape()).body, 'llm_monitor_steps_total', { kind: 'tool_call', status: 'ok' }) ?? 0) >= 5,
    );
    // Scraped again after more changes of the session, nothing is counted twice.
    const body = (await scrape()).body;
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'tool_call', status: 'ok' })).toBe(5);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'chain', status: 'ok' })).toBe(2);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'vector_search', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'model_selection', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'agent', status: 'error' })).toBe(0);
    expect(sample(body, 'llm_monitor_step_duration_seconds_count', { kind: 'vector_search' })).toBe(1);
    // Three tools keep their name (which three follows the order of the steps), two are other.
    const named = ['t-a', 't-b', 't-c', 't-d', 't-e'].filter(
      (tool) => sample(body, 'llm_monitor_tool_calls_total', { tool, status: 'ok' }) === 1,
    );
    expect(named).toHaveLength(3);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'other', status: 'ok' })).toBe(2);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'other', status: 'error' })).toBe(0);
    expect(sample(body, 'llm_monitor_label_overflow_total', { label: 'tool' })).toBe(2);
    expect(sample(body, 'llm_monitor_retrievals_total', { kind: 'vector_search' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrieval_results_sum', { kind: 'vector_search' })).toBe(2);
    expect(sample(body, 'llm_monitor_model_fallbacks_total', { model: 'claude-sonnet-4' })).toBe(1);
  });

  it.skipIf(!promtool)('passes promtool check metrics with nothing to report', async () => {
    const result = runPromtool(['check', 'metrics'], (await scrape()).body);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});
