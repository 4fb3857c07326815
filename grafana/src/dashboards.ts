/** Every dashboard, by the file it is generated into. */
import type { Dashboard, DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview-dashboard.js';
import { receiverDashboard } from './receiver-dashboard.js';
import { stagesDashboard } from './stages-dashboard.js';
import { tokensDashboard } from './tokens-dashboard.js';

/** File name (under grafana/dashboards/) → dashboard. */
export const DASHBOARDS: Readonly<Record<string, () => DashboardBuilder>> = {
  'llm-overview.json': overviewDashboard,
  'llm-stages.json': stagesDashboard,
  'llm-tokens-and-cost.json': tokensDashboard,
  'llm-receiver-health.json': receiverDashboard,
};

/** Lays panels out in reading order, left to right in Grafana's 24 columns, in the order they were added. */
function layOut(dashboard: Dashboard): Dashboard {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const panel of dashboard.panels ?? []) {
    const position = (panel as { gridPos?: { h: number; w: number; x: number; y: number } }).gridPos;
    if (!position) continue;
    if (x + position.w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    Object.assign(position, { x, y });
    x += position.w;
    rowHeight = Math.max(rowHeight, position.h);
  }
  return dashboard;
}

/** Every dashboard as the JSON text committed under grafana/dashboards/. */
export function renderDashboards(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(DASHBOARDS).map(([file, build]) => [file, `${JSON.stringify(layOut(build().build()), null, 2)}\n`]),
  );
}
