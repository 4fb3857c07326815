import { describe, expect, it } from 'vitest';
import { AuthSession, TOKEN_STORAGE_KEY, errorMessage, normaliseToken, parseAuthState, tokenProblem } from '../src/auth.js';
import type { TokenStorage } from '../src/auth.js';

const BASE = 'http://127.0.0.1:8000';
const SESSION_URL = `${BASE}/api/auth/session`;
const UNAUTHENTICATED = {
  statusCode: 401,
  code: 'LLMMON_ERR_UNAUTHENTICATED',
  error: 'Unauthorized',
  message: 'a valid read token is required',
};

interface Call {
  url: string;
  method: string;
  authorization: string | null;
}

/**
 * A receiver with read tokens, as far as the page sees it: the session route, one data route, and a
 * session cookie stood in for by a flag.
 */
class FakeReceiver {
  readonly calls: Call[] = [];
  required = true;
  validTokens = new Set(['right-token']);
  authenticated = false;
  /** When set, every request fails as an unreachable server's does. */
  down = false;
  /** Answers of the data route that do not depend on the session (e.g. a 401 for another reason). */
  dataStatus: number | undefined;

  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const authorization = new Headers(init?.headers).get('authorization');
    this.calls.push({ url, method, authorization });
    if (this.down) throw new TypeError('Failed to fetch');
    if (url === SESSION_URL) {
      if (method === 'GET') return Response.json({ required: this.required, authenticated: this.authenticated || !this.required });
      if (method === 'DELETE') {
        this.authenticated = false;
        return new Response(null, { status: 204 });
      }
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      if (token !== undefined && this.validTokens.has(token)) {
        this.authenticated = true;
        return new Response(null, { status: 204 });
      }
      return Response.json(UNAUTHENTICATED, { status: 401 });
    }
    if (this.dataStatus !== undefined) return Response.json({ message: 'other' }, { status: this.dataStatus });
    if (this.required && !this.authenticated) return Response.json(UNAUTHENTICATED, { status: 401 });
    return Response.json({ ok: true });
  };

  posts(): Call[] {
    return this.calls.filter((call) => call.method === 'POST');
  }
}

function memoryStorage(initial: Record<string, string> = {}): TokenStorage & { items: Map<string, string> } {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

function brokenStorage(): TokenStorage {
  const fail = (): never => {
    throw new Error('SecurityError: storage is disabled');
  };
  return { getItem: fail, setItem: fail, removeItem: fail };
}

describe('the read token as typed', () => {
  it('drops the white space of a paste, and refuses what cannot be a token before sending it', () => {
    expect(normaliseToken('  abc-123_XYZ.~+/=\n')).toBe('abc-123_XYZ.~+/=');
    expect(tokenProblem('abc-123_XYZ.~+/=')).toBeUndefined();
    expect(tokenProblem('')).toBe('Enter the read token.');
    expect(tokenProblem('a,b;c')).toBeUndefined();
    for (const bad of ['two words', 'line\nbreak', 'tab\there', 'naïve', 'emoji🙂'])
      expect(tokenProblem(bad), JSON.stringify(bad)).toMatch(/single word/);
  });
});

describe('the answers of /api/auth/session', () => {
  it('reads the state, and takes a receiver without the route for one that asks for nothing', () => {
    expect(parseAuthState(200, { required: true, authenticated: false })).toEqual({ required: true, authenticated: false });
    expect(parseAuthState(404, undefined)).toEqual({ required: false, authenticated: true });
    expect(parseAuthState(200, { required: 'yes', authenticated: false })).toBeUndefined();
    expect(parseAuthState(200, null)).toBeUndefined();
    expect(parseAuthState(500, { required: false, authenticated: true })).toBeUndefined();
  });

  it('takes the message of an error answer, else names the status', () => {
    expect(errorMessage(401, UNAUTHENTICATED)).toBe('a valid read token is required');
    expect(errorMessage(502, '<html>bad gateway</html>')).toBe('the receiver answered HTTP 502');
    expect(errorMessage(401, { message: '' })).toBe('the receiver answered HTTP 401');
  });
});

describe('AuthSession', () => {
  it('starts the monitor without a Log out control when the receiver asks for no token, and sends no token', async () => {
    const receiver = new FakeReceiver();
    receiver.required = false;
    const auth = new AuthSession({
      baseUrl: `${BASE}/`,
      fetch: receiver.fetch,
      storage: memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' }),
    });
    expect(await auth.start()).toEqual({ view: 'monitor', required: false });
    expect(receiver.calls).toEqual([{ url: SESSION_URL, method: 'GET', authorization: null }]);
  });

  it('starts the monitor as before when the receiver cannot be asked', async () => {
    const receiver = new FakeReceiver();
    receiver.down = true;
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
    expect(await auth.start()).toEqual({ view: 'monitor', required: false });
  });

  it('asks for the token when there is no session and the tab kept none', async () => {
    const receiver = new FakeReceiver();
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
    expect(await auth.start()).toEqual({ view: 'login' });
    expect(receiver.posts()).toHaveLength(0);
  });

  it('starts the monitor with Log out while the session cookie is valid, without logging in again', async () => {
    const receiver = new FakeReceiver();
    receiver.authenticated = true;
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' }) });
    expect(await auth.start()).toEqual({ view: 'monitor', required: true });
    expect(receiver.posts()).toHaveLength(0);
  });

  it('keeps an accepted token for the tab, sending it only in the Authorization header', async () => {
    const receiver = new FakeReceiver();
    const storage = memoryStorage();
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
    expect(await auth.login('right-token')).toEqual({ ok: true });
    expect(receiver.posts()).toEqual([{ url: SESSION_URL, method: 'POST', authorization: 'Bearer right-token' }]);
    expect(storage.items.get(TOKEN_STORAGE_KEY)).toBe('right-token');
    expect(receiver.calls.every((call) => !call.url.includes('right-token'))).toBe(true);
  });

  it('says why a token was refused, and keeps nothing', async () => {
    const receiver = new FakeReceiver();
    const storage = memoryStorage();
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
    expect(await auth.login('wrong-token')).toEqual({ ok: false, refused: true, message: 'a valid read token is required' });
    expect(storage.items.size).toBe(0);
    // A token that cannot be one is not sent at all.
    expect(await auth.login('two words')).toMatchObject({ ok: false, refused: true });
    expect(receiver.posts()).toHaveLength(1);
  });

  it('tells a receiver that cannot be reached from a refused token', async () => {
    const receiver = new FakeReceiver();
    receiver.down = true;
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
    const result = await auth.login('right-token');
    expect(result).toMatchObject({ ok: false, refused: false });
    expect(result.ok ? '' : result.message).toContain('could not be reached');
  });

  it('logs in again silently with the kept token when the cookie has expired (a reload)', async () => {
    const receiver = new FakeReceiver();
    const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' });
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
    expect(await auth.start()).toEqual({ view: 'monitor', required: true });
    expect(receiver.posts()).toEqual([{ url: SESSION_URL, method: 'POST', authorization: 'Bearer right-token' }]);
  });

  it('forgets a kept token the receiver no longer accepts, and says so on the form', async () => {
    const receiver = new FakeReceiver();
    receiver.validTokens = new Set(['rotated-token']);
    const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' });
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
    const outcome = await auth.start();
    expect(outcome.view).toBe('login');
    expect(outcome.view === 'login' ? outcome.notice : '').toContain('not accepted any more');
    expect(storage.items.size).toBe(0);
  });

  it('logs out: forgets the token and ends the session, even when the receiver cannot be told', async () => {
    const receiver = new FakeReceiver();
    const storage = memoryStorage();
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
    await auth.login('right-token');
    expect(await auth.logout()).toBe(true);
    expect(receiver.calls.at(-1)).toMatchObject({ url: SESSION_URL, method: 'DELETE' });
    expect(storage.items.size).toBe(0);
    expect(await auth.start()).toEqual({ view: 'login' });

    await auth.login('right-token');
    receiver.down = true;
    expect(await auth.logout()).toBe(false);
    expect(storage.items.size).toBe(0);
  });

  it('keeps the token for the page when storage is turned off', async () => {
    const receiver = new FakeReceiver();
    const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: brokenStorage() });
    expect(await auth.login('right-token')).toEqual({ ok: true });
    receiver.authenticated = false;
    expect(await auth.recover()).toBe('restored');
    await auth.logout();
    receiver.authenticated = false;
    expect(await auth.recover()).toBe('login');
  });

  describe('recover, after a refused request or a failing live connection', () => {
    it('finds nothing to do while the session is valid or no token is needed', async () => {
      const receiver = new FakeReceiver();
      receiver.authenticated = true;
      const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
      expect(await auth.recover()).toBe('authenticated');
      receiver.required = false;
      receiver.authenticated = false;
      expect(await auth.recover()).toBe('authenticated');
      expect(receiver.posts()).toHaveLength(0);
    });

    it('restores the session with the kept token, once for many overlapping calls', async () => {
      const receiver = new FakeReceiver();
      const auth = new AuthSession({
        baseUrl: BASE,
        fetch: receiver.fetch,
        storage: memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' }),
      });
      expect(await Promise.all([auth.recover(), auth.recover(), auth.recover()])).toEqual(['restored', 'restored', 'restored']);
      expect(receiver.posts()).toHaveLength(1);
      // A later failure asks again.
      receiver.authenticated = false;
      expect(await auth.recover()).toBe('restored');
      expect(receiver.posts()).toHaveLength(2);
    });

    it('needs the user when no token is kept or the kept one is refused, and knows nothing when the receiver is away', async () => {
      const receiver = new FakeReceiver();
      const storage = memoryStorage();
      const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage });
      expect(await auth.recover()).toBe('login');
      storage.setItem(TOKEN_STORAGE_KEY, 'revoked-token');
      expect(await auth.recover()).toBe('login');
      expect(storage.items.size).toBe(0);
      receiver.down = true;
      expect(await auth.recover()).toBe('unknown');
    });
  });

  describe('the guarded fetch of the monitor client', () => {
    it('makes a refused request again once the session is restored, so the view never sees the 401', async () => {
      const receiver = new FakeReceiver();
      const auth = new AuthSession({
        baseUrl: BASE,
        fetch: receiver.fetch,
        storage: memoryStorage({ [TOKEN_STORAGE_KEY]: 'right-token' }),
      });
      let loginNeeded = 0;
      const guarded = auth.guardedFetch(() => (loginNeeded += 1));
      const response = await guarded(`${BASE}/api/monitoring/statistics`, { headers: { accept: 'application/json' } });
      expect(response.status).toBe(200);
      expect(loginNeeded).toBe(0);
      expect(receiver.calls.map((call) => `${call.method} ${call.url.replace(BASE, '')}`)).toEqual([
        'GET /api/monitoring/statistics',
        'GET /api/auth/session',
        'POST /api/auth/session',
        'GET /api/monitoring/statistics',
      ]);
    });

    it('passes the 401 on and asks for the login form when the user must log in', async () => {
      const receiver = new FakeReceiver();
      const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
      let loginNeeded = 0;
      const guarded = auth.guardedFetch(() => (loginNeeded += 1));
      const [first, second] = await Promise.all([guarded(`${BASE}/api/monitoring/a`), guarded(`${BASE}/api/monitoring/b`)]);
      expect([first.status, second.status]).toEqual([401, 401]);
      expect(((await first.json()) as { code: string }).code).toBe('LLMMON_ERR_UNAUTHENTICATED');
      expect(loginNeeded).toBe(2);
    });

    it('tries a request refused for another reason only once more, and leaves other answers alone', async () => {
      const receiver = new FakeReceiver();
      receiver.authenticated = true;
      receiver.dataStatus = 401;
      const auth = new AuthSession({ baseUrl: BASE, fetch: receiver.fetch, storage: memoryStorage() });
      const guarded = auth.guardedFetch(() => {
        throw new Error('not expected');
      });
      expect((await guarded(`${BASE}/api/monitoring/a`)).status).toBe(401);
      expect(receiver.calls.filter((call) => call.url.endsWith('/a'))).toHaveLength(2);
      receiver.dataStatus = 500;
      expect((await guarded(`${BASE}/api/monitoring/b`)).status).toBe(500);
      expect(receiver.calls.filter((call) => call.url.endsWith('/b'))).toHaveLength(1);
    });
  });
});
