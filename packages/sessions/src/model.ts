/**
 * The processing session data model. Field names are snake_case because this model *is* the JSON
 * the REST API and WebSocket send (described by the schemas in `schemas.ts`); keeping one shape
 * avoids a mapping layer that could drift.
 */

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

/** One call to a model (a GenAI span). */
export interface LlmCallRecord {
  span_id: string;
  operation: string;
  provider: string | null;
  request_model: string | null;
  response_model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** As the span reports it, else input + output where both are known; `null` when none is known. */
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
