import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../src/index.js';
import type { DashboardJson, PanelJson } from '../src/index.js';
// The page's own filter names: a link must use what the web monitor understands.
import { STATUSES, TEXT_FILTERS } from '../../packages/web/src/history-query.js';

const directory = fileURLToPath(new URL('../dashboards/', import.meta.url));

/** A panel as committed, with the links the web monitor is reached through. */
type LinkedPanel = PanelJson & { links?: { url: string }[]; fieldConfig?: { defaults?: { links?: { url: string }[] } } };

describe('grafana/dashboards', () => {
  const rendered = renderDashboards();

  it('holds exactly the JSON the code generates (run `pnpm --filter @llm-monitor/grafana-dashboards generate` after a change)', () => {
    expect(readdirSync(directory).filter((file) => file.endsWith('.json')).sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, text] of Object.entries(rendered)) expect(readFileSync(`${directory}${file}`, 'utf8'), `${file} is stale`).toBe(text);
  });

  it('gives every panel a description and a query, and every dashboard the model, task and instance variables', () => {
    for (const text of Object.values(rendered)) {
      const dashboard = JSON.parse(text) as DashboardJson & { templating: { list: { name: string }[] }; links: { url?: string }[] };
      expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(expect.arrayContaining(['datasource', 'instance', 'model', 'task']));
      expect(dashboard.links.some((link) => link.url === '${monitor_url}')).toBe(true);
      for (const panel of dashboard.panels) {
        expect(panel.description, panel.title).toBeTruthy();
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      }
    }
  });

  it('links panels into views the web monitor has, with filters it understands', () => {
    const links: { panel: string; url: string }[] = [];
    for (const text of Object.values(rendered)) {
      const dashboard = JSON.parse(text) as { panels: LinkedPanel[] };
      for (const panel of dashboard.panels) {
        for (const link of [...(panel.links ?? []), ...(panel.fieldConfig?.defaults?.links ?? [])]) links.push({ panel: panel.title, url: link.url });
      }
    }
    expect(links.length).toBeGreaterThanOrEqual(10);
    for (const { panel, url } of links) {
      const match = /^\$\{monitor_url\}#(\/(?:history|log)?)(?:\?(.*))?$/.exec(url);
      expect(match, `${panel}: ${url}`).not.toBeNull();
      for (const [name, value] of new URLSearchParams(match![2] ?? '')) {
        expect(['status', ...TEXT_FILTERS], `${panel}: ${url}`).toContain(name);
        if (name === 'status' && !value.startsWith('${')) expect(STATUSES, `${panel}: ${url}`).toContain(value);
      }
    }
  });
});
