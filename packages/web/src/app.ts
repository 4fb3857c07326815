/**
 * The page: the monitor (monitor.ts), or, when the receiver asks for a read token and this browser has
 * no valid session, the login form in its place. The page asks `GET /api/auth/session` first; a
 * receiver that asks for nothing shows the monitor exactly as before, without a Log out control.
 */
import type { TokenStorage } from './auth.js';
import { AuthSession } from './auth.js';
import { h, replaceChildren } from './dom.js';
import type { Monitor } from './monitor.js';
import { startMonitor } from './monitor.js';
import { applyTheme, currentTheme } from './theme.js';
import { pageHeader } from './views/header.js';
import { loginView } from './views/login-view.js';

const SESSION_ENDED = 'Your session has ended. Enter the read token again to go on.';
/** When the receiver could not be asked why it refused the live connection, the page connects again after this long. */
const RETRY_AFTER_UNKNOWN_MS = 5000;

/** The tab's sessionStorage, or nothing where storage is turned off (reading the property itself can throw). */
function tabStorage(): TokenStorage | undefined {
  try {
    return sessionStorage;
  } catch {
    return undefined;
  }
}

/** Starts the page inside `root`; the monitor API is the page's own origin. */
export function startApp(root: HTMLElement): void {
  applyTheme(currentTheme());
  const baseUrl = new URL('.', location.href).href.replace(/\/$/, '');
  const auth = new AuthSession({
    baseUrl,
    // The client has no requests for the browser session (they exist only for the page's cookie);
    // these three go straight to /api/auth/session, everything else still through the client.
    // eslint-disable-next-line no-restricted-globals
    fetch: fetch.bind(globalThis),
    storage: tabStorage(),
  });
  let monitor: Monitor | undefined;

  const stopMonitor = (): void => {
    monitor?.stop();
    monitor = undefined;
  };

  const showLogin = (notice?: string): void => {
    stopMonitor();
    // The fragment stays as it is: after the login, the page opens the view the address names.
    const view = loginView({ login: (token) => auth.login(token), onLoggedIn: () => showMonitor(true), ...(notice ? { notice } : {}) });
    replaceChildren(root, pageHeader(null), h('main', { class: 'login-main' }, view.element));
    view.focus();
  };

  const logout = async (): Promise<void> => {
    stopMonitor();
    const confirmed = await auth.logout();
    showLogin(
      confirmed
        ? 'You have logged out.'
        : 'Logged out in this tab, but the receiver could not be told: its session cookie stays valid until it expires.',
    );
  };

  const showMonitor = (required: boolean): void => {
    stopMonitor();
    // Requests of a monitor already stopped may still come back refused: only the current one may
    // bring the login form.
    const isCurrent = (): boolean => monitor === current;
    const current: Monitor = startMonitor(root, {
      baseUrl,
      fetch: auth.guardedFetch(() => {
        if (isCurrent()) showLogin(SESSION_ENDED);
      }),
      ...(required ? { onLogout: () => void logout() } : {}),
      onLiveRefused: (connection) => {
        void auth.recover().then((outcome) => {
          if (!isCurrent()) return;
          if (outcome === 'login') showLogin(SESSION_ENDED);
          // Restored, or valid again (another tab logged in meanwhile): connect now.
          else if (outcome !== 'unknown') connection.reconnect();
          // The receiver went away in between: the refused subscription has ended, so try again later.
          else
            setTimeout(() => {
              if (isCurrent()) connection.reconnect();
            }, RETRY_AFTER_UNKNOWN_MS);
        });
      },
    });
    monitor = current;
  };

  // Until the receiver has said whether it asks for a token: the header, and nothing that needs data.
  replaceChildren(root, pageHeader(null), h('main', {}));
  void auth.start().then((outcome) => {
    if (outcome.view === 'monitor') showMonitor(outcome.required);
    else showLogin(outcome.notice);
  });
}
