/**
 * What a session says about the limits that cut it (`limits_hit`). Most cuts happen to one span as it
 * is admitted, so they travel with the span: admission writes them on the span it keeps
 * (`SpanRecord.limitsHit`), and a session adds up those of the spans it is derived from — the same
 * set of spans gives the same counts, a duplicate or a later version of a span replaces the earlier
 * one's, and records read back from a store bring their counts with them. What no kept span can
 * carry — spans refused, marker events let go, steps left out — the builder adds per trace.
 */
import type { LimitHit, LimitItem, SessionLimit } from './model.js';
import type { CutReason } from './span-admission.js';

/** Every limit, in the order a session lists them: what loses most first. */
export const SESSION_LIMITS: readonly SessionLimit[] = [
  'max_spans_per_trace',
  'max_steps_per_session',
  'max_trace_bytes',
  'max_span_bytes',
  'max_attribute_value_length',
  'max_value_depth',
];

/** Every item a limit cuts, in the order a session lists them within a limit. */
export const LIMIT_ITEMS: readonly LimitItem[] = ['span', 'step', 'event', 'token_text', 'attribute', 'string'];

/** The limit behind each reason admission cuts for. */
export const LIMIT_OF_REASON: Readonly<Record<CutReason, SessionLimit>> = {
  value_length: 'max_attribute_value_length',
  span_bytes: 'max_span_bytes',
  trace_bytes: 'max_trace_bytes',
  trace_spans: 'max_spans_per_trace',
};

const LIMIT_INDEX = new Map<string, number>(SESSION_LIMITS.map((limit, index) => [limit, index]));
const ITEM_INDEX = new Map<string, number>(LIMIT_ITEMS.map((item, index) => [item, index]));

/**
 * Counts by limit and item. Made only once something is cut: a session (or span) that hit nothing
 * costs no allocation.
 */
export class LimitTally {
  /** Count by `limit index × items + item index`. */
  readonly #counts = new Map<number, number>();

  /** Counts `n` (may be negative, to take a part back out) of `item` cut by `limit`. */
  add(limit: SessionLimit, item: LimitItem, n = 1): void {
    const key = LIMIT_INDEX.get(limit)! * LIMIT_ITEMS.length + ITEM_INDEX.get(item)!;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  /**
   * Adds a list of hits (`sign` -1 takes them out). Lists come from records a store read back, so
   * entries that are no hit (an unknown name, a count that is no positive safe integer) are skipped.
   */
  addAll(hits: readonly LimitHit[] | undefined, sign = 1): void {
    if (!Array.isArray(hits)) return;
    for (const hit of hits as readonly Partial<LimitHit>[]) {
      if (
        typeof hit !== 'object' ||
        hit === null ||
        !LIMIT_INDEX.has(hit.limit as string) ||
        !ITEM_INDEX.has(hit.item as string) ||
        !Number.isSafeInteger(hit.count) ||
        hit.count! <= 0
      )
        continue;
      this.add(hit.limit!, hit.item!, sign * hit.count!);
    }
  }

  /** The hits, in the order of {@link SESSION_LIMITS} then {@link LIMIT_ITEMS}; `undefined` when none. */
  list(): LimitHit[] | undefined {
    let keys: number[] | undefined;
    for (const [key, count] of this.#counts) if (count > 0) (keys ??= []).push(key);
    if (!keys) return undefined;
    keys.sort((a, b) => a - b);
    return keys.map((key) => ({
      limit: SESSION_LIMITS[Math.floor(key / LIMIT_ITEMS.length)]!,
      item: LIMIT_ITEMS[key % LIMIT_ITEMS.length]!,
      // Counts saturate like token sums, so a long-lived trace cannot make one unsafe.
      count: Math.min(this.#counts.get(key)!, Number.MAX_SAFE_INTEGER),
    }));
  }
}

/** `hits` with `part` taken out (both lists of hits; `undefined` when nothing is left). */
export function withoutHits(hits: readonly LimitHit[] | undefined, part: readonly LimitHit[] | undefined): LimitHit[] | undefined {
  if (!hits) return undefined;
  if (!part) return hits as LimitHit[];
  const tally = new LimitTally();
  tally.addAll(hits);
  tally.addAll(part, -1);
  return tally.list();
}

/** What a trace cut that no kept span carries. */
export interface TraceCuts {
  /** Spans and live markers refused: the trace held `max_spans_per_trace` already. */
  readonly spansRefused: number;
  /** Events of live markers let go to make room for spans. */
  readonly markerEventsDropped: number;
}

/** The hits a trace's spans carry, added up; `undefined` when none carries any. */
export function spanLimitsHitOf(spans: readonly { readonly limitsHit?: readonly LimitHit[] }[]): LimitHit[] | undefined {
  let tally: LimitTally | undefined;
  for (const span of spans) {
    if (span.limitsHit) (tally ??= new LimitTally()).addAll(span.limitsHit);
  }
  return tally?.list();
}

/**
 * The `limits_hit` of a session: the hits its spans carry ({@link spanLimitsHitOf}), plus what its
 * trace refused and the steps it left out; `undefined` when nothing was cut.
 */
export function limitsHitOf(
  spanHits: readonly LimitHit[] | undefined,
  stepsDropped: number,
  trace: TraceCuts | undefined,
): LimitHit[] | undefined {
  if (!trace && stepsDropped === 0) return spanHits as LimitHit[] | undefined;
  const tally = new LimitTally();
  tally.addAll(spanHits);
  if (trace) {
    tally.add('max_spans_per_trace', 'span', trace.spansRefused);
    tally.add('max_spans_per_trace', 'event', trace.markerEventsDropped);
  }
  tally.add('max_steps_per_session', 'step', stepsDropped);
  return tally.list();
}
