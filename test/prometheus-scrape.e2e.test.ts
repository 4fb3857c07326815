/**
 * A real Prometheus scrapes a real receiver: it negotiates OpenMetrics, accepts every sample, keeps
 * the trace-id exemplars, loads the shipped alert rules, and answers queries over our series.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupLlmMonitor } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import { startPrometheus } from './support/prometheus.js';
import type { RunningPrometheus } from './support/prometheus.js';
import { runPromtool, toolAvailable } from './support/tools.js';
import { waitFor } from './support/wait.js';

const available = toolAvailable('prometheus', 'prometheus');
const promtool = toolAvailable('promtool', 'prometheus');
const server = useReceiver();
const alerts = fileURLToPath(new URL('../deploy/prometheus/alerts.yml', import.meta.url));
let prometheus: RunningPrometheus | undefined;

describe.skipIf(!available)('a real Prometheus scraping the receiver', () => {
  beforeAll(async () => {
    const setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'prometheus-e2e', progressIntervalMs: 0 });
    try {
      for (const model of ['gpt-4o-mini', 'claude-sonnet-4']) {
        const session = setup.monitor.startSession({ task: 'summarize', model, processorType: 'demo' });
        session.stage('streaming_response');
        session.tokens(3, 'abc');
        session.complete();
      }
    } finally {
      await setup.shutdown();
    }
    const target = new URL(server.apiUrl).host;
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(alerts)}`,
      'scrape_configs:',
      '  - job_name: llm-monitor',
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n');
    if (promtool) {
      const file = join(mkdtempSync(join(tmpdir(), 'llm-monitor-promtool-')), 'prometheus.yml');
      writeFileSync(file, config);
      const check = runPromtool(['check', 'config', file]);
      expect(check.status, check.output).toBe(0);
    }
    prometheus = await startPrometheus(config, ['--enable-feature=exemplar-storage']);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('scrapes every sample of /metrics (target up, nothing rejected)', async () => {
    const up = await waitFor(
      'target up',
      async () => {
        const result = await prometheus!.query('up{job="llm-monitor"}');
        return result[0]?.value[1] === '1' ? result : undefined;
      },
      20_000,
      250,
    );
    expect(up).toHaveLength(1);
    const scraped = Number((await prometheus!.query('scrape_samples_scraped{job="llm-monitor"}'))[0]!.value[1]);
    const stored = Number((await prometheus!.query('scrape_samples_post_metric_relabeling{job="llm-monitor"}'))[0]!.value[1]);
    expect(scraped).toBeGreaterThan(100);
    expect(stored).toBe(scraped);
  });

  it('answers queries over the session metrics, by model', async () => {
    const started = await waitFor(
      'sessions by model',
      async () => {
        const result = await prometheus!.query('sum by (model) (llm_monitor_sessions_started_total{job="llm-monitor"})');
        return result.length === 2 ? result : undefined;
      },
      20_000,
      250,
    );
    expect(Object.fromEntries(started.map((sample) => [sample.metric.model, sample.value[1]]))).toEqual({
      'gpt-4o-mini': '1',
      'claude-sonnet-4': '1',
    });
    const ttft = await prometheus!.query('sum by (gen_ai_request_model) (gen_ai_server_time_to_first_token_seconds_count)');
    expect(ttft.map((sample) => sample.metric.gen_ai_request_model).sort()).toEqual(['claude-sonnet-4', 'gpt-4o-mini']);
  });

  it('keeps the trace-id exemplars of the OpenMetrics scrape', async () => {
    const exemplars = await waitFor(
      'exemplars',
      async () => {
        const now = Date.now() / 1000;
        const response = await fetch(
          `${prometheus!.url}/api/v1/query_exemplars?query=${encodeURIComponent('llm_monitor_session_duration_seconds_bucket')}&start=${now - 600}&end=${now + 60}`,
        );
        const body = (await response.json()) as { data: { exemplars: { labels: Record<string, string> }[] }[] };
        const all = body.data.flatMap((series) => series.exemplars);
        return all.length > 0 ? all : undefined;
      },
      20_000,
      250,
    );
    expect(exemplars[0]!.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('loads the shipped alert rules, all healthy', async () => {
    const rules = await waitFor(
      'rules evaluated',
      async () => {
        const body = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as {
          data: { groups: { rules: { name: string; health: string }[] }[] };
        };
        const all = body.data.groups.flatMap((group) => group.rules);
        return all.length > 0 && all.every((rule) => rule.health === 'ok') ? all : undefined;
      },
      20_000,
      250,
    );
    expect(rules.map((rule) => rule.name)).toHaveLength(7);
  });
});
