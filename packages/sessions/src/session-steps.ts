/**
 * A session's tree of steps: every span of its trace that is not the session or a stage, with its
 * kind (step-mapping.ts), the step it ran inside and the stage it ran in. Derived from the set of
 * spans like the rest of the session, so the same spans give the same tree in any arrival order.
 */
import { ATTR_STAGE } from '@llm-monitor/semconv';
import { llmCallFacts } from './genai-mapping.js';
import { isoTime } from './attribute-values.js';
import { INPUT_PREVIEW_KEYS, OUTPUT_PREVIEW_KEYS, cutPreview, firstPreview } from './content-previews.js';
import type { StepRecord } from './model.js';
import { memoOf } from './span-memo.js';
import type { SpanMemo } from './span-memo.js';
import type { SpanIndex } from './span-index.js';
import { errorOf, spanOutcome } from './span-outcome.js';
import { stringAttribute } from './span-record.js';
import type { SpanRecord } from './span-record.js';
import { boundedDuration } from './span-values.js';
import { conventionErrorOf, stepFactsOf, stepIdentityOf } from './step-mapping.js';

/** Most steps a session keeps by default (`max_steps_per_session`); the earliest are kept. */
export const MAX_STEPS_PER_SESSION = 1000;

/** How a session's steps are derived. */
export interface StepOptions {
  /** Most steps kept (the earliest by start); the rest are counted in `steps_dropped`. 0: no steps at all. */
  readonly maxSteps: number;
  /** Characters of a step's input and output preview. */
  readonly previewLength: number;
}

/** The steps of a session and how many were left out. */
export interface SessionSteps {
  readonly steps: StepRecord[];
  readonly dropped: number;
}

/**
 * The step of a span as last made (`span-memo.ts`), made again only when where it hangs changed:
 * everything else about a step is its own span's, and a span record never changes. Sessions and
 * their steps are never changed once made, so one record serves every rebuild that leaves it in place.
 */
function stepOf(memo: SpanMemo, span: SpanRecord, previewLength: number, parent: string | null, stage: string | null): StepRecord {
  const last = memo.step;
  if (last !== undefined && memo.stepPreviewLength === previewLength) {
    if (last.parent_span_id === parent && last.stage === stage) return last;
    // Object spread keeps the keys in their order: where it hangs stays second, as in the schema.
    const moved = { ...last, parent_span_id: parent, stage };
    memo.step = moved;
    return moved;
  }
  const identity = stepIdentityOf(span);
  const a = span.attributes;
  // A failure the span's status says, else one its convention says its own way.
  const error = errorOf(span) ?? (span.endTimeUnixMs !== 0 ? conventionErrorOf(span) : null);
  // A model call's previews are its call's (chat messages before a framework's own serialisation).
  const call = llmCallFacts(span);
  const input = call ? call.promptPreview : firstPreview(a, INPUT_PREVIEW_KEYS);
  const output = call ? call.responsePreview : firstPreview(a, OUTPUT_PREVIEW_KEYS);
  const ended = span.endTimeUnixMs !== 0;
  const record: StepRecord = {
    span_id: span.spanId,
    parent_span_id: parent,
    stage,
    kind: identity.kind,
    name: identity.name,
    convention: identity.convention,
    // A call's step says the same times as its call record: the same strings, held once.
    start_time: memo.call?.start_time ?? isoTime(span.startTimeUnixMs),
    end_time: ended ? (memo.call?.end_time ?? isoTime(span.endTimeUnixMs)) : null,
    duration_ms: ended ? boundedDuration(span.endTimeUnixMs - span.startTimeUnixMs) : null,
    status: error !== null ? 'error' : spanOutcome(span),
    error,
    facts: stepFactsOf(span, identity),
    input_preview: input === null ? null : cutPreview(input, previewLength),
    output_preview: output === null ? null : cutPreview(output, previewLength),
  };
  memo.step = record;
  memo.stepPreviewLength = previewLength;
  return record;
}

/** How far up a parent chain is walked: a hostile sender could make it a cycle. */
const MAX_HOPS = 1000;

/**
 * The steps of a trace's spans (its index: stages and steps, each in start order, ties by span id).
 * `parents` maps every span id seen to its parent's, so a step finds its nearest step ancestor even
 * through spans that were not kept. A step known only from its markers has ended when its session
 * has (`sessionEndMs`).
 */
export function deriveSteps(
  index: Pick<SpanIndex, 'stages' | 'steps'>,
  parents: ReadonlyMap<string, string>,
  sessionEndMs: number | null,
  options: StepOptions,
): SessionSteps {
  // No tree at all (`max_steps_per_session: 0`): nothing is left out, as nothing is listed.
  if (options.maxSteps === 0) return { steps: [], dropped: 0 };
  const stageNames = new Map<string, string>();
  const stageStarts: number[] = [];
  const stageIds: string[] = [];
  for (const span of index.stages) {
    const stage = stringAttribute(span.attributes, ATTR_STAGE) ?? span.name;
    stageNames.set(span.spanId, stage);
    stageStarts.push(span.startTimeUnixMs);
    stageIds.push(stage);
  }
  const stepSpans = index.steps;
  const kept = stepSpans.length > options.maxSteps ? stepSpans.slice(0, options.maxSteps) : stepSpans;
  const count = kept.length;
  const indexOf = new Map<string, number>();
  for (let index = 0; index < count; index += 1) indexOf.set(kept[index]!.spanId, index);

  /**
   * The stage running when `startMs` came: the last to start at or before it (spans come in start
   * order). A binary search: a trace may hold thousands of stage spans, and every step asks.
   */
  const stageAt = (startMs: number): string | null => {
    let low = 0;
    let high = stageStarts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (stageStarts[middle]! <= startMs) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? null : stageIds[low - 1]!;
  };

  // Where each step hangs: the index of its parent step (-1: none), and its stage.
  const UNPLACED = -2;
  const parentOf = new Int32Array(count).fill(UNPLACED);
  const stageOf: (string | null)[] = new Array<string | null>(count).fill(null);
  const placing = new Uint8Array(count);
  /** Places step `index` under the nearest step above it, inheriting that step's stage, else under the stage above it, else the stage running at its start. */
  const place = (index: number): void => {
    if (parentOf[index] !== UNPLACED) return;
    placing[index] = 1;
    const span = kept[index]!;
    let parent = -1;
    let stage: string | null | undefined;
    let ancestor = span.parentSpanId;
    for (let hops = 0; ancestor && hops < MAX_HOPS; hops += 1) {
      const step = indexOf.get(ancestor);
      if (step !== undefined) {
        // A cycle of parents (hostile input) ends the walk without a parent.
        if (placing[step] === 1) break;
        place(step);
        parent = step;
        stage = stageOf[step];
        break;
      }
      stage = stageNames.get(ancestor);
      if (stage !== undefined) break;
      ancestor = parents.get(ancestor) ?? '';
    }
    parentOf[index] = parent;
    stageOf[index] = stage ?? stageAt(span.startTimeUnixMs);
    placing[index] = 0;
  };

  const steps: StepRecord[] = new Array<StepRecord>(count);
  for (let index = 0; index < count; index += 1) {
    const span = kept[index]!;
    place(index);
    const parent = parentOf[index]! < 0 ? null : kept[parentOf[index]!]!.spanId;
    let step = stepOf(memoOf(span), span, options.previewLength, parent, stageOf[index]!);
    if (span.endTimeUnixMs === 0 && sessionEndMs !== null) {
      // Known only from its marker: it has ended by the time its session has.
      step = { ...step, end_time: isoTime(sessionEndMs), duration_ms: boundedDuration(sessionEndMs - span.startTimeUnixMs), status: 'ok' };
    }
    steps[index] = step;
  }
  sortParentsFirst(steps, kept, parentOf);
  return { steps, dropped: stepSpans.length - count };
}

/**
 * Steps come in start order; among steps that started in the same millisecond (SDKs record starts to
 * the millisecond), a step comes after the step it ran in. `kept` and `parentOf` are in the steps' order.
 */
function sortParentsFirst(steps: StepRecord[], kept: readonly SpanRecord[], parentOf: Int32Array): void {
  // Only a step listed before the step it ran in needs the sort (ties broken by span id put it there).
  let misplaced = false;
  for (let index = 0; index < kept.length && !misplaced; index += 1) misplaced = parentOf[index]! > index;
  if (!misplaced) return;
  const depth = new Int32Array(kept.length);
  const depthOf = (index: number): number => {
    if (depth[index]! > 0) return depth[index]!;
    // Parents were placed without cycles, so this walk ends.
    const parent = parentOf[index]!;
    depth[index] = parent < 0 ? 1 : depthOf(parent) + 1;
    return depth[index]!;
  };
  const order = Array.from(kept.keys()).sort(
    (a, b) => kept[a]!.startTimeUnixMs - kept[b]!.startTimeUnixMs || depthOf(a) - depthOf(b) || a - b,
  );
  const sorted = order.map((index) => steps[index]!);
  for (let index = 0; index < sorted.length; index += 1) steps[index] = sorted[index]!;
}
