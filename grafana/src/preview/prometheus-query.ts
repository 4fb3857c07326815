/** Asks a Prometheus for every panel query of a dashboard, as Grafana would with all variables on "All". */
import type { DashboardData, DashboardJson, PanelTarget, Series } from './panel-data.js';
import { legendOf } from './panel-data.js';

/** The range the pictures show and how Grafana's built-in variables are filled in. */
export interface QueryRange {
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  /** Seconds between points of a range query. */
  readonly step: number;
  /** What `$__rate_interval` stands for, e.g. `15s` (Grafana uses four scrape intervals or more). */
  readonly rateInterval: string;
}

/** What `$__range` stands for when no range is given: the dashboards' default time range. */
export const DEFAULT_RANGE = '1h';

interface PrometheusAnswer {
  readonly status: string;
  readonly error?: string;
  readonly data?: {
    readonly resultType: string;
    readonly result: readonly { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
  };
}

/**
 * The expression Grafana sends: dashboard variables on "All" (`.*`), `$__rate_interval` and
 * `$__range` (the dashboard's time range, e.g. `1h`) filled in.
 */
export function asGrafanaSends(expr: string, rateInterval: string, range = DEFAULT_RANGE): string {
  return expr
    .replace(/\$__rate_interval/g, rateInterval)
    .replace(/\$__range\b|\$\{__range\}/g, range)
    .replace(/\$\{?(model|task|instance)\}?/g, '.*');
}

async function ask(prometheusUrl: string, path: string, parameters: Record<string, string>): Promise<PrometheusAnswer['data']> {
  const response = await fetch(`${prometheusUrl}${path}?${new URLSearchParams(parameters).toString()}`);
  const answer = (await response.json()) as PrometheusAnswer;
  if (answer.status !== 'success' || !answer.data)
    throw new Error(`Prometheus refused ${parameters['query']}: ${answer.error ?? response.status}`);
  return answer.data;
}

/** Runs one panel query; instant queries come back as one point at the end of the range. */
export async function querySeries(prometheusUrl: string, target: PanelTarget, range: QueryRange): Promise<Series[]> {
  // Over the range the picture shows, as Grafana fills `$__range` in from the time picker.
  const query = asGrafanaSends(target.expr, range.rateInterval, `${Math.max(1, Math.round(range.end - range.start))}s`);
  if (target.instant) {
    const data = await ask(prometheusUrl, '/api/v1/query', { query, time: String(range.end) });
    return (data?.result ?? []).map((sample) => ({
      legend: legendOf(target.legendFormat, sample.metric),
      labels: sample.metric,
      points: sample.value ? [[sample.value[0], Number(sample.value[1])] as const] : [],
    }));
  }
  const data = await ask(prometheusUrl, '/api/v1/query_range', {
    query,
    start: String(range.start),
    end: String(range.end),
    step: String(range.step),
  });
  return (data?.result ?? []).map((sample) => ({
    legend: legendOf(target.legendFormat, sample.metric),
    labels: sample.metric,
    points: (sample.values ?? []).map(([time, value]) => [time, Number(value)] as const),
  }));
}

/** Runs every query of every panel of `dashboard` over `range`. */
export async function queryDashboard(prometheusUrl: string, dashboard: DashboardJson, range: QueryRange): Promise<DashboardData> {
  const panels: Series[][] = [];
  for (const panel of dashboard.panels) {
    const series: Series[] = [];
    for (const target of panel.targets ?? []) series.push(...(await querySeries(prometheusUrl, target, range)));
    panels.push(series);
  }
  return { start: range.start, end: range.end, panels };
}
