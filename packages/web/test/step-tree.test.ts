import { describe, expect, it } from 'vitest';
import type { LlmCallRecord, ProcessingSession, StageRecord, StepRecord } from '@llm-monitor/client';
import {
  CHILD_PAGE,
  MANY_CHILDREN,
  ROOT_PAGE,
  buildStepTree,
  factEntries,
  setAllExpanded,
  showMore,
  visibleRows,
} from '../src/step-tree.js';
import type { StepTree, TreeNode, TreeRow, TreeViewState } from '../src/step-tree.js';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function stage(name: string, start: number, end: number | null, overrides: Partial<StageRecord> = {}): StageRecord {
  return {
    stage: name,
    start_time: at(start),
    end_time: end === null ? null : at(end),
    duration_ms: end === null ? null : end - start,
    message: '',
    progress: 0,
    status: end === null ? 'running' : 'ok',
    error: null,
    metadata: {},
    ...overrides,
  };
}

function step(
  id: string,
  parent: string | null,
  stageName: string | null,
  kind: StepRecord['kind'],
  start: number,
  end: number | null,
  overrides: Partial<StepRecord> = {},
): StepRecord {
  return {
    span_id: id,
    parent_span_id: parent,
    stage: stageName,
    kind,
    name: id,
    convention: 'llm_monitor',
    start_time: at(start),
    end_time: end === null ? null : at(end),
    duration_ms: end === null ? null : end - start,
    status: end === null ? 'running' : 'ok',
    error: null,
    facts: {},
    input_preview: null,
    output_preview: null,
    ...overrides,
  };
}

function session(stages: StageRecord[], steps: StepRecord[], overrides: Partial<ProcessingSession> = {}): ProcessingSession {
  return {
    session_id: 's',
    start_time: at(0),
    end_time: at(1000),
    duration_ms: 1000,
    status: 'completed',
    stages,
    steps,
    steps_dropped: 0,
    llm_calls: [],
    ...overrides,
  } as ProcessingSession;
}

function newState(): TreeViewState {
  return { expanded: new Map(), shown: new Map(), selected: null };
}

function shape(nodes: readonly TreeNode[]): unknown[] {
  return nodes.map((node) => (node.children.length === 0 ? node.name : { [node.name]: shape(node.children) }));
}

function names(rows: readonly TreeRow[]): string[] {
  return rows.map((row) => (row.type === 'node' ? row.node.name : row.type === 'more' ? `+${row.hidden}` : `details:${row.node.name}`));
}

/** The demo's story: a retrieval chain with parallel searches and a nested rerank, a template, a model selection with a fallback, a call. */
function demoSession(): ProcessingSession {
  return session(
    [
      stage('initializing', 0, 50),
      stage('resolving_template', 50, 400),
      stage('selecting_model', 400, 500),
      stage('sending_request', 500, 1000),
    ],
    [
      step('retrieve_context', null, 'resolving_template', 'retrieval', 60, 300),
      step('embed', 'retrieve_context', 'resolving_template', 'embedding', 61, 100, {
        facts: { model: 'text-embedding-3-small', input_count: 1 },
      }),
      step('search docs', 'retrieve_context', 'resolving_template', 'vector_search', 101, 200, {
        facts: { store: 'qdrant', collection: 'docs', top_k: 4, result_count: 4, scores: [0.91, 0.8] },
      }),
      step('search faq', 'retrieve_context', 'resolving_template', 'vector_search', 102, 180, {
        facts: { store: 'qdrant', collection: 'faq', top_k: 2, result_count: 0 },
      }),
      step('rerank', 'retrieve_context', 'resolving_template', 'rerank', 201, 290),
      step('template', null, 'resolving_template', 'template', 300, 390, { facts: { template_id: 'qa', template_version: '3' } }),
      step('select', null, 'selecting_model', 'model_selection', 410, 490, {
        facts: { candidates: ['a', 'b'], chosen_model: 'a', fallbacks: [{ model: 'b', error: '503' }] },
      }),
      step('chat a', null, 'sending_request', 'llm_call', 510, 990, { status: 'error', error: 'timeout' }),
    ],
  );
}

describe('the tree of stages and steps', () => {
  it('puts steps under the step they ran in, else under their stage, in time order', () => {
    const tree = buildStepTree(demoSession(), T0 + 2000);
    expect(shape(tree.roots)).toEqual([
      'initializing',
      { 'resolving template': [{ retrieve_context: ['embed', 'search docs', 'search faq', 'rerank'] }, 'template'] },
      { 'selecting model': ['select'] },
      { 'sending request': ['chat a'] },
    ]);
    expect(tree.axisMs).toBe(1000);
    expect(tree.steps).toBe(8);
    const retrieve = tree.byId.get('step:retrieve_context')!;
    expect(retrieve).toMatchObject({ depth: 1, descendants: 4, kind: 'retrieval', hint: null });
    // The two searches overlap in time: both are marked parallel; the embedding before them is not.
    expect(retrieve.children.map((node) => [node.name, node.parallel])).toEqual([
      ['embed', false],
      ['search docs', true],
      ['search faq', true],
      ['rerank', false],
    ]);
    // A hint says what the name does not: the embedding's model; not the collection a name already holds.
    expect(tree.byId.get('step:embed')!.hint).toBe('text-embedding-3-small');
    expect(tree.byId.get('step:search faq')!.hint).toBeNull();
    const select = tree.byId.get('step:select')!;
    expect(select).toMatchObject({ fallbacks: 1, hint: '→ a' });
    const selecting = tree.roots[2]!;
    expect(selecting).toMatchObject({ type: 'stage', fallbacksInside: 1, errorsInside: 0 });
    expect(tree.roots[3]).toMatchObject({ errorsInside: 1 });
  });

  it('places a step in the stage of its name whose time holds its start, when a stage runs twice', () => {
    const tree = buildStepTree(
      session(
        [stage('retry', 0, 100), stage('other', 100, 200), stage('retry', 200, 300)],
        [
          step('late', null, 'retry', 'tool_call', 250, 260),
          step('early', null, 'retry', 'tool_call', 10, 20),
          step('unnamed', null, null, 'other', 150, 160),
        ],
      ),
      T0,
    );
    expect(shape(tree.roots)).toEqual([{ retry: ['early'] }, { other: ['unnamed'] }, { retry: ['late'] }]);
    expect(new Set(tree.roots.map((node) => node.id)).size).toBe(3);
  });

  it('makes the top steps the top level of a session without stages, and survives parent cycles', () => {
    const tree = buildStepTree(
      session(
        [],
        [
          step('root', null, null, 'chain', 0, 100),
          step('a', 'b', null, 'other', 10, 20),
          step('b', 'a', null, 'other', 11, 20),
          step('child', 'root', null, 'llm_call', 5, 50),
          step('orphan', 'gone', null, 'tool_call', 60, 70),
        ],
      ),
      T0,
    );
    expect(shape(tree.roots)).toEqual([{ root: ['child'] }, { a: ['b'] }, 'orphan']);
    expect(tree.byId.size).toBe(5);
  });

  it('runs the axis of a running session up to now, and shows LLM calls that have no step', () => {
    const call = {
      span_id: 'c1',
      operation: 'chat',
      provider: 'openai',
      request_model: 'gpt-4o-mini',
      response_model: null,
      start_time: at(100),
      end_time: null,
      duration_ms: null,
      status: 'running',
      error: null,
      prompt_preview: 'hi',
      response_preview: null,
    } as LlmCallRecord;
    const tree = buildStepTree(
      session([stage('streaming_response', 0, null)], [], { status: 'active', end_time: null, duration_ms: null, llm_calls: [call] }),
      T0 + 1500,
    );
    expect(tree.axisMs).toBe(1500);
    expect(shape(tree.roots)).toEqual([{ 'streaming response': ['chat gpt-4o-mini'] }]);
    expect(tree.byId.get('step:c1')).toMatchObject({ kind: 'llm_call', status: 'running', endMs: null });
  });
});

describe('the rows the tree shows', () => {
  it('expands the first two levels, collapses deeper ones, and keeps what it decided as nodes grow', () => {
    const deep = session(
      [stage('work', 0, 1000)],
      [
        step('outer', null, 'work', 'chain', 0, 900),
        step('inner', 'outer', 'work', 'chain', 10, 800),
        step('leaf', 'inner', 'work', 'other', 20, 30),
      ],
    );
    const state = newState();
    expect(names(visibleRows(buildStepTree(deep, T0), state))).toEqual(['work', 'outer', 'inner']);
    state.expanded.set('step:inner', true);
    state.selected = 'step:leaf';
    expect(names(visibleRows(buildStepTree(deep, T0), state))).toEqual(['work', 'outer', 'inner', 'leaf', 'details:leaf']);

    // A node first seen with few children stays expanded when many more arrive.
    const few = session(
      [stage('work', 0, 1000)],
      [step('agent', null, 'work', 'agent', 0, 900), step('s0', 'agent', 'work', 'tool_call', 1, 2)],
    );
    const growing = newState();
    visibleRows(buildStepTree(few, T0), growing);
    const many = session(
      [stage('work', 0, 1000)],
      [
        step('agent', null, 'work', 'agent', 0, 900),
        ...Array.from({ length: 80 }, (_, index) => step(`s${index}`, 'agent', 'work', 'tool_call', 1 + index, 2 + index)),
      ],
    );
    expect(visibleRows(buildStepTree(many, T0), growing)).toHaveLength(1 + 1 + CHILD_PAGE + 1);
    // Seen for the first time with that many children, it starts collapsed.
    expect(names(visibleRows(buildStepTree(many, T0), newState()))).toEqual(['work', 'agent']);
  });

  it('shows long lists a page at a time, with a row that counts the rest and their errors', () => {
    const count = MANY_CHILDREN + CHILD_PAGE + 10;
    const wide = session(
      [stage('work', 0, 1000)],
      [
        step('agent', null, 'work', 'agent', 0, 900),
        ...Array.from({ length: count }, (_, index) =>
          step(
            `s${index}`,
            'agent',
            'work',
            'tool_call',
            1 + index,
            2 + index,
            index === count - 1 ? { status: 'error', error: 'boom' } : {},
          ),
        ),
      ],
    );
    const tree: StepTree = buildStepTree(wide, T0);
    const state = newState();
    expect(tree.byId.get('step:agent')).toMatchObject({ descendants: count, errorsInside: 1 });
    state.expanded.set('step:agent', true);
    let rows = visibleRows(tree, state);
    expect(rows.at(-1)).toMatchObject({ type: 'more', parentId: 'step:agent', hidden: count - CHILD_PAGE, hiddenErrors: 1, depth: 2 });
    showMore(state, 'step:agent');
    rows = visibleRows(tree, state);
    expect(rows.filter((row) => row.type === 'node')).toHaveLength(2 + count);
    expect(rows.some((row) => row.type === 'more')).toBe(false);

    setAllExpanded(tree, state, false);
    expect(names(visibleRows(tree, state))).toEqual(['work']);
  });

  it('pages the top level of a session of many top steps', () => {
    const flat = session(
      [],
      Array.from({ length: ROOT_PAGE + 5 }, (_, index) => step(`s${index}`, null, null, 'other', index, index + 1)),
    );
    const rows = visibleRows(buildStepTree(flat, T0), newState());
    expect(rows).toHaveLength(ROOT_PAGE + 1);
    expect(rows.at(-1)).toMatchObject({ type: 'more', parentId: null, hidden: 5 });
  });
});

describe('the facts of a step', () => {
  it('come in a fixed order with readable labels; unknown facts last; fallbacks apart', () => {
    expect(
      factEntries({
        scores: [0.91234, 0.5],
        collection: 'docs',
        store: 'qdrant',
        fallbacks: [{ model: 'b', error: 'x' }],
        input_tokens: 12345,
        candidates: ['a', 'b'],
        future_fact: { x: 1 },
      } as never),
    ).toEqual([
      ['Store', 'qdrant'],
      ['Collection', 'docs'],
      ['Scores', '0.912, 0.500'],
      ['Candidates', 'a → b'],
      ['Input tokens', '12,345'],
      ['future fact', '{"x":1}'],
    ]);
    expect(factEntries(undefined)).toEqual([]);
  });
});
