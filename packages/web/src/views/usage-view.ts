/**
 * Usage over the durable history: totals (cost, tokens, calls, sessions, error rate) for a window of
 * 24 hours, 7 or 30 days, cost and tokens by model per day as stacked bars, tables by model and by
 * user, and the most expensive sessions and users. The window lives in the URL fragment.
 */
import type { AnalyticsDimension, AnalyticsReport, MonitorClient, UsageFigures, UsageGroup } from '@llm-monitor/client';
import { h, replaceChildren } from '../dom.js';
import type { Child } from '../dom.js';
import { formatCompact, formatCount, formatDateTime, formatDay, formatDuration, formatShare, formatUsd, shortId } from '../format.js';
import { USAGE_WINDOWS, dailySeries, groupLabel, tableOrder, usageHash, usageQueries, usageWindowFromParameters } from '../usage-model.js';
import type { StackedSeries } from '../usage-model.js';
import { stackedBarChart } from './charts.js';

interface Column<T> {
  readonly name: string;
  readonly numeric?: boolean;
  readonly cell: (row: T) => Child;
}

function table<T>(testId: string, columns: readonly Column<T>[], rows: readonly T[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty', attributes: { 'data-testid': testId } }, empty);
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'usage-table', attributes: { 'data-testid': testId } },
      h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', column.numeric ? { class: 'num' } : {}, column.name)))),
      h(
        'tbody',
        {},
        ...rows.map((row) => h('tr', {}, ...columns.map((column) => h('td', column.numeric ? { class: 'num' } : {}, column.cell(row))))),
      ),
    ),
  );
}

function figure(name: string, value: string, detail: string, testId: string): HTMLElement {
  return h(
    'div',
    { class: 'figure' },
    h('div', { class: 'figure-name' }, name),
    h('div', { class: 'figure-value', attributes: { 'data-testid': testId } }, value),
    h('div', { class: 'figure-detail' }, detail),
  );
}

function totals(figures: UsageFigures): HTMLElement {
  return h(
    'div',
    { class: 'figures', attributes: { 'data-testid': 'usage-totals' } },
    figure('Cost', formatUsd(figures.cost_usd), figures.cost_usd === null ? 'no priced call' : 'priced calls only', 'usage-cost'),
    figure(
      'Tokens',
      formatCount(figures.total_tokens),
      `${formatCount(figures.input_tokens)} in · ${formatCount(figures.output_tokens)} out`,
      'usage-tokens',
    ),
    figure(
      'LLM calls',
      formatCount(figures.calls),
      `p50 ${formatDuration(figures.duration_ms.p50)} · p95 ${formatDuration(figures.duration_ms.p95)}`,
      'usage-calls',
    ),
    figure(
      'Sessions',
      formatCount(figures.sessions),
      `${formatCount(figures.avg_tokens_per_session)} tokens per session`,
      'usage-sessions',
    ),
    figure('Error rate', formatShare(figures.error_rate), 'failed of the ended calls', 'usage-error-rate'),
  );
}

function chartFigure(title: string, data: StackedSeries, format: (value: number) => string, testId: string): HTMLElement {
  const { chart, label } = stackedBarChart(data, format, title);
  const first = data.categories[0];
  const last = data.categories.at(-1);
  return h(
    'figure',
    { attributes: { 'data-testid': testId } },
    h('figcaption', {}, title),
    h('div', { class: 'chart-box' }, chart),
    first === undefined
      ? null
      : h(
          'div',
          { class: 'chart-axis' },
          h('span', {}, formatDay(first)),
          last !== first && last !== undefined ? h('span', {}, formatDay(last)) : null,
        ),
    h('div', { class: 'chart-label' }, label),
    h(
      'ul',
      { class: 'legend' },
      ...data.series.map((part) =>
        h('li', {}, h('span', { class: `legend-swatch series-${part.colour}`, attributes: { 'aria-hidden': 'true' } }), part.name),
      ),
    ),
  );
}

const latency = (figures: UsageFigures): string =>
  `${formatDuration(figures.duration_ms.p50)} / ${formatDuration(figures.duration_ms.p95)}`;

function groupColumns(dimension: AnalyticsDimension, name: string): Column<UsageGroup>[] {
  return [
    { name, cell: (group) => groupLabel(group, dimension) },
    { name: 'Cost', numeric: true, cell: (group) => formatUsd(group.cost_usd) },
    { name: 'Tokens in', numeric: true, cell: (group) => formatCount(group.input_tokens) },
    { name: 'Tokens out', numeric: true, cell: (group) => formatCount(group.output_tokens) },
    { name: 'Calls', numeric: true, cell: (group) => formatCount(group.calls) },
    { name: 'Sessions', numeric: true, cell: (group) => formatCount(group.sessions) },
    { name: 'Tokens / session', numeric: true, cell: (group) => formatCount(group.avg_tokens_per_session) },
    { name: 'Error rate', numeric: true, cell: (group) => formatShare(group.error_rate) },
    { name: 'Duration p50 / p95', numeric: true, cell: latency },
  ];
}

function show(body: HTMLElement, daily: AnalyticsReport, byModel: AnalyticsReport, byUser: AnalyticsReport, window: string): void {
  const now = Date.now();
  // Both charts stack and colour the models in the order of the table by model.
  const models = tableOrder(byModel.groups, 'model');
  const rank = models.map((group) => groupLabel(group, 'model'));
  const cost = dailySeries(daily, 'cost', { now, window, rank });
  const tokens = dailySeries(daily, 'tokens', { now, window, rank });
  const sessionLink = (id: string): HTMLElement => h('a', { href: `#/sessions/${encodeURIComponent(id)}`, title: id }, shortId(id));
  replaceChildren(
    body,
    totals(byModel.totals),
    h(
      'div',
      { class: 'charts usage-charts' },
      chartFigure('Cost by model per day (UTC)', cost, formatUsd, 'usage-cost-chart'),
      chartFigure('Tokens by model per day (UTC)', tokens, formatCompact, 'usage-tokens-chart'),
    ),
    h('h3', {}, 'By model'),
    table('usage-by-model', groupColumns('model', 'Model'), models, 'No LLM call in this window.'),
    h('h3', {}, 'By user'),
    table('usage-by-user', groupColumns('user', 'User'), tableOrder(byUser.groups, 'user'), 'No LLM call in this window.'),
    h(
      'div',
      { class: 'usage-tops' },
      h(
        'div',
        {},
        h('h3', {}, 'Most expensive sessions'),
        table(
          'usage-top-sessions',
          [
            { name: 'Session', cell: (session) => sessionLink(session.session_id) },
            { name: 'Started', cell: (session) => formatDateTime(session.start_time) },
            { name: 'User', cell: (session) => session.user_id ?? '–' },
            { name: 'Model', cell: (session) => session.model ?? '–' },
            { name: 'Calls', numeric: true, cell: (session) => formatCount(session.calls) },
            { name: 'Tokens', numeric: true, cell: (session) => formatCount(session.total_tokens) },
            { name: 'Cost', numeric: true, cell: (session) => formatUsd(session.cost_usd) },
          ],
          byModel.top_sessions,
          'No priced session in this window.',
        ),
      ),
      h(
        'div',
        {},
        h('h3', {}, 'Users who spent most'),
        table(
          'usage-top-users',
          [
            { name: 'User', cell: (user) => user.user_id },
            { name: 'Sessions', numeric: true, cell: (user) => formatCount(user.sessions) },
            { name: 'Calls', numeric: true, cell: (user) => formatCount(user.calls) },
            { name: 'Tokens', numeric: true, cell: (user) => formatCount(user.total_tokens) },
            { name: 'Cost', numeric: true, cell: (user) => formatUsd(user.cost_usd) },
          ],
          byModel.top_users,
          'No priced call with a user id in this window.',
        ),
      ),
    ),
  );
}

/** The usage page for the window in `parameters`; picking another window updates the URL. */
export function usageView(client: MonitorClient, parameters: URLSearchParams): { element: HTMLElement } {
  const window = usageWindowFromParameters(parameters);
  const queries = usageQueries(window);
  const picker = h(
    'nav',
    { class: 'window-picker', attributes: { 'aria-label': 'Time window', 'data-testid': 'usage-window' } },
    ...USAGE_WINDOWS.map((option) =>
      h(
        'a',
        {
          href: usageHash(option.value),
          class: option.value === window ? 'current' : '',
          attributes: { 'data-window': option.value, 'aria-current': option.value === window ? 'true' : undefined },
        },
        option.label,
      ),
    ),
  );
  const exports = h(
    'div',
    { class: 'exports' },
    'Export CSV: ',
    h(
      'a',
      { href: client.analyticsExportUrl(queries.byModel), download: '', attributes: { 'data-testid': 'usage-export-model' } },
      'by model',
    ),
    ' ',
    h(
      'a',
      { href: client.analyticsExportUrl(queries.daily), download: '', attributes: { 'data-testid': 'usage-export-daily' } },
      'by model and day',
    ),
    ' ',
    h(
      'a',
      { href: client.analyticsExportUrl(queries.byUser), download: '', attributes: { 'data-testid': 'usage-export-user' } },
      'by user',
    ),
  );
  const body = h('div', { class: 'usage-body' }, h('p', { class: 'empty' }, 'Loading…'));
  void Promise.all([client.getAnalytics(queries.daily), client.getAnalytics(queries.byModel), client.getAnalytics(queries.byUser)]).then(
    ([daily, byModel, byUser]) => show(body, daily, byModel, byUser, window),
    (error: unknown) =>
      replaceChildren(body, h('div', { class: 'error-box', role: 'alert' }, `Could not load the usage: ${(error as Error).message}`)),
  );
  return {
    element: h(
      'section',
      { class: 'usage-view', attributes: { 'aria-label': 'Usage' } },
      h('div', { class: 'usage-bar' }, h('h2', {}, 'Usage'), picker, exports),
      body,
    ),
  };
}
