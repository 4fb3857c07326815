/** Tokens and cost: token throughput by model, time to first token, time per output token, cost. */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { GENAI_FILTER, INSTANCE_FILTER, llmMonitorDashboard, monitorLink, timeseries } from './panel-kit.js';

export function tokensDashboard(): DashboardBuilder {
  const quantiles = (metric: string) =>
    [0.5, 0.95].map((q) => ({
      expr: `histogram_quantile(${q}, sum by (gen_ai_request_model, le) (rate(${metric}_bucket{${GENAI_FILTER}}[$__rate_interval])))`,
      legend: `{{gen_ai_request_model}} p${q * 100}`,
    }));
  return llmMonitorDashboard('llm-monitor-tokens', 'LLM monitor / Tokens and cost', 'Tokens per second by model, time to first token and per output token, cost per hour by model.')
    .withPanel(
      timeseries('Tokens per second by model', 'Input and output tokens of ended sessions, per second.', 'short', [
        { expr: `sum by (model, direction) (rate(llm_monitor_tokens_total{model=~"$model", ${INSTANCE_FILTER}}[$__rate_interval]))`, legend: '{{model}} {{direction}}' },
      ]).dataLinks([monitorLink('Sessions of this model', '#/history?model=${__field.labels.model}')]),
    )
    .withPanel(
      timeseries('Time to first token', 'p50 and p95 of the time to the first streamed token, by model (alert: LlmMonitorSlowTimeToFirstToken).', 's', quantiles('gen_ai_server_time_to_first_token_seconds')).dataLinks([
        monitorLink('Sessions of this model', '#/history?model=${__field.labels.gen_ai_request_model}'),
      ]),
    )
    .withPanel(timeseries('Time per output token', 'p50 and p95 of the mean time per output token after the first, by model.', 's', quantiles('gen_ai_server_time_per_output_token_seconds')))
    .withPanel(
      timeseries('Cost per hour by model', 'US dollars per hour at the current rate, from the model_prices setting (models without a price cost nothing).', 'currencyUSD', [
        { expr: `sum by (model) (rate(llm_monitor_cost_usd_total{model=~"$model", ${INSTANCE_FILTER}}[$__rate_interval])) * 3600`, legend: '{{model}}' },
      ]),
    )
    .withPanel(
      timeseries('Tokens per LLM call', 'Median tokens per call, by model and direction.', 'short', [
        { expr: `histogram_quantile(0.5, sum by (gen_ai_request_model, gen_ai_token_type, le) (rate(gen_ai_client_token_usage_bucket{${GENAI_FILTER}}[$__rate_interval])))`, legend: '{{gen_ai_request_model}} {{gen_ai_token_type}}' },
      ]),
    )
    .withPanel(
      timeseries('LLM call duration p95', 'The 95th percentile of LLM call duration, by model and operation.', 's', [
        { expr: `histogram_quantile(0.95, sum by (gen_ai_request_model, gen_ai_operation_name, le) (rate(gen_ai_client_operation_duration_seconds_bucket{${GENAI_FILTER}}[$__rate_interval])))`, legend: '{{gen_ai_request_model}} {{gen_ai_operation_name}}' },
      ]),
    );
}
