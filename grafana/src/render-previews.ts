/**
 * Draws the pictures of docs/dashboards.md from real data:
 * `pnpm --filter @llm-monitor/grafana-dashboards previews [--minutes N]`.
 *
 * It starts the receiver with its demo workload (the `llm-monitor --demo` command, built by
 * `pnpm build`), a real Prometheus scraping it every second, waits, then runs every panel query of
 * every committed dashboard over that time and draws the answers into docs/images/dashboards/*.svg.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { DashboardJson } from './preview/panel-data.js';
import { isRow } from './preview/panel-data.js';
import { freePort, startPrometheus, waitUntilOk } from './preview/prometheus-process.js';
import { queryDashboard } from './preview/prometheus-query.js';
import { renderDashboardSvg } from './preview/svg-dashboard.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dashboards = `${root}grafana/dashboards/`;
const output = `${root}docs/images/dashboards/`;
// The demo's models, priced so the cost panel has something to show (USD per million tokens).
const MODEL_PRICES = 'gpt-4o-mini=0.15/0.6,claude-sonnet-4=3/15,mistral-small=0.1/0.3,llama3.1:8b=0/0';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '6' }, rate: { type: 'string', default: '4' } } });
  const minutes = Number(values.minutes);
  if (!(minutes >= 1 && minutes <= 60)) throw new Error('--minutes must be from 1 to 60');
  const [apiPort, otlpPort] = [await freePort(), await freePort()];
  const receiver = spawn(
    process.execPath,
    [
      `${root}packages/receiver/bin/llm-monitor.js`,
      '--port',
      String(apiPort),
      '--otlp-port',
      String(otlpPort),
      '--otlp-grpc-port',
      '0',
      '--demo',
      '--demo-rate',
      String(values.rate),
      '--model-prices',
      MODEL_PRICES,
      '--storage-url',
      'memory:',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const receiverExited = new Promise((resolve) => receiver.once('exit', resolve));
  const prometheus = await startPrometheus(
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: llm-monitor\n    static_configs:\n      - targets: ["127.0.0.1:${apiPort}"]\n`,
  );
  try {
    await waitUntilOk(`http://127.0.0.1:${apiPort}/readyz`, 30, () =>
      receiver.exitCode === null ? undefined : `llm-monitor exited with ${receiver.exitCode}`,
    );
    const start = Math.floor(Date.now() / 1000);
    process.stdout.write(`demo running against the receiver on :${apiPort}; drawing in ${minutes} minute(s)\n`);
    await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
    const end = Math.floor(Date.now() / 1000);
    // About 240 points across the picture; a rate window of 15 s smooths the 1 s scrapes as Grafana would.
    const range = { start, end, step: Math.max(1, Math.round((end - start) / 240)), rateInterval: '15s' };
    mkdirSync(output, { recursive: true });
    for (const file of readdirSync(dashboards)
      .filter((name) => name.endsWith('.json'))
      .sort()) {
      const dashboard = JSON.parse(readFileSync(`${dashboards}${file}`, 'utf8')) as DashboardJson;
      const data = await queryDashboard(prometheus.url, dashboard, range);
      const picture = file.replace(/\.json$/, '.svg');
      writeFileSync(`${output}${picture}`, renderDashboardSvg(dashboard, data));
      const empty = dashboard.panels
        .filter((panel, index) => !isRow(panel) && (data.panels[index] ?? []).length === 0)
        .map((panel) => panel.title);
      process.stdout.write(`wrote docs/images/dashboards/${picture}${empty.length > 0 ? ` (no data: ${empty.join(', ')})` : ''}\n`);
    }
  } finally {
    receiver.kill('SIGTERM');
    await receiverExited;
    await prometheus.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`render-previews: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
