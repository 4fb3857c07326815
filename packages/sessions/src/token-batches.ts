/**
 * Streamed tokens as a session's spans tell them: our token events (a batch's count, its text, the
 * session's running total) on the streaming stage, or a running total on a span. Read once per span
 * record (`span-memo.ts`); a running span's markers are read once per marker as they are folded
 * (`trace-spans.ts`), so a live update adds its own batches without reading the earlier ones again.
 */
import { ATTR_TOKENS_COUNT, ATTR_TOKENS_TEXT, ATTR_TOKENS_TOTAL, EVENT_TOKENS } from '@llm-monitor/semconv';
import { memoOf } from './span-memo.js';
import { stringAttribute } from './span-record.js';
import type { SpanEventRecord, SpanRecord } from './span-record.js';
import { addTokens, numericValue } from './span-values.js';

/** One batch of streamed tokens, as a token event says it. */
export interface TokenBatch {
  readonly atMs: number;
  readonly count: number;
  readonly text: string | undefined;
}

/** What the token events of one span record say. */
export interface SpanTokens {
  /** Its token batches, in the order of its events. */
  readonly batches: readonly TokenBatch[];
  /** The largest running total it reports (on itself or an event); 0 when none. */
  readonly runningTotal: number;
  /** True when it carries token events and its SDK dropped some of its events. */
  readonly eventsDropped: boolean;
}

/** The token batches among `events`, and the largest running total they report (0: none). */
export function tokenBatchesOf(events: readonly SpanEventRecord[]): { batches: TokenBatch[]; maxTotal: number } {
  const batches: TokenBatch[] = [];
  let maxTotal = 0;
  for (const event of events) {
    if (event.name !== EVENT_TOKENS) continue;
    maxTotal = Math.max(maxTotal, numericValue(event.attributes, ATTR_TOKENS_TOTAL) ?? 0);
    batches.push({
      atMs: event.timeUnixMs,
      count: numericValue(event.attributes, ATTR_TOKENS_COUNT) ?? 1,
      text: stringAttribute(event.attributes, ATTR_TOKENS_TEXT),
    });
  }
  return { batches, maxTotal };
}

/**
 * What a span's token events say, given its batches and the largest total its events report (the
 * span's own running total attribute counts too: a running span's latest marker carries it, even
 * when the trace was too full to keep the events that came with it).
 */
export function spanTokens(span: SpanRecord, batches: readonly TokenBatch[], eventsTotal: number): SpanTokens {
  return {
    batches,
    runningTotal: Math.max(0, numericValue(span.attributes, ATTR_TOKENS_TOTAL) ?? 0, eventsTotal),
    eventsDropped: batches.length > 0 && (span.droppedEventsCount ?? 0) > 0,
  };
}

/** Notes what a span record's token events say, when whoever made the record knows already. */
export function knowTokensOf(span: SpanRecord, tokens: SpanTokens): void {
  memoOf(span).tokens = tokens;
}

/**
 * Lets go of what a real span's token events were read into (about 40 bytes a batch); they are read
 * again from its events when it is next needed. Announced running spans keep theirs: their marker
 * folds made them.
 */
export function forgetTokensOf(span: SpanRecord): void {
  if (span.endTimeUnixMs !== 0) memoOf(span).tokens = undefined;
}

/** What the token events of a span say, read once per record. */
function tokensOf(span: SpanRecord): SpanTokens {
  const memo = memoOf(span);
  if (memo.tokens === undefined) {
    const { batches, maxTotal } = tokenBatchesOf(span.events);
    memo.tokens = spanTokens(span, batches, maxTotal);
  }
  return memo.tokens;
}

/** A session's streamed tokens: how many, their texts in order, and when the first came. */
export interface CollectedTokens {
  count: number;
  texts: string[];
  firstAtMs: number | undefined;
}

/** The streamed tokens of a session, from the spans that carry any (in start order). */
export function collectTokens(spans: readonly SpanRecord[]): CollectedTokens {
  const batches: TokenBatch[] = [];
  let runningTotal = 0;
  let eventsDropped = false;
  for (const span of spans) {
    const tokens = tokensOf(span);
    if (tokens.runningTotal > runningTotal) runningTotal = tokens.runningTotal;
    if (tokens.eventsDropped) eventsDropped = true;
    for (const batch of tokens.batches) batches.push(batch);
  }
  batches.sort((a, b) => a.atMs - b.atMs);
  const texts: string[] = [];
  let count = 0;
  for (const batch of batches) {
    count = addTokens(count, batch.count);
    if (batch.text !== undefined) texts.push(batch.text);
  }
  // Our events carry the session's running total: the largest one counts every token, even when an
  // SDK dropped the oldest events (128 per span by default) or a live update overlapped a span.
  // Events without totals (other instrumentations) are summed. When events were dropped, the first
  // surviving one is no longer the first token.
  // A batch whose time was unknown (0) cannot tell when the first token came.
  const firstAtMs = eventsDropped ? undefined : batches.find((batch) => batch.atMs > 0)?.atMs;
  return { count: runningTotal > 0 ? runningTotal : count, texts, firstAtMs };
}
