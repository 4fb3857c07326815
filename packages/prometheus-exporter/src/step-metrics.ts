/**
 * Metrics of a session's steps (`session.steps`): how long each kind of step takes, how many end ok
 * or in error, tool calls by tool, retrievals and their result counts, and model fallbacks.
 *
 * A step is observed once, when it has ended, whichever update of its session first shows it ended:
 * a session is re-emitted on every change, so the step's span id is remembered (per session, until
 * the store lets the session go) and a step already seen is skipped. Running steps are not observed.
 * Every label is bounded: `kind` and `status` by their fixed sets, `tool` and `model` by the label
 * limiter.
 */
import { Counter, Histogram } from 'prom-client';
import { STEP_KINDS } from '@llm-monitor/sessions';
import type { ProcessingSession, StepKind, StepRecord } from '@llm-monitor/sessions';
import type { MetricsRegistry } from './session-metrics.js';

/** The step kinds, in the order the docs list them: the values of the `kind` label. */
export const STEP_KIND_LABELS: readonly StepKind[] = STEP_KINDS;

/** Outcomes of an ended step: the values of the `status` label. */
export const STEP_STATUSES = ['ok', 'error'] as const;

/** The kinds counted as retrievals. */
export const RETRIEVAL_KINDS: readonly StepKind[] = ['retrieval', 'vector_search'];

/** Step duration buckets, 1 ms to 60 s. */
export const STEP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** Results per retrieval (0 is a miss). */
export const RETRIEVAL_RESULT_BUCKETS = [0, 1, 2, 3, 5, 10, 20, 50, 100, 250, 1000] as const;

/** What the step metrics need from the session metrics they are part of. */
export interface StepMetricsContext {
  readonly registers: MetricsRegistry[];
  /** A label value bounded by the label limiter (`null` becomes `unknown`). */
  readonly bounded: (label: string, value: string | null) => string;
}

/** Feeds the step metrics from sessions; {@link StepMetrics.forget} and {@link StepMetrics.rename} follow the store. */
export interface StepMetrics {
  /** Observes the steps of `session` that have ended and were not observed before. */
  observe(session: ProcessingSession): void;
  /** The store let the session go: forget which of its steps were observed. */
  forget(sessionId: string): void;
  /** The session's id became known late. */
  rename(previousId: string, sessionId: string): void;
}

const KIND_SET: ReadonlySet<string> = new Set(STEP_KINDS);
const isKind = (kind: string): kind is StepKind => KIND_SET.has(kind);

/** Registers the step metrics and returns what feeds them. */
export function registerStepMetrics(context: StepMetricsContext): StepMetrics {
  const { registers, bounded } = context;
  const duration = new Histogram({
    name: 'llm_monitor_step_duration_seconds',
    help: 'Duration of ended steps (spans of a session that are not a stage), by kind.',
    labelNames: ['kind'] as const,
    buckets: [...STEP_DURATION_BUCKETS],
    registers,
  });
  const steps = new Counter({
    name: 'llm_monitor_steps_total',
    help: 'Ended steps of sessions, by kind and status (ok, error).',
    labelNames: ['kind', 'status'] as const,
    registers,
  });
  const toolCalls = new Counter({
    name: 'llm_monitor_tool_calls_total',
    help: 'Ended tool-call steps, by tool name and status (ok, error).',
    labelNames: ['tool', 'status'] as const,
    registers,
  });
  const retrievals = new Counter({
    name: 'llm_monitor_retrievals_total',
    help: 'Ended retrieval and vector search steps, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  const retrievalResults = new Histogram({
    name: 'llm_monitor_retrieval_results',
    help: 'Results returned per retrieval or vector search step, when the step says (unit: results).',
    labelNames: ['kind'] as const,
    buckets: [...RETRIEVAL_RESULT_BUCKETS],
    registers,
  });
  const fallbacks = new Counter({
    name: 'llm_monitor_model_fallbacks_total',
    help: 'Models that failed during a model selection step before the next was tried, by the model that failed.',
    labelNames: ['model'] as const,
    registers,
  });

  // Series of the fixed label sets exist from the start at 0, so a rate sees their first increase.
  for (const kind of STEP_KIND_LABELS) for (const status of STEP_STATUSES) steps.inc({ kind, status }, 0);
  for (const kind of RETRIEVAL_KINDS) retrievals.inc({ kind }, 0);
  const toolsSeen = new Set<string>();
  // The children of the fixed label sets, looked up once: a session has many steps, and prom-client
  // hashes the labels on every `inc({ … })`.
  // Step durations carry no exemplar: a session has many steps, and an exemplar observation costs
  // prom-client about as much as the rest of a step's metrics (measured: the step metrics were half of
  // what the tree of steps added to bulk ingest). The session and stage histograms carry the trace id.
  const durations = new Map(STEP_KIND_LABELS.map((kind) => [kind, duration.labels({ kind })] as const));
  const stepCounters = new Map(
    STEP_KIND_LABELS.flatMap((kind) => STEP_STATUSES.map((status) => [`${kind} ${status}`, steps.labels({ kind, status })] as const)),
  );

  const observeStep = (step: StepRecord): void => {
    const kind: StepKind = isKind(step.kind) ? step.kind : 'other';
    const status = step.status === 'error' ? 'error' : 'ok';
    stepCounters.get(`${kind} ${status}`)!.inc();
    if (step.duration_ms !== null && Number.isFinite(step.duration_ms) && step.duration_ms >= 0)
      durations.get(kind)!.observe(step.duration_ms / 1000);
    const facts = step.facts;
    if (kind === 'tool_call') {
      const tool = bounded('tool', facts.tool_name || step.name || null);
      if (!toolsSeen.has(tool)) {
        // Both outcomes of a tool exist once the tool does, so its error ratio has a numerator.
        toolsSeen.add(tool);
        for (const outcome of STEP_STATUSES) toolCalls.inc({ tool, status: outcome }, 0);
      }
      toolCalls.inc({ tool, status });
    }
    if (RETRIEVAL_KINDS.includes(kind)) {
      retrievals.inc({ kind });
      const count = facts.result_count;
      if (typeof count === 'number' && Number.isFinite(count) && count >= 0) retrievalResults.observe({ kind }, count);
    }
    if (kind === 'model_selection' && Array.isArray(facts.fallbacks)) {
      for (const fallback of facts.fallbacks) fallbacks.inc({ model: bounded('model', fallback.model || null) });
    }
  };

  // The span ids of the steps observed, by session; bounded by the store (forgotten when it lets a
  // session go), and at most the steps a session keeps (`max_steps_per_session`).
  const observed = new Map<string, Set<string>>();
  return {
    observe(session) {
      let seen = observed.get(session.session_id);
      for (const step of session.steps ?? []) {
        if (step.status === 'running' || seen?.has(step.span_id)) continue;
        if (!seen) observed.set(session.session_id, (seen = new Set()));
        seen.add(step.span_id);
        observeStep(step);
      }
    },
    forget(sessionId) {
      observed.delete(sessionId);
    },
    rename(previousId, sessionId) {
      const seen = observed.get(previousId);
      if (!seen) return;
      observed.delete(previousId);
      const already = observed.get(sessionId);
      if (already) for (const id of seen) already.add(id);
      else observed.set(sessionId, seen);
    },
  };
}
