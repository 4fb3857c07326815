import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LabelValues, OpenMetricsContentType, PrometheusContentType } from 'prom-client';
import { costUsd, isEnded } from '@llm-monitor/sessions';
import type { ModelPrices, ProcessingSession, SessionChangeListener } from '@llm-monitor/sessions';
import { LabelLimiter } from './label-limiter.js';
import { registerStepMetrics } from './step-metrics.js';

/** What the metrics read sessions from: the session store, or anything shaped like it. */
export interface SessionSource {
  /** Registers a listener; `name` identifies it when it fails (the store reports errors by name). */
  subscribe(listener: SessionChangeListener, name?: string): () => void;
  values(): Iterable<ProcessingSession>;
}

/** A prom-client registry of either exposition format. */
export type MetricsRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** A new registry that renders OpenMetrics (and so may carry exemplars). */
export function createOpenMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** Options of {@link registerSessionMetrics}. */
export interface SessionMetricsOptions {
  /** Most distinct values per label (model, task, processor type, stage, …); more become `other` (default 50). */
  readonly maxLabelValues?: number;
  /**
   * Prices by model, for the cost of a session that carries no `cost_usd` of its own; models without
   * a price cost nothing.
   */
  readonly prices?: ModelPrices;
}

const UNKNOWN = 'unknown';

/** Bucket boundaries the OpenTelemetry GenAI metric conventions recommend. */
export const GEN_AI_BUCKETS = {
  operationDurationSeconds: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  tokenUsage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  timeToFirstTokenSeconds: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  timePerOutputTokenSeconds: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
} as const;

/**
 * Registers the session metrics on `registry` and keeps them fed from `source`'s change events:
 * counts as sessions start and end; durations, stages, tokens, calls, errors and cost once, when a
 * session ends; each step once, when it ends (step-metrics.ts). Returns the function that stops
 * listening.
 */
export function registerSessionMetrics(registry: MetricsRegistry, source: SessionSource, options: SessionMetricsOptions = {}): () => void {
  const registers = [registry];
  // Only an OpenMetrics registry may carry exemplars; the trace id on a bucket leads from a slow
  // bucket in Grafana to the session itself.
  const enableExemplars = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
  const observe = <T extends string>(histogram: Histogram<T>, labels: Partial<Record<T, string>>, value: number, traceId: string): void => {
    // prom-client types exemplar labels as the metric's own labels; they are free-form.
    if (enableExemplars)
      histogram.observe({ labels, value, exemplarLabels: { trace_id: traceId } as LabelValues<string> as LabelValues<T> });
    else histogram.observe(labels, value);
  };
  const overflow = new Counter({
    name: 'llm_monitor_label_overflow_total',
    help: 'Label values reported as "other" because the label already had max_label_values distinct values.',
    labelNames: ['label'] as const,
    registers,
  });
  const limiter = new LabelLimiter(options.maxLabelValues ?? 50, (label) => overflow.inc({ label }));
  const bounded = (label: string, value: string | null): string => limiter.value(label, value ?? UNKNOWN);
  const sessionLabels = (session: ProcessingSession) => ({
    task: bounded('task', session.task),
    model: bounded('model', session.model),
    processor_type: bounded('processor_type', session.processor_type),
  });

  const started = new Counter({
    name: 'llm_monitor_sessions_started_total',
    help: 'Processing sessions started.',
    labelNames: ['task', 'model', 'processor_type'] as const,
    registers,
  });
  const ended = new Counter({
    name: 'llm_monitor_sessions_ended_total',
    help: 'Processing sessions ended, by final status (completed, failed, abandoned).',
    labelNames: ['status', 'task', 'model', 'processor_type'] as const,
    registers,
  });
  new Gauge({
    name: 'llm_monitor_sessions_active',
    help: 'Processing sessions running now.',
    registers,
    collect() {
      let active = 0;
      for (const session of source.values()) if (!isEnded(session.status)) active += 1;
      this.set(active);
    },
  });
  const sessionDuration = new Histogram({
    name: 'llm_monitor_session_duration_seconds',
    help: 'Duration of ended processing sessions.',
    labelNames: ['status', 'task', 'model', 'processor_type'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
    enableExemplars,
  });
  const stageDuration = new Histogram({
    name: 'llm_monitor_stage_duration_seconds',
    help: 'Duration of processing stages, by stage.',
    labelNames: ['stage'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
    enableExemplars,
  });
  const stageErrors = new Counter({
    name: 'llm_monitor_errors_total',
    help: 'Failed sessions, by the stage they failed in.',
    labelNames: ['stage'] as const,
    registers,
  });
  const timeToFirstToken = new Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time to the first streamed token of a session (GenAI semantic conventions).',
    labelNames: ['gen_ai_request_model'] as const,
    buckets: [...GEN_AI_BUCKETS.timeToFirstTokenSeconds],
    registers,
    enableExemplars,
  });
  const timePerOutputToken = new Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Mean time per output token after the first, per session (GenAI semantic conventions).',
    labelNames: ['gen_ai_request_model'] as const,
    buckets: [...GEN_AI_BUCKETS.timePerOutputTokenSeconds],
    registers,
    enableExemplars,
  });
  const tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per LLM call, by direction (GenAI semantic conventions; unit: tokens).',
    labelNames: ['gen_ai_request_model', 'gen_ai_token_type'] as const,
    buckets: [...GEN_AI_BUCKETS.tokenUsage],
    registers,
  });
  const tokens = new Counter({
    name: 'llm_monitor_tokens_total',
    help: 'Tokens of ended sessions, by model and direction (input, output).',
    labelNames: ['model', 'direction'] as const,
    registers,
  });
  const operationDuration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of LLM calls (GenAI semantic conventions).',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name', 'error_type'] as const,
    buckets: [...GEN_AI_BUCKETS.operationDurationSeconds],
    registers,
    enableExemplars,
  });
  const calls = new Counter({
    name: 'llm_monitor_llm_calls_total',
    help: 'LLM calls, by model, call type and outcome.',
    labelNames: ['model', 'operation', 'status'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'llm_monitor_cost_usd_total',
    help: 'Cost of ended sessions in US dollars, by session model: the session cost (its priced calls), else its model price of its tokens.',
    labelNames: ['model'] as const,
    registers,
  });
  const userCost = new Counter({
    name: 'llm_monitor_user_cost_usd_total',
    help: 'Cost of ended sessions in US dollars, by user (the session user id; unknown when none).',
    labelNames: ['user'] as const,
    registers,
  });
  const userTokens = new Counter({
    name: 'llm_monitor_user_tokens_total',
    help: 'Tokens of ended sessions, by user (the session user id; unknown when none) and direction (input, output).',
    labelNames: ['user', 'direction'] as const,
    registers,
  });

  const stepMetrics = registerStepMetrics({ registers, bounded });

  // The session's own cost (its priced calls, as the receiver priced them), else its model's price of
  // its tokens; a value a counter cannot take (negative, not finite) counts as none.
  const costOf = (session: ProcessingSession, input: number, output: number): number | null => {
    const own = session.cost_usd ?? costUsd(options.prices ?? {}, session.model, input, output);
    return typeof own === 'number' && Number.isFinite(own) && own >= 0 ? own : null;
  };

  const observeEnded = (session: ProcessingSession, status: string): void => {
    const labels = sessionLabels(session);
    const trace = session.trace_id;
    ended.inc({ status, ...labels });
    if (session.duration_ms !== null) observe(sessionDuration, { status, ...labels }, session.duration_ms / 1000, trace);
    for (const stage of session.stages) {
      if (stage.duration_ms !== null) observe(stageDuration, { stage: bounded('stage', stage.stage) }, stage.duration_ms / 1000, trace);
    }
    if (status === 'failed') {
      // The stage that failed, else the last one the session reached.
      const failedStage = session.stages.findLast((stage) => stage.status === 'error') ?? session.stages.at(-1);
      stageErrors.inc({ stage: bounded('stage', failedStage?.stage ?? session.current_stage) });
    }
    const model = { gen_ai_request_model: labels.model };
    if (session.time_to_first_token_ms !== null) observe(timeToFirstToken, model, session.time_to_first_token_ms / 1000, trace);
    if (session.time_per_output_token_ms !== null) observe(timePerOutputToken, model, session.time_per_output_token_ms / 1000, trace);
    const input = session.token_counts.input ?? 0;
    const output = session.token_counts.output ?? 0;
    if (input > 0) tokens.inc({ model: labels.model, direction: 'input' }, input);
    if (output > 0) tokens.inc({ model: labels.model, direction: 'output' }, output);
    const sessionCost = costOf(session, input, output);
    if (sessionCost !== null) cost.inc({ model: labels.model }, sessionCost);
    if (input > 0 || output > 0 || sessionCost !== null) {
      // Bounded like every label: the first maxLabelValues users keep their id, later ones are `other`.
      const user = bounded('user', session.user_id || null);
      if (input > 0) userTokens.inc({ user, direction: 'input' }, input);
      if (output > 0) userTokens.inc({ user, direction: 'output' }, output);
      if (sessionCost !== null) userCost.inc({ user }, sessionCost);
    }
    for (const call of session.llm_calls) {
      const callModel = bounded('model', call.response_model ?? call.request_model);
      const operation = bounded('operation', call.operation);
      calls.inc({ model: callModel, operation, status: call.status });
      if (call.duration_ms !== null) {
        observe(
          operationDuration,
          {
            gen_ai_operation_name: operation,
            gen_ai_request_model: callModel,
            gen_ai_provider_name: bounded('provider', call.provider),
            error_type: call.status === 'error' ? 'error' : '',
          },
          call.duration_ms / 1000,
          trace,
        );
      }
      if (call.input_tokens !== null)
        tokenUsage.observe({ gen_ai_request_model: callModel, gen_ai_token_type: 'input' }, call.input_tokens);
      if (call.output_tokens !== null)
        tokenUsage.observe({ gen_ai_request_model: callModel, gen_ai_token_type: 'output' }, call.output_tokens);
    }
  };

  // A session ends once for the metrics: one abandoned and then revived by late spans keeps its first
  // ending (counters cannot take it back), so started and ended always balance. Remembered until the
  // store lets the session go, so this is bounded by the store.
  const endedOnce = new Set<string>();
  return source.subscribe((change) => {
    const id = change.session.session_id;
    if (change.type === 'removed') {
      endedOnce.delete(id);
      stepMetrics.forget(id);
      return;
    }
    if (change.type === 'renamed') {
      if (change.previousId !== undefined) {
        if (endedOnce.delete(change.previousId)) endedOnce.add(id);
        stepMetrics.rename(change.previousId, id);
      }
      return;
    }
    if (change.previousStatus === undefined) started.inc(sessionLabels(change.session));
    // Steps as they end, not when the session does: an agent's tool calls show while it runs.
    stepMetrics.observe(change.session);
    const ending = change.type === 'completed' || change.type === 'failed' || change.type === 'abandoned';
    if (ending && !endedOnce.has(id)) {
      endedOnce.add(id);
      observeEnded(change.session, change.type);
    }
  }, 'metrics');
}
