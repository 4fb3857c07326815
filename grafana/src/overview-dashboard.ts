/** LLM overview: how many sessions, how many succeed, how long they take, which models and tasks. */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { llmMonitorDashboard, monitorLink, SESSION_FILTER, stat, timeseries } from './panel-kit.js';

export function overviewDashboard(): DashboardBuilder {
  const ended = `llm_monitor_sessions_ended_total{${SESSION_FILTER}}`;
  return llmMonitorDashboard(
    'llm-monitor-overview',
    'LLM monitor / Overview',
    'Sessions per second, success rate, active sessions, processing time, failures, top models and tasks.',
  )
    .withPanel(
      stat('Sessions per second', 'Sessions started per second, over the last 5 minutes.', 'reqps', {
        expr: `sum(rate(llm_monitor_sessions_started_total{${SESSION_FILTER}}[5m]))`,
      }),
    )
    .withPanel(
      stat('Success rate', 'Share of the sessions ended in the last 15 minutes that completed.', 'percentunit', {
        expr: `sum(increase(${ended.replace('}', ', status="completed"}')}[15m])) / sum(increase(${ended}[15m]))`,
      }),
    )
    .withPanel(
      stat('Active sessions', 'Sessions running now, on every selected instance.', 'short', {
        expr: `sum(llm_monitor_sessions_active{instance=~"$instance"})`,
      }).links([monitorLink('Watch them live', '#/')]),
    )
    .withPanel(
      stat('Failed (1h)', 'Sessions that failed in the last hour.', 'short', {
        expr: `sum(increase(${ended.replace('}', ', status="failed"}')}[1h])) or vector(0)`,
      }).links([monitorLink('Failed sessions', '#/history?status=failed')]),
    )
    .withPanel(
      timeseries('Sessions per second by status', 'Ended sessions per second, by final status.', 'reqps', [
        { expr: `sum by (status) (rate(${ended}[$__rate_interval]))`, legend: '{{status}}' },
      ]).dataLinks([monitorLink('Sessions with this status', '#/history?status=${__field.labels.status}')]),
    )
    .withPanel(
      timeseries(
        'Processing time percentiles',
        'Session duration, p50, p95 and p99, from the session duration histogram.',
        's',
        [0.5, 0.95, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(llm_monitor_session_duration_seconds_bucket{${SESSION_FILTER}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      timeseries('Failures by stage', 'Failed sessions per second, by the stage they failed in.', 'reqps', [
        { expr: `sum by (stage) (rate(llm_monitor_errors_total{instance=~"$instance"}[$__rate_interval]))`, legend: '{{stage}}' },
      ]).links([monitorLink('Failed sessions, with their errors', '#/history?status=failed')]),
    )
    .withPanel(
      timeseries('Active sessions', 'Sessions running, over time.', 'short', [
        { expr: `sum by (instance) (llm_monitor_sessions_active{instance=~"$instance"})`, legend: '{{instance}}' },
      ]).links([monitorLink('Watch them live', '#/')]),
    )
    .withPanel(
      timeseries('Top models', 'The five models with the most sessions per second.', 'reqps', [
        {
          expr: `topk(5, sum by (model) (rate(llm_monitor_sessions_started_total{${SESSION_FILTER}}[$__rate_interval])))`,
          legend: '{{model}}',
        },
      ]).dataLinks([monitorLink('Sessions of this model', '#/history?model=${__field.labels.model}')]),
    )
    .withPanel(
      timeseries('Top tasks', 'The five tasks with the most sessions per second.', 'reqps', [
        {
          expr: `topk(5, sum by (task) (rate(llm_monitor_sessions_started_total{${SESSION_FILTER}}[$__rate_interval])))`,
          legend: '{{task}}',
        },
      ]).dataLinks([monitorLink('Sessions of this task', '#/history?task=${__field.labels.task}')]),
    );
}
