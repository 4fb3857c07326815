/**
 * The LLM call log: one row per model call, as the `llm_calls` table stores it and
 * `GET /api/monitoring/llm-calls` serves it. A row joins what the call span says with what its
 * session says (conversation, user, service, task), so it can be queried on its own. Pure: rows are
 * derived from sessions.
 */
import { DEFAULT_PREVIEW_LENGTH, cutPreview } from './content-previews.js';
import type { LlmCallRecord, Metadata, ProcessingSession } from './model.js';
import { previewsContain, startedWithin } from './session-query.js';

/** One LLM call with its session's context. Field names are the table's column names. */
export interface LlmCallRow {
  /** `<trace id>:<span id>`: unique across sessions. */
  call_id: string;
  session_id: string;
  trace_id: string;
  span_id: string;
  conversation_id: string | null;
  user_id: string | null;
  service_name: string | null;
  task: string | null;
  /** The model that answered, else the one asked for. */
  model: string | null;
  request_model: string | null;
  response_model: string | null;
  provider: string | null;
  /** `chat`, `text_completion`, `embeddings`, `execute_tool`, … as the span names it. */
  operation: string;
  prompt_preview: string | null;
  response_preview: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  finish_reasons: string[] | null;
  time_to_first_token_ms: number | null;
  duration_ms: number | null;
  status: 'running' | 'ok' | 'error';
  error: string | null;
  /** USD from the price table; `null` when the model has no price or no tokens are known. */
  cost_usd: number | null;
  metadata: Metadata;
  /** ISO 8601. */
  start_time: string;
  /** ISO 8601; `null` while the call runs. */
  end_time: string | null;
}

/**
 * Every field of an {@link LlmCallRow}, in the order of the call-log table's columns: the stores'
 * columns, the CSV export's columns and the JSON schema's required fields all come from this list.
 */
export const LLM_CALL_FIELDS = [
  'call_id',
  'session_id',
  'trace_id',
  'span_id',
  'conversation_id',
  'user_id',
  'service_name',
  'task',
  'model',
  'request_model',
  'response_model',
  'provider',
  'operation',
  'prompt_preview',
  'response_preview',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cached_tokens',
  'finish_reasons',
  'time_to_first_token_ms',
  'duration_ms',
  'status',
  'error',
  'cost_usd',
  'metadata',
  'start_time',
  'end_time',
] as const satisfies readonly (keyof LlmCallRow)[];

/** Fails to compile when {@link LlmCallRow} gains a field {@link LLM_CALL_FIELDS} does not list. */
const _everyCallField: [Exclude<keyof LlmCallRow, (typeof LLM_CALL_FIELDS)[number]>] extends [never] ? true : never = true;

/** What to look for in the call log. Every given field must match. */
export interface LlmCallFilter {
  readonly sessionId?: string;
  readonly conversationId?: string;
  readonly userId?: string;
  /** Matches the answering or the requested model. */
  readonly model?: string;
  readonly status?: readonly LlmCallRow['status'][];
  /** Started at or after (ms since the epoch). */
  readonly sinceMs?: number;
  /** Started before (ms since the epoch). */
  readonly untilMs?: number;
  /** Case-insensitive text in the prompt or response preview. */
  readonly text?: string;
}

/** One page of calls, newest first, and where the next begins. */
export interface LlmCallPage {
  readonly calls: LlmCallRow[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

/** Characters of a prompt or response a call-log row keeps (the same as a step's previews). */
export const CALL_PREVIEW_LENGTH = DEFAULT_PREVIEW_LENGTH;

/** The first {@link CALL_PREVIEW_LENGTH} characters, never splitting a surrogate pair. */
function preview(text: string | null): string | null {
  return text === null ? null : cutPreview(text, CALL_PREVIEW_LENGTH);
}

/** The call's total, else what is known of input and output (a call that reports only one of them). */
function total(call: LlmCallRecord): number | null {
  if (call.total_tokens !== null) return call.total_tokens;
  if (call.input_tokens === null && call.output_tokens === null) return null;
  // Token counts are at most 2^53 − 1 each; their sum stays a safe float, never Infinity.
  return Math.min(Number.MAX_SAFE_INTEGER, (call.input_tokens ?? 0) + (call.output_tokens ?? 0));
}

/** The call-log rows of a session's calls. */
export function callRowsOf(session: ProcessingSession): LlmCallRow[] {
  return session.llm_calls.map((call) => ({
    call_id: `${session.trace_id}:${call.span_id}`,
    session_id: session.session_id,
    trace_id: session.trace_id,
    span_id: call.span_id,
    conversation_id: session.conversation_id,
    user_id: call.user_id ?? session.user_id,
    service_name: session.service_name,
    task: session.task,
    model: call.response_model ?? call.request_model,
    request_model: call.request_model,
    response_model: call.response_model,
    provider: call.provider,
    operation: call.operation,
    prompt_preview: preview(call.prompt_preview),
    response_preview: preview(call.response_preview),
    input_tokens: call.input_tokens,
    output_tokens: call.output_tokens,
    total_tokens: total(call),
    cached_tokens: call.cached_tokens,
    finish_reasons: call.finish_reasons,
    time_to_first_token_ms: call.time_to_first_token_ms,
    duration_ms: call.duration_ms,
    status: call.status,
    error: call.error,
    cost_usd: call.cost_usd,
    metadata: call.metadata,
    start_time: call.start_time,
    end_time: call.end_time,
  }));
}

/** True when `row` matches every field of `filter`. */
export function matchesCallFilter(row: LlmCallRow, filter: LlmCallFilter): boolean {
  if (filter.sessionId !== undefined && row.session_id !== filter.sessionId) return false;
  if (filter.conversationId !== undefined && row.conversation_id !== filter.conversationId) return false;
  if (filter.userId !== undefined && row.user_id !== filter.userId) return false;
  if (filter.model !== undefined && row.response_model !== filter.model && row.request_model !== filter.model) return false;
  if (filter.status && !filter.status.includes(row.status)) return false;
  return startedWithin(row.start_time, filter) && previewsContain(row.prompt_preview, row.response_preview, filter.text);
}
