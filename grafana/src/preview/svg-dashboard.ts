/**
 * Draws a dashboard as an SVG picture from the data its queries returned: panels where the dashboard
 * puts them (Grafana's 24-column grid), time series as lines, stats as their value, the heatmap as
 * cells, bar gauges as bars, rows as their title. It is a picture of the data, not of Grafana: colours and fonts only resemble Grafana's dark
 * theme.
 */
import { formatValue } from './format-value.js';
import type { DashboardData, DashboardJson, PanelJson, Series } from './panel-data.js';
import { isRow, unitOf } from './panel-data.js';

const COLUMN_WIDTH = 50;
const ROW_HEIGHT = 30;
const GAP = 8;
const HEADER = 44;
// Ten colours far enough apart to tell ten stages apart.
const PALETTE = ['#73bf69', '#f2cc0c', '#5794f2', '#ff780a', '#f2495c', '#b877d9', '#4fd1c5', '#ff8fd0', '#c0d8ff', '#a16e3c'];
// Statuses keep the colours people read them by, whatever order the series come in.
const STATUS_COLOURS: Readonly<Record<string, string>> = {
  completed: '#73bf69',
  failed: '#f2495c',
  cancelled: '#ff9830',
  abandoned: '#b877d9',
  error: '#f2495c',
};
const LEGEND_ROWS = 3;
const TEXT = '#ccccdc';
const MUTED = '#8e8e9c';
const GRID = '#2c3235';

/** Escapes text for SVG; labels and titles are data, never markup. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function clip(text: string, characters: number): string {
  return text.length <= characters ? text : `${text.slice(0, Math.max(1, characters - 1))}…`;
}

function round(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

function colourOf(series: Series, index: number): string {
  return STATUS_COLOURS[series.legend] ?? PALETTE[index % PALETTE.length]!;
}

/** Grid steps for an axis up to `value`: a round step (1, 2, 2.5 or 5 × 10ⁿ) and about four lines. */
function axisScale(value: number): { step: number; maximum: number } {
  if (!(value > 0)) return { step: 0.25, maximum: 1 };
  const rough = value / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((candidate) => candidate * power >= rough) ?? 10) * power;
  return { step, maximum: step * Math.ceil(value / step - 1e-9) };
}

function clock(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 16);
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

function frame(panel: PanelJson, box: Box, body: string): string {
  return [
    `<g transform="translate(${box.x},${box.y})">`,
    `<rect width="${box.width}" height="${box.height}" rx="3" fill="#181b1f" stroke="#24292e"/>`,
    `<text x="10" y="20" font-size="13" font-weight="600" fill="${TEXT}">${escape(clip(panel.title, Math.floor(box.width / 7.5)))}</text>`,
    body,
    '</g>',
  ].join('');
}

function noData(box: Box): string {
  return `<text x="${box.width / 2}" y="${box.height / 2 + 6}" font-size="14" fill="${MUTED}" text-anchor="middle">No data</text>`;
}

function statBody(panel: PanelJson, series: readonly Series[], box: Box): string {
  const value = series[0]?.points.at(-1)?.[1];
  if (value === undefined) return noData(box);
  const size = Math.min(40, box.height * 0.38);
  return `<text x="${box.width / 2}" y="${(box.height + size) / 2 + 10}" font-size="${round(size)}" font-weight="500" fill="#73bf69" text-anchor="middle">${escape(formatValue(value, unitOf(panel)))}</text>`;
}

/** Plot area and legend rows of a chart panel. */
function chartLayout(box: Box, legends: number): { plot: Box; legendTop: number; perRow: number } {
  const perRow = Math.max(1, Math.floor((box.width - 20) / 120));
  const legendRows = Math.min(LEGEND_ROWS, Math.ceil(legends / perRow));
  const legendHeight = legendRows * 16;
  // Below the plot: the time labels (18 px), then the legend rows.
  const plot = { x: 62, y: 32, width: box.width - 62 - 12, height: box.height - 32 - 18 - legendHeight - 8 };
  return { plot, legendTop: plot.y + plot.height + 18 + 14, perRow };
}

function axes(plot: Box, scale: { step: number; maximum: number }, unit: string | undefined, start: number, end: number): string {
  const parts: string[] = [];
  const lines = Math.round(scale.maximum / scale.step);
  for (let line = 0; line <= lines; line += 1) {
    const y = plot.y + plot.height - (plot.height * line) / lines;
    parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.width}" y1="${round(y)}" y2="${round(y)}" stroke="${GRID}" stroke-width="1"/>`);
    parts.push(
      `<text x="${plot.x - 6}" y="${round(y + 4)}" font-size="10" fill="${MUTED}" text-anchor="end">${escape(formatValue(scale.step * line, unit))}</text>`,
    );
  }
  for (let tick = 0; tick <= 4; tick += 1) {
    const x = plot.x + (plot.width * tick) / 4;
    parts.push(
      `<text x="${round(x)}" y="${plot.y + plot.height + 14}" font-size="10" fill="${MUTED}" text-anchor="middle">${clock(start + ((end - start) * tick) / 4)}</text>`,
    );
  }
  return parts.join('');
}

function legend(series: readonly Series[], top: number, perRow: number, width: number): string {
  const slot = (width - 20) / perRow;
  const shown = series.slice(0, perRow * LEGEND_ROWS);
  const parts = shown.map((one, index) => {
    const x = 10 + (index % perRow) * slot;
    const y = top + Math.floor(index / perRow) * 16;
    return `<rect x="${round(x)}" y="${y - 8}" width="10" height="3" fill="${colourOf(one, index)}"/><text x="${round(x + 14)}" y="${y - 3}" font-size="10" fill="${TEXT}">${escape(clip(one.legend, Math.floor((slot - 18) / 6)))}</text>`;
  });
  if (series.length > shown.length)
    parts.push(
      `<text x="${width - 10}" y="${top + (LEGEND_ROWS - 1) * 16 + 13}" font-size="10" fill="${MUTED}" text-anchor="end">+${series.length - shown.length} more</text>`,
    );
  return parts.join('');
}

function timeseriesBody(panel: PanelJson, series: readonly Series[], box: Box, data: DashboardData): string {
  const finite = series.flatMap((one) => one.points.map(([, value]) => value)).filter(Number.isFinite);
  if (finite.length === 0) return noData(box);
  const { plot, legendTop, perRow } = chartLayout(box, series.length);
  const scale = axisScale(Math.max(...finite));
  const maximum = scale.maximum;
  const span = Math.max(1, data.end - data.start);
  const lines = series.map((one, index) => {
    let path = '';
    let drawing = false;
    for (const [time, value] of one.points) {
      if (!Number.isFinite(value)) {
        drawing = false;
        continue;
      }
      const x = plot.x + ((time - data.start) / span) * plot.width;
      const y = plot.y + plot.height - (Math.min(value, maximum) / maximum) * plot.height;
      path += `${drawing ? 'L' : 'M'}${round(x)} ${round(y)}`;
      drawing = true;
    }
    return `<path d="${path}" fill="none" stroke="${colourOf(one, index)}" stroke-width="1.5" stroke-linejoin="round"/>`;
  });
  return axes(plot, scale, unitOf(panel), data.start, data.end) + lines.join('') + legend(series, legendTop, perRow, box.width);
}

/** Grafana's heatmap of `sum by (le)` bucket rates: each cell is one bucket's own share (cumulative counts differenced). */
function heatmapBody(panel: PanelJson, series: readonly Series[], box: Box, data: DashboardData): string {
  const buckets = series
    .map((one) => ({
      bound: Number(one.labels['le'] === '+Inf' ? Infinity : one.labels['le']),
      points: new Map(one.points.map(([time, value]) => [time, value])),
    }))
    .filter((bucket) => !Number.isNaN(bucket.bound))
    .sort((a, b) => a.bound - b.bound);
  const times = [...new Set(series.flatMap((one) => one.points.map(([time]) => time)))].sort((a, b) => a - b);
  if (buckets.length === 0 || times.length === 0) return noData(box);
  const cells: { column: number; row: number; value: number }[] = [];
  times.forEach((time, column) => {
    let below = 0;
    buckets.forEach((bucket, row) => {
      const cumulative = bucket.points.get(time) ?? below;
      cells.push({ column, row, value: Math.max(0, cumulative - below) });
      below = Math.max(below, cumulative);
    });
  });
  const largest = Math.max(...cells.map((cell) => cell.value));
  const plot = { x: 62, y: 32, width: box.width - 74, height: box.height - 32 - 24 };
  const cellWidth = plot.width / times.length;
  const cellHeight = plot.height / buckets.length;
  const parts = cells
    .filter((cell) => cell.value > 0)
    .map((cell) => {
      // Grafana's scheme with exponent 0.5: faint cells stay visible next to the busiest one.
      const strength = Math.sqrt(cell.value / (largest || 1));
      return `<rect x="${round(plot.x + cell.column * cellWidth)}" y="${round(plot.y + plot.height - (cell.row + 1) * cellHeight)}" width="${round(Math.max(1, cellWidth - 0.5))}" height="${round(Math.max(1, cellHeight - 1))}" fill="#ff780a" fill-opacity="${(0.08 + 0.92 * strength).toFixed(2)}"/>`;
    });
  const labelEvery = Math.max(1, Math.ceil(buckets.length / Math.floor(plot.height / 14)));
  buckets.forEach((bucket, row) => {
    if (row % labelEvery !== 0) return;
    const label = Number.isFinite(bucket.bound) ? formatValue(bucket.bound, unitOf(panel)) : '+Inf';
    parts.push(
      `<text x="${plot.x - 6}" y="${round(plot.y + plot.height - row * cellHeight - cellHeight / 2 + 3)}" font-size="9" fill="${MUTED}" text-anchor="end">≤ ${escape(label)}</text>`,
    );
  });
  for (let tick = 0; tick <= 4; tick += 1) {
    const x = plot.x + (plot.width * tick) / 4;
    parts.push(
      `<text x="${round(x)}" y="${plot.y + plot.height + 14}" font-size="10" fill="${MUTED}" text-anchor="middle">${clock(data.start + ((data.end - data.start) * tick) / 4)}</text>`,
    );
  }
  return parts.join('');
}

/** Grafana's horizontal bar gauge: one bar per series in query order, its last value, the largest filling the width. */
function barGaugeBody(panel: PanelJson, series: readonly Series[], box: Box): string {
  const bars = series.flatMap((one) => {
    const value = one.points.at(-1)?.[1];
    return value !== undefined && Number.isFinite(value) ? [{ legend: one.legend, value }] : [];
  });
  if (bars.length === 0) return noData(box);
  const top = 32;
  const room = box.height - top - 8;
  const shown = bars.slice(0, Math.max(1, Math.floor(room / 14)));
  const rowHeight = Math.min(26, room / shown.length);
  const nameWidth = Math.min(150, box.width * 0.3);
  const valueWidth = 72;
  const barX = 10 + nameWidth;
  const barWidth = Math.max(1, box.width - barX - valueWidth - 10);
  const largest = Math.max(...shown.map((bar) => bar.value));
  const unit = unitOf(panel);
  return shown
    .map((bar, index) => {
      const y = top + index * rowHeight;
      const length = largest > 0 ? (Math.max(0, bar.value) / largest) * barWidth : 0;
      const middle = round(y + rowHeight / 2 + 4);
      return [
        `<text x="10" y="${middle}" font-size="11" fill="${TEXT}">${escape(clip(bar.legend, Math.floor(nameWidth / 6.5)))}</text>`,
        `<rect x="${round(barX)}" y="${round(y + 3)}" width="${round(barWidth)}" height="${round(Math.max(1, rowHeight - 6))}" fill="${GRID}"/>`,
        `<rect x="${round(barX)}" y="${round(y + 3)}" width="${round(Math.max(1, length))}" height="${round(Math.max(1, rowHeight - 6))}" fill="${PALETTE[index % PALETTE.length]!}"/>`,
        `<text x="${box.width - 10}" y="${middle}" font-size="11" fill="${TEXT}" text-anchor="end">${escape(formatValue(bar.value, unit))}</text>`,
      ].join('');
    })
    .join('');
}

function panelBody(panel: PanelJson, series: readonly Series[], box: Box, data: DashboardData): string {
  if (panel.type === 'stat') return statBody(panel, series, box);
  if (panel.type === 'bargauge') return barGaugeBody(panel, series, box);
  if (panel.type === 'heatmap') return heatmapBody(panel, series, box, data);
  return timeseriesBody(panel, series, box, data);
}

/** A row as Grafana draws an expanded one: its title across the grid, no frame. */
function rowBand(panel: PanelJson, box: Box): string {
  const middle = round(box.y + box.height / 2 + 5);
  return `<text x="${box.x + 2}" y="${middle}" font-size="14" font-weight="600" fill="${TEXT}">${escape(clip(panel.title, Math.floor(box.width / 8)))}</text>`;
}

/** The whole dashboard as one SVG document. */
export function renderDashboardSvg(dashboard: DashboardJson, data: DashboardData): string {
  const bottom = Math.max(...dashboard.panels.map((panel) => panel.gridPos.y + panel.gridPos.h));
  const width = 24 * COLUMN_WIDTH + GAP;
  const height = HEADER + bottom * ROW_HEIGHT + GAP;
  const panels = dashboard.panels.map((panel, index) => {
    const box = {
      x: GAP + panel.gridPos.x * COLUMN_WIDTH,
      y: HEADER + panel.gridPos.y * ROW_HEIGHT,
      width: panel.gridPos.w * COLUMN_WIDTH - GAP,
      height: panel.gridPos.h * ROW_HEIGHT - GAP,
    };
    if (isRow(panel)) return rowBand(panel, box);
    return frame(panel, box, panelBody(panel, data.panels[index] ?? [], box, data));
  });
  const range = `${new Date(data.start * 1000).toISOString().slice(0, 16).replace('T', ' ')} – ${clock(data.end)} UTC`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Inter, Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#111217"/>`,
    `<text x="${GAP + 2}" y="28" font-size="18" font-weight="600" fill="${TEXT}">${escape(dashboard.title)}</text>`,
    `<text x="${width - GAP - 2}" y="28" font-size="12" fill="${MUTED}" text-anchor="end">${escape(range)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
