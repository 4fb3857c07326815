/** Writes every dashboard into grafana/dashboards/ (`pnpm --filter @llm-monitor/grafana-dashboards generate`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from './dashboards.js';

const directory = fileURLToPath(new URL('../dashboards/', import.meta.url));
for (const [file, text] of Object.entries(renderDashboards())) {
  writeFileSync(`${directory}${file}`, text);
  process.stdout.write(`wrote grafana/dashboards/${file}\n`);
}
