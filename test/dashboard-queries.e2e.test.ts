/**
 * No panel shows "No data" because its query is wrong: the demo workload runs against a real
 * receiver, a real Prometheus scrapes it every second, and every PromQL query of every committed
 * dashboard must return data from that Prometheus. A small agent workload runs beside the demo: it
 * calls two tools through GenAI `execute_tool` spans, one of them failing at times, so the tool
 * panels of the Steps row answer with real series of both outcomes (not their zero fallback),
 * whatever tools the demo itself calls.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, SpanStatusCode } from '@opentelemetry/api';
import { runDemoWorkload } from '@llm-monitor/demo';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { DemoWorkload } from '@llm-monitor/demo';
import { asGrafanaSends } from '@llm-monitor/grafana-dashboards';
import type { DashboardJson } from '@llm-monitor/grafana-dashboards';
import { useReceiver } from './support/receiver.js';
import { startPrometheus } from './support/prometheus.js';
import { toolAvailable } from './support/tools.js';
import type { RunningPrometheus } from './support/prometheus.js';

const available = toolAvailable('prometheus', 'prometheus');
const server = useReceiver({ modelPrices: ['gpt-4o-mini=0.15/0.6', 'claude-sonnet-4=3/15', 'llama3.1:8b=0/0', 'mistral-small=0.1/0.3'] });
const directory = fileURLToPath(new URL('../grafana/dashboards/', import.meta.url));

interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

const queries: PanelQuery[] = readdirSync(directory)
  .filter((file) => file.endsWith('.json'))
  .flatMap((file) => {
    const dashboard = JSON.parse(readFileSync(`${directory}${file}`, 'utf8')) as DashboardJson;
    return dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ dashboard: dashboard.title, panel: panel.title, expr: target.expr })),
    );
  });

/**
 * An agent that calls tools: sessions with a chain step holding two GenAI `execute_tool` spans,
 * `search` (always ok) and `weather` (failing every third time), a few sessions a second.
 */
function runToolWorkload(endpoint: string): { stop(): Promise<void> } {
  const setup = setupLlmMonitor({ endpoint, serviceName: 'tool-agent', progressIntervalMs: 0 });
  const tracer = setup.tracerProvider.getTracer('tool-agent');
  let running = true;
  const loop = (async () => {
    for (let round = 0; running; round += 1) {
      const session = setup.monitor.startSession({ task: 'agent', model: 'gpt-4o-mini', processorType: 'openai' });
      await session.chainStep('agent_loop', async () => {
        for (const [tool, fails] of [
          ['search', false],
          ['weather', round % 3 === 0],
        ] as const) {
          const span = tracer.startSpan(
            `execute_tool ${tool}`,
            { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
            context.active(),
          );
          await sleep(5);
          if (fails) span.setStatus({ code: SpanStatusCode.ERROR, message: 'tool timed out' });
          span.end();
        }
      });
      session.complete({ result: 'done' });
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await setup.shutdown();
    },
  };
}

let prometheus: RunningPrometheus | undefined;
let demo: DemoWorkload | undefined;
let tools: { stop(): Promise<void> } | undefined;

describe.skipIf(!available)('every dashboard query against a real Prometheus', () => {
  beforeAll(async () => {
    demo = runDemoWorkload({ endpoint: server.otlpTracesUrl, rate: 20, failureRate: 0.3, timeScale: 0.05 });
    tools = runToolWorkload(server.otlpTracesUrl);
    const config = `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: llm-monitor\n    static_configs:\n      - targets: [${JSON.stringify(new URL(server.apiUrl).host)}]\n`;
    prometheus = await startPrometheus(config);
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await tools?.stop();
    await prometheus?.stop();
  });

  it('finds queries in every dashboard', () => {
    expect(new Set(queries.map((query) => query.dashboard)).size).toBe(4);
    expect(queries.length).toBeGreaterThan(25);
  });

  it('gets data back for every query of every panel', async () => {
    const empty = new Map<string, string>();
    const deadline = Date.now() + 45_000;
    let pending = queries;
    // Rates need a few scrapes; keep asking until each query has answered with data once.
    while (pending.length > 0 && Date.now() < deadline) {
      const still: PanelQuery[] = [];
      for (const query of pending) {
        try {
          const result = await prometheus!.query(asGrafanaSends(query.expr, '10s'));
          if (result.length === 0 || result.every((sample) => Number.isNaN(Number(sample.value[1])))) {
            still.push(query);
            empty.set(`${query.dashboard} / ${query.panel}: ${query.expr}`, 'no data');
          } else {
            empty.delete(`${query.dashboard} / ${query.panel}: ${query.expr}`);
          }
        } catch (error) {
          still.push(query);
          empty.set(`${query.dashboard} / ${query.panel}: ${query.expr}`, String(error));
        }
      }
      pending = still;
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect([...empty].map(([query, why]) => `${query} → ${why}`)).toEqual([]);
  }, 90_000);

  it('covers the Steps row with the steps the workloads make: every kind they make, both tools, retrievals, fallbacks', async () => {
    const steps = queries.filter(
      (query) =>
        query.dashboard === 'LLM monitor / Stages' &&
        /llm_monitor_(step|steps|tool_calls|retrievals|retrieval_results|model_fallbacks)_/.test(query.expr),
    );
    expect(new Set(steps.map((query) => query.panel)).size).toBe(9);
    /** The label values of `label` among the series of `expr` above zero. */
    const values = async (expr: string, label: string): Promise<string[]> =>
      [...new Set((await prometheus!.query(`${expr} > 0`)).map((sample) => sample.metric[label] ?? ''))].sort();
    const expected: [string, string, string[]][] = [
      // The demo: an embedding and two vector searches in its retrieval step, a template, a model
      // selection and the LLM call; the agent: its chain step and its tool calls.
      [
        'sum by (kind) (llm_monitor_steps_total)',
        'kind',
        ['chain', 'embedding', 'llm_call', 'model_selection', 'template', 'tool_call', 'vector_search'],
      ],
      [
        'sum by (kind) (llm_monitor_step_duration_seconds_count)',
        'kind',
        ['chain', 'embedding', 'llm_call', 'model_selection', 'template', 'tool_call', 'vector_search'],
      ],
      ['sum by (tool, status) (llm_monitor_tool_calls_total)', 'tool', ['search', 'weather']],
      ['sum by (status) (llm_monitor_tool_calls_total{tool="weather"})', 'status', ['error', 'ok']],
      ['sum by (status) (llm_monitor_tool_calls_total{tool="search"})', 'status', ['ok']],
      ['sum by (kind) (llm_monitor_retrievals_total)', 'kind', ['vector_search']],
      ['sum by (kind) (llm_monitor_retrieval_results_count)', 'kind', ['vector_search']],
    ];
    for (const [expr, label, wanted] of expected) {
      const deadline = Date.now() + 20_000;
      let found = await values(expr, label);
      while (!wanted.every((value) => found.includes(value)) && Date.now() < deadline) {
        await sleep(1000);
        found = await values(expr, label);
      }
      expect(found, expr).toEqual(expect.arrayContaining(wanted));
    }
    // The demo's model selections fall back (one in five) from one of its own models.
    const fallbacks = await values('sum by (model) (llm_monitor_model_fallbacks_total)', 'model');
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(
      fallbacks.every((model) => ['gpt-4o-mini', 'claude-sonnet-4', 'mistral-small', 'llama3.1:8b'].includes(model)),
      fallbacks.join(),
    ).toBe(true);
    // An empty FAQ search (three in ten) lands in the 0 bucket.
    expect(await values('sum by (le) (llm_monitor_retrieval_results_bucket{le=~"0|0.0"})', 'le')).toHaveLength(1);
  }, 60_000);
});
