import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../src/index.js';

const directory = fileURLToPath(new URL('../dashboards/', import.meta.url));

interface PanelJson {
  title: string;
  description?: string;
  targets?: { expr: string }[];
}

describe('grafana/dashboards', () => {
  const rendered = renderDashboards();

  it('holds exactly the JSON the code generates (run `pnpm --filter @llm-monitor/grafana-dashboards generate` after a change)', () => {
    expect(readdirSync(directory).filter((file) => file.endsWith('.json')).sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, text] of Object.entries(rendered)) expect(readFileSync(`${directory}${file}`, 'utf8'), `${file} is stale`).toBe(text);
  });

  it('gives every panel a description and a query, and every dashboard the model, task and instance variables', () => {
    for (const text of Object.values(rendered)) {
      const dashboard = JSON.parse(text) as { panels: PanelJson[]; templating: { list: { name: string }[] }; links: { url?: string }[] };
      expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(expect.arrayContaining(['datasource', 'instance', 'model', 'task']));
      expect(dashboard.links.some((link) => link.url === '${monitor_url}')).toBe(true);
      for (const panel of dashboard.panels) {
        expect(panel.description, panel.title).toBeTruthy();
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      }
    }
  });
});
