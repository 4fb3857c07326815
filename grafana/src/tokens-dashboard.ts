/**
 * Tokens and cost: token throughput by model, time to first token, time per output token, cost; then
 * usage and cost over the dashboard's time range: totals, cost and tokens by user, top spenders.
 */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { barGauge, GENAI_FILTER, INSTANCE_FILTER, llmMonitorDashboard, monitorLink, stat, timeseries } from './panel-kit.js';

/** Matchers of the model and instance variables, for the cost and token counters (labelled by model only). */
const MODEL_FILTER = `model=~"$model", ${INSTANCE_FILTER}`;
/** How many users the by-user panels show. */
const TOP_USERS = 10;

export function tokensDashboard(): DashboardBuilder {
  const quantiles = (metric: string) =>
    [0.5, 0.95].map((q) => ({
      expr: `histogram_quantile(${q}, sum by (gen_ai_request_model, le) (rate(${metric}_bucket{${GENAI_FILTER}}[$__rate_interval])))`,
      legend: `{{gen_ai_request_model}} p${q * 100}`,
    }));
  const overRange = (metric: string, matchers: string) => `increase(${metric}{${matchers}}[$__range])`;
  return (
    llmMonitorDashboard(
      'llm-monitor-tokens',
      'LLM monitor / Tokens and cost',
      'Tokens per second by model, time to first token and per output token, cost per hour by model; usage and cost over the time range: totals, by user, top spenders.',
    )
      .withPanel(
        timeseries('Tokens per second by model', 'Input and output tokens of ended sessions, per second.', 'short', [
          {
            expr: `sum by (model, direction) (rate(llm_monitor_tokens_total{model=~"$model", ${INSTANCE_FILTER}}[$__rate_interval]))`,
            legend: '{{model}} {{direction}}',
          },
        ]).dataLinks([monitorLink('Sessions of this model', '#/history?model=${__field.labels.model}')]),
      )
      .withPanel(
        timeseries(
          'Time to first token',
          'p50 and p95 of the time to the first streamed token, by model (alert: LlmMonitorSlowTimeToFirstToken).',
          's',
          quantiles('gen_ai_server_time_to_first_token_seconds'),
        ).dataLinks([monitorLink('Sessions of this model', '#/history?model=${__field.labels.gen_ai_request_model}')]),
      )
      .withPanel(
        timeseries(
          'Time per output token',
          'p50 and p95 of the mean time per output token after the first, by model.',
          's',
          quantiles('gen_ai_server_time_per_output_token_seconds'),
        ),
      )
      .withPanel(
        timeseries(
          'Cost per hour by model',
          'US dollars per hour at the current rate, from the model_prices setting (models without a price cost nothing).',
          'currencyUSD',
          [
            {
              expr: `sum by (model) (rate(llm_monitor_cost_usd_total{model=~"$model", ${INSTANCE_FILTER}}[$__rate_interval])) * 3600`,
              legend: '{{model}}',
            },
          ],
        ),
      )
      .withPanel(
        timeseries('Tokens per LLM call', 'Median tokens per call, by model and direction.', 'short', [
          {
            expr: `histogram_quantile(0.5, sum by (gen_ai_request_model, gen_ai_token_type, le) (rate(gen_ai_client_token_usage_bucket{${GENAI_FILTER}}[$__rate_interval])))`,
            legend: '{{gen_ai_request_model}} {{gen_ai_token_type}}',
          },
        ]),
      )
      .withPanel(
        timeseries('LLM call duration p95', 'The 95th percentile of LLM call duration, by model and operation.', 's', [
          {
            expr: `histogram_quantile(0.95, sum by (gen_ai_request_model, gen_ai_operation_name, le) (rate(gen_ai_client_operation_duration_seconds_bucket{${GENAI_FILTER}}[$__rate_interval])))`,
            legend: '{{gen_ai_request_model}} {{gen_ai_operation_name}}',
          },
        ]),
      )
      // Usage and cost over the time range picked in Grafana ($__range): what was spent, by whom.
      .withPanel(
        stat('Cost in range', 'US dollars of the sessions that ended in the time range, on the selected models.', 'currencyUSD', {
          expr: `sum(${overRange('llm_monitor_cost_usd_total', MODEL_FILTER)})`,
        }),
      )
      .withPanel(
        stat(
          'Input tokens in range',
          'Input (prompt) tokens of the sessions that ended in the time range, on the selected models.',
          'short',
          {
            expr: `sum(${overRange('llm_monitor_tokens_total', `${MODEL_FILTER}, direction="input"`)})`,
          },
        ),
      )
      .withPanel(
        stat(
          'Output tokens in range',
          'Output (completion) tokens of the sessions that ended in the time range, on the selected models.',
          'short',
          {
            expr: `sum(${overRange('llm_monitor_tokens_total', `${MODEL_FILTER}, direction="output"`)})`,
          },
        ),
      )
      .withPanel(
        stat(
          'Cost per session',
          'Mean US dollars per session ended in the time range (failed and abandoned ones included), on the selected models.',
          'currencyUSD',
          {
            expr: `sum(${overRange('llm_monitor_cost_usd_total', MODEL_FILTER)}) / sum(${overRange('llm_monitor_sessions_ended_total', MODEL_FILTER)})`,
          },
        ),
      )
      .withPanel(
        timeseries(
          'Cost per hour by user',
          `US dollars per hour at the current rate, for the ${TOP_USERS} users spending most at each moment, all models. The user is the session's user id: unknown without one, other past metrics_max_label_values users.`,
          'currencyUSD',
          [
            {
              expr: `topk(${TOP_USERS}, sum by (user) (rate(llm_monitor_user_cost_usd_total{${INSTANCE_FILTER}}[$__rate_interval]))) * 3600`,
              legend: '{{user}}',
            },
          ],
        ),
      )
      .withPanel(
        timeseries(
          'Tokens per second by user',
          `Input and output tokens per second of ended sessions, for the ${TOP_USERS} users using most at each moment, all models.`,
          'short',
          [
            {
              expr: `topk(${TOP_USERS}, sum by (user) (rate(llm_monitor_user_tokens_total{${INSTANCE_FILTER}}[$__rate_interval])))`,
              legend: '{{user}}',
            },
          ],
        ),
      )
      .withPanel(
        barGauge('Top spenders', `The ${TOP_USERS} users whose sessions cost most over the time range, all models.`, 'currencyUSD', {
          expr: `sort_desc(topk(${TOP_USERS}, sum by (user) (${overRange('llm_monitor_user_cost_usd_total', INSTANCE_FILTER)})))`,
          legend: '{{user}}',
        }),
      )
      .withPanel(
        barGauge('Cost by model in range', 'US dollars over the time range, by model, most expensive first.', 'currencyUSD', {
          expr: `sort_desc(sum by (model) (${overRange('llm_monitor_cost_usd_total', MODEL_FILTER)}))`,
          legend: '{{model}}',
        }).dataLinks([monitorLink('Sessions of this model', '#/history?model=${__field.labels.model}')]),
      )
  );
}
