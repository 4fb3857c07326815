/**
 * The session page's tree of stages and steps, as data: which node sits under which, each node's
 * place on the session's time axis, what its collapsed subtree holds (steps, errors, fallbacks), and
 * which rows show for a given expand/collapse state. Pure (no DOM), so it is tested in Node; the
 * view (views/step-tree-view.ts) draws the rows and keeps the user's state across live updates.
 */
import type { LlmCallRecord, ProcessingSession, StageRecord, StepRecord } from '@llm-monitor/client';

/** What a row is: a stage, or a step of one of the step kinds. */
export type NodeKind = 'stage' | StepRecord['kind'];

/** One node of the tree: a stage or a step, with its children in start order. */
export interface TreeNode {
  /** Stable across live updates: `stage:<name>@<start>` or `step:<span id>`. */
  readonly id: string;
  readonly type: 'stage' | 'step';
  readonly kind: NodeKind;
  readonly name: string;
  /** A short qualifier shown after the name: the collection searched, the model called or chosen, the tool. */
  readonly hint: string | null;
  /** Milliseconds from the session's start. */
  readonly startMs: number;
  /** Milliseconds from the session's start; `null` while it runs. */
  readonly endMs: number | null;
  readonly durationMs: number | null;
  readonly status: 'running' | 'ok' | 'error';
  readonly error: string | null;
  /** Models that failed before a model selection's choice (0 for other steps). */
  readonly fallbacks: number;
  /** It ran at the same time as one of its siblings. */
  parallel: boolean;
  /** 0 for the top level. */
  readonly depth: number;
  readonly children: TreeNode[];
  /** Nodes below it, at any depth. */
  descendants: number;
  /** Nodes below it that failed. */
  errorsInside: number;
  /** Model selections below it that fell back. */
  fallbacksInside: number;
  readonly step: StepRecord | null;
  readonly stage: StageRecord | null;
}

/** The whole tree of a session. */
export interface StepTree {
  readonly roots: TreeNode[];
  /** Every node by id. */
  readonly byId: ReadonlyMap<string, TreeNode>;
  /** Milliseconds the time axis spans: the session's duration, or up to `now` while it runs. */
  readonly axisMs: number;
  readonly steps: number;
  readonly stepsDropped: number;
}

/** A node drawn as a row. */
export interface NodeRow {
  readonly type: 'node';
  readonly key: string;
  readonly node: TreeNode;
  readonly expanded: boolean;
}

/** The row in place of the children not shown yet: "N more steps". */
export interface MoreRow {
  readonly type: 'more';
  readonly key: string;
  /** The node whose children these are; `null` for the top level. */
  readonly parentId: string | null;
  readonly depth: number;
  readonly hidden: number;
  /** Errors among (and below) the hidden ones. */
  readonly hiddenErrors: number;
}

/** The details of the selected node, right under its row. */
export interface DetailsRow {
  readonly type: 'details';
  readonly key: string;
  readonly node: TreeNode;
}

export type TreeRow = NodeRow | MoreRow | DetailsRow;

/** Which rows show: decided by the user, else by {@link expandedByDefault} when a node is first drawn. */
export interface TreeViewState {
  /** Expanded or not, per node id; a node with children not in it gets its default and is added. */
  readonly expanded: Map<string, boolean>;
  /** Children shown per parent id (`''` for the top level) beyond the first page. */
  readonly shown: Map<string, number>;
  /** The node whose details are open. */
  selected: string | null;
}

/** Children shown at first under an expanded node, and added by each "show more". */
export const CHILD_PAGE = 50;
/** Top-level rows shown at first. */
export const ROOT_PAGE = 100;
/** A node with more children than this starts collapsed. */
export const MANY_CHILDREN = 20;
/** Nodes at this depth and deeper start collapsed. */
export const COLLAPSED_DEPTH = 2;

/** Whether a node starts expanded: shallow ones with a readable number of children. */
export function expandedByDefault(node: TreeNode): boolean {
  return node.depth < COLLAPSED_DEPTH && node.children.length <= MANY_CHILDREN;
}

/** How each kind reads on its badge. */
export const KIND_LABELS: Readonly<Record<NodeKind, string>> = {
  stage: 'stage',
  chain: 'chain',
  retrieval: 'retrieval',
  rerank: 'rerank',
  template: 'template',
  model_selection: 'model selection',
  embedding: 'embedding',
  vector_search: 'vector search',
  tool_call: 'tool',
  llm_call: 'LLM call',
  agent: 'agent',
  other: 'span',
};

/** A kind the page knows, else `other` (the kind also names a CSS class). */
export function knownKind(kind: string): NodeKind {
  return Object.prototype.hasOwnProperty.call(KIND_LABELS, kind) ? (kind as NodeKind) : 'other';
}

function timeOf(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** The hint of a step, unless its name already says it. */
function hintOf(step: StepRecord): string | null {
  const hint = rawHintOf(step);
  return hint && !step.name.includes(hint.replace(/^→ /, '')) ? hint : null;
}

function rawHintOf(step: StepRecord): string | null {
  const facts = step.facts ?? {};
  switch (step.kind) {
    case 'vector_search':
    case 'retrieval':
      return facts.collection ?? facts.store ?? null;
    case 'model_selection':
      return facts.chosen_model ? `→ ${facts.chosen_model}` : null;
    case 'tool_call':
      return facts.tool_name ?? null;
    case 'agent':
      return facts.agent_name ?? null;
    case 'template': {
      const version = facts.template_version ? `v${facts.template_version}` : '';
      if (!facts.template_id || step.name.includes(facts.template_id)) return version || null;
      return `${facts.template_id} ${version}`.trim();
    }
    case 'llm_call':
    case 'embedding':
      return facts.model ?? null;
    default:
      return facts.branch ? `branch ${facts.branch}` : null;
  }
}

/** A step for an LLM call that has none (a session stored before steps existed). */
function stepOfCall(call: LlmCallRecord): StepRecord {
  const model = call.response_model ?? call.request_model;
  return {
    span_id: call.span_id,
    parent_span_id: null,
    stage: null,
    kind: 'llm_call',
    name: `${call.operation} ${model ?? ''}`.trim(),
    convention: 'gen_ai',
    start_time: call.start_time,
    end_time: call.end_time,
    duration_ms: call.duration_ms,
    status: call.status,
    error: call.error,
    facts: { ...(model ? { model } : {}), ...(call.provider ? { provider: call.provider } : {}) },
    input_preview: call.prompt_preview,
    output_preview: call.response_preview,
  };
}

/** A status the page draws: `running`, `error`, else `ok`. */
function statusOf(status: string): TreeNode['status'] {
  return status === 'running' || status === 'error' ? status : 'ok';
}

interface Draft {
  id: string;
  type: 'stage' | 'step';
  step: StepRecord | null;
  stage: StageRecord | null;
  startMs: number;
  endMs: number | null;
  parent: Draft | null;
  children: Draft[];
}

/** Marks the siblings that overlap in time (`parallel`); `siblings` are in start order. */
function markParallel(siblings: TreeNode[], axisMs: number): void {
  let latestEnd = -Infinity;
  let latest: TreeNode | undefined;
  for (const node of siblings) {
    if (node.type !== 'step') continue;
    const end = node.endMs ?? axisMs;
    if (latest && node.startMs < latestEnd) {
      node.parallel = true;
      latest.parallel = true;
    }
    if (end > latestEnd) {
      latestEnd = end;
      latest = node;
    }
  }
}

/**
 * The tree of `session`: stages in time order at the top (for a session without stages, the steps
 * that ran inside no other step), each step under the step it ran inside, else under the stage it
 * ran in (the one of that name whose time span holds its start). `now` ends the axis of a running session.
 */
export function buildStepTree(session: ProcessingSession, now: number): StepTree {
  const sessionStart = timeOf(session.start_time) ?? now;
  const sessionEnd = timeOf(session.end_time) ?? (session.status === 'active' ? now : null);
  const relative = (ms: number | null): number | null => (ms === null ? null : ms - sessionStart);

  const steps: StepRecord[] = Array.isArray(session.steps) ? [...session.steps] : [];
  // A session stored before steps existed still shows its calls (not one whose steps were cut).
  if (steps.length === 0 && !(Number(session.steps_dropped) > 0)) for (const call of session.llm_calls ?? []) steps.push(stepOfCall(call));

  // Stages, in start order, with an id that stays the same as the session grows.
  const stageDrafts: Draft[] = [];
  const usedIds = new Set<string>();
  const uniqueId = (id: string): string => {
    let unique = id;
    for (let copy = 2; usedIds.has(unique); copy += 1) unique = `${id}#${copy}`;
    usedIds.add(unique);
    return unique;
  };
  const stages = [...(session.stages ?? [])].sort((a, b) => (timeOf(a.start_time) ?? 0) - (timeOf(b.start_time) ?? 0));
  for (const stage of stages) {
    const start = timeOf(stage.start_time) ?? sessionStart;
    stageDrafts.push({
      id: uniqueId(`stage:${stage.stage}@${stage.start_time}`),
      type: 'stage',
      step: null,
      stage,
      startMs: start - sessionStart,
      endMs: relative(timeOf(stage.end_time)),
      parent: null,
      children: [],
    });
  }
  const stagesByName = new Map<string, Draft[]>();
  for (const draft of stageDrafts) {
    const named = stagesByName.get(draft.stage!.stage);
    if (named) named.push(draft);
    else stagesByName.set(draft.stage!.stage, [draft]);
  }

  const stepDrafts: Draft[] = [];
  const bySpan = new Map<string, Draft>();
  for (const step of steps) {
    const start = timeOf(step.start_time) ?? sessionStart;
    const draft: Draft = {
      id: uniqueId(`step:${step.span_id}`),
      type: 'step',
      step,
      stage: null,
      startMs: start - sessionStart,
      endMs: relative(timeOf(step.end_time)),
      parent: null,
      children: [],
    };
    stepDrafts.push(draft);
    if (!bySpan.has(step.span_id)) bySpan.set(step.span_id, draft);
  }
  stepDrafts.sort((a, b) => a.startMs - b.startMs);

  /** The stage a top step ran in: of its stage's name, the one whose span holds its start. */
  const stageFor = (draft: Draft): Draft | null => {
    if (stageDrafts.length === 0) return null;
    const at = draft.startMs;
    const named = draft.step!.stage === null ? undefined : stagesByName.get(draft.step!.stage);
    const pick = (candidates: readonly Draft[]): Draft | null => {
      let before: Draft | null = null;
      for (const candidate of candidates) {
        if (candidate.startMs <= at && (candidate.endMs === null || at <= candidate.endMs)) return candidate;
        if (candidate.startMs <= at) before = candidate;
      }
      return before;
    };
    if (named) return pick(named) ?? named[0]!;
    return pick(stageDrafts);
  };

  // Parents: the step it ran inside, else its stage, else the top level.
  const roots: Draft[] = [...stageDrafts];
  for (const draft of stepDrafts) {
    const parentId = draft.step!.parent_span_id;
    const parent = parentId === null ? undefined : bySpan.get(parentId);
    if (parent && parent !== draft) {
      draft.parent = parent;
      parent.children.push(draft);
    }
  }
  // A hostile sender can make parents a cycle: steps no top node reaches become top steps themselves.
  const reached = new Set<Draft>();
  const reach = (start: Draft): void => {
    const stack = [start];
    while (stack.length > 0) {
      const draft = stack.pop()!;
      if (reached.has(draft)) continue;
      reached.add(draft);
      for (const child of draft.children) stack.push(child);
    }
  };
  for (const draft of stepDrafts) if (draft.parent === null) reach(draft);
  for (const draft of stepDrafts) {
    if (reached.has(draft)) continue;
    const parent = draft.parent!;
    parent.children.splice(parent.children.indexOf(draft), 1);
    draft.parent = null;
    reach(draft);
  }
  for (const draft of stepDrafts) {
    if (draft.parent !== null) continue;
    const stage = stageFor(draft);
    if (stage) stage.children.push(draft);
    else roots.push(draft);
  }
  roots.sort((a, b) => a.startMs - b.startMs);

  const axisEnd =
    sessionEnd === null
      ? Math.max(0, ...stepDrafts.map((draft) => draft.endMs ?? draft.startMs), ...stageDrafts.map((draft) => draft.endMs ?? draft.startMs))
      : sessionEnd - sessionStart;
  const axisMs = Math.max(1, axisEnd);

  const byId = new Map<string, TreeNode>();
  const finish = (draft: Draft, depth: number): TreeNode => {
    const step = draft.step;
    const stage = draft.stage;
    const children = draft.children.sort((a, b) => a.startMs - b.startMs).map((child) => finish(child, depth + 1));
    const fallbacks = step?.kind === 'model_selection' && Array.isArray(step.facts?.fallbacks) ? step.facts.fallbacks.length : 0;
    const node: TreeNode = {
      id: draft.id,
      type: draft.type,
      kind: step ? knownKind(step.kind) : 'stage',
      name: step ? step.name : stage!.stage.replace(/_/g, ' '),
      hint: step ? hintOf(step) : null,
      startMs: draft.startMs,
      endMs: draft.endMs,
      durationMs: (step ?? stage)!.duration_ms,
      status: statusOf((step ?? stage)!.status),
      error: (step ?? stage)!.error,
      fallbacks,
      parallel: false,
      depth,
      children,
      descendants: children.reduce((sum, child) => sum + 1 + child.descendants, 0),
      errorsInside: children.reduce((sum, child) => sum + (child.status === 'error' ? 1 : 0) + child.errorsInside, 0),
      fallbacksInside: children.reduce((sum, child) => sum + (child.fallbacks > 0 ? 1 : 0) + child.fallbacksInside, 0),
      step,
      stage,
    };
    markParallel(children, axisMs);
    byId.set(node.id, node);
    return node;
  };
  const rootNodes = roots.map((draft) => finish(draft, 0));
  markParallel(rootNodes, axisMs);
  return { roots: rootNodes, byId, axisMs, steps: stepDrafts.length, stepsDropped: Math.max(0, Number(session.steps_dropped) || 0) };
}

/**
 * The rows to draw for `tree` under `state`, in order: each node, then its details when selected,
 * then (when expanded) a page of its children and a "more" row for the rest. Records the default
 * expansion of each node with children drawn for the first time, so it does not change as the node grows.
 */
export function visibleRows(tree: StepTree, state: TreeViewState): TreeRow[] {
  const rows: TreeRow[] = [];
  const add = (nodes: readonly TreeNode[], parentId: string | null, depth: number): void => {
    const page = parentId === null ? ROOT_PAGE : CHILD_PAGE;
    const limit = Math.min(nodes.length, state.shown.get(parentId ?? '') ?? page);
    for (let index = 0; index < limit; index += 1) {
      const node = nodes[index]!;
      let expanded = false;
      if (node.children.length > 0) {
        let decided = state.expanded.get(node.id);
        if (decided === undefined) {
          decided = expandedByDefault(node);
          state.expanded.set(node.id, decided);
        }
        expanded = decided;
      }
      rows.push({ type: 'node', key: node.id, node, expanded });
      if (state.selected === node.id) rows.push({ type: 'details', key: `details:${node.id}`, node });
      if (expanded) add(node.children, node.id, depth + 1);
    }
    if (limit < nodes.length) {
      let hiddenErrors = 0;
      for (let index = limit; index < nodes.length; index += 1)
        hiddenErrors += (nodes[index]!.status === 'error' ? 1 : 0) + nodes[index]!.errorsInside;
      rows.push({ type: 'more', key: `more:${parentId ?? ''}`, parentId, depth, hidden: nodes.length - limit, hiddenErrors });
    }
  };
  add(tree.roots, null, 0);
  return rows;
}

/** Shows the next page of `parentId`'s children (`null`: the top level). */
export function showMore(state: TreeViewState, parentId: string | null): void {
  const key = parentId ?? '';
  state.shown.set(key, (state.shown.get(key) ?? (parentId === null ? ROOT_PAGE : CHILD_PAGE)) + CHILD_PAGE);
}

/** Expands (or collapses) every node with children. */
export function setAllExpanded(tree: StepTree, state: TreeViewState, expanded: boolean): void {
  for (const node of tree.byId.values()) if (node.children.length > 0) state.expanded.set(node.id, expanded);
}

const FACT_LABELS: Readonly<Record<string, string>> = {
  store: 'Store',
  collection: 'Collection',
  operation: 'Operation',
  top_k: 'Top k',
  result_count: 'Results',
  scores: 'Scores',
  template_id: 'Template',
  template_version: 'Template version',
  template_variables: 'Variables',
  candidates: 'Candidates',
  chosen_model: 'Chosen model',
  selection_reason: 'Reason',
  branch: 'Branch',
  tool_name: 'Tool',
  tool_call_id: 'Tool call id',
  agent_name: 'Agent',
  model: 'Model',
  provider: 'Provider',
  input_tokens: 'Input tokens',
  output_tokens: 'Output tokens',
  dimensions: 'Dimensions',
  input_count: 'Texts embedded',
};

function factText(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return key === 'input_tokens' || key === 'output_tokens' ? value.toLocaleString('en-US') : String(value);
  if (Array.isArray(value)) {
    if (key === 'scores') return value.map((score) => (typeof score === 'number' ? score.toFixed(3) : String(score))).join(', ');
    if (key === 'candidates') return value.map(String).join(' → ');
    return value.map((item) => (typeof item === 'string' || typeof item === 'number' ? String(item) : JSON.stringify(item))).join(', ');
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A step's facts as label and text, in a fixed order (facts the page does not know come last, by
 * their own name); the fallbacks are left out: the details show them on their own.
 */
export function factEntries(facts: StepRecord['facts'] | null | undefined): [string, string][] {
  if (!facts || typeof facts !== 'object') return [];
  const entries: [string, string][] = [];
  const record = facts as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(FACT_LABELS))
    if (Object.prototype.hasOwnProperty.call(record, key) && record[key] !== undefined && record[key] !== null)
      entries.push([FACT_LABELS[key]!, factText(key, record[key])]);
  for (const key of Object.keys(record)) {
    if (key === 'fallbacks' || Object.prototype.hasOwnProperty.call(FACT_LABELS, key) || record[key] === undefined || record[key] === null)
      continue;
    entries.push([key.replace(/_/g, ' '), factText(key, record[key])]);
  }
  return entries;
}
