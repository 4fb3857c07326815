/**
 * What a preview picture is drawn from: the committed dashboard JSON (the part of it a picture needs)
 * and the series each panel's queries returned from a Prometheus.
 */

/** One query of a panel, as committed in the dashboard JSON. */
export interface PanelTarget {
  readonly expr: string;
  readonly legendFormat?: string;
  /** Stat panels ask for one value at the end of the range. */
  readonly instant?: boolean;
  readonly format?: string;
}

/** One panel, as committed in the dashboard JSON; a `row` panel is a titled band over the panels after it. */
export interface PanelJson {
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly options?: { readonly yAxis?: { readonly unit?: string } };
  readonly targets?: readonly PanelTarget[];
}

/** A dashboard, as committed in grafana/dashboards/*.json. */
export interface DashboardJson {
  readonly title: string;
  readonly description?: string;
  readonly panels: readonly PanelJson[];
}

/** One series a query returned: its legend and its samples (seconds since the epoch, value). */
export interface Series {
  readonly legend: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly points: readonly (readonly [number, number])[];
}

/** Series per panel (by its index in the dashboard), and the time range they cover. */
export interface DashboardData {
  readonly start: number;
  readonly end: number;
  readonly panels: readonly (readonly Series[])[];
}

/** Fills `{{label}}` placeholders the way Grafana does; without a format, the label set. */
export function legendOf(format: string | undefined, labels: Readonly<Record<string, string>>): string {
  if (format) return format.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => labels[name] ?? '');
  const pairs = Object.entries(labels).filter(([name]) => name !== '__name__');
  return pairs.length === 0 ? 'value' : `{${pairs.map(([name, value]) => `${name}="${value}"`).join(', ')}}`;
}

/** True for a row: a title over the panels that follow it, with no query of its own. */
export function isRow(panel: PanelJson): boolean {
  return panel.type === 'row';
}

/** The unit a panel prints its values in. */
export function unitOf(panel: PanelJson): string | undefined {
  return panel.fieldConfig?.defaults?.unit ?? panel.options?.yAxis?.unit;
}
