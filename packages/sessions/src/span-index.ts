/**
 * The spans of one trace sorted once and sorted into what a session is made of: the session span,
 * stages, model calls, token carriers, steps, and the spans that can be its root. A trace keeps its
 * index up to date span by span (`trace-spans.ts`), so rebuilding its session after a batch reads
 * these short lists and the records derived from each span (`span-memo.ts`) instead of sorting and
 * scanning every span it holds — the incremental half of session building. Deriving a session from a
 * plain set of spans builds the same index from scratch (`SpanIndex.of`), so both paths run the one
 * derivation and give the same session.
 */
import { ATTR_SESSION_ID, ATTR_SPAN_TYPE, ATTR_STAGE, ATTR_TOKENS_TOTAL, EVENT_TOKENS, SPAN_TYPE } from '@llm-monitor/semconv';
import { llmCallFacts } from './genai-mapping.js';
import { memoOf } from './span-memo.js';
import { forgetTokensOf } from './token-batches.js';
import { byStart, stringAttribute } from './span-record.js';
import type { CallsSummary } from './session-calls.js';
import type { ModelPrices } from './model-prices.js';
import type { SessionSteps, StepOptions } from './session-steps.js';
import type { SpanRecord } from './span-record.js';

/** What a span is to its session, as bits: one span may be several (a root that is also a call). */
const SESSION = 1;
const STAGE = 2;
const CALL = 4;
const TOKENS = 8;
const STEP = 16;
const NAMES_SESSION = 32;
const ROOT = 64;
const ENTRY = 128;
const LIMITED = 256;
/** The list of a role no span of the trace has (shared; never written: see `SpanIndex.#writable`). */
const NONE = Object.freeze([]) as unknown as SpanRecord[];
/** How many role bits there are (each has its list in the index). */
const ROLE_COUNT = 9;

/** The roles of a span record (read once per record). */
function rolesOf(span: SpanRecord): number {
  const memo = memoOf(span);
  if (memo.roles !== undefined) return memo.roles;
  const type = span.attributes[ATTR_SPAN_TYPE];
  let roles = 0;
  if (type === SPAN_TYPE.session) roles |= SESSION;
  else if (type === SPAN_TYPE.stage) roles |= STAGE;
  // The steps of a session: every span but the session and its stages (markers never get here: the
  // trace holds the running span they announce instead).
  else if (type !== SPAN_TYPE.pending) roles |= STEP;
  if (llmCallFacts(span)) roles |= CALL;
  if (span.events.some((event) => event.name === EVENT_TOKENS) || span.attributes[ATTR_TOKENS_TOTAL] !== undefined) roles |= TOKENS;
  if (span.attributes[ATTR_SESSION_ID] !== undefined) roles |= NAMES_SESSION;
  if (span.parentSpanId === '') roles |= ROOT;
  // A server or consumer span (OTLP kinds 2 and 5): a service's entry into a trace.
  if (span.kind === 2 || span.kind === 5) roles |= ENTRY;
  if (span.limitsHit !== undefined) roles |= LIMITED;
  memo.roles = roles;
  return roles;
}

/** The spans of one trace, in start order (ties by span id), and by what they are to the session. */
export class SpanIndex {
  /** The lists, by role bit: list `i` holds the spans whose roles have bit `i`. */
  // Each list made on its first span: most traces fill four or five of the nine.
  readonly #byRole: SpanRecord[][] = [NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE];
  /**
   * The span that starts first. Every span the index holds is a session span, a stage or a step,
   * so it is the first of one of those lists: no list of every span is kept for it.
   */
  get first(): SpanRecord | undefined {
    return earlier(earlier(this.sessions[0], this.stages[0]), this.steps[0]);
  }
  /** Spans of type `session` (one, unless a sender repeats it under other ids). */
  get sessions(): readonly SpanRecord[] {
    return this.#byRole[0]!;
  }
  /** Spans of type `stage`. */
  get stages(): readonly SpanRecord[] {
    return this.#byRole[1]!;
  }
  /** Model calls (spans with LLM call facts). */
  get calls(): readonly SpanRecord[] {
    return this.#byRole[2]!;
  }
  /** Spans carrying token events or a running token total. */
  get tokens(): readonly SpanRecord[] {
    return this.#byRole[3]!;
  }
  /** Steps: every span but the session and its stages. */
  get steps(): readonly SpanRecord[] {
    return this.#byRole[4]!;
  }
  /** Spans carrying the application's session id. */
  get namingSession(): readonly SpanRecord[] {
    return this.#byRole[5]!;
  }
  /** Spans without a parent. */
  get roots(): readonly SpanRecord[] {
    return this.#byRole[6]!;
  }
  /** Server and consumer spans: where a service entered the trace. */
  get entries(): readonly SpanRecord[] {
    return this.#byRole[7]!;
  }
  /** Spans carrying what limits cut of them. */
  get limited(): readonly SpanRecord[] {
    return this.#byRole[8]!;
  }
  /**
   * Counts changes to where steps hang: a step added, removed or replaced, a stage added or
   * removed or moved or renamed, a parent recorded ({@link SpanIndex.parentsChanged}). A marker
   * that only brings a running stage's progress leaves it as it was.
   */
  #placementVersion = 0;
  /** Counts changes to the calls (added, removed, replaced) and to the parent map. */
  #callsVersion = 0;
  #parentsVersion = 0;
  /** The calls as last summed up, and what for. */
  #calls:
    | { readonly callsVersion: number; readonly parentsVersion: number; readonly prices: ModelPrices; readonly summary: CallsSummary }
    | undefined;
  /** The steps as last derived, and what they were derived for. */
  #steps:
    | { readonly version: number; readonly sessionEndMs: number | null; readonly options: StepOptions; readonly steps: SessionSteps }
    | undefined;

  /** An index of `spans` (any order), made from scratch. */
  static of(spans: Iterable<SpanRecord>): SpanIndex {
    const sorted = [...spans].sort(byStart);
    const index = new SpanIndex();
    // In order already: each list only grows at its end.
    for (const span of sorted) {
      const roles = rolesOf(span);
      for (let bit = 0; bit < ROLE_COUNT; bit++) if (roles & (1 << bit)) index.#writable(bit).push(span);
    }
    return index;
  }

  /** Adds a span in its place. Spans mostly arrive in start order, so mostly at the ends. */
  insert(span: SpanRecord): void {
    const roles = rolesOf(span);
    this.#changing(roles);
    this.#list(span, roles);
  }

  /** Removes a span (the very record). */
  remove(span: SpanRecord): void {
    const roles = rolesOf(span);
    this.#changing(roles);
    this.#unlist(span, roles);
  }

  /** Puts `next` in the place of `previous` (a later version of a span, a fold's new announced span). */
  replace(previous: SpanRecord, next: SpanRecord): void {
    const before = rolesOf(previous);
    const after = rolesOf(next);
    const inPlace = previous.startTimeUnixMs === next.startTimeUnixMs && previous.spanId === next.spanId;
    // A stage places steps by its id, start and name only; a step by everything it is.
    const samePlace = inPlace && (before & STEP) === 0 && (after & STEP) === 0 && stageNameOf(previous) === stageNameOf(next);
    if (!samePlace && ((before | after) & (STEP | STAGE)) !== 0) this.#placementVersion += 1;
    if ((before | after) & CALL) this.#callsVersion += 1;
    if (before === after && inPlace) {
      for (let bit = 0; bit < ROLE_COUNT; bit++) {
        if ((before & (1 << bit)) === 0) continue;
        const list = this.#writable(bit);
        if (!replaceInPlace(list, previous, next)) insertSorted(list, next);
      }
      return;
    }
    this.#unlist(previous, before);
    this.#list(next, after);
  }

  /**
   * Gives each list exactly the room it holds. A list grown by pushes keeps spare slots (V8 gives
   * an array 17 on its first push): about 1 KB a trace, measured on the demo workload, for as long
   * as an ended session keeps its spans. Its ended spans' token batches go too: a late span is the
   * only reason to build the session again, and reading them from the events then is cheap.
   */
  fit(): void {
    for (let bit = 0; bit < ROLE_COUNT; bit++) {
      const list = this.#byRole[bit]!;
      this.#byRole[bit] = list.length === 0 ? NONE : list.slice();
    }
    for (const span of this.tokens) forgetTokensOf(span);
  }

  /** The list of role `bit`, made now if it has none yet. */
  #writable(bit: number): SpanRecord[] {
    let list = this.#byRole[bit]!;
    if (list === NONE) this.#byRole[bit] = list = [];
    return list;
  }

  /** Notes that the trace's parent map changed (steps may hang elsewhere now). */
  parentsChanged(): void {
    this.#placementVersion += 1;
    this.#parentsVersion += 1;
  }

  /**
   * The trace's calls summed up with `prices`: as last summed up when the calls and the parent map
   * (which calls nest in which) did not change since, else `summarize()`'s.
   */
  callsFor(prices: ModelPrices, summarize: () => CallsSummary): CallsSummary {
    const last = this.#calls;
    if (last && last.callsVersion === this.#callsVersion && last.parentsVersion === this.#parentsVersion && last.prices === prices)
      return last.summary;
    const summary = summarize();
    this.#calls = { callsVersion: this.#callsVersion, parentsVersion: this.#parentsVersion, prices, summary };
    return summary;
  }

  /**
   * The steps of the trace for a session ending at `sessionEndMs`: as last derived when nothing
   * they depend on changed since, else `derive()`'s. A batch that brings a running stage's progress
   * or tokens, or a new stage at the end, does not derive the tree of steps again.
   */
  stepsFor(sessionEndMs: number | null, options: StepOptions, derive: () => SessionSteps): SessionSteps {
    const last = this.#steps;
    if (last && last.version === this.#placementVersion && last.sessionEndMs === sessionEndMs && last.options === options)
      return last.steps;
    const steps = derive();
    this.#steps = { version: this.#placementVersion, sessionEndMs, options, steps };
    return steps;
  }

  /** Puts `span` in the list of each of its `roles` (by bit: no array made per span). */
  #list(span: SpanRecord, roles: number): void {
    for (let bit = 0; bit < ROLE_COUNT; bit++) if (roles & (1 << bit)) insertSorted(this.#writable(bit), span);
  }

  /** Takes `span` out of the list of each of its `roles`. */
  #unlist(span: SpanRecord, roles: number): void {
    for (let bit = 0; bit < ROLE_COUNT; bit++) if (roles & (1 << bit)) removeSorted(this.#byRole[bit]!, span);
  }

  /** Notes that a span of `roles` comes or goes: what was derived from its lists is behind. */
  #changing(roles: number): void {
    if (roles & (STEP | STAGE)) this.#placementVersion += 1;
    if (roles & CALL) this.#callsVersion += 1;
  }
}

/** Whichever of two spans starts first (ties by span id); `undefined` only when both are. */
function earlier(a: SpanRecord | undefined, b: SpanRecord | undefined): SpanRecord | undefined {
  if (a === undefined) return b;
  return b !== undefined && byStart(b, a) < 0 ? b : a;
}

/** The stage a stage span names (as `session-steps.ts` reads it); `undefined` for any other span. */
function stageNameOf(span: SpanRecord): string | undefined {
  return span.attributes[ATTR_SPAN_TYPE] === SPAN_TYPE.stage ? (stringAttribute(span.attributes, ATTR_STAGE) ?? span.name) : undefined;
}

/** Where `span` goes in `sorted`: the index of the first span after it. */
function sortedIndexOf(sorted: readonly SpanRecord[], span: SpanRecord): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byStart(sorted[middle]!, span) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function insertSorted(sorted: SpanRecord[], span: SpanRecord): void {
  const last = sorted.at(-1);
  if (last === undefined || byStart(last, span) < 0) sorted.push(span);
  else sorted.splice(sortedIndexOf(sorted, span), 0, span);
}

/** Where the very record `span` is in `sorted`, -1 when it is not. */
function positionOf(sorted: readonly SpanRecord[], span: SpanRecord): number {
  // The binary search lands just past the span while the order holds; the scan is a safety net.
  const after = sortedIndexOf(sorted, span);
  return sorted[after - 1] === span ? after - 1 : sorted.indexOf(span);
}

function removeSorted(sorted: SpanRecord[], span: SpanRecord): void {
  const at = positionOf(sorted, span);
  if (at >= 0) sorted.splice(at, 1);
}

/** Puts `next` where `previous` is (they sort alike); false when `previous` is not there. */
function replaceInPlace(sorted: SpanRecord[], previous: SpanRecord, next: SpanRecord): boolean {
  const at = positionOf(sorted, previous);
  if (at < 0) return false;
  sorted[at] = next;
  return true;
}
