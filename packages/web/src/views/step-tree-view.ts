/**
 * The session's stages and steps as a collapsible tree on the session's time axis. Rows are drawn
 * from the pure model (../step-tree.ts) and kept by id: a live update changes only the rows whose
 * content changed, adds new ones and drops the ones gone, so what the reader expanded, the details
 * they opened and the button they focused survive it. Collapsed subtrees are not drawn at all, and
 * long lists of children come a page at a time, so a session of hundreds of steps stays light.
 */
import type { LlmCallRecord, ProcessingSession } from '@llm-monitor/client';
import { costUsd } from '@llm-monitor/sessions';
import type { ModelPrices } from '@llm-monitor/sessions';
import { h, replaceChildren } from '../dom.js';
import { formatClock, formatCount, formatDuration, formatUsd } from '../format.js';
import { CHILD_PAGE, KIND_LABELS, buildStepTree, factEntries, setAllExpanded, showMore, visibleRows } from '../step-tree.js';
import type { DetailsRow, MoreRow, StepTree, TreeNode, TreeRow, TreeViewState } from '../step-tree.js';

const STATUS_TEXT: Readonly<Record<TreeNode['status'], string>> = { running: '● running', ok: '✓ ok', error: '✕ error' };

function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/** Where a bar sits: milliseconds from the session start, held inside the axis. */
function barPlace(node: TreeNode, axisMs: number): { start: string; length: string } {
  const start = Math.min(Math.max(0, node.startMs), axisMs);
  const end = Math.min(Math.max(start, node.endMs ?? axisMs), axisMs);
  return { start: start.toFixed(1), length: (end - start).toFixed(1) };
}

function durationText(node: TreeNode, axisMs: number): string {
  if (node.durationMs !== null) return node.durationMs < 0.5 ? '<1 ms' : formatDuration(node.durationMs);
  if (node.status === 'running') return formatDuration(Math.max(0, axisMs - node.startMs));
  return '–';
}

/** One node's row; its parts are changed in place, never rebuilt, so focus stays on its buttons. */
class NodeRowView {
  readonly element: HTMLLIElement;
  readonly #toggle: HTMLButtonElement;
  readonly #badge: HTMLSpanElement;
  readonly #name: HTMLButtonElement;
  readonly #nameText: HTMLSpanElement;
  readonly #hint: HTMLSpanElement;
  readonly #flags: HTMLSpanElement;
  readonly #markers: HTMLSpanElement;
  readonly #bar: HTMLSpanElement;
  readonly #duration: HTMLSpanElement;
  readonly #status: HTMLSpanElement;
  #shown = '';
  #markersShown = '';

  constructor(id: string, actions: { toggle(id: string): void; select(id: string): void }) {
    this.#toggle = h('button', { type: 'button', class: 'tree-toggle', attributes: { 'data-action': 'toggle' } });
    this.#toggle.addEventListener('click', (event) => {
      event.stopPropagation();
      actions.toggle(id);
    });
    this.#badge = h('span', { class: 'kind-badge' });
    this.#nameText = h('span', { class: 'tree-name-text' });
    this.#hint = h('span', { class: 'tree-hint' });
    this.#name = h('button', { type: 'button', class: 'tree-name', attributes: { 'data-action': 'details' } }, this.#nameText, this.#hint);
    this.#name.addEventListener('click', (event) => {
      event.stopPropagation();
      actions.select(id);
    });
    this.#flags = h('span', { class: 'tree-flags' });
    this.#markers = h('span', { class: 'tree-markers' });
    this.#bar = h('span', { class: 'tree-bar' });
    this.#duration = h('span', { class: 'tree-duration' });
    this.#status = h('span', { class: 'tree-status' });
    this.element = h(
      'li',
      { class: 'tree-row' },
      h('span', { class: 'tree-label' }, this.#toggle, this.#badge, this.#name, this.#flags, this.#markers),
      h('span', { class: 'tree-track' }, this.#bar),
      this.#duration,
      this.#status,
    );
    // A click anywhere on the row (not only on its name) opens its details.
    this.element.addEventListener('click', (event) => {
      if ((event.target as Element).closest('button, a, .tree-details')) return;
      if (window.getSelection()?.toString()) return;
      actions.select(id);
    });
  }

  update(row: { node: TreeNode; expanded: boolean }, selected: boolean, axisMs: number): void {
    const { node, expanded } = row;
    const place = barPlace(node, axisMs);
    const duration = durationText(node, axisMs);
    const hasChildren = node.children.length > 0;
    const shown = JSON.stringify([
      node.kind,
      node.name,
      node.hint,
      node.status,
      node.depth,
      node.parallel,
      expanded,
      hasChildren,
      selected,
      place,
      duration,
    ]);
    if (shown === this.#shown) return;
    this.#shown = shown;
    const element = this.element;
    element.className = `tree-row kind-${node.kind} status-${node.status}${node.type === 'stage' ? ' stage-row' : ''}${selected ? ' selected' : ''}${node.fallbacks > 0 ? ' has-fallback' : ''}`;
    element.dataset['kind'] = node.kind;
    element.dataset['status'] = node.status;
    element.dataset['depth'] = String(node.depth);
    element.dataset['name'] = node.name;
    element.style.setProperty('--depth', String(node.depth));
    if (hasChildren) {
      this.#toggle.hidden = false;
      this.#toggle.disabled = false;
      this.#toggle.textContent = expanded ? '▾' : '▸';
      this.#toggle.setAttribute('aria-expanded', String(expanded));
      this.#toggle.setAttribute('aria-label', `${expanded ? 'Collapse' : 'Expand'} ${node.name}`);
      this.#toggle.classList.remove('leaf');
    } else {
      this.#toggle.textContent = '';
      this.#toggle.disabled = true;
      this.#toggle.removeAttribute('aria-expanded');
      this.#toggle.setAttribute('aria-hidden', 'true');
      this.#toggle.tabIndex = -1;
      this.#toggle.classList.add('leaf');
    }
    if (hasChildren) {
      this.#toggle.removeAttribute('aria-hidden');
      this.#toggle.removeAttribute('tabindex');
    }
    this.#badge.textContent = KIND_LABELS[node.kind];
    this.#nameText.textContent = node.name;
    this.#hint.textContent = node.hint ?? '';
    this.#hint.hidden = node.hint === null;
    this.#name.setAttribute('aria-expanded', String(selected));
    this.#name.title = `${selected ? 'Hide' : 'Show'} the details of ${node.name}`;
    this.#bar.style.setProperty('--s', place.start);
    this.#bar.style.setProperty('--d', place.length);
    this.#bar.title = `starts at +${formatDuration(node.startMs)}${node.endMs === null ? ', still running' : `, lasts ${formatDuration(node.endMs - node.startMs)}`}`;
    this.#duration.textContent = duration;
    this.#status.textContent = STATUS_TEXT[node.status];
    this.#showMarkers(node, expanded);
  }

  /** What the node is (its fallbacks, its failure: always shown, in words) and, cut first when space runs out, what it holds. */
  #showMarkers(node: TreeNode, expanded: boolean): void {
    const flags: [string, string, string][] = [];
    if (node.fallbacks > 0)
      flags.push([
        'fallback',
        `↪ ${plural(node.fallbacks, 'fallback')}`,
        `Fell back from ${(node.step?.facts?.fallbacks ?? []).map((fallback) => fallback.model).join(', ')}`,
      ]);
    if (node.status === 'error') flags.push(['error', '✕ failed', node.error ?? 'failed']);
    const markers: [string, string, string][] = [];
    if (node.parallel) markers.push(['parallel', '∥ parallel', 'Ran at the same time as a sibling step']);
    if (!expanded && node.descendants > 0) {
      markers.push(['summary', `${plural(node.descendants, 'step')} inside`, '']);
      if (node.errorsInside > 0) markers.push(['error inside', `✕ ${plural(node.errorsInside, 'error')} inside`, '']);
      if (node.fallbacksInside > 0) markers.push(['fallback inside', `↪ ${plural(node.fallbacksInside, 'fallback')} inside`, '']);
    }
    const shown = JSON.stringify([flags, markers]);
    if (shown === this.#markersShown) return;
    this.#markersShown = shown;
    const draw = ([kind, text, title]: [string, string, string]): HTMLElement =>
      h('span', { class: `marker ${kind}`, ...(title ? { title } : {}) }, text);
    replaceChildren(this.#flags, ...flags.map(draw));
    replaceChildren(this.#markers, ...markers.map(draw));
  }
}

function field(name: string, value: string | Node): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, name), h('dd', {}, value));
}

/** The details of a step or stage: its times, facts, fallbacks, error, previews, and its LLM call. */
function detailsPanel(
  node: TreeNode,
  call: LlmCallRecord | undefined,
  prices: ModelPrices,
  sessionStart: number,
  actions: { close(): void; showCall(spanId: string): void },
): HTMLElement {
  const close = h(
    'button',
    { type: 'button', class: 'ghost tree-details-close', attributes: { 'aria-label': `Close the details of ${node.name}` } },
    'Close',
  );
  close.addEventListener('click', () => actions.close());
  const step = node.step;
  const stage = node.stage;
  const timing = [
    field('Status', STATUS_TEXT[node.status]),
    field('Started', `${formatClock(sessionStart + node.startMs)} (+${formatDuration(node.startMs)})`),
    field('Duration', node.durationMs === null ? (node.status === 'running' ? 'running' : '–') : formatDuration(node.durationMs)),
  ];
  const parts: (HTMLElement | null)[] = [];
  if (step) {
    parts.push(
      h(
        'dl',
        { class: 'fields tree-facts', attributes: { 'data-testid': 'step-facts' } },
        ...timing,
        field('Kind', KIND_LABELS[node.kind]),
        ...factEntries(step.facts).map(([name, value]) => field(name, value)),
        field('Stage', step.stage ?? '–'),
        field('Convention', step.convention),
        field('Span', h('code', {}, step.span_id)),
      ),
    );
    const fallbacks = Array.isArray(step.facts?.fallbacks) ? step.facts.fallbacks : [];
    if (fallbacks.length > 0) {
      parts.push(
        h(
          'div',
          { class: 'tree-fallbacks', attributes: { 'data-testid': 'step-fallbacks' } },
          h('strong', {}, `↪ Fell back ${plural(fallbacks.length, 'time')} before choosing ${step.facts.chosen_model ?? 'a model'}:`),
          h(
            'ol',
            {},
            ...fallbacks.map((fallback) =>
              h('li', {}, h('code', {}, String(fallback.model)), fallback.error ? ` — ${fallback.error}` : ''),
            ),
          ),
        ),
      );
    }
  } else if (stage) {
    parts.push(
      h(
        'dl',
        { class: 'fields tree-facts', attributes: { 'data-testid': 'step-facts' } },
        ...timing,
        field('Kind', 'stage'),
        field('Progress', `${stage.progress}%`),
        field('Steps inside', formatCount(node.descendants)),
        ...(stage.message ? [field('Message', stage.message)] : []),
      ),
    );
  }
  if (node.error) parts.push(h('div', { class: 'error-box', role: 'alert' }, `✕ ${node.error}`));
  if (call) {
    const model = call.response_model ?? call.request_model;
    const showCall = h('button', { type: 'button', class: 'ghost' }, 'Show in LLM calls');
    showCall.addEventListener('click', () => actions.showCall(call.span_id));
    parts.push(
      h(
        'div',
        { class: 'tree-call', attributes: { 'data-testid': 'step-llm-call' } },
        h(
          'dl',
          { class: 'fields' },
          field('Model', model ?? '–'),
          field('Tokens in / out', `${formatCount(call.input_tokens)} / ${formatCount(call.output_tokens)}`),
          field('Cost', formatUsd(call.cost_usd ?? costUsd(prices, model, call.input_tokens, call.output_tokens))),
          field('Time to first token', formatDuration(call.time_to_first_token_ms)),
          ...(call.finish_reasons ? [field('Finish', call.finish_reasons.join(', '))] : []),
        ),
        showCall,
      ),
    );
  }
  const input = step?.input_preview;
  const output = step?.output_preview;
  if (input) parts.push(h('h4', {}, 'Input'), h('pre', { class: 'text-block', attributes: { 'data-testid': 'step-input' } }, input));
  if (output) parts.push(h('h4', {}, 'Output'), h('pre', { class: 'text-block', attributes: { 'data-testid': 'step-output' } }, output));
  if (step && !input && !output) parts.push(h('p', { class: 'empty' }, 'No input or output captured.'));
  return h(
    'div',
    { class: 'tree-details-body' },
    h(
      'div',
      { class: 'tree-details-head' },
      h('span', { class: `kind-badge kind-${node.kind}` }, KIND_LABELS[node.kind]),
      h('strong', { class: 'tree-details-name' }, node.name),
      close,
    ),
    ...parts,
  );
}

/** The session's tree; `update` with each new version of the session. */
export class StepTreeView {
  readonly element: HTMLElement;
  readonly #list = h('ol', { class: 'tree', attributes: { 'data-testid': 'step-tree', 'aria-label': 'Stages and steps' } });
  readonly #axis = h('div', { class: 'tree-axis', attributes: { 'aria-hidden': 'true' } });
  readonly #summary = h('span', { class: 'tree-summary', attributes: { 'data-testid': 'step-summary' } });
  readonly #dropped = h('p', { class: 'tree-dropped', attributes: { 'data-testid': 'steps-dropped' } });
  readonly #empty = h('p', { class: 'empty' }, 'No stage or step recorded yet.');
  readonly #state: TreeViewState = { expanded: new Map(), shown: new Map(), selected: null };
  readonly #rows = new Map<string, { element: HTMLLIElement; view?: NodeRowView; shown: string }>();
  #tree: StepTree | null = null;
  #session: ProcessingSession | null = null;
  #prices: ModelPrices = {};
  #axisShown = '';

  constructor() {
    const expandAll = h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'tree-expand-all' } }, 'Expand all');
    const collapseAll = h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'tree-collapse-all' } }, 'Collapse all');
    expandAll.addEventListener('click', () => this.#setAll(true));
    collapseAll.addEventListener('click', () => this.#setAll(false));
    this.#dropped.hidden = true;
    this.element = h(
      'div',
      { class: 'step-tree' },
      h('div', { class: 'tree-bar-top' }, this.#summary, h('span', { class: 'tree-actions' }, expandAll, collapseAll)),
      h('div', { class: 'tree-frame' }, this.#axis, this.#list),
      this.#empty,
      this.#dropped,
    );
  }

  /** Draws `session` (at `now`, for a running one), keeping what the reader opened. */
  update(session: ProcessingSession, prices: ModelPrices, now: number): void {
    this.#session = session;
    this.#prices = prices;
    this.#tree = buildStepTree(session, now);
    this.#render();
  }

  #setAll(expanded: boolean): void {
    if (!this.#tree) return;
    setAllExpanded(this.#tree, this.#state, expanded);
    this.#render();
  }

  #toggle(id: string): void {
    const node = this.#tree?.byId.get(id);
    if (!node || node.children.length === 0) return;
    this.#state.expanded.set(id, !(this.#state.expanded.get(id) ?? false));
    this.#render();
  }

  #select(id: string): void {
    this.#state.selected = this.#state.selected === id ? null : id;
    this.#render();
  }

  #more(parentId: string | null, button: HTMLButtonElement): void {
    showMore(this.#state, parentId);
    const next = this.#render();
    // When every child shows, the button is gone: the reader goes on at the first row it revealed.
    if (!button.isConnected)
      (next.find((element) => element.classList.contains('tree-row'))?.querySelector('.tree-name') as HTMLElement | null)?.focus();
  }

  #showCall(spanId: string): void {
    const row = document.querySelector(`[data-testid=llm-calls] tr[data-span-id="${CSS.escape(spanId)}"]`);
    if (!row) return;
    row.scrollIntoView({ block: 'center', behavior: 'smooth' });
    row.classList.add('highlight');
    setTimeout(() => row.classList.remove('highlight'), 2000);
  }

  #summaryText(tree: StepTree): string {
    const stages = tree.roots.filter((node) => node.type === 'stage').length;
    let errors = 0;
    let fallbacks = 0;
    for (const node of tree.byId.values()) {
      if (node.type === 'step' && node.status === 'error') errors += 1;
      if (node.fallbacks > 0) fallbacks += 1;
    }
    return [
      plural(tree.steps, 'step'),
      stages > 0 ? `in ${plural(stages, 'stage')}` : '',
      errors > 0 ? `· ✕ ${plural(errors, 'error')}` : '',
      fallbacks > 0 ? `· ↪ ${plural(fallbacks, 'fallback')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  #showAxis(axisMs: number): void {
    const shown = formatDuration(axisMs);
    if (shown === this.#axisShown) return;
    this.#axisShown = shown;
    replaceChildren(
      this.#axis,
      h('span', { class: 'tree-axis-label' }, 'Time from session start'),
      h(
        'span',
        { class: 'tree-axis-track' },
        ...[0, 0.25, 0.5, 0.75, 1].map((share) =>
          h('span', { class: 'tree-tick', style: { left: `${share * 100}%` } }, share === 0 ? '0' : formatDuration(axisMs * share)),
        ),
      ),
    );
  }

  /** Reconciles the list with the rows to show; returns the elements newly added. */
  #render(): HTMLElement[] {
    const tree = this.#tree;
    const session = this.#session;
    if (!tree || !session) return [];
    if (this.#state.selected !== null && !tree.byId.has(this.#state.selected)) this.#state.selected = null;
    const rows = visibleRows(tree, this.#state);
    this.#summary.textContent = this.#summaryText(tree);
    this.#empty.hidden = rows.length > 0;
    this.#dropped.hidden = tree.stepsDropped === 0;
    this.#dropped.textContent =
      tree.stepsDropped === 0
        ? ''
        : `${plural(tree.stepsDropped, 'more step')} not kept (the receiver keeps a session's first ${formatCount(tree.steps)}).`;
    const total = tree.axisMs.toFixed(1);
    this.#list.style.setProperty('--total', total);
    this.#axis.style.setProperty('--total', total);
    this.#showAxis(tree.axisMs);

    const added: HTMLElement[] = [];
    const keep = new Set<string>();
    let cursor = this.#list.firstElementChild;
    for (const row of rows) {
      keep.add(row.key);
      const element = this.#draw(row, tree, session, added);
      if (element === cursor) cursor = cursor.nextElementSibling;
      else this.#list.insertBefore(element, cursor);
    }
    for (const [key, entry] of this.#rows) {
      if (keep.has(key)) continue;
      entry.element.remove();
      this.#rows.delete(key);
    }
    return added;
  }

  #draw(row: TreeRow, tree: StepTree, session: ProcessingSession, added: HTMLElement[]): HTMLLIElement {
    let entry = this.#rows.get(row.key);
    if (row.type === 'node') {
      if (!entry) {
        const view = new NodeRowView(row.key, { toggle: (id) => this.#toggle(id), select: (id) => this.#select(id) });
        entry = { element: view.element, view, shown: '' };
        this.#rows.set(row.key, entry);
        added.push(view.element);
      }
      entry.view!.update(row, this.#state.selected === row.key, tree.axisMs);
      return entry.element;
    }
    if (row.type === 'more') return this.#drawMore(row, entry, added);
    return this.#drawDetails(row, entry, session, added);
  }

  #drawMore(row: MoreRow, entry: { element: HTMLLIElement; shown: string } | undefined, added: HTMLElement[]): HTMLLIElement {
    if (!entry) {
      const button = h('button', { type: 'button', class: 'ghost', attributes: { 'data-action': 'more' } });
      button.addEventListener('click', () => this.#more(row.parentId, button));
      entry = {
        element: h(
          'li',
          { class: 'tree-more', attributes: { 'data-testid': 'tree-more' } },
          h('span', { class: 'tree-more-text' }),
          button,
        ),
        shown: '',
      };
      this.#rows.set(row.key, entry);
      added.push(entry.element);
    }
    const shown = `${row.depth} ${row.hidden} ${row.hiddenErrors}`;
    if (entry.shown !== shown) {
      entry.shown = shown;
      entry.element.style.setProperty('--depth', String(row.depth));
      entry.element.querySelector('.tree-more-text')!.textContent =
        `${plural(row.hidden, 'more step')} here${row.hiddenErrors > 0 ? ` (✕ ${plural(row.hiddenErrors, 'error')} among them)` : ''}`;
      entry.element.querySelector('button')!.textContent = `Show ${formatCount(Math.min(CHILD_PAGE, row.hidden))} more`;
    }
    return entry.element;
  }

  #drawDetails(
    row: DetailsRow,
    entry: { element: HTMLLIElement; shown: string } | undefined,
    session: ProcessingSession,
    added: HTMLElement[],
  ): HTMLLIElement {
    if (!entry) {
      entry = { element: h('li', { class: 'tree-details', attributes: { 'data-testid': 'step-details' } }), shown: '' };
      this.#rows.set(row.key, entry);
      added.push(entry.element);
    }
    const node = row.node;
    const call =
      node.step?.kind === 'llm_call' ? session.llm_calls.find((candidate) => candidate.span_id === node.step!.span_id) : undefined;
    const sessionStart = Date.parse(session.start_time);
    const shown = JSON.stringify([node.step ?? node.stage, node.descendants, node.depth, call, Object.keys(this.#prices).length]);
    if (entry.shown !== shown) {
      entry.shown = shown;
      entry.element.style.setProperty('--depth', String(node.depth));
      replaceChildren(
        entry.element,
        detailsPanel(node, call, this.#prices, Number.isFinite(sessionStart) ? sessionStart : 0, {
          close: () => {
            this.#state.selected = null;
            this.#render();
            (this.#rows.get(node.id)?.element.querySelector('.tree-name') as HTMLElement | null)?.focus();
          },
          showCall: (spanId) => this.#showCall(spanId),
        }),
      );
    }
    return entry.element;
  }
}
