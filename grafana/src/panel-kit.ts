/**
 * The few panel shapes our dashboards use, so every dashboard shares one datasource, one set of
 * template variables and one way to link back to the web monitor.
 */
import {
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as HeatmapPanel, YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { BarGaugeDisplayMode, ReduceDataOptionsBuilder, VizOrientation } from '@grafana/grafana-foundation-sdk/common';

/** The Prometheus datasource, chosen by the `datasource` variable. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Matchers of the model, task and instance variables, for session series. */
export const SESSION_FILTER = 'model=~"$model", task=~"$task", instance=~"$instance"';
/** The same for GenAI-named series, whose model label is `gen_ai_request_model`. */
export const GENAI_FILTER = 'gen_ai_request_model=~"$model", instance=~"$instance"';
/** Matchers of the instance variable alone. */
export const INSTANCE_FILTER = 'instance=~"$instance"';

/** A dashboard with our variables (datasource, instance, model, task) and a link to the web monitor. */
export function llmMonitorDashboard(uid: string, title: string, description: string): DashboardBuilder {
  return (
    new DashboardBuilder(title)
      .uid(uid)
      .description(description)
      .tags(['llm-monitor'])
      .refresh('10s')
      .time({ from: 'now-1h', to: 'now' })
      .timezone('browser')
      .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
      .withVariable(variable('instance', 'Instance', 'label_values(llm_monitor_receiver_spans_received_total, instance)'))
      .withVariable(variable('model', 'Model', 'label_values(llm_monitor_sessions_started_total{instance=~"$instance"}, model)'))
      .withVariable(variable('task', 'Task', 'label_values(llm_monitor_sessions_started_total{instance=~"$instance"}, task)'))
      .link(
        new DashboardLinkBuilder('llm-monitor dashboards')
          .type(DashboardLinkType.Dashboards)
          .tags(['llm-monitor'])
          .asDropdown(true)
          .includeVars(true)
          .keepTime(true),
      )
      .link(
        new DashboardLinkBuilder('Live sessions (web monitor)')
          .type(DashboardLinkType.Link)
          .url('${monitor_url}')
          .targetBlank(true)
          .icon('external link'),
      )
      // Where the web monitor is, as the browser reaches it; set it once per Grafana (or in the URL).
      .withVariable(new TextBoxVariableBuilder('monitor_url').label('Web monitor URL').defaultValue('http://localhost:8000/'))
  );
}

function variable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

/** One PromQL query with its legend. */
export interface Query {
  readonly expr: string;
  readonly legend?: string;
  /** Ask for an instant value (stat panels) instead of a range. */
  readonly instant?: boolean;
}

function targets<T extends { withTarget(target: DataqueryBuilder): T }>(panel: T, queries: readonly Query[], format?: PromQueryFormat): T {
  queries.forEach((query, index) => {
    const target = new DataqueryBuilder()
      .expr(query.expr)
      .refId(String.fromCharCode(65 + index))
      .datasource(DATASOURCE);
    if (query.legend) target.legendFormat(query.legend);
    if (query.instant) target.instant();
    if (format) target.format(format);
    panel.withTarget(target);
  });
  return panel;
}

/** A time series panel. */
export function timeseries(title: string, description: string, unit: string, queries: readonly Query[], width = 12): TimeseriesPanel {
  return targets(
    new TimeseriesPanel()
      .title(title)
      .description(description)
      .unit(unit)
      .datasource(DATASOURCE)
      .gridPos({ h: 8, w: width, x: 0, y: 0 })
      .fillOpacity(10),
    queries,
  );
}

/** A single-value panel. */
export function stat(title: string, description: string, unit: string, query: Query, width = 6): StatPanel {
  return targets(
    new StatPanel().title(title).description(description).unit(unit).datasource(DATASOURCE).gridPos({ h: 4, w: width, x: 0, y: 0 }),
    [{ ...query, instant: true }],
  );
}

/**
 * A ranking: one horizontal bar per series of an instant query, in the order the query returns them
 * (wrap it in `sort_desc`), e.g. the top spenders over the dashboard's time range.
 */
export function barGauge(title: string, description: string, unit: string, query: Query, width = 12): BarGaugePanel {
  const panel = new BarGaugePanel()
    .title(title)
    .description(description)
    .unit(unit)
    .min(0)
    .datasource(DATASOURCE)
    .gridPos({ h: 8, w: width, x: 0, y: 0 })
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .reduceOptions(new ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']));
  return targets(panel, [{ ...query, instant: true }]);
}

/**
 * A row: a full-width title that groups the panels added after it, up to the next row. It starts
 * expanded, so its panels stay at the top level of the dashboard JSON, where Grafana wants them.
 */
export function row(title: string): RowBuilder {
  return new RowBuilder(title).collapsed(false);
}

/** A heatmap of a histogram's buckets. */
export function heatmap(title: string, description: string, unit: string, query: Query, width = 12): HeatmapPanel {
  return targets(
    new HeatmapPanel().title(title).description(description).datasource(DATASOURCE).gridPos({ h: 8, w: width, x: 0, y: 0 }),
    [{ ...query, legend: '{{le}}' }],
    PromQueryFormat.Heatmap,
  )
    .calculate(false)
    .yAxis(new YAxisConfigBuilder().unit(unit));
}

/**
 * A link from a panel into the web monitor: `view` is its route, e.g. `#/history?status=failed`.
 * In a data link, `${__field.labels.model}` and the like fill in the series the user clicked.
 */
export function monitorLink(title: string, view: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title).type(DashboardLinkType.Link).url(`\${monitor_url}${view}`).targetBlank(true);
}
