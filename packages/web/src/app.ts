/**
 * The page: a header with the connection state and the theme switch, and one of five views chosen
 * by the URL fragment: `#/` live (statistics and active sessions), `#/sessions/<id>` details,
 * `#/history?…` recent sessions, `#/usage?window=…` usage and cost, `#/log` the event log.
 */
import { createMonitorClient } from '@llm-monitor/client';
import type { ModelPrices } from '@llm-monitor/sessions';
import type { ConnectionStatus } from './connection.js';
import { connectWhileVisible } from './connection.js';
import { h, replaceChildren } from './dom.js';
import { LiveState } from './live-state.js';
import { applyTheme, currentTheme } from './theme.js';
import { activeSessionsView } from './views/active-sessions-view.js';
import { historyView } from './views/history-view.js';
import { logView } from './views/log-view.js';
import { sessionView } from './views/session-view.js';
import { statisticsView } from './views/statistics-view.js';
import { usageView } from './views/usage-view.js';

function statusText(status: ConnectionStatus): string {
  switch (status.state) {
    case 'live':
      return 'Live';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting':
      return `Reconnecting in ${Math.max(1, Math.ceil(status.retryInMs / 1000))} s…`;
    case 'paused':
      return 'Paused while hidden';
  }
}

/** Starts the page inside `root`; the monitor API is the page's own origin. */
export function startApp(root: HTMLElement): void {
  const baseUrl = new URL('.', location.href).href.replace(/\/$/, '');
  const client = createMonitorClient({ baseUrl });
  const state = new LiveState();
  // Views that show cost wait for the price table; without one, nothing has a price.
  const prices: Promise<ModelPrices> = client
    .getModelPrices()
    .then((table) => table.prices)
    .catch(() => ({}));

  // The charts cover the last five minutes: fill them from the history rather than starting empty,
  // and again after a reconnect for what ended meanwhile. The window is on start times, so it reaches
  // further back than the charts do; seedEndings keeps what ended within them.
  const seedCharts = (): void => {
    void client
      .getRecentSessions({ window: '15m', status: ['completed', 'failed'], limit: 1000 })
      .then((page) => state.seedEndings(page.sessions, Date.now()))
      .catch(() => undefined);
  };

  applyTheme(currentTheme());
  const theme = h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'theme-toggle' } });
  const showThemeButton = (): void => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    theme.textContent = next === 'dark' ? 'Dark theme' : 'Light theme';
    theme.setAttribute('aria-label', `Switch to the ${next} theme`);
  };
  theme.addEventListener('click', () => {
    applyTheme(currentTheme() === 'dark' ? 'light' : 'dark', true);
    showThemeButton();
  });
  showThemeButton();

  const badge = h('span', { class: 'connection connecting', role: 'status', attributes: { 'data-testid': 'connection' } }, 'Connecting…');
  const nav = h(
    'nav',
    { attributes: { 'aria-label': 'Views' } },
    h('a', { href: '#/', attributes: { 'data-view': 'live' } }, 'Live'),
    h('a', { href: '#/history', attributes: { 'data-view': 'history' } }, 'History'),
    h('a', { href: '#/usage', attributes: { 'data-view': 'usage' } }, 'Usage'),
    h('a', { href: '#/log', attributes: { 'data-view': 'log' } }, 'Log'),
  );
  const main = h('main', {});
  replaceChildren(
    root,
    h('header', { class: 'top' }, h('h1', {}, 'LLM Processing Monitor'), nav, h('div', { class: 'top-right' }, badge, theme)),
    main,
  );

  const statistics = statisticsView(state);
  const active = activeSessionsView(state);
  const liveView = h('div', { class: 'live-view' }, statistics.element, active.element);
  let closeView: (() => void) | undefined;
  let currentView = '';

  const route = (): void => {
    closeView?.();
    closeView = undefined;
    const [path = '/', search = ''] = location.hash.replace(/^#/, '').split('?');
    const parameters = new URLSearchParams(search);
    const session = /^\/sessions\/(.+)$/.exec(path);
    let sessionId: string | undefined;
    try {
      sessionId = session ? decodeURIComponent(session[1]!) : undefined;
    } catch {
      sessionId = undefined;
    }
    if (session && sessionId === undefined) {
      currentView = 'session';
      replaceChildren(
        main,
        h(
          'section',
          {},
          h('a', { href: '#/', class: 'back' }, '← Live view'),
          h('div', { class: 'error-box', role: 'alert' }, 'This link is broken: the session id in it is not valid.'),
        ),
      );
    } else if (sessionId !== undefined) {
      const view = sessionView(sessionId, client, state, prices);
      closeView = view.close;
      currentView = 'session';
      replaceChildren(main, view.element);
    } else if (path === '/history') {
      currentView = 'history';
      replaceChildren(main, historyView(client, parameters).element);
    } else if (path === '/usage') {
      currentView = 'usage';
      replaceChildren(main, usageView(client, parameters).element);
    } else if (path === '/log') {
      const view = logView(state);
      closeView = view.close;
      currentView = 'log';
      replaceChildren(main, view.element);
    } else {
      currentView = 'live';
      replaceChildren(main, liveView);
      redraw(true);
    }
    for (const link of nav.querySelectorAll('a')) {
      const current = link.dataset['view'] === currentView;
      link.classList.toggle('current', current);
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  };

  // Live changes are drawn at most once per frame, and only while the live view shows.
  let frame: number | undefined;
  const redraw = (withCharts = false): void => {
    if (currentView !== 'live') return;
    const now = Date.now();
    statistics.refresh(now);
    active.refresh(now);
    if (withCharts) statistics.refreshCharts(now);
  };
  state.subscribe((change) => {
    if (change === 'log' || change === 'connection' || change === 'steps') return;
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      redraw();
    });
  });
  // Elapsed times, tokens per second and the charts move on even when no event arrives.
  setInterval(() => redraw(true), 1000);

  connectWhileVisible(
    baseUrl,
    state,
    (status) => {
      badge.textContent = statusText(status);
      badge.className = `connection ${status.state}`;
    },
    seedCharts,
  );
  addEventListener('hashchange', route);
  route();
}
