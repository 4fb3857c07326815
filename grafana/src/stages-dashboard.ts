/** Stages: how long each stage takes, where the time goes, and sessions that got stuck. */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { heatmap, INSTANCE_FILTER, llmMonitorDashboard, monitorLink, SESSION_FILTER, stat, timeseries } from './panel-kit.js';

export function stagesDashboard(): DashboardBuilder {
  const stage = `llm_monitor_stage_duration_seconds`;
  return llmMonitorDashboard('llm-monitor-stages', 'LLM monitor / Stages', 'Duration per stage (percentiles and heatmap), where the time goes, stuck and abandoned sessions.')
    .withPanel(
      timeseries('Stage duration p95', 'The 95th percentile of each stage\'s duration.', 's', [
        { expr: `histogram_quantile(0.95, sum by (stage, le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`, legend: '{{stage}}' },
      ]),
    )
    .withPanel(
      timeseries('Stage duration p50', 'The median of each stage\'s duration.', 's', [
        { expr: `histogram_quantile(0.5, sum by (stage, le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval])))`, legend: '{{stage}}' },
      ]),
    )
    .withPanel(heatmap('Stage duration heatmap', 'How stage durations are distributed over time, all stages together.', 's', { expr: `sum by (le) (rate(${stage}_bucket{${INSTANCE_FILTER}}[$__rate_interval]))` }))
    .withPanel(
      timeseries('Where the time goes', 'Seconds spent in each stage per second of wall time: the stages that dominate processing.', 's', [
        { expr: `sum by (stage) (rate(${stage}_sum{${INSTANCE_FILTER}}[$__rate_interval]))`, legend: '{{stage}}' },
      ]),
    )
    .withPanel(
      stat('Abandoned (1h)', 'Sessions that stopped sending spans without ending, in the last hour: a stuck stage or a dead process.', 'short', {
        expr: `sum(increase(llm_monitor_sessions_ended_total{${SESSION_FILTER}, status="abandoned"}[1h])) or vector(0)`,
      }).links([monitorLink('Abandoned sessions: where they stopped', '#/history?status=abandoned')]),
    )
    .withPanel(
      timeseries('Abandoned sessions by task', 'Abandoned sessions per second, by task (alert: LlmMonitorSessionsAbandoned).', 'reqps', [
        { expr: `sum by (task) (rate(llm_monitor_sessions_ended_total{${SESSION_FILTER}, status="abandoned"}[$__rate_interval])) or on() vector(0)`, legend: '{{task}}' },
      ]).dataLinks([monitorLink('Abandoned sessions of this task', '#/history?status=abandoned&task=${__field.labels.task}')]),
    );
}
