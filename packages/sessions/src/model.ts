/**
 * The processing session data model. Field names are snake_case because this model *is* the JSON
 * the REST API and WebSocket send (described by the schemas in `schemas.ts`); keeping one shape
 * avoids a mapping layer that could drift.
 */
import { STEP_KIND } from '@llm-monitor/semconv';
import type { StepKind } from '@llm-monitor/semconv';

/** Life cycle of a session. `abandoned`: no new spans for the configured time while still active. */
export type SessionStatus = 'active' | 'completed' | 'failed' | 'abandoned';

/** Where the session came from: our instrumentation, or GenAI spans of another instrumentation. */
export type SessionSource = 'llm_monitor' | 'gen_ai';

/** Free-form metadata: JSON values by key. */
export type Metadata = Record<string, unknown>;

/** One entry of a session's events timeline. */
export interface ProcessingEvent {
  session_id: string;
  /** Stage id (built-in or custom), or a terminal pseudo-stage: `completed`, `failed`, `abandoned`. */
  stage: string;
  /** ISO 8601 time of the event. */
  timestamp: string;
  message: string;
  /** Session progress 0–100 at this event. */
  progress: number;
  metadata: Metadata;
  error: string | null;
}

/** One stage the session went through. */
export interface StageRecord {
  stage: string;
  /** ISO 8601 start time. */
  start_time: string;
  /** ISO 8601 end time, `null` while the stage runs. */
  end_time: string | null;
  /** Milliseconds; `null` while the stage runs. */
  duration_ms: number | null;
  message: string;
  progress: number;
  status: 'running' | 'ok' | 'error';
  error: string | null;
  metadata: Metadata;
}

/**
 * What a step is: `chain` (a sequence or workflow step), `retrieval`, `rerank`, `template`
 * (prompt template resolution), `model_selection` (routing and fallbacks), `embedding`,
 * `vector_search`, `tool_call`, `llm_call`, `agent`, or `other` (any other span, e.g. an HTTP call).
 */
export type { StepKind };

/** Every {@link StepKind}, in the order the docs list them (a bounded metric label). */
export const STEP_KINDS: readonly StepKind[] = Object.values(STEP_KIND);

/** The convention a step's span followed (docs/semantic-conventions.md, "Steps"). */
export type StepConvention = 'llm_monitor' | 'gen_ai' | 'openinference' | 'vercel_ai' | 'openllmetry' | 'langfuse' | 'langsmith' | 'otel';

/** One model that failed during a model selection, before the next was tried. */
export interface ModelFallback {
  model: string;
  /** Why it failed (the error's message, else its type). */
  error: string | null;
}

/** The facts a step's kind has; only those its span carries are present. */
export interface StepFacts {
  /** Vector store or database product (`qdrant`, `pgvector`, …). */
  store?: string;
  /** Collection or index searched or written. */
  collection?: string;
  /** Store operation (`similarity_search`, `upsert`, …). */
  operation?: string;
  /** Results asked for. */
  top_k?: number;
  /** Results returned (or documents retrieved, records written). */
  result_count?: number;
  /** Similarity scores of the results, in the order returned (at most 100). */
  scores?: number[];
  template_id?: string;
  template_version?: string;
  /** Names of the variables filled in. */
  template_variables?: string[];
  /** Models considered, in order of preference. */
  candidates?: string[];
  /** The model chosen. */
  chosen_model?: string;
  /** Why it was chosen (the routing reason). */
  selection_reason?: string;
  /** Models that failed before the choice, in order, each with its reason. */
  fallbacks?: ModelFallback[];
  /** The conditional branch a chain step took. */
  branch?: string;
  tool_name?: string;
  tool_call_id?: string;
  agent_name?: string;
  /** Model of an LLM call, embedding or agent. */
  model?: string;
  provider?: string;
  input_tokens?: number;
  output_tokens?: number;
  /** Dimensions of the embeddings made. */
  dimensions?: number;
  /** Texts embedded in one call. */
  input_count?: number;
}

/** One step of a session: any span of its trace that is not a stage (docs/api.md, "Steps"). */
export interface StepRecord {
  span_id: string;
  /** The step this one ran inside; `null` when it ran directly in a stage or in the session. */
  parent_span_id: string | null;
  /** The stage it ran in (by its span, else by time); `null` when the session has no stages. */
  stage: string | null;
  kind: StepKind;
  name: string;
  convention: StepConvention;
  /** ISO 8601 start time. */
  start_time: string;
  /** ISO 8601 end time, `null` while it runs. */
  end_time: string | null;
  /** Milliseconds; `null` while it runs. */
  duration_ms: number | null;
  status: 'running' | 'ok' | 'error';
  error: string | null;
  facts: StepFacts;
  /** First characters of what the step was given, when the span carries it (redaction applies). */
  input_preview: string | null;
  /** First characters of what the step returned: its intermediate result. */
  output_preview: string | null;
}

/** One call to a model (a GenAI span). */
export interface LlmCallRecord {
  span_id: string;
  operation: string;
  provider: string | null;
  request_model: string | null;
  response_model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** As the span reports it, else input + output (whichever is known: an embedding has input only); `null` when neither is known. */
  total_tokens: number | null;
  /** Input tokens read from the provider's prompt cache, when the span says. */
  cached_tokens: number | null;
  /** Why the model stopped (`stop`, `length`, `tool_calls`, …), one per choice; `null` when unknown. */
  finish_reasons: string[] | null;
  /** The user the call was made for, when the call span says (the call log falls back to the session's). */
  user_id: string | null;
  start_time: string;
  end_time: string | null;
  duration_ms: number | null;
  status: 'running' | 'ok' | 'error';
  error: string | null;
  /** First characters of the prompt, when the application keeps them. */
  prompt_preview: string | null;
  /** First characters of the response, when the application keeps them. */
  response_preview: string | null;
  /** USD from the price table (built-in prices and `model_prices`); `null` when the model has no price. */
  cost_usd: number | null;
  /** Metadata of the call itself (agent, role, …): `llm_monitor.metadata.*` and each framework's metadata attributes. */
  metadata: Metadata;
  /**
   * Milliseconds from the call's start to its first streamed token: what the span says (the Vercel
   * AI SDK), else, for a session of ours, its first token event when it falls within this call.
   */
  time_to_first_token_ms: number | null;
}

/** Token counts of a session. */
export interface TokenCounts {
  /** Prompt tokens, `null` when nothing reported them. */
  input: number | null;
  /** Completion tokens, `null` when nothing reported them. */
  output: number | null;
  /** `input + output` where both are known, else whichever is known, else `null`. */
  total: number | null;
  /** Tokens seen streaming (token events), 0 when none. */
  streamed: number;
}

/** A budget a session crossed (docs/configuration.md, budgets). */
export interface BudgetCrossing {
  /** `session_tokens`, `session_cost`, `user_daily_tokens` or `user_daily_cost`. */
  budget: 'session_tokens' | 'session_cost' | 'user_daily_tokens' | 'user_daily_cost';
  /** The limit configured. */
  limit: number;
  /** Tokens or USD when it was crossed (of the session, or of its user's day). */
  value: number;
  /** ISO 8601 time the receiver saw it crossed. */
  at: string;
}

/**
 * A limit of the receiver that cut a session: the setting's name (docs/configuration.md), or
 * `max_value_depth` — attribute values nest at most 32 levels, a fixed bound, not a setting.
 */
export type SessionLimit =
  'max_spans_per_trace' | 'max_trace_bytes' | 'max_span_bytes' | 'max_attribute_value_length' | 'max_value_depth' | 'max_steps_per_session';

/**
 * What a limit cut: `span` spans and live markers refused, `step` steps left out of `steps`, `event`
 * span events not kept, `token_text` token texts shortened or not kept (their token counts still
 * count), `attribute` attributes not kept, `string` strings (names, messages, attribute values)
 * shortened.
 */
export type LimitItem = 'span' | 'step' | 'event' | 'token_text' | 'attribute' | 'string';

/** One limit a session hit, and how much of one kind of thing it cut. */
export interface LimitHit {
  limit: SessionLimit;
  item: LimitItem;
  /** How many were cut (at least 1). */
  count: number;
}

/** A processing session: one LLM request from start to end. */
export interface ProcessingSession {
  session_id: string;
  trace_id: string;
  source: SessionSource;
  status: SessionStatus;
  /** ISO 8601 start time. */
  start_time: string;
  /** ISO 8601 end time; `null` while active. */
  end_time: string | null;
  /** Milliseconds from start to end; `null` while active. */
  duration_ms: number | null;
  /** The stage running now, or `completed` / `failed` / `abandoned` once ended; `null` before any. */
  current_stage: string | null;
  /** 0–100; never goes backwards. */
  progress: number;
  content_preview: string | null;
  result_preview: string | null;
  task: string | null;
  model: string | null;
  provider: string | null;
  processor_type: string | null;
  service_name: string | null;
  conversation_id: string | null;
  user_id: string | null;
  events: ProcessingEvent[];
  stages: StageRecord[];
  llm_calls: LlmCallRecord[];
  /**
   * The processing story: every span of the trace that is not the session or a stage, in start
   * order, at most `max_steps_per_session` of them (the earliest).
   */
  steps: StepRecord[];
  /** Steps beyond `max_steps_per_session` that were left out (0 when none). */
  steps_dropped: number;
  /**
   * The limits that cut this session and what each cut, limit by limit in a fixed order; absent when
   * none did (the session is whole). Spans refused and steps left out are here too, so this is the
   * one place that says whether anything is missing.
   */
  limits_hit?: LimitHit[];
  /** Token texts in arrival order, when the application captured them (off by default). */
  streamed_tokens: string[];
  token_counts: TokenCounts;
  /**
   * USD of the session: the sum of its priced calls, else (a session that reports only totals) its
   * model's price of its tokens; `null` when nothing has a price.
   */
  cost_usd: number | null;
  /** Milliseconds from the session start to the first streamed token; `null` when unknown. */
  time_to_first_token_ms: number | null;
  /** Output tokens per second after the first token; `null` when unknown. */
  tokens_per_second: number | null;
  /** Mean milliseconds between output tokens after the first (inter-token latency); `null` when unknown. */
  time_per_output_token_ms: number | null;
  /** Budgets this session crossed, in the order it crossed them; empty when none (or none set). */
  budget_exceeded: BudgetCrossing[];
  metadata: Metadata;
  error: string | null;
}
