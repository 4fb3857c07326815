/**
 * Access to a receiver that asks for a read token (its `read_tokens` setting): whether it asks, logging
 * in (the receiver answers with an HttpOnly session cookie, which every later request and the live
 * WebSocket carry by themselves), logging in again silently with the token this tab kept, and logging
 * out. No DOM here, so it is tested in Node: the page hands in its fetch and the tab's sessionStorage.
 *
 * The token is kept in sessionStorage, never localStorage: the issue asks for it once per tab, and a
 * closed tab forgets it. It never goes into a URL (it travels only in the `Authorization` header of
 * `POST /api/auth/session`) and never into the DOM.
 */

/** What `GET /api/auth/session` says: whether a read token is needed, and whether this browser has a valid session. */
export interface AuthState {
  readonly required: boolean;
  readonly authenticated: boolean;
}

/** The part of `Storage` the page uses to keep the token (the tab's sessionStorage). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The sessionStorage key of the read token. */
export const TOKEN_STORAGE_KEY = 'llm-monitor-read-token';

/** The route of the browser session (state, log in, log out). */
export const AUTH_SESSION_PATH = '/api/auth/session';

/** The answer to a login: accepted, refused (401/403: a wrong token), or failed (anything else: the receiver is away or broken). */
export type LoginResult = { readonly ok: true } | { readonly ok: false; readonly refused: boolean; readonly message: string };

/** What the page shows first: the monitor (with a Log out control when `required`), or the login form with an optional notice. */
export type StartOutcome = { readonly view: 'monitor'; readonly required: boolean } | { readonly view: 'login'; readonly notice?: string };

/**
 * What {@link AuthSession.recover} found after a refused request or a failing live connection:
 * `authenticated` (the session is valid, or no token is needed: the failure has another cause),
 * `restored` (logged in again silently with the tab's token), `login` (the user has to enter the token),
 * `unknown` (the receiver could not be asked).
 */
export type RecoverOutcome = 'authenticated' | 'restored' | 'login' | 'unknown';

/** Options of {@link AuthSession}. */
export interface AuthSessionOptions {
  /** The receiver's API origin (the page's own), without a trailing slash. */
  readonly baseUrl: string;
  readonly fetch: typeof globalThis.fetch;
  /** The tab's sessionStorage; absent (or throwing, as with storage turned off) the token lasts for this page only. */
  readonly storage?: TokenStorage;
}

// Visible ASCII only: a header value cannot carry control characters (fetch throws on them), the
// receiver reads `Bearer <token>` up to the first white space, and other characters would reach it as
// Latin-1 bytes, never matching the token as it was written.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

/** The token as the user meant it (surrounding white space from a paste removed). */
export function normaliseToken(input: string): string {
  return input.trim();
}

/** Why `token` cannot be a read token, or `undefined` when it can: said before anything is sent. */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'Enter the read token.';
  if (!TOKEN_SHAPE.test(token)) return 'A read token is a single word of visible ASCII characters, without spaces.';
  return undefined;
}

/** Reads the answer of `GET /api/auth/session`; `undefined` when it is not one. A receiver without the route (404) asks for nothing. */
export function parseAuthState(status: number, body: unknown): AuthState | undefined {
  if (status === 404) return { required: false, authenticated: true };
  if (status !== 200 || typeof body !== 'object' || body === null) return undefined;
  const { required, authenticated } = body as Record<string, unknown>;
  if (typeof required !== 'boolean' || typeof authenticated !== 'boolean') return undefined;
  return { required, authenticated };
}

/** The `message` of an API error answer, else a line naming the status. */
export function errorMessage(status: number, body: unknown): string {
  const message = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['message'] : undefined;
  return typeof message === 'string' && message.trim() !== '' ? message : `the receiver answered HTTP ${status}`;
}

async function jsonBody(response: Response): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}

/** The browser's session with one receiver. */
export class AuthSession {
  readonly #url: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #storage: TokenStorage | undefined;
  /** The token when storage is unavailable: it then lasts for this page. */
  #fallbackToken: string | undefined;
  #recovering: Promise<RecoverOutcome> | undefined;

  constructor(options: AuthSessionOptions) {
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}${AUTH_SESSION_PATH}`;
    this.#fetch = options.fetch;
    this.#storage = options.storage;
  }

  /** Asks the receiver whether a token is needed and whether this browser has a valid session; `undefined` when it cannot be asked. */
  async state(): Promise<AuthState | undefined> {
    try {
      const response = await this.#fetch(this.#url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      return parseAuthState(response.status, await jsonBody(response));
    } catch {
      return undefined;
    }
  }

  /**
   * What the page shows on load: the monitor when no token is needed or the session cookie is still
   * valid; else a silent login with the tab's token (a reload after the cookie expired); else the form.
   * When the receiver cannot be asked, the monitor starts as it always did: a refused request later
   * brings the form through {@link recover}.
   */
  async start(): Promise<StartOutcome> {
    const state = await this.state();
    if (!state) return { view: 'monitor', required: false };
    if (!state.required) return { view: 'monitor', required: false };
    if (state.authenticated) return { view: 'monitor', required: true };
    const token = this.#token();
    if (token === undefined) return { view: 'login' };
    const result = await this.#post(token);
    if (result.ok) return { view: 'monitor', required: true };
    if (result.refused) {
      this.#forget();
      return { view: 'login', notice: `The token this tab kept was not accepted any more: ${result.message}` };
    }
    return { view: 'login', notice: `Could not log in again: ${result.message}` };
  }

  /** Logs in with `token` (`POST /api/auth/session`, the token in the `Authorization` header) and keeps it for the tab when accepted. */
  async login(token: string): Promise<LoginResult> {
    const problem = tokenProblem(token);
    if (problem !== undefined) return { ok: false, refused: true, message: problem };
    const result = await this.#post(token);
    if (result.ok) this.#keep(token);
    return result;
  }

  /** Forgets the tab's token and ends the session (`DELETE /api/auth/session`); false when the receiver did not confirm it. */
  async logout(): Promise<boolean> {
    // Forgotten first: even when the receiver cannot be reached, this tab will not log in again by itself.
    this.#forget();
    try {
      const response = await this.#fetch(this.#url, { method: 'DELETE', credentials: 'same-origin' });
      return response.ok;
    } catch {
      return false;
    }
  }

  /**
   * After a refused request (401) or a live connection that keeps failing: asks whether the session is
   * still valid and, when it is not, logs in again with the tab's token. Calls that overlap share one
   * attempt, so a burst of refused requests makes one login, not one each.
   */
  recover(): Promise<RecoverOutcome> {
    this.#recovering ??= this.#recover().finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  /**
   * A fetch for the monitor client: a 401 answer leads to {@link recover}; when that restores the
   * session, the request is made once more (so the view never sees the refusal), and when the user
   * has to log in, `onLoginNeeded` is called and the 401 is passed on.
   */
  guardedFetch(onLoginNeeded: () => void): typeof globalThis.fetch {
    return async (input, init) => {
      const response = await this.#fetch(input, init);
      if (response.status !== 401) return response;
      const outcome = await this.recover();
      // Once only: a request refused again is refused for another reason, and must not loop.
      if (outcome === 'restored' || outcome === 'authenticated') return this.#fetch(input, init);
      if (outcome === 'login') onLoginNeeded();
      return response;
    };
  }

  async #recover(): Promise<RecoverOutcome> {
    const state = await this.state();
    if (!state) return 'unknown';
    if (!state.required || state.authenticated) return 'authenticated';
    const token = this.#token();
    if (token === undefined) return 'login';
    const result = await this.#post(token);
    if (result.ok) return 'restored';
    if (!result.refused) return 'unknown';
    // The receiver's tokens changed: the kept one is of no more use.
    this.#forget();
    return 'login';
  }

  async #post(token: string): Promise<LoginResult> {
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        // The default of fetch, said out loud: the answer's Set-Cookie is what this request is for.
        credentials: 'same-origin',
      });
    } catch (error) {
      return { ok: false, refused: false, message: `the receiver could not be reached (${(error as Error).message})` };
    }
    if (response.ok) return { ok: true };
    const message = errorMessage(response.status, await jsonBody(response));
    return { ok: false, refused: response.status === 401 || response.status === 403, message };
  }

  #token(): string | undefined {
    try {
      const stored = this.#storage?.getItem(TOKEN_STORAGE_KEY);
      if (stored) return stored;
    } catch {
      // Storage turned off: the page's own copy, if any.
    }
    return this.#fallbackToken;
  }

  #keep(token: string): void {
    try {
      if (this.#storage) {
        this.#storage.setItem(TOKEN_STORAGE_KEY, token);
        return;
      }
    } catch {
      // Storage turned off or full: the token lasts for this page only.
    }
    this.#fallbackToken = token;
  }

  #forget(): void {
    this.#fallbackToken = undefined;
    try {
      this.#storage?.removeItem(TOKEN_STORAGE_KEY);
    } catch {
      // Nothing was kept there.
    }
  }
}
