/**
 * Stages and steps: how long each stage takes, where the time goes, and sessions that got stuck; then
 * a row of steps (the spans inside a session): duration and rate by kind, tool calls by tool,
 * retrievals and model fallbacks.
 */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { heatmap, INSTANCE_FILTER, llmMonitorDashboard, monitorLink, row, SESSION_FILTER, stat, timeseries } from './panel-kit.js';

/** Step panels: three to a line. */
const STEP_PANEL_WIDTH = 8;

export function stagesDashboard(): DashboardBuilder {
  const stage = `llm_monitor_stage_duration_seconds`;
  const dashboard = llmMonitorDashboard(
    'llm-monitor-stages',
    'LLM monitor / Stages',
    'Duration per stage (percentiles and heatmap), where the time goes, stuck and abandoned sessions; steps: duration and rate by kind, tool calls, retrievals, model fallbacks.',
  )
    .withPanel(
      timeseries('Stage duration p95', "The 95th percentile of each stage's duration.", 's', [
        {
          expr: `histogram_quantile(0.95, sum by (stage, le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`,
          legend: '{{stage}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Stage duration p50', "The median of each stage's duration.", 's', [
        {
          expr: `histogram_quantile(0.5, sum by (stage, le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`,
          legend: '{{stage}}',
        },
      ]),
    )
    .withPanel(
      heatmap('Stage duration heatmap', 'How stage durations are distributed over time, all stages together.', 's', {
        expr: `sum by (le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval]))`,
      }),
    )
    .withPanel(
      timeseries('Where the time goes', 'Seconds spent in each stage per second of wall time: the stages that dominate processing.', 's', [
        { expr: `sum by (stage) (rate(${stage}_sum{${INSTANCE_FILTER}}[$__rate_interval]))`, legend: '{{stage}}' },
      ]),
    )
    .withPanel(
      stat(
        'Abandoned (1h)',
        'Sessions that stopped sending spans without ending, in the last hour: a stuck stage or a dead process.',
        'short',
        {
          expr: `sum(increase(llm_monitor_sessions_ended_total{${SESSION_FILTER}, status="abandoned"}[1h])) or vector(0)`,
        },
      ).links([monitorLink('Abandoned sessions: where they stopped', '#/history?status=abandoned')]),
    )
    .withPanel(
      timeseries('Abandoned sessions by task', 'Abandoned sessions per second, by task (alert: LlmMonitorSessionsAbandoned).', 'reqps', [
        {
          expr: `sum by (task) (rate(llm_monitor_sessions_ended_total{${SESSION_FILTER}, status="abandoned"}[$__rate_interval])) or on() vector(0)`,
          legend: '{{task}}',
        },
      ]).dataLinks([monitorLink('Abandoned sessions of this task', '#/history?status=abandoned&task=${__field.labels.task}')]),
    );
  return withStepRow(dashboard);
}

/** The "Steps" row: each step is counted once, when it ends, by its kind (llm_monitor_step_* and friends). */
function withStepRow(dashboard: DashboardBuilder): DashboardBuilder {
  const step = 'llm_monitor_step_duration_seconds';
  const steps = 'llm_monitor_steps_total';
  const tools = 'llm_monitor_tool_calls_total';
  const stepQuantile = (q: number) =>
    `histogram_quantile(${q}, sum by (kind, le) (rate(${step}_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`;
  const ratio = (metric: string, by: string) =>
    `sum by (${by}) (rate(${metric}{${INSTANCE_FILTER}, status="error"}[$__rate_interval])) / sum by (${by}) (rate(${metric}{${INSTANCE_FILTER}}[$__rate_interval]))`;
  return dashboard
    .withRow(row('Steps'))
    .withPanel(
      timeseries(
        'Step duration p95',
        'The 95th percentile of step duration, by kind (chain, retrieval, vector_search, tool_call, llm_call, …). A chain step includes the steps inside it.',
        's',
        [{ expr: stepQuantile(0.95), legend: '{{kind}}' }],
      ),
    )
    .withPanel(
      timeseries('Step duration p50', 'The median step duration, by kind.', 's', [{ expr: stepQuantile(0.5), legend: '{{kind}}' }]),
    )
    .withPanel(
      timeseries('Steps per second by kind', 'Steps ended per second, by kind, ok and error together.', 'ops', [
        { expr: `sum by (kind) (rate(${steps}{${INSTANCE_FILTER}}[$__rate_interval]))`, legend: '{{kind}}' },
      ]),
    )
    .withPanel(
      timeseries(
        'Step error ratio by kind',
        'The share of ended steps that failed, by kind (kinds without steps in the window draw no line).',
        'percentunit',
        [{ expr: ratio(steps, 'kind'), legend: '{{kind}}' }],
      ),
    )
    .withPanel(
      timeseries(
        'Tool calls per second by tool',
        'Tool-call steps ended per second, by tool name (first metrics_max_label_values tools; later ones as other). Zero when the application makes no tool calls.',
        'ops',
        [{ expr: `sum by (tool) (rate(${tools}{${INSTANCE_FILTER}}[$__rate_interval])) or on() vector(0)`, legend: '{{tool}}' }],
      ),
    )
    .withPanel(
      timeseries('Tool call error ratio by tool', 'The share of tool calls that failed, by tool.', 'percentunit', [
        { expr: ratio(tools, 'tool'), legend: '{{tool}}' },
      ]),
    )
    .withPanel(
      timeseries(
        'Retrievals per second',
        'Retrieval and vector search steps ended per second, by kind.',
        'ops',
        [{ expr: `sum by (kind) (rate(llm_monitor_retrievals_total{${INSTANCE_FILTER}}[$__rate_interval]))`, legend: '{{kind}}' }],
        STEP_PANEL_WIDTH,
      ),
    )
    .withPanel(
      timeseries(
        'Results per retrieval',
        'Median and p95 of the results a retrieval or vector search returned, for the steps whose span says how many.',
        'short',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (kind, le) (rate(llm_monitor_retrieval_results_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`,
          legend: `{{kind}} p${q * 100}`,
        })),
        STEP_PANEL_WIDTH,
      ),
    )
    .withPanel(
      timeseries(
        'Model fallbacks per second by model',
        'Models that failed during a model selection before the next was tried, per second, by the model that failed.',
        'ops',
        [
          {
            expr: `sum by (model) (rate(llm_monitor_model_fallbacks_total{model=~"$model", ${INSTANCE_FILTER}}[$__rate_interval]))`,
            legend: '{{model}}',
          },
        ],
        STEP_PANEL_WIDTH,
      ),
    );
}
