/**
 * Recent sessions, filtered by status, model, task, conversation and text, page by page, with CSV
 * and JSON export of exactly what the filter selects. The filter lives in the URL fragment, so a
 * filtered list can be bookmarked and shared.
 */
import type { MonitorClient, ProcessingSession } from '@llm-monitor/client';
import { h, replaceChildren } from '../dom.js';
import { formatClock, formatCount, formatDuration, shortId } from '../format.js';
import { STATUSES, TEXT_FILTERS, queryFromParameters } from '../history-query.js';

const PAGE_SIZE = 50;

function row(session: ProcessingSession): HTMLTableRowElement {
  const link = `#/sessions/${encodeURIComponent(session.session_id)}`;
  return h(
    'tr',
    { attributes: { 'data-session-id': session.session_id } },
    h('td', {}, formatClock(session.start_time)),
    h('td', {}, h('a', { href: link, title: session.session_id }, shortId(session.session_id))),
    h('td', {}, h('span', { class: `status-badge ${session.status}` }, session.status)),
    h('td', {}, session.task ?? '–'),
    h('td', {}, session.model ?? '–'),
    h('td', {}, session.duration_ms === null ? 'running' : formatDuration(session.duration_ms)),
    h('td', {}, formatCount(session.token_counts.total)),
    h('td', { class: 'preview' }, session.error ?? session.content_preview ?? ''),
  );
}

/** The history page for the filter in `parameters`; changing the filter updates the URL. */
export function historyView(client: MonitorClient, parameters: URLSearchParams): { element: HTMLElement } {
  const query = queryFromParameters(parameters);
  const status = h(
    'select',
    { attributes: { name: 'status', 'aria-label': 'Status' } },
    h('option', { value: '' }, 'any status'),
    ...STATUSES.map((value) => h('option', { value }, value)),
  );
  status.value = query.status?.[0] ?? '';
  const inputs = Object.fromEntries(
    TEXT_FILTERS.map((name) => [
      name,
      h('input', { type: 'search', value: query[name] ?? '', placeholder: name === 'q' ? 'text in prompt or answer' : name, attributes: { name, 'aria-label': name === 'q' ? 'Text' : name } }),
    ]),
  ) as Record<(typeof TEXT_FILTERS)[number], HTMLInputElement>;
  const form = h(
    'form',
    { class: 'filters', attributes: { 'data-testid': 'history-filters' } },
    status,
    ...TEXT_FILTERS.map((name) => inputs[name]),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (status.value) next.set('status', status.value);
    for (const name of TEXT_FILTERS) if (inputs[name].value.trim()) next.set(name, inputs[name].value.trim());
    const text = next.toString();
    location.hash = `#/history${text ? `?${text}` : ''}`;
  });
  status.addEventListener('change', () => form.requestSubmit());

  const body = h('tbody', {});
  const summary = h('p', { class: 'summary', attributes: { 'data-testid': 'history-summary' } }, 'Loading…');
  const more = h('button', { type: 'button', class: 'ghost' }, 'Load more');
  more.hidden = true;
  const exports = h(
    'div',
    { class: 'exports' },
    'Export: ',
    h('a', { href: client.exportUrl('csv', query), download: '', attributes: { 'data-testid': 'export-csv' } }, 'CSV'),
    ' ',
    h('a', { href: client.exportUrl('json', query), download: '', attributes: { 'data-testid': 'export-json' } }, 'JSON'),
  );
  let cursor: string | null = null;
  let shown = 0;

  const load = async (): Promise<void> => {
    more.disabled = true;
    try {
      const page = await client.getRecentSessions({ ...query, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      for (const session of page.sessions) body.appendChild(row(session));
      shown += page.sessions.length;
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      summary.textContent = shown === 0 ? 'No session matches.' : `${formatCount(shown)} session${shown === 1 ? '' : 's'}${cursor ? ' so far' : ''}`;
    } catch (error) {
      replaceChildren(summary, h('span', { class: 'error-box', role: 'alert' }, `Could not load sessions: ${(error as Error).message}`));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());
  void load();

  const table = h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'history', attributes: { 'data-testid': 'history-table' } },
      h('thead', {}, h('tr', {}, ...['Started', 'Session', 'Status', 'Task', 'Model', 'Duration', 'Tokens', 'Prompt or error'].map((name) => h('th', {}, name)))),
      body,
    ),
  );
  return { element: h('section', { class: 'history-view', attributes: { 'aria-label': 'Recent sessions' } }, h('h2', {}, 'Recent sessions'), form, h('div', { class: 'history-bar' }, summary, exports), table, more) };
}
