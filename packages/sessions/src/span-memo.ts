/**
 * What has been derived from each span record, kept with it. A span record never changes once
 * admitted (a later version of a span is a new record), and a session is rebuilt from the same
 * records every time its trace grows, so what a record says is read from it once.
 *
 * The memo is a property of the record under a symbol, not defined as enumerable: JSON (the durable
 * store's running spans) and object spreads (a record copied to change it) leave it behind. Measured
 * on the demo workload, a `WeakMap` from record to memo cost a third of the building rate in lookups
 * and in the collector's work on its entries.
 */
import type { LlmCallFacts } from './genai-mapping.js';
import type { LlmCallRecord, ProcessingEvent, StageRecord, StepRecord } from './model.js';
import type { ModelPrices } from './model-prices.js';
import type { SpanTokens } from './token-batches.js';
import type { SpanRecord } from './span-record.js';

/** What has been derived from one span record so far; each part is filled on first use. */
export interface SpanMemo {
  /** Its LLM call facts; `null` when it is no call. */
  facts?: LlmCallFacts | null;
  /** Its call record, and the price table it was priced with. */
  call?: LlmCallRecord;
  callPrices?: ModelPrices;
  /** Its step as last made, and the preview length used: reused while it hangs where it did. */
  step?: StepRecord;
  stepPreviewLength?: number;
  /** What it is to its session, as the bits of `span-index.ts`. */
  roles?: number;
  /** The token batches its events carry, and the largest running total it reports. */
  tokens?: SpanTokens;
  /**
   * Its stage record as last made, with what that depended on besides the span: the progress of
   * the stage before it, and (a running stage's end) the session's end. Reused while both stand.
   */
  stage?: StageRecord;
  stagePreviousProgress?: number;
  stageSessionEndMs?: number | null;
  /** The session event of its stage record, for the session id it was made for. */
  stageEvent?: ProcessingEvent;
  stageEventSessionId?: string;
}

const MEMO = Symbol('llm-monitor.span-memo');

/** The memo of a span record (made empty on first use). */
export function memoOf(span: SpanRecord): SpanMemo {
  const holder = span as SpanRecord & { [MEMO]?: SpanMemo };
  let memo = holder[MEMO];
  if (memo === undefined) {
    memo = {};
    Object.defineProperty(holder, MEMO, { value: memo, enumerable: false, writable: false, configurable: false });
  }
  return memo;
}
