/**
 * The monitor: a header with the views, the connection state (and Log out, when the receiver asks
 * for a token), and one of five views chosen by the URL fragment: `#/` live (statistics and active
 * sessions), `#/sessions/<id>` details, `#/history?…` recent sessions, `#/usage?window=…` usage and
 * cost, `#/log` the event log. It can be stopped (on logging out, or when the session ended), which
 * closes its live connection and its timers, and started again fresh after the next login.
 */
import { createMonitorClient } from '@llm-monitor/client';
import type { ModelPrices } from '@llm-monitor/sessions';
import type { ConnectionStatus, LiveConnection } from './connection.js';
import { connectWhileVisible } from './connection.js';
import { h, replaceChildren } from './dom.js';
import { LiveState } from './live-state.js';
import { activeSessionsView } from './views/active-sessions-view.js';
import { pageHeader } from './views/header.js';
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
    case 'refused':
      return 'Not logged in';
  }
}

/** Options of {@link startMonitor}. */
export interface MonitorOptions {
  /** The monitor API: the page's own origin. */
  readonly baseUrl: string;
  /** The fetch of the REST client (the auth session's, which logs in again on a 401); default: the client's. */
  readonly fetch?: typeof globalThis.fetch;
  /** Given when the receiver asks for a token: the header then has a "Log out" button that calls it. */
  readonly onLogout?: () => void;
  /** The receiver refused the live connection for want of a valid session: `connection.reconnect()` once it is restored. */
  readonly onLiveRefused?: (connection: LiveConnection) => void;
}

/** A running monitor. */
export interface Monitor {
  /** Closes the live connection, the timers and the listeners; the page is left to whoever draws next. */
  stop(): void;
}

/** Draws the monitor into `root` and connects it. */
export function startMonitor(root: HTMLElement, options: MonitorOptions): Monitor {
  const { baseUrl } = options;
  const client = createMonitorClient({ baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
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

  const badge = h('span', { class: 'connection connecting', role: 'status', attributes: { 'data-testid': 'connection' } }, 'Connecting…');
  const logout = options.onLogout
    ? h('button', { type: 'button', class: 'ghost', attributes: { 'data-testid': 'logout' }, on: { click: options.onLogout } }, 'Log out')
    : null;
  const nav = h(
    'nav',
    { attributes: { 'aria-label': 'Views' } },
    h('a', { href: '#/', attributes: { 'data-view': 'live' } }, 'Live'),
    h('a', { href: '#/history', attributes: { 'data-view': 'history' } }, 'History'),
    h('a', { href: '#/usage', attributes: { 'data-view': 'usage' } }, 'Usage'),
    h('a', { href: '#/log', attributes: { 'data-view': 'log' } }, 'Log'),
  );
  const main = h('main', {});
  replaceChildren(root, pageHeader(nav, badge, logout), main);

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
  const unsubscribe = state.subscribe((change) => {
    if (change === 'log' || change === 'connection' || change === 'steps') return;
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      redraw();
    });
  });
  // Elapsed times, tokens per second and the charts move on even when no event arrives.
  const ticker = setInterval(() => redraw(true), 1000);

  const connection = connectWhileVisible(
    baseUrl,
    state,
    (status) => {
      badge.textContent = statusText(status);
      badge.className = `connection ${status.state}`;
    },
    seedCharts,
    () => options.onLiveRefused?.(connection),
  );
  addEventListener('hashchange', route);
  route();

  return {
    stop() {
      removeEventListener('hashchange', route);
      connection.stop();
      clearInterval(ticker);
      unsubscribe();
      if (frame !== undefined) cancelAnimationFrame(frame);
      closeView?.();
      closeView = undefined;
    },
  };
}
