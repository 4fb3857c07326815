/**
 * What the builder keeps of a span, and what it costs.
 *
 * A span is admitted once, when it arrives: its times and numeric attributes are checked (see
 * `span-values.ts`), only the attributes and events the mapping reads are kept, strings are cut to
 * a length and the whole span to a byte budget. The builder holds admitted spans only, so what one
 * sender can make the receiver hold is bounded by settings, not by what it sends. Everything cut
 * is counted: in totals across traces ({@link CutCounts}, the receiver's
 * `llm_monitor_receiver_content_cut_total`), and on the span kept, by the limit that cut it
 * (`SpanRecord.limitsHit`), which its session adds up into `limits_hit` (`limits-hit.ts`).
 */
import {
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_TOKENS_TEXT,
  EVENT_TOKENS,
  GEN_AI,
  LLM_MONITOR_NAMESPACE,
  OTEL,
} from '@llm-monitor/semconv';
import { DEFAULT_PREVIEW_LENGTH, isPreviewKey, previewText } from './content-previews.js';
import type { PreviewCut } from './content-previews.js';
import { CONVERSATION_KEYS, FOREIGN_ATTRIBUTE_KEYS, FOREIGN_EVENT_NAMES, ROOT_METADATA_PREFIXES } from './genai-mapping.js';
import { LIMIT_OF_REASON, LimitTally } from './limits-hit.js';
import type { LimitHit, LimitItem, SessionLimit } from './model.js';
import { STEP_ATTRIBUTE_KEYS, STEP_EVENT_NAMES } from './step-mapping.js';
import type { AttributeValue, Attributes, SpanEventRecord, SpanRecord } from './span-record.js';
import { NUMERIC_ATTRIBUTES, checkNumeric, isSaneTime, isUsableId, numericAttributeOf, VALUE_LIMITS } from './span-values.js';
import type { ValueField, ValueRejections } from './span-values.js';

/** How much of a span is kept. */
export interface AdmissionLimits {
  /** Longest string kept, in characters; longer ones are cut (default 16,384). */
  readonly maxAttributeValueLength: number;
  /** Estimated bytes of attributes and events kept per span (default 1 MiB). */
  readonly maxSpanBytes: number;
  /**
   * Characters kept of an attribute a step's input or output preview is read from (default 1,000):
   * a framework that records whole documents costs a preview, not the document.
   */
  readonly maxPreviewLength: number;
}

/** Defaults of {@link AdmissionLimits}. */
export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  maxAttributeValueLength: 16 * 1024,
  maxSpanBytes: 1024 * 1024,
  maxPreviewLength: DEFAULT_PREVIEW_LENGTH,
};

/**
 * Bytes of a span that arrives when its trace is already at its byte budget: enough for what places
 * the span in the timeline (its type, stage, model, numbers), not for its content.
 */
export const SKELETON_SPAN_BYTES = 2048;

/**
 * What one held span costs beyond its strings (the record, its maps' entries, its share of the
 * session objects built from it), in the same estimated bytes as strings. Calibrated on 3,000
 * sessions of our instrumentation (11 spans each, token text captured) ingested into a pipeline:
 * 14.9 KB of retained heap per session, which this makes the estimate match.
 */
export const SPAN_OVERHEAD_BYTES = 832;

/**
 * Why something was cut: too long a string, over the span's byte budget, over the trace's byte
 * budget, or the trace at its span limit (a marker's events making room for a span).
 */
export type CutReason = 'value_length' | 'span_bytes' | 'trace_bytes' | 'trace_spans';
/** What was cut: a string shortened, an attribute or an event not kept. */
export type CutItem = 'string' | 'attribute' | 'event';

/** Counts of what admission cut, by item and reason. */
export class CutCounts {
  readonly #counts = new Map<string, number>();

  /** Counts `n` items cut for `reason`. */
  cut(item: CutItem, reason: CutReason, n = 1): void {
    const key = `${item}/${reason}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  /** Totals so far as `[item, reason, count]`, every combination that can happen, zeros included. */
  totals(): [CutItem, CutReason, number][] {
    const rows: [CutItem, CutReason, number][] = [];
    for (const item of ['string', 'attribute', 'event'] as const) {
      for (const reason of ['value_length', 'span_bytes', 'trace_bytes', 'trace_spans'] as const) {
        if (item === 'string' && reason !== 'value_length') continue;
        if (reason === 'trace_spans' && item !== 'event') continue;
        rows.push([item, reason, this.#counts.get(`${item}/${reason}`) ?? 0]);
      }
    }
    return rows;
  }
}

/** An admitted span and its estimated size. */
export interface AdmittedSpan {
  readonly span: SpanRecord;
  /** Estimated bytes held for it: kept strings and values, plus {@link SPAN_OVERHEAD_BYTES}. */
  readonly bytes: number;
  /**
   * The part of `span.limitsHit` cut while its events were admitted (absent when none): a live
   * marker's events add up across markers, its attributes only count as the latest marker has them.
   */
  readonly eventLimitsHit?: readonly LimitHit[];
}

/** Attribute keys of other conventions the mapping reads, and every one of ours. */
const READ_KEYS: ReadonlySet<string> = new Set<string>([
  GEN_AI.operationName,
  GEN_AI.providerName,
  GEN_AI.system,
  GEN_AI.requestModel,
  GEN_AI.responseModel,
  GEN_AI.conversationId,
  ...FOREIGN_ATTRIBUTE_KEYS,
  ...STEP_ATTRIBUTE_KEYS,
  ...Object.keys(NUMERIC_ATTRIBUTES),
  OTEL.errorType,
  OTEL.userId,
  OTEL.sessionId,
]);

const OUR_PREFIX = `${LLM_MONITOR_NAMESPACE}.`;

/** True when the mapping reads the attribute `key` (the builder keeps no other). */
export function isReadAttribute(key: string): boolean {
  return (
    key.startsWith(OUR_PREFIX) || READ_KEYS.has(key) || ROOT_METADATA_PREFIXES.some((prefix) => key.startsWith(prefix)) || isPreviewKey(key)
  );
}

/** Langfuse's usage, one JSON object: its counts become the numeric attributes `span-values.ts` lists. */
const LANGFUSE_USAGE = 'langfuse.observation.usage_details';
const LANGFUSE_USAGE_COUNTS = ['input', 'output', 'total', 'cache_read_input_tokens'] as const;

/** The counts of a Langfuse usage object, as attributes to admit (nothing when it is no such object). */
function langfuseUsage(value: AttributeValue): [string, AttributeValue][] {
  if (typeof value !== 'string' || value.length > 4096 || !value.startsWith('{')) return [];
  let usage: unknown;
  try {
    usage = JSON.parse(value);
  } catch {
    return [];
  }
  if (usage === null || typeof usage !== 'object') return [];
  const counts: [string, AttributeValue][] = [];
  for (const key of LANGFUSE_USAGE_COUNTS) {
    const count = (usage as Record<string, unknown>)[key];
    if (typeof count === 'number' || typeof count === 'string') counts.push([`${LANGFUSE_USAGE}.${key}`, count]);
  }
  return counts;
}

/** Events the mapping reads, with the attributes it reads of each. */
const READ_EVENTS: ReadonlyMap<string, ReadonlySet<string>> = new Map<string, ReadonlySet<string>>([
  [
    EVENT_TOKENS,
    new Set(
      Object.keys(NUMERIC_ATTRIBUTES)
        .filter((key) => key.startsWith(OUR_PREFIX))
        .concat(ATTR_TOKENS_TEXT),
    ),
  ],
  [OTEL.exceptionEvent, new Set([OTEL.exceptionMessage, OTEL.exceptionType])],
  ...STEP_EVENT_NAMES.map(([name, keys]) => [name, new Set(keys)] as [string, ReadonlySet<string>]),
  ...FOREIGN_EVENT_NAMES.map(([name, keys]) => [name, new Set(keys)] as [string, ReadonlySet<string>]),
]);

/**
 * Attributes that place a span in the session (its type, identity, stage and model), kept before
 * any other so a large preview or metadata value can never push them out of the budget.
 */
const ESSENTIAL_KEYS: ReadonlySet<string> = new Set<string>([
  ATTR_SPAN_TYPE,
  ATTR_SESSION_ID,
  ATTR_STAGE,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  GEN_AI.operationName,
  GEN_AI.requestModel,
  GEN_AI.responseModel,
  GEN_AI.providerName,
  GEN_AI.system,
  'ai.operationId',
  'ai.model.id',
  'openinference.span.kind',
  'llm.model_name',
  'embedding.model_name',
  ...Object.keys(NUMERIC_ATTRIBUTES),
]);

/** Attributes whose value the API looks a session up by: an id it cannot take is not kept. */
const ID_KEYS: ReadonlyMap<string, ValueField> = new Map<string, ValueField>([
  [ATTR_SESSION_ID, 'session_id'],
  ...CONVERSATION_KEYS.map((key) => [key, 'conversation_id'] as [string, ValueField]),
]);

/** `String.prototype.isWellFormed` / `toWellFormed` (Node 20; the workspace's lib is ES2023). */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The first `length` characters of `text` as a string of their own. `slice` alone would not do: V8
 * makes a long slice a view that keeps the whole original alive, so a 16 KiB cut of a 10 MiB value
 * would hold 10 MiB (the memory test of sessions with 10 MiB of attributes found this). The round
 * trip through UTF-8 copies, and turns a surrogate pair split by the cut into U+FFFD.
 */
function copiedPrefix(text: string, length: number): string {
  return utf8Decoder.decode(utf8Encoder.encode(text.slice(0, length)));
}

/**
 * `text` as kept: at most `maxLength` characters, and well-formed — a lone surrogate (possible in
 * OTLP/JSON) cannot be put in a URL or UTF-8, so it becomes U+FFFD, as a UTF-8 decoder would have
 * made it.
 */
function keptString(text: string, maxLength: number): string {
  if (text.length > maxLength) return copiedPrefix(text, maxLength);
  const kept = text as unknown as WellFormedString;
  return kept.isWellFormed() ? text : kept.toWellFormed();
}

/** Estimated bytes of one kept entry besides its value. */
const ENTRY_OVERHEAD_BYTES = 24;
/** A string shorter than this is not worth keeping as a cut-to-fit remnant. */
const MIN_REMNANT_LENGTH = 64;
/** Deepest nesting of a kept value; the decoders already refuse deeper bodies. */
const MAX_VALUE_DEPTH = 32;

/**
 * Estimated bytes of a value (strings by length, other leaves a fixed size), stopping past `limit`;
 * `Infinity` for a value nested deeper than {@link MAX_VALUE_DEPTH} (found before `limit` is passed).
 */
function valueBytes(value: AttributeValue, limit: number, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object') return 8;
  if (depth > MAX_VALUE_DEPTH) return Infinity;
  let total = ENTRY_OVERHEAD_BYTES;
  const entries = Array.isArray(value) ? (value as readonly AttributeValue[]) : Object.values(value);
  for (const entry of entries) {
    total += ENTRY_OVERHEAD_BYTES + valueBytes(entry, limit, depth + 1);
    if (total > limit) return total;
  }
  return total;
}

/** Keeps resource objects shared: spans of one request share one resource, and so do their admissions. */
const admittedResources = new WeakMap<Attributes, Attributes>();

/** The resource as the builder needs it: its service name, cut to the string length. */
function admitResource(resource: Attributes, maxLength: number): Attributes {
  let admitted = admittedResources.get(resource);
  if (!admitted) {
    const serviceName = resource[OTEL.serviceName];
    admitted = typeof serviceName === 'string' ? { [OTEL.serviceName]: keptString(serviceName, maxLength) } : EMPTY;
    admittedResources.set(resource, admitted);
  }
  return admitted;
}

const EMPTY: Attributes = Object.freeze({});
const NO_SCOPE = Object.freeze({ name: '', version: '' });

/**
 * Stores `value` under `key` as an own property. Only `__proto__` needs `defineProperty` (a plain
 * assignment would replace the prototype); using it for every key would turn every attribute object
 * into a slower, larger dictionary-mode object.
 */
function put(target: Record<string, AttributeValue>, key: string, value: AttributeValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Admits spans against limits, counting what it checks and cuts. */
export class SpanAdmission {
  readonly #limits: AdmissionLimits;
  readonly #rejections: ValueRejections;
  readonly cuts = new CutCounts();
  /** What limits cut of the span being admitted; made on its first cut. */
  #hits: LimitTally | undefined;
  /** Of those, what was cut while its events were admitted. */
  #eventHits: LimitTally | undefined;
  #inEvents = false;

  constructor(limits: AdmissionLimits, rejections: ValueRejections) {
    this.#limits = limits;
    this.#rejections = rejections;
  }

  /**
   * The span as the builder keeps it. `overTraceBudget`: its trace already holds its byte budget, so
   * only a skeleton of the span is kept.
   */
  admit(span: SpanRecord, overTraceBudget: boolean): AdmittedSpan {
    const budget = new Budget(
      overTraceBudget ? SKELETON_SPAN_BYTES : this.#limits.maxSpanBytes,
      overTraceBudget ? 'trace_bytes' : 'span_bytes',
    );
    const maxLength = this.#limits.maxAttributeValueLength;
    this.#startHits(span);
    let startTimeUnixMs = this.#time(span.startTimeUnixMs, 'start_time');
    let endTimeUnixMs = span.endTimeUnixMs === 0 ? 0 : this.#time(span.endTimeUnixMs, 'end_time');
    if (startTimeUnixMs === 0 && endTimeUnixMs !== 0) startTimeUnixMs = endTimeUnixMs;
    if (endTimeUnixMs !== 0 && endTimeUnixMs < startTimeUnixMs) {
      this.#rejections.reject('duration', endTimeUnixMs - startTimeUnixMs);
      endTimeUnixMs = startTimeUnixMs;
    } else if (endTimeUnixMs !== 0 && endTimeUnixMs - startTimeUnixMs > VALUE_LIMITS.maxDurationMs) {
      this.#rejections.reject('duration', endTimeUnixMs - startTimeUnixMs);
      endTimeUnixMs = startTimeUnixMs + VALUE_LIMITS.maxDurationMs;
    }
    const name = this.#string(span.name, maxLength);
    const statusMessage = this.#string(span.status.message, maxLength);
    budget.spend(name.length + statusMessage.length);

    const attributes: Record<string, AttributeValue> = {};
    // Essentials first, then events, then everything else: what places the span is never crowded out.
    const rest: [string, AttributeValue][] = [];
    // A call of ours carries its previews as text: its GenAI message JSON would say the same again.
    const ownPrompt = typeof span.attributes[ATTR_PROMPT_PREVIEW] === 'string';
    const ownResponse = typeof span.attributes[ATTR_RESPONSE_PREVIEW] === 'string';
    for (const key of Object.keys(span.attributes)) {
      if (!isReadAttribute(key)) continue;
      if ((ownPrompt && key === GEN_AI.inputMessages) || (ownResponse && key === GEN_AI.outputMessages)) continue;
      const value = span.attributes[key]!;
      if (ESSENTIAL_KEYS.has(key)) this.#keepAttribute(attributes, key, value, budget);
      else if (key === LANGFUSE_USAGE)
        for (const count of langfuseUsage(value)) this.#keepAttribute(attributes, count[0], count[1], budget);
      else if (isPreviewKey(key) && value !== null) rest.push([key, this.#preview(value)]);
      else rest.push([key, value]);
    }
    const events: SpanEventRecord[] = [];
    this.#inEvents = true;
    for (const event of span.events) {
      const kept = this.#event(event, budget);
      if (kept) events.push(kept);
    }
    this.#inEvents = false;
    for (const [key, value] of rest) this.#keepAttribute(attributes, key, value, budget);
    const limitsHit = this.#hits?.list();
    const eventLimitsHit = this.#eventHits?.list();

    // A plain literal, the rare fields added after: spreads of conditional objects in the literal took
    // a sixth of the builder's own time in an ingest profile (CloneObject per span).
    const admitted: { -readonly [K in keyof SpanRecord]: SpanRecord[K] } = {
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      name,
      kind: span.kind,
      startTimeUnixMs,
      endTimeUnixMs,
      attributes,
      events,
      status: statusMessage === span.status.message ? span.status : { code: span.status.code, message: statusMessage },
      resource: admitResource(span.resource, maxLength),
      scope: NO_SCOPE,
    };
    if (span.droppedEventsCount !== undefined && span.droppedEventsCount > 0) admitted.droppedEventsCount = span.droppedEventsCount;
    if (limitsHit) admitted.limitsHit = limitsHit;
    const bytes = budget.spent + SPAN_OVERHEAD_BYTES;
    return eventLimitsHit ? { span: admitted, bytes, eventLimitsHit } : { span: admitted, bytes };
  }

  /** Starts the hits of `span`: none, or, for a record read back from a store, what was cut of it then. */
  #startHits(span: SpanRecord): void {
    this.#hits = undefined;
    this.#eventHits = undefined;
    this.#inEvents = false;
    if (span.limitsHit) (this.#hits = new LimitTally()).addAll(span.limitsHit);
  }

  /** Notes on the span being admitted that `limit` cut `n` of `item`. */
  #hit(limit: SessionLimit, item: LimitItem, n = 1): void {
    (this.#hits ??= new LimitTally()).add(limit, item, n);
    if (this.#inEvents) (this.#eventHits ??= new LimitTally()).add(limit, item, n);
  }

  #time(ms: number, field: 'start_time' | 'end_time' | 'event_time'): number {
    if (isSaneTime(ms)) return ms;
    // 0 is "unknown" (a start) or "not ended" (an end): only other values are wrong.
    if (ms !== 0) this.#rejections.reject(field, ms);
    return 0;
  }

  /**
   * A preview's source as kept: text (structured values as JSON) of at most `maxPreviewLength`
   * characters. Cutting it to that length is what a preview is, so only the totals count it; levels
   * nested too deep to write are a cut of the session's.
   */
  #preview(value: AttributeValue): string {
    const maxLength = this.#limits.maxPreviewLength;
    const cut: PreviewCut = { tooDeep: false };
    const text = typeof value === 'string' ? value : previewText(value, maxLength + 1, cut);
    if (text.length > maxLength) this.cuts.cut('string', 'value_length');
    if (cut.tooDeep) this.#hit('max_value_depth', 'string');
    return keptString(text, maxLength);
  }

  #string(text: string, maxLength: number): string {
    if (text.length > maxLength) {
      this.cuts.cut('string', 'value_length');
      this.#hit('max_attribute_value_length', 'string');
    }
    return keptString(text, maxLength);
  }

  /**
   * Keeps one attribute if it is valid and fits; numbers are checked, strings cut. Returns false when
   * a number was rejected.
   */
  #keepAttribute(target: Record<string, AttributeValue>, key: string, value: AttributeValue, budget: Budget): boolean {
    const numeric = numericAttributeOf(key);
    if (numeric) {
      if (value === null) return true;
      const checked = checkNumeric(numeric.kind, value);
      if (!checked) {
        this.#rejections.reject(numeric.field, value);
        return false;
      }
      if (checked.clamped) this.#rejections.reject(numeric.field, value);
      budget.spend(ENTRY_OVERHEAD_BYTES + 8);
      put(target, key, checked.value);
      return true;
    }
    let kept = value;
    if (typeof kept === 'string') kept = this.#string(kept, this.#limits.maxAttributeValueLength);
    const idField = ID_KEYS.get(key);
    if (idField && typeof kept === 'string' && !isUsableId(kept)) {
      // An id the API could not be asked for: the session falls back to its trace id (or no conversation).
      this.#rejections.reject(idField, kept.slice(0, 100));
      return true;
    }
    if (kept !== null && typeof kept === 'object') {
      const bytes = valueBytes(kept, this.#limits.maxAttributeValueLength);
      if (bytes > this.#limits.maxAttributeValueLength) {
        // A structured value too large (or nested too deep) to cut sensibly: not kept.
        this.cuts.cut('attribute', 'value_length');
        this.#hit(bytes === Infinity ? 'max_value_depth' : 'max_attribute_value_length', 'attribute');
        return true;
      }
    }
    const size = ENTRY_OVERHEAD_BYTES + key.length + valueBytes(kept, Infinity);
    if (budget.fits(size)) {
      budget.spend(size);
      put(target, key, kept);
      return true;
    }
    // Text is cut to what is left when that still says something; anything else is not kept.
    const room = budget.left - ENTRY_OVERHEAD_BYTES - key.length;
    if (typeof kept === 'string' && room >= MIN_REMNANT_LENGTH) {
      // The totals have always counted this as too long a string; the session names the budget.
      this.cuts.cut('string', 'value_length');
      this.#hit(LIMIT_OF_REASON[budget.reason], 'string');
      budget.spend(ENTRY_OVERHEAD_BYTES + key.length + room);
      put(target, key, copiedPrefix(kept, room));
      return true;
    }
    this.cuts.cut('attribute', budget.reason);
    this.#hit(LIMIT_OF_REASON[budget.reason], 'attribute');
    return true;
  }

  /** The event as kept (read attributes only, checked), or `undefined` when it is not read or does not fit. */
  #event(event: SpanEventRecord, budget: Budget): SpanEventRecord | undefined {
    const readKeys = READ_EVENTS.get(event.name);
    if (!readKeys) return undefined;
    const attributes: Record<string, AttributeValue> = {};
    const eventBudget = new Budget(Infinity, budget.reason);
    let text: string | undefined;
    let textShortened = false;
    for (const key of Object.keys(event.attributes)) {
      if (!readKeys.has(key)) continue;
      const value = event.attributes[key]!;
      if (key === ATTR_TOKENS_TEXT && typeof value === 'string') {
        // Counted on the session once the event is kept: an event not kept is one cut, not two.
        textShortened = value.length > this.#limits.maxAttributeValueLength;
        if (textShortened) this.cuts.cut('string', 'value_length');
        text = keptString(value, this.#limits.maxAttributeValueLength);
        continue;
      }
      // A token event whose count is out of range says nothing trustworthy: it is not kept.
      if (!this.#keepAttribute(attributes, key, value, eventBudget)) return undefined;
    }
    const timeUnixMs = this.#time(event.timeUnixMs, 'event_time');
    const size = ENTRY_OVERHEAD_BYTES * 2 + event.name.length + eventBudget.spent;
    if (!budget.fits(size)) {
      this.cuts.cut('event', budget.reason);
      this.#hit(LIMIT_OF_REASON[budget.reason], 'event');
      return undefined;
    }
    budget.spend(size);
    if (text !== undefined) {
      // The text goes when it does not fit; the count it came with still counts.
      if (budget.fits(text.length + ENTRY_OVERHEAD_BYTES)) {
        budget.spend(text.length + ENTRY_OVERHEAD_BYTES);
        put(attributes, ATTR_TOKENS_TEXT, text);
        if (textShortened) this.#hit('max_attribute_value_length', 'token_text');
      } else {
        this.cuts.cut('attribute', budget.reason);
        this.#hit(LIMIT_OF_REASON[budget.reason], 'token_text');
      }
    }
    return { name: event.name, timeUnixMs, attributes };
  }
}

/** Bytes left to spend on one span. */
class Budget {
  spent = 0;
  readonly #limit: number;
  readonly reason: CutReason;

  constructor(limit: number, reason: CutReason) {
    this.#limit = limit;
    this.reason = reason;
  }

  get left(): number {
    return Math.max(0, this.#limit - this.spent);
  }

  fits(bytes: number): boolean {
    return this.spent + bytes <= this.#limit;
  }

  spend(bytes: number): void {
    this.spent += bytes;
  }
}
