/**
 * The live subscription against a receiver that requires read tokens (support/token-server.ts: a
 * node:http server with a `ws` WebSocketServer that checks the upgrade's Authorization header or
 * session cookie and answers 401 before upgrading). In Node with `ws` the token travels as a header;
 * with the global (browser) WebSocket, played here by a class that sends only the cookies it was
 * given, it travels as the session cookie.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { AUTH_ERROR_CODES, subscribeLive } from '../src/index.js';
import type { LiveError, LiveOptions, LiveSubscriptionHandle, WebSocketConstructorLike, WebSocketLike } from '../src/index.js';
import { READ_TOKEN, startTokenServer } from './support/token-server.js';
import type { TokenServer } from './support/token-server.js';

const Ws = WebSocket as unknown as WebSocketConstructorLike;

let server: TokenServer;
let live: LiveSubscriptionHandle | undefined;
beforeEach(async () => {
  server = await startTokenServer();
});
afterEach(async () => {
  live?.close();
  live = undefined;
  vi.unstubAllGlobals();
  await server.close();
});

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type State = Parameters<NonNullable<LiveOptions['onConnectionChange']>>;

/** Subscribes with `options`, collecting snapshots, errors and connection states. */
function watch(options: Partial<LiveOptions>): { snapshots: number; errors: LiveError[]; states: State[] } {
  const seen = { snapshots: 0, errors: [] as LiveError[], states: [] as State[] };
  live = subscribeLive({
    baseUrl: server.baseUrl,
    backoffMs: 10,
    maxBackoffMs: 20,
    onSnapshot: () => void (seen.snapshots += 1),
    onError: (error) => void seen.errors.push(error),
    onConnectionChange: (...state) => void seen.states.push(state),
    ...options,
  });
  return seen;
}

describe('subscribeLive with ws and a read token', () => {
  it('sends the token as a bearer Authorization header on the upgrade request', async () => {
    const seen = watch({ WebSocket: Ws, token: READ_TOKEN });
    await until('the snapshot', () => seen.snapshots === 1);
    expect(server.upgrades).toHaveLength(1);
    expect(server.upgrades[0]!.authorization).toBe(`Bearer ${READ_TOKEN}`);
    expect(server.requests).toEqual([]); // no sign-in: ws carries the header itself
    expect(seen.errors).toEqual([]);
    expect(seen.states.map(([state]) => state)).toEqual(['connecting', 'open']);
  });

  it('sends no Authorization header without a token; refused with 401, it says the token is missing and stops', async () => {
    const seen = watch({ WebSocket: Ws });
    await until('the refusal', () => seen.errors.length === 1);
    expect(server.upgrades[0]!.authorization).toBeUndefined();
    expect(seen.errors[0]).toMatchObject({ code: AUTH_ERROR_CODES.UNAUTHENTICATED, status: 401 });
    expect(seen.errors[0]!.message).toContain('the read token is missing');
    expect(seen.errors[0]!.message).toContain('`token` to subscribeLive');
    expect(seen.states.at(-1)).toEqual(['closed', expect.objectContaining({ status: 401, retryInMs: 0 })]);
    // No reconnecting: the backoff is 10 ms, and nothing more is tried.
    await pause(150);
    expect(server.upgrades).toHaveLength(1);
    expect(seen.errors).toHaveLength(1);
    expect(seen.states.map(([state]) => state)).toEqual(['connecting', 'closed']);
  });

  it('says the token is wrong when the upgrade with it is refused, without repeating it', async () => {
    const seen = watch({ WebSocket: Ws, token: 'a-wrong-token' });
    await until('the refusal', () => seen.errors.length === 1);
    expect(server.upgrades[0]!.authorization).toBe('Bearer a-wrong-token');
    expect(seen.errors[0]!.message).toContain('the read token is wrong');
    expect(seen.errors[0]!.message).not.toContain('a-wrong-token');
  });

  it('reconnects after an upgrade refused for another reason, telling its status', async () => {
    server.refuseUpgrades(503, 2);
    const seen = watch({ WebSocket: Ws, token: READ_TOKEN });
    await until('the snapshot', () => seen.snapshots === 1);
    expect(seen.errors).toEqual([]);
    const reconnects = seen.states.filter(([state]) => state === 'reconnecting');
    expect(reconnects).toHaveLength(2);
    expect(reconnects[0]![1]).toMatchObject({ status: 503 });
    expect(server.upgrades.map((upgrade) => upgrade.authorization)).toEqual(Array(3).fill(`Bearer ${READ_TOKEN}`));
  });
});

/**
 * A browser's WebSocket as the subscription sees it: the URL only (a second argument is recorded,
 * and would be a subprotocol there), no `on`, and only the page's cookies on the upgrade.
 */
class BrowserSocket implements WebSocketLike {
  static cookie: string | undefined;
  static constructed: unknown[][] = [];
  private readonly inner: WebSocket;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(url: string, ...rest: unknown[]) {
    BrowserSocket.constructed.push([url, ...rest]);
    this.inner = new WebSocket(url, { headers: BrowserSocket.cookie ? { cookie: BrowserSocket.cookie } : {} });
    this.inner.onopen = (event) => this.onopen?.(event);
    this.inner.onmessage = (event) => this.onmessage?.({ data: event.data });
    this.inner.onerror = (event) => this.onerror?.(event);
    // What a browser tells of a refused upgrade: a 1006 close, no status.
    this.inner.onclose = (event) => this.onclose?.({ code: event.code, reason: event.reason });
  }
  get readyState(): number {
    return this.inner.readyState;
  }
  send(data: string): void {
    this.inner.send(data);
  }
  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
}

/** The page's fetch: it records each call, and keeps the session cookie as a browser would (unless told not to). */
function pageFetch(keepCookie: boolean): { fetch: typeof globalThis.fetch; calls: { path: string; init: RequestInit | undefined }[] } {
  const calls: { path: string; init: RequestInit | undefined }[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ path: new URL(String(input)).pathname, init });
    const headers = new Headers(init?.headers);
    if (BrowserSocket.cookie) headers.set('cookie', BrowserSocket.cookie);
    const response = await globalThis.fetch(input, { ...init, headers });
    const cookie = response.headers.get('set-cookie');
    if (cookie && keepCookie) BrowserSocket.cookie = cookie.split(';')[0];
    return response;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('subscribeLive with the global (browser) WebSocket and a read token', () => {
  beforeEach(() => {
    BrowserSocket.cookie = undefined;
    BrowserSocket.constructed = [];
    vi.stubGlobal('WebSocket', BrowserSocket);
  });

  it('signs in with the token for the session cookie, then connects with the URL only', async () => {
    const page = pageFetch(true);
    const seen = watch({ token: READ_TOKEN, fetch: page.fetch });
    await until('the snapshot', () => seen.snapshots === 1);
    expect(page.calls).toHaveLength(1);
    expect(page.calls[0]!.path).toBe('/api/auth/session');
    expect(page.calls[0]!.init).toMatchObject({ method: 'POST', credentials: 'same-origin' });
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/api/auth/session', authorization: `Bearer ${READ_TOKEN}` });
    expect(BrowserSocket.constructed).toEqual([[`${server.baseUrl.replace('http', 'ws')}/ws/monitoring`]]);
    expect(server.upgrades[0]).toMatchObject({ authorization: undefined, cookie: 'llm_monitor_session=session-of-tests' });
  });

  it('ends with the token refused at sign-in, before any connection', async () => {
    const page = pageFetch(true);
    const seen = watch({ token: 'a-wrong-token', fetch: page.fetch });
    await until('the refusal', () => seen.errors.length === 1);
    expect(seen.errors[0]).toMatchObject({ code: 'LLMMON_ERR_UNAUTHENTICATED', status: 401 });
    expect(seen.errors[0]!.message).toContain('the read token is wrong');
    expect(seen.errors[0]!.message).not.toContain('a-wrong-token');
    expect(BrowserSocket.constructed).toEqual([]);
    expect(seen.states.map(([state]) => state)).toEqual(['connecting', 'closed']);
  });

  it('asks why a connection closed before opening, and ends when the page is not signed in', async () => {
    const page = pageFetch(true);
    const seen = watch({ fetch: page.fetch });
    await until('the refusal', () => seen.errors.length === 1);
    expect(page.calls.map((call) => `${call.init?.method ?? 'GET'} ${call.path}`)).toEqual(['GET /api/auth/session']);
    expect(seen.errors[0]).toMatchObject({ code: 'LLMMON_ERR_UNAUTHENTICATED', status: 401 });
    expect(seen.errors[0]!.message).toContain('the read token is missing');
    await pause(150);
    expect(server.upgrades).toHaveLength(1);
  });

  it('says so when the WebSocket did not carry the cookie the sign-in set', async () => {
    const page = pageFetch(false);
    const seen = watch({ token: READ_TOKEN, fetch: page.fetch });
    await until('the refusal', () => seen.errors.length === 1);
    expect(server.upgrades[0]!.cookie).toBeUndefined();
    expect(seen.errors[0]!.message).toContain('did not carry the session cookie');
    expect(seen.states.at(-1)?.[0]).toBe('closed');
  });
});
