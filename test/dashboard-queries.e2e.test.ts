/**
 * No panel shows "No data" because its query is wrong: the demo workload runs against a real
 * receiver, a real Prometheus scrapes it every second, and every PromQL query of every committed
 * dashboard must return data from that Prometheus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemoWorkload } from '@llm-monitor/demo';
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
    return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ dashboard: dashboard.title, panel: panel.title, expr: target.expr })));
  });


let prometheus: RunningPrometheus | undefined;
let demo: DemoWorkload | undefined;

describe.skipIf(!available)('every dashboard query against a real Prometheus', () => {
  beforeAll(async () => {
    demo = runDemoWorkload({ endpoint: server.otlpTracesUrl, rate: 20, failureRate: 0.3, timeScale: 0.05 });
    const config = `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: llm-monitor\n    static_configs:\n      - targets: [${JSON.stringify(new URL(server.apiUrl).host)}]\n`;
    prometheus = await startPrometheus(config);
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
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
});
