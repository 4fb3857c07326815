import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRow, renderDashboards } from '../src/index.js';
import type { DashboardJson, PanelJson } from '../src/index.js';
// The page's own filter names: a link must use what the web monitor understands.
import { STATUSES, TEXT_FILTERS } from '../../packages/web/src/history-query.js';

const directory = fileURLToPath(new URL('../dashboards/', import.meta.url));

/** A panel as committed, with the links the web monitor is reached through. */
type LinkedPanel = PanelJson & { links?: { url: string }[]; fieldConfig?: { defaults?: { links?: { url: string }[] } } };

describe('grafana/dashboards', () => {
  const rendered = renderDashboards();

  it('holds exactly the JSON the code generates (run `pnpm --filter @llm-monitor/grafana-dashboards generate` after a change)', () => {
    expect(
      readdirSync(directory)
        .filter((file) => file.endsWith('.json'))
        .sort(),
    ).toEqual(Object.keys(rendered).sort());
    for (const [file, text] of Object.entries(rendered)) expect(readFileSync(`${directory}${file}`, 'utf8'), `${file} is stale`).toBe(text);
  });

  it('gives every panel a description and a query, and every dashboard the model, task and instance variables', () => {
    for (const text of Object.values(rendered)) {
      const dashboard = JSON.parse(text) as DashboardJson & { templating: { list: { name: string }[] }; links: { url?: string }[] };
      expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(
        expect.arrayContaining(['datasource', 'instance', 'model', 'task']),
      );
      expect(dashboard.links.some((link) => link.url === '${monitor_url}')).toBe(true);
      for (const panel of dashboard.panels.filter((one) => !isRow(one))) {
        expect(panel.description, panel.title).toBeTruthy();
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      }
    }
  });

  it('puts the step panels in an expanded "Steps" row of the Stages dashboard, below every stage panel', () => {
    const dashboard = JSON.parse(rendered['llm-stages.json']!) as DashboardJson;
    const rows = dashboard.panels.filter(isRow);
    expect(rows.map((one) => one.title)).toEqual(['Steps']);
    const steps = rows[0] as PanelJson & { collapsed: boolean; panels: unknown[] };
    // Expanded: its panels are the dashboard's own, after it, as Grafana keeps an open row.
    expect(steps).toMatchObject({ collapsed: false, panels: [], gridPos: { x: 0, w: 24, h: 1 } });
    const index = dashboard.panels.indexOf(steps);
    const before = dashboard.panels.slice(0, index);
    const after = dashboard.panels.slice(index + 1);
    expect(Math.max(...before.map((one) => one.gridPos.y + one.gridPos.h))).toBeLessThanOrEqual(steps.gridPos.y);
    expect(Math.min(...after.map((one) => one.gridPos.y))).toBe(steps.gridPos.y + 1);
    expect(
      before
        .flatMap((one) => one.targets ?? [])
        .every((target) => !/llm_monitor_(step|steps|tool_calls|retrieval|retrievals|model_fallbacks)_/.test(target.expr)),
    ).toBe(true);
    const metrics = after.flatMap((one) =>
      (one.targets ?? []).map((target) => /\b(llm_monitor_[a-z_]+?)(_bucket|_sum|_count)?\{/.exec(target.expr)?.[1]),
    );
    expect(new Set(metrics)).toEqual(
      new Set([
        'llm_monitor_step_duration_seconds',
        'llm_monitor_steps_total',
        'llm_monitor_tool_calls_total',
        'llm_monitor_retrievals_total',
        'llm_monitor_retrieval_results',
        'llm_monitor_model_fallbacks_total',
      ]),
    );
    expect(after.map((one) => one.title)).toEqual([
      'Step duration p95',
      'Step duration p50',
      'Steps per second by kind',
      'Step error ratio by kind',
      'Tool calls per second by tool',
      'Tool call error ratio by tool',
      'Retrievals per second',
      'Results per retrieval',
      'Model fallbacks per second by model',
    ]);
    // No two panels overlap on Grafana's grid.
    const cells = new Set<string>();
    for (const one of dashboard.panels) {
      for (let x = one.gridPos.x; x < one.gridPos.x + one.gridPos.w; x += 1) {
        for (let y = one.gridPos.y; y < one.gridPos.y + one.gridPos.h; y += 1) {
          expect(cells.has(`${x},${y}`), `${one.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      expect(one.gridPos.x + one.gridPos.w, one.title).toBeLessThanOrEqual(24);
    }
  });

  it('links panels into views the web monitor has, with filters it understands', () => {
    const links: { panel: string; url: string }[] = [];
    for (const text of Object.values(rendered)) {
      const dashboard = JSON.parse(text) as { panels: LinkedPanel[] };
      for (const panel of dashboard.panels) {
        for (const link of [...(panel.links ?? []), ...(panel.fieldConfig?.defaults?.links ?? [])])
          links.push({ panel: panel.title, url: link.url });
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
