/**
 * Recent sessions, filtered by status, model, task, conversation, text and time range (a trailing
 * window or since/until, back to the start of the retention), page by page with the cursor, with
 * CSV and JSON export of exactly what the filter selects. The filter lives in the URL fragment, so a
 * filtered list can be bookmarked and shared.
 */
import type { MonitorClient, ProcessingSession } from '@llm-monitor/client';
import { h, replaceChildren } from '../dom.js';
import { formatCount, formatDateTime, formatDuration, formatStart, formatUsd, shortId } from '../format.js';
import {
  RANGE_PRESETS,
  STATUSES,
  TEXT_FILTERS,
  describeRange,
  earliestInputValue,
  historyHash,
  localInputValue,
  queryFromForm,
  queryFromParameters,
  rangeChoice,
} from '../history-query.js';

const PAGE_SIZE = 50;

function row(session: ProcessingSession, now: number): HTMLTableRowElement {
  const link = `#/sessions/${encodeURIComponent(session.session_id)}`;
  return h(
    'tr',
    { attributes: { 'data-session-id': session.session_id } },
    h('td', { title: session.start_time }, formatStart(session.start_time, now)),
    h('td', {}, h('a', { href: link, title: session.session_id }, shortId(session.session_id))),
    h('td', {}, h('span', { class: `status-badge ${session.status}` }, session.status)),
    h('td', {}, session.task ?? '–'),
    h('td', {}, session.model ?? '–'),
    h('td', {}, session.duration_ms === null ? 'running' : formatDuration(session.duration_ms)),
    h('td', { class: 'num' }, formatCount(session.token_counts.total)),
    h('td', { class: 'num', attributes: { 'data-testid': 'session-cost' } }, formatUsd(session.cost_usd)),
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
      h('input', {
        type: 'search',
        value: query[name] ?? '',
        placeholder: name === 'q' ? 'text in prompt or answer' : name,
        attributes: { name, 'aria-label': name === 'q' ? 'Text' : name },
      }),
    ]),
  ) as Record<(typeof TEXT_FILTERS)[number], HTMLInputElement>;
  // The time range: any time the store holds, a trailing window, or since/until within the retention.
  const range = h(
    'select',
    { attributes: { name: 'range', 'aria-label': 'Time range', 'data-testid': 'history-range' } },
    h('option', { value: '' }, 'any time'),
    ...RANGE_PRESETS.map((preset) => h('option', { value: preset.value }, preset.label)),
    // A window the picker does not offer (from a shared link) stays selectable.
    query.window !== undefined && !RANGE_PRESETS.some((preset) => preset.value === query.window)
      ? h('option', { value: query.window }, `last ${query.window}`)
      : null,
    h('option', { value: 'custom' }, 'from … to …'),
  );
  range.value = rangeChoice(query);
  const earliest = earliestInputValue(Date.now());
  const timeInput = (name: 'since' | 'until', label: string): HTMLInputElement =>
    h('input', {
      type: 'datetime-local',
      value: localInputValue(query[name]),
      attributes: { name, 'aria-label': label, min: earliest, 'data-testid': `history-${name}` },
    });
  const since = timeInput('since', 'From');
  const until = timeInput('until', 'To');
  const custom = h('span', { class: 'range-custom' }, since, h('span', { class: 'range-to' }, 'to'), until);
  const showCustom = (): void => void (custom.hidden = range.value !== 'custom');
  showCustom();

  const form = h(
    'form',
    { class: 'filters', attributes: { 'data-testid': 'history-filters' } },
    status,
    ...TEXT_FILTERS.map((name) => inputs[name]),
    range,
    custom,
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = Object.fromEntries(TEXT_FILTERS.map((name) => [name, inputs[name].value]));
    location.hash = historyHash(queryFromForm({ status: status.value, text, range: range.value, since: since.value, until: until.value }));
  });
  status.addEventListener('change', () => form.requestSubmit());
  range.addEventListener('change', () => {
    showCustom();
    if (range.value === 'custom') {
      if (!since.value) since.value = localInputValue(Date.now() - 86_400_000);
      since.focus();
    } else form.requestSubmit();
  });

  const body = h('tbody', {});
  const summary = h('p', { class: 'summary', attributes: { 'data-testid': 'history-summary' } }, 'Loading…');
  const more = h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'history-older' } }, 'Older sessions');
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
      const now = Date.now();
      for (const session of page.sessions) body.appendChild(row(session, now));
      shown += page.sessions.length;
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      const within = describeRange(query, formatDateTime);
      summary.textContent =
        shown === 0
          ? `No session matches${within}.`
          : `${formatCount(shown)} session${shown === 1 ? '' : 's'}${within}${cursor ? ' so far' : ''}`;
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
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Started', 'Session', 'Status', 'Task', 'Model', 'Duration', 'Tokens', 'Cost', 'Prompt or error'].map((name) =>
            h('th', name === 'Tokens' || name === 'Cost' ? { class: 'num' } : {}, name),
          ),
        ),
      ),
      body,
    ),
  );
  return {
    element: h(
      'section',
      { class: 'history-view', attributes: { 'aria-label': 'Recent sessions' } },
      h('h2', {}, 'Recent sessions'),
      form,
      h('div', { class: 'history-bar' }, summary, exports),
      table,
      more,
    ),
  };
}
