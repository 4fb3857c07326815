/**
 * What a session's model calls come to: their records, which of them its tokens and cost are counted
 * from, the model and provider that answered last, and what they say of the conversation, user and
 * task. It depends only on the calls, where they hang and the prices, so a trace keeps it while
 * those stand (`SpanIndex.callsFor`): a live update to a running session does not go over its calls
 * again.
 */
import { isoTime } from './attribute-values.js';
import { CONVERSATION_KEYS, TASK_KEYS, USER_KEYS, firstOnSpans, llmCallFacts } from './genai-mapping.js';
import type { LlmCallFacts } from './genai-mapping.js';
import type { LlmCallRecord } from './model.js';
import { costUsd } from './model-prices.js';
import type { ModelPrices } from './model-prices.js';
import { memoOf } from './span-memo.js';
import { errorOf, spanOutcome } from './span-outcome.js';
import type { SpanRecord } from './span-record.js';
import { addTokens, boundedDuration } from './span-values.js';

/** A session's calls, summed up (see the file's comment). */
export interface CallsSummary {
  /** The call records, in start order, without the session's first token placed (see {@link withFirstTokenOfSession}). */
  readonly records: LlmCallRecord[];
  /** When each call started and ended (Infinity: running), in ms as its record says them; read when first needed. */
  times?: { readonly startMs: readonly number[]; readonly endMs: readonly number[] };
  /** True when a call reports its own time to first token. */
  readonly anyTimeToFirstToken: boolean;
  /** The model that answered: the last named call that is no embedding, else the last named one. */
  readonly lastCall: LlmCallRecord | undefined;
  readonly lastProvider: string | null;
  /** Tokens and cost of the innermost calls that report tokens, `null` when none is known. */
  readonly countedInput: number | null;
  readonly countedOutput: number | null;
  readonly countedCost: number | null;
  /** The first call that reports a time to first token. */
  readonly firstChunk: SpanRecord | undefined;
  /** The first conversation id, user id and task the calls carry. */
  readonly conversationId: string | null;
  readonly userId: string | null;
  readonly task: string | null;
  /** {@link withFirstTokenOfSession}'s last answer, and the first token's time it was for. */
  withFirstToken?: { readonly firstAtMs: number | undefined; readonly calls: LlmCallRecord[] };
}

/** Sums up the calls of a session (`spans`: its call spans in start order). */
export function summarizeCalls(spans: readonly SpanRecord[], parents: ReadonlyMap<string, string>, prices: ModelPrices): CallsSummary {
  const records = spans.map((span) => llmCallRecord(span, llmCallFacts(span)!, prices));
  // The model of a session is the model that answered, not the one that embedded its query.
  const named = records.filter((call) => call.response_model !== null || call.request_model !== null);
  // A call that wraps calls reporting their own tokens (an agent around its chat calls, a framework's
  // LLM span around the client's) repeats their usage: only the innermost are added up.
  const counted = innermostWithTokens(records, parents);
  let countedCost: number | null = null;
  for (const call of counted) if (call.cost_usd !== null) countedCost = (countedCost ?? 0) + call.cost_usd;
  return {
    records,
    anyTimeToFirstToken: records.some((call) => call.time_to_first_token_ms !== null),
    lastCall: named.findLast((call) => call.operation !== 'embeddings') ?? named.at(-1),
    lastProvider: records.findLast((call) => call.provider !== null)?.provider ?? null,
    countedInput: sumKnown(counted.map((call) => call.input_tokens)),
    countedOutput: sumKnown(counted.map((call) => call.output_tokens)),
    countedCost,
    firstChunk: spans.find((span) => llmCallFacts(span)!.timeToFirstTokenMs !== null),
    conversationId: firstOnSpans(spans, CONVERSATION_KEYS),
    userId: firstOnSpans(spans, USER_KEYS),
    task: firstOnSpans(spans, TASK_KEYS),
  };
}

/**
 * The call records with the session's first streamed token placed (our token events sit on the
 * streaming stage, not on the call): on the earliest call running at that moment, given that
 * token's delay — unless a call reports its own. Kept with the summary for the time it was asked
 * for, so a live update that streams no first token makes nothing again.
 */
export function withFirstTokenOfSession(summary: CallsSummary, firstAtMs: number | undefined): LlmCallRecord[] {
  const last = summary.withFirstToken;
  if (last && last.firstAtMs === firstAtMs) return last.calls;
  const calls = placeFirstToken(summary, firstAtMs);
  summary.withFirstToken = { firstAtMs, calls };
  return calls;
}

function placeFirstToken(summary: CallsSummary, firstAtMs: number | undefined): LlmCallRecord[] {
  const { records } = summary;
  // Sessions never change their arrays: the records serve every session that places no token.
  if (firstAtMs === undefined || summary.anyTimeToFirstToken || records.length === 0) return records;
  summary.times ??= {
    startMs: records.map((call) => Date.parse(call.start_time)),
    endMs: records.map((call) => (call.end_time === null ? Infinity : Date.parse(call.end_time))),
  };
  const { startMs, endMs } = summary.times;
  let chosen = -1;
  for (let index = 0; index < records.length; index += 1) {
    if (startMs[index]! <= firstAtMs && firstAtMs <= endMs[index]! && (chosen < 0 || startMs[index]! < startMs[chosen]!)) chosen = index;
  }
  if (chosen < 0) return records;
  const copy = [...records];
  copy[chosen] = { ...records[chosen]!, time_to_first_token_ms: boundedDuration(firstAtMs - startMs[chosen]!) };
  return copy;
}

/** The calls that report tokens and have no descendant call that reports tokens too. */
function innermostWithTokens(calls: readonly LlmCallRecord[], parents: ReadonlyMap<string, string>): LlmCallRecord[] {
  const withTokens = calls.filter((call) => call.input_tokens !== null || call.output_tokens !== null);
  const wrapping = new Set<string>();
  for (const call of withTokens) {
    // Walk up; the bound guards against a cycle a hostile sender could build from parent ids.
    // A parent already marked has its ancestors marked too: each span is walked once per rebuild.
    let parent = parents.get(call.span_id);
    for (let hops = 0; parent && hops < 1000 && !wrapping.has(parent); hops += 1) {
      wrapping.add(parent);
      parent = parents.get(parent);
    }
  }
  return withTokens.filter((call) => !wrapping.has(call.span_id));
}

/** The sum of the known counts (saturating, see {@link addTokens}), `null` when none is known. */
export function sumKnown(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const value of values) if (value !== null) total = addTokens(total ?? 0, value);
  return total;
}

/** The call record of a span, made once per record and price table (`span-memo.ts`). */
function llmCallRecord(span: SpanRecord, facts: LlmCallFacts, prices: ModelPrices): LlmCallRecord {
  const memo = memoOf(span);
  if (memo.call !== undefined && memo.callPrices === prices) return memo.call;
  const record = readLlmCallRecord(span, facts, prices);
  memo.call = record;
  memo.callPrices = prices;
  return record;
}

function readLlmCallRecord(span: SpanRecord, facts: LlmCallFacts, prices: ModelPrices): LlmCallRecord {
  const ended = span.endTimeUnixMs !== 0;
  return {
    span_id: span.spanId,
    operation: facts.operation,
    provider: facts.provider,
    request_model: facts.requestModel,
    response_model: facts.responseModel,
    input_tokens: facts.inputTokens,
    output_tokens: facts.outputTokens,
    total_tokens: facts.totalTokens ?? sumKnown([facts.inputTokens, facts.outputTokens]),
    cached_tokens: facts.cachedTokens,
    finish_reasons: facts.finishReasons === null ? null : [...facts.finishReasons],
    user_id: facts.userId,
    start_time: isoTime(span.startTimeUnixMs),
    end_time: ended ? isoTime(span.endTimeUnixMs) : null,
    duration_ms: ended ? boundedDuration(span.endTimeUnixMs - span.startTimeUnixMs) : null,
    status: spanOutcome(span),
    error: errorOf(span),
    prompt_preview: facts.promptPreview,
    response_preview: facts.responsePreview,
    cost_usd: costUsd(prices, facts.responseModel ?? facts.requestModel, facts.inputTokens, facts.outputTokens),
    metadata: facts.metadata,
    time_to_first_token_ms: facts.timeToFirstTokenMs,
  };
}
