/**
 * Where span values become numbers.
 *
 * Every numeric fact a session is built from — token counts, durations, times, rates, progress — is
 * read from a span through this file, once, when the span is admitted (see `span-admission.ts`).
 * A value outside its documented range is dropped (or, for progress, clamped), and the drop is
 * counted by field. The builder therefore only ever sees finite numbers within range, so nothing it
 * derives (sums, rates, differences, means) can become `Infinity` or `NaN`, and every output — REST,
 * live streams, CSV, `/metrics` — serialises.
 */
import {
  ATTR_INTER_TOKEN_LATENCY_MAX,
  ATTR_PROGRESS,
  ATTR_SESSION_INPUT_TOKENS,
  ATTR_SESSION_OUTPUT_TOKENS,
  ATTR_TIME_PER_OUTPUT_TOKEN,
  ATTR_TIME_TO_FIRST_TOKEN,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_PER_SECOND,
  ATTR_TOKENS_TOTAL,
  ATTR_USAGE_TOTAL_TOKENS,
  ATTR_EMBEDDING_DIMENSIONS,
  ATTR_EMBEDDING_INPUT_COUNT,
  ATTR_VECTOR_RESULT_COUNT,
  ATTR_VECTOR_TOP_K,
  GEN_AI,
} from '@llm-monitor/semconv';
import type { AttributeValue } from './span-record.js';

/** The sane range of every kind of numeric fact (docs/semantic-conventions.md, "Value ranges"). */
export const VALUE_LIMITS = {
  /** Token counts are integers from 0 to 2^53 − 1 (the largest integer a double holds exactly). */
  maxTokens: Number.MAX_SAFE_INTEGER,
  /** Durations (and times to first token, times per token) are at most 31 days. */
  maxDurationMs: 31 * 24 * 60 * 60 * 1000,
  /** No model streams a million tokens a second; a larger rate is a unit mistake. */
  maxTokensPerSecond: 1_000_000,
  /** Times are from the epoch to the end of year 9999, so every time has a four-digit ISO year. */
  earliestTimeMs: 1,
  latestTimeMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  /** Progress is a percentage. */
  maxProgress: 100,
  /**
   * Session and conversation ids are at most 256 characters: the API takes them in a URL path, whose
   * route accepts at most that (and a longer one would not fit in a request line anyway).
   */
  maxIdLength: 256,
} as const;

/** True when `id` can name a session or conversation in the API: 1 to 256 characters. */
export function isUsableId(id: string): boolean {
  return id.length > 0 && id.length <= VALUE_LIMITS.maxIdLength;
}

/**
 * The session field a rejected value was meant for: the `field` label of
 * `llm_monitor_receiver_values_rejected_total`. A closed set, so the label stays bounded. Besides
 * the numbers, the ids the API looks sessions up by are checked too (see {@link isUsableId}).
 */
export type ValueField =
  | 'session_id'
  | 'conversation_id'
  | 'input_tokens'
  | 'output_tokens'
  | 'total_tokens'
  | 'cached_tokens'
  | 'streamed_tokens'
  | 'time_to_first_token'
  | 'time_per_output_token'
  | 'tokens_per_second'
  | 'progress'
  | 'start_time'
  | 'end_time'
  | 'event_time'
  | 'duration'
  | 'step_count';

/** Every field, for metrics that show zeros before anything happens. */
export const VALUE_FIELDS: readonly ValueField[] = [
  'session_id',
  'conversation_id',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cached_tokens',
  'streamed_tokens',
  'time_to_first_token',
  'time_per_output_token',
  'tokens_per_second',
  'progress',
  'start_time',
  'end_time',
  'event_time',
  'duration',
  'step_count',
];

/** How a kind of value is checked. */
type NumericKind = 'tokens' | 'count' | 'seconds' | 'milliseconds' | 'rate' | 'progress';

interface NumericAttribute {
  readonly kind: NumericKind;
  readonly field: ValueField;
}

/**
 * Every numeric attribute the session builder reads, with its kind. The builder reads numbers only
 * through {@link numericValue}, whose key type is this table's keys, so a new numeric read cannot
 * bypass the checks.
 */
export const NUMERIC_ATTRIBUTES = {
  [ATTR_SESSION_INPUT_TOKENS]: { kind: 'tokens', field: 'input_tokens' },
  [ATTR_SESSION_OUTPUT_TOKENS]: { kind: 'tokens', field: 'output_tokens' },
  [ATTR_USAGE_TOTAL_TOKENS]: { kind: 'tokens', field: 'total_tokens' },
  [GEN_AI.usageInputTokens]: { kind: 'tokens', field: 'input_tokens' },
  [GEN_AI.usagePromptTokens]: { kind: 'tokens', field: 'input_tokens' },
  [GEN_AI.usageOutputTokens]: { kind: 'tokens', field: 'output_tokens' },
  [GEN_AI.usageCompletionTokens]: { kind: 'tokens', field: 'output_tokens' },
  'ai.usage.inputTokens': { kind: 'tokens', field: 'input_tokens' },
  'ai.usage.promptTokens': { kind: 'tokens', field: 'input_tokens' },
  'ai.usage.outputTokens': { kind: 'tokens', field: 'output_tokens' },
  'ai.usage.completionTokens': { kind: 'tokens', field: 'output_tokens' },
  'llm.token_count.prompt': { kind: 'tokens', field: 'input_tokens' },
  'llm.token_count.completion': { kind: 'tokens', field: 'output_tokens' },
  // An LLM call's total and cached input tokens, as each convention names them.
  'ai.usage.totalTokens': { kind: 'tokens', field: 'total_tokens' },
  'llm.usage.total_tokens': { kind: 'tokens', field: 'total_tokens' },
  'llm.token_count.total': { kind: 'tokens', field: 'total_tokens' },
  'gen_ai.usage.cache_read.input_tokens': { kind: 'tokens', field: 'cached_tokens' },
  'gen_ai.usage.cache_read_input_tokens': { kind: 'tokens', field: 'cached_tokens' },
  'ai.usage.cachedInputTokens': { kind: 'tokens', field: 'cached_tokens' },
  'llm.token_count.prompt_details.cache_read': { kind: 'tokens', field: 'cached_tokens' },
  [ATTR_TOKENS_COUNT]: { kind: 'tokens', field: 'streamed_tokens' },
  [ATTR_TOKENS_TOTAL]: { kind: 'tokens', field: 'streamed_tokens' },
  [ATTR_TIME_TO_FIRST_TOKEN]: { kind: 'seconds', field: 'time_to_first_token' },
  [ATTR_TIME_PER_OUTPUT_TOKEN]: { kind: 'seconds', field: 'time_per_output_token' },
  [ATTR_INTER_TOKEN_LATENCY_MAX]: { kind: 'seconds', field: 'time_per_output_token' },
  'ai.response.msToFirstChunk': { kind: 'milliseconds', field: 'time_to_first_token' },
  'ai.stream.msToFirstChunk': { kind: 'milliseconds', field: 'time_to_first_token' },
  [ATTR_TOKENS_PER_SECOND]: { kind: 'rate', field: 'tokens_per_second' },
  [ATTR_PROGRESS]: { kind: 'progress', field: 'progress' },
  // Langfuse reports usage as one JSON object; admission spreads it into these keys (span-admission.ts).
  'langfuse.observation.usage_details.input': { kind: 'tokens', field: 'input_tokens' },
  'langfuse.observation.usage_details.output': { kind: 'tokens', field: 'output_tokens' },
  'langfuse.observation.usage_details.total': { kind: 'tokens', field: 'total_tokens' },
  'langfuse.observation.usage_details.cache_read_input_tokens': { kind: 'tokens', field: 'cached_tokens' },
  // Counts a step's facts carry (search sizes, embeddings).
  [ATTR_VECTOR_TOP_K]: { kind: 'count', field: 'step_count' },
  [ATTR_VECTOR_RESULT_COUNT]: { kind: 'count', field: 'step_count' },
  [ATTR_EMBEDDING_DIMENSIONS]: { kind: 'count', field: 'step_count' },
  [ATTR_EMBEDDING_INPUT_COUNT]: { kind: 'count', field: 'step_count' },
} as const satisfies Record<string, NumericAttribute>;

/** A numeric attribute the builder reads. */
export type NumericKey = keyof typeof NUMERIC_ATTRIBUTES;

const NUMERIC_TABLE: ReadonlyMap<string, NumericAttribute> = new Map(Object.entries(NUMERIC_ATTRIBUTES));

/** The kind of a numeric attribute, or `undefined` when the builder reads no number under `key`. */
export function numericAttributeOf(key: string): NumericAttribute | undefined {
  return NUMERIC_TABLE.get(key);
}

/** What became of a value: kept as it is, kept clamped into range, or rejected. */
export type Checked = { readonly value: number; readonly clamped: boolean } | undefined;

/** A number from an attribute value: numbers as they are, numeric strings (int64 as text) parsed. */
function asNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return undefined;
}

/**
 * Checks a value of the given kind. Returns the value to keep (possibly clamped) or `undefined` to
 * reject it. Absent values are neither: the caller does not call this for them.
 */
export function checkNumeric(kind: NumericKind, raw: AttributeValue | undefined): Checked {
  const value = asNumber(raw);
  if (value === undefined || !Number.isFinite(value)) return undefined;
  switch (kind) {
    case 'tokens':
    case 'count':
      return Number.isInteger(value) && value >= 0 && value <= VALUE_LIMITS.maxTokens ? { value, clamped: false } : undefined;
    case 'seconds':
      return value >= 0 && value * 1000 <= VALUE_LIMITS.maxDurationMs ? { value, clamped: false } : undefined;
    case 'milliseconds':
      return value >= 0 && value <= VALUE_LIMITS.maxDurationMs ? { value, clamped: false } : undefined;
    case 'rate':
      return value >= 0 && value <= VALUE_LIMITS.maxTokensPerSecond ? { value, clamped: false } : undefined;
    case 'progress':
      // Progress is clamped rather than dropped: a sender that overshoots still means "done".
      if (value < 0) return { value: 0, clamped: true };
      if (value > VALUE_LIMITS.maxProgress) return { value: VALUE_LIMITS.maxProgress, clamped: true };
      return { value, clamped: false };
  }
}

/** True when `ms` is a time a session may hold (see {@link VALUE_LIMITS}). */
export function isSaneTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= VALUE_LIMITS.earliestTimeMs && ms <= VALUE_LIMITS.latestTimeMs;
}

/** A duration derived from two checked times, held to 0 … {@link VALUE_LIMITS.maxDurationMs}. */
export function boundedDuration(ms: number): number {
  return Math.min(VALUE_LIMITS.maxDurationMs, Math.max(0, ms));
}

/** A sum of token counts, saturating at {@link VALUE_LIMITS.maxTokens} so it stays an exact integer. */
export function addTokens(a: number, b: number): number {
  return Math.min(VALUE_LIMITS.maxTokens, a + b);
}

/**
 * Reads a numeric attribute that admission already checked. Admission stores checked values as
 * numbers, so anything else here means the span did not come through admission: it is ignored.
 */
export function numericValue(attributes: Readonly<Record<string, AttributeValue>>, key: NumericKey): number | undefined {
  const value = attributes[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Counts of values rejected or clamped, by field, and the hook that hears of each. */
export class ValueRejections {
  readonly #counts = new Map<ValueField, number>();
  readonly #onRejected: ((field: ValueField, value: unknown) => void) | undefined;

  constructor(onRejected?: (field: ValueField, value: unknown) => void) {
    this.#onRejected = onRejected;
  }

  /** Counts one value of `field` that was out of range. */
  reject(field: ValueField, value: unknown): void {
    this.#counts.set(field, (this.#counts.get(field) ?? 0) + 1);
    this.#onRejected?.(field, value);
  }

  /** Totals so far, by field (every field, zeros included). */
  totals(): Record<ValueField, number> {
    const totals = {} as Record<ValueField, number>;
    for (const field of VALUE_FIELDS) totals[field] = this.#counts.get(field) ?? 0;
    return totals;
  }
}
