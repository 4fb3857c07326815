/**
 * Authentication over real sockets: every read route, the WebSocket upgrade, SSE, `/metrics`, and
 * both ingest transports, with no token, a wrong one and a valid one; the browser session cookie;
 * token files read again when they change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { credentials, makeGenericClientConstructor, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import type { Receiver, ReceiverAddresses } from '../src/index.js';
import { OTLP_GRPC_EXPORT_PATH, OTLP_TRACE_SERVICE, passBytes } from '../src/otlp/otlp-grpc.js';
import { sessionCookieValue, validSessionCookie } from '../src/auth/browser-session.js';
import { parseTokenFile, TokenSet } from '../src/auth/token-set.js';
import { asProtobuf, sdkSpans } from './otlp-fixtures.js';
import { buildQuietReceiver } from './quiet-receiver.js';
import { until } from '../../../test/support/wait.js';

const INGEST = 'ingest-token-0123456789';
const READ = 'read-token-abcdefghij';
const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-auth-'));
const readFile = join(directory, 'read-tokens');

let receiver: Receiver;
let addresses: ReceiverAddresses;
let grpc: Client;
const RawTraceService = makeGenericClientConstructor(OTLP_TRACE_SERVICE, 'TraceService');

beforeAll(async () => {
  writeFileSync(readFile, '# tokens of the team\nfile-token-1\n');
  receiver = await buildQuietReceiver({ ingestTokens: [INGEST], readTokens: [READ], readTokensFile: readFile });
  addresses = await receiver.listen();
  grpc = new RawTraceService(new URL(addresses.otlpGrpcUrl).host, credentials.createInsecure());
});

afterAll(async () => {
  grpc.close();
  await receiver.close();
  rmSync(directory, { recursive: true, force: true });
});

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function grpcExport(token: string | undefined): Promise<'ok' | ServiceError> {
  return sdkSpans().then(
    (spans) =>
      new Promise((resolve) => {
        const metadata = new Metadata();
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        grpc.makeUnaryRequest(OTLP_GRPC_EXPORT_PATH, passBytes, passBytes, asProtobuf(spans), metadata, {}, (error) =>
          resolve(error ?? 'ok'),
        );
      }),
  );
}

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${addresses.apiUrl.replace('http', 'ws')}/ws/monitoring`, { headers });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.close();
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

describe('OTLP ingest with ingest_tokens', () => {
  it('refuses OTLP/HTTP without a token or with a wrong one (401, a google.rpc.Status, before the body is read), and takes a valid one', async () => {
    const body = asProtobuf(await sdkSpans());
    const post = (headers: Record<string, string>) =>
      fetch(addresses.otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="llm-monitor"');
    expect(await none.json()).toMatchObject({
      code: 16,
      message: expect.stringMatching(/^LLMMON_ERR_UNAUTHENTICATED: OTLP ingest needs a token/),
    });
    const wrong = await post(bearer('nope'));
    expect(wrong.status).toBe(401);
    expect((await wrong.json()) as { message: string }).toMatchObject({ message: expect.stringContaining('not one of ingest_tokens') });
    // A read token is no ingest token.
    expect((await post(bearer(READ))).status).toBe(401);
    const valid = await fetch(addresses.otlpTracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...bearer(INGEST) },
      body,
    });
    expect(valid.status).toBe(200);
  });

  it('refuses OTLP/gRPC without a valid token with UNAUTHENTICATED, and takes a valid one', async () => {
    expect(await grpcExport(undefined)).toMatchObject({
      code: GrpcStatus.UNAUTHENTICATED,
      details: expect.stringMatching(/^LLMMON_ERR_UNAUTHENTICATED/),
    });
    expect(await grpcExport('nope')).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    expect(await grpcExport(INGEST)).toBe('ok');
  });
});

describe('reading with read_tokens', () => {
  const protectedRoutes = [
    '/api',
    '/api/monitoring/sessions/active',
    '/api/monitoring/sessions/recent',
    '/api/monitoring/sessions/nope',
    '/api/monitoring/statistics',
    '/api/monitoring/llm-calls',
    '/api/monitoring/analytics',
    '/api/monitoring/model-prices',
    '/api/monitoring/conversations/c1',
    '/docs',
    '/docs/json',
    '/metrics',
  ];

  it('refuses every data route without a token or with a wrong one, with the API error body', async () => {
    for (const path of protectedRoutes) {
      for (const headers of [{}, bearer('nope'), bearer(INGEST), { cookie: 'llm_monitor_session=123.abc' }]) {
        const response = await fetch(`${addresses.apiUrl}${path}`, { headers });
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="llm-monitor"');
        expect(await response.json()).toMatchObject({ statusCode: 401, code: 'LLMMON_ERR_UNAUTHENTICATED', error: 'Unauthorized' });
      }
    }
  });

  it('answers every data route to a valid token, from the config or from the token file', async () => {
    for (const token of [READ, 'file-token-1']) {
      for (const path of protectedRoutes) {
        const response = await fetch(`${addresses.apiUrl}${path}`, { headers: bearer(token) });
        expect([200, 404], `${path} with ${token}`).toContain(response.status);
      }
    }
  });

  it('keeps health, readiness and the page open: they show no data', async () => {
    for (const path of ['/healthz', '/readyz', '/', '/api/auth/session']) {
      expect((await fetch(`${addresses.apiUrl}${path}`)).status, path).toBe(200);
    }
    expect(await (await fetch(`${addresses.apiUrl}/api/auth/session`)).json()).toEqual({ required: true, authenticated: false });
  });

  it('refuses the WebSocket upgrade with 401, and upgrades with a valid token', async () => {
    expect(await upgradeStatus({})).toBe(401);
    expect(await upgradeStatus(bearer('nope'))).toBe(401);
    expect(await upgradeStatus(bearer(READ))).toBe(101);
  });

  it('refuses the SSE stream without a valid token, and streams with one', async () => {
    expect((await fetch(`${addresses.apiUrl}/api/monitoring/stream`)).status).toBe(401);
    const controller = new AbortController();
    const streaming = await fetch(`${addresses.apiUrl}/api/monitoring/stream`, { headers: bearer(READ), signal: controller.signal });
    expect(streaming.status).toBe(200);
    expect(streaming.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
  });

  it('trades the read token for a browser session cookie (HttpOnly, SameSite=Strict) that opens the routes and the WebSocket', async () => {
    const refused = await fetch(`${addresses.apiUrl}/api/auth/session`, { method: 'POST', headers: bearer('nope') });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();
    const login = await fetch(`${addresses.apiUrl}/api/auth/session`, { method: 'POST', headers: bearer(READ) });
    expect(login.status).toBe(204);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^llm_monitor_session=\d+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain(READ);
    const cookie = setCookie.split(';', 1)[0]!;
    expect((await fetch(`${addresses.apiUrl}/api/monitoring/sessions/active`, { headers: { cookie } })).status).toBe(200);
    expect(await (await fetch(`${addresses.apiUrl}/api/auth/session`, { headers: { cookie } })).json()).toEqual({
      required: true,
      authenticated: true,
    });
    expect(await upgradeStatus({ cookie })).toBe(101);
    // A tampered cookie is refused.
    expect(
      (await fetch(`${addresses.apiUrl}/api/monitoring/sessions/active`, { headers: { cookie: `${cookie.slice(0, -2)}xx` } })).status,
    ).toBe(401);
    const logout = await fetch(`${addresses.apiUrl}/api/auth/session`, { method: 'DELETE', headers: { cookie } });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^llm_monitor_session=; .*Max-Age=0/);
  });

  it('reads the token file again when it changes: a token added works, a token removed stops working', async () => {
    expect((await fetch(`${addresses.apiUrl}/api/monitoring/statistics`, { headers: bearer('file-token-2') })).status).toBe(401);
    writeFileSync(readFile, 'file-token-2\n');
    await until(
      'the new token works',
      async () => (await fetch(`${addresses.apiUrl}/api/monitoring/statistics`, { headers: bearer('file-token-2') })).status === 200,
      10_000,
      200,
    );
    expect((await fetch(`${addresses.apiUrl}/api/monitoring/statistics`, { headers: bearer('file-token-1') })).status).toBe(401);
    // The config's tokens stay whatever the file says.
    expect((await fetch(`${addresses.apiUrl}/api/monitoring/statistics`, { headers: bearer(READ) })).status).toBe(200);
  });
});

describe('metrics_public', () => {
  it('serves /metrics without a token while everything else still needs one', async () => {
    const open = await buildQuietReceiver({ readTokens: [READ], metricsPublic: true });
    try {
      const { apiUrl } = await open.listen();
      expect((await fetch(`${apiUrl}/metrics`)).status).toBe(200);
      expect((await fetch(`${apiUrl}/api/monitoring/statistics`)).status).toBe(401);
    } finally {
      await open.close();
    }
  });

  it('leaves everything open without tokens, as before', async () => {
    const open = await buildQuietReceiver();
    try {
      const { apiUrl } = await open.listen();
      for (const path of ['/metrics', '/api/monitoring/statistics', '/docs/json'])
        expect((await fetch(`${apiUrl}${path}`)).status, path).toBe(200);
      expect(await (await fetch(`${apiUrl}/api/auth/session`)).json()).toEqual({ required: false, authenticated: true });
    } finally {
      await open.close();
    }
  });
});

describe('safe defaults', () => {
  it('says loudly, at start and on /readyz, when it listens beyond loopback with ingest or reading open', async () => {
    const lines: string[] = [];
    const { default: pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const open = await buildQuietReceiver({ host: '0.0.0.0', readTokens: [READ] }, { logger });
    try {
      const { apiUrl } = await open.listen();
      const local = apiUrl.replace('0.0.0.0', '127.0.0.1');
      expect(lines.join('')).toContain(
        'LLMMON_ERR_OPEN_ON_NETWORK: bound to 0.0.0.0, which other machines reach, with ingest open to anyone',
      );
      const ready = (await (await fetch(`${local}/readyz`)).json()) as {
        status: string;
        components: { auth: { status: string; reason: string | null; details: Record<string, unknown> } };
      };
      expect(ready.status).toBe('degraded');
      expect(ready.components.auth).toMatchObject({
        status: 'degraded',
        reason: expect.stringContaining('set ingest_tokens (LLM_MONITOR_INGEST_TOKENS)'),
        details: { ingest: 'open', read: { tokens: 1 } },
      });
    } finally {
      await open.close();
    }
    // On loopback, open is the default and fine.
    const ready = (await (await fetch(`${addresses.apiUrl}/readyz`)).json()) as { components: { auth: { status: string } } };
    expect(ready.components.auth.status).toBe('healthy');
  });
});

describe('browsers cannot be turned against it', () => {
  /** Status of a raw HTTP request with the given headers (fetch cannot set Host or Origin). */
  async function statusWith(url: string, headers: Record<string, string>, method = 'GET'): Promise<number> {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const sent = request(url, { method, headers }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      sent.on('error', reject);
      sent.end();
    });
  }

  it('refuses a foreign Host on a loopback receiver (DNS rebinding), on the API and on OTLP, with 403', async () => {
    const statistics = `${addresses.apiUrl}/api/monitoring/statistics`;
    expect(await statusWith(statistics, { host: 'evil.example', ...bearer(READ) })).toBe(403);
    expect(await statusWith(`${addresses.apiUrl}/`, { host: 'evil.example:8000' })).toBe(403);
    expect(
      await statusWith(addresses.otlpTracesUrl, { host: 'evil.example', ...bearer(INGEST), 'content-type': 'application/json' }, 'POST'),
    ).toBe(403);
    for (const host of ['localhost:8000', '127.0.0.1', 'app.localhost:1234', '[::1]:8000'])
      expect(await statusWith(statistics, { host, ...bearer(READ) }), host).toBe(200);
    const refused = await fetch(statistics, { headers: { ...bearer(READ), origin: 'http://evil.example' } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      code: 'LLMMON_ERR_FORBIDDEN_ORIGIN',
      message: expect.stringContaining('Origin "http://evil.example"'),
    });
  });

  it('refuses a WebSocket upgrade from another origin (or null) even with a valid token, and takes its own page', async () => {
    const own = new URL(addresses.apiUrl).origin;
    expect(await upgradeStatus({ ...bearer(READ), origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus({ ...bearer(READ), origin: 'null' })).toBe(403);
    expect(await upgradeStatus({ ...bearer(READ), origin: own })).toBe(101);
  });

  it('takes what allowed_hosts and allowed_origins list, and any host when bound beyond loopback', async () => {
    const listed = await buildQuietReceiver({ allowedHosts: ['monitor.internal'], allowedOrigins: ['https://grafana.example.com'] });
    const wide = await buildQuietReceiver({ host: '0.0.0.0' });
    try {
      const listedUrl = `${(await listed.listen()).apiUrl}/api/monitoring/statistics`;
      expect(await statusWith(listedUrl, { host: 'monitor.internal:8000' })).toBe(200);
      expect(await statusWith(listedUrl, { host: 'other.internal' })).toBe(403);
      expect(await statusWith(listedUrl, { origin: 'https://grafana.example.com' })).toBe(200);
      expect(await statusWith(listedUrl, { origin: 'https://evil.example' })).toBe(403);
      const wideUrl = `${(await wide.listen()).apiUrl.replace('0.0.0.0', '127.0.0.1')}/api/monitoring/statistics`;
      expect(await statusWith(wideUrl, { host: 'llm-monitor.monitoring.svc:8000' })).toBe(200);
      expect(await statusWith(wideUrl, { host: 'llm-monitor:8000', origin: 'http://evil.example' })).toBe(403);
    } finally {
      await listed.close();
      await wide.close();
    }
  });
});

describe('security headers', () => {
  it('are on every answer of the API server — data, /metrics, /docs, health — not only on the page', async () => {
    for (const path of ['/api/monitoring/statistics', '/metrics', '/docs', '/healthz', '/', '/api/auth/session']) {
      const response = await fetch(`${addresses.apiUrl}${path}`, { headers: { ...bearer(READ), accept: 'text/html' } });
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(response.headers.get('content-security-policy'), path).toMatch(/frame-ancestors '(none|self)'/);
      expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
    }
    // Data gets the strictest policy; the page and Swagger UI their own.
    const data = await fetch(`${addresses.apiUrl}/api/monitoring/statistics`, { headers: bearer(READ) });
    expect(data.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    const docs = await fetch(`${addresses.apiUrl}/docs/static/index.html`, { headers: bearer(READ) });
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(docs.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });
});

describe('live connection caps', () => {
  it('refuses live connections over the per-address and total caps with 429 before the upgrade, and takes new ones when some close', async () => {
    const capped = await buildQuietReceiver({ liveMaxClients: 3, liveMaxClientsPerAddress: 2 });
    const sockets: WebSocket[] = [];
    const open = (apiUrl: string): Promise<number> =>
      new Promise((resolve) => {
        const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
        socket.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          response.destroy();
          socket.terminate();
        });
        socket.once('open', () => {
          sockets.push(socket);
          resolve(101);
        });
        socket.on('error', () => undefined);
      });
    try {
      const { apiUrl } = await capped.listen();
      expect(await open(apiUrl)).toBe(101);
      // SSE counts too.
      const controller = new AbortController();
      const stream = await fetch(`${apiUrl}/api/monitoring/stream`, { signal: controller.signal });
      expect(stream.status).toBe(200);
      expect(await open(apiUrl)).toBe(429);
      const refused = await fetch(`${apiUrl}/api/monitoring/stream`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(await refused.json()).toMatchObject({
        code: 'LLMMON_ERR_TOO_MANY_LIVE_CLIENTS',
        message: expect.stringContaining('live_max_clients_per_address'),
      });
      controller.abort();
      await until('the stream is let go', async () => (await open(apiUrl)) === 101, 5000, 100);
      const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
      expect(metrics).toMatch(/^llm_monitor_receiver_live_clients_refused_total\{reason="per_address"\} [1-9]\d*$/m);
    } finally {
      for (const socket of sockets) socket.terminate();
      await capped.close();
    }
    const small = await buildQuietReceiver({ liveMaxClients: 1, liveMaxClientsPerAddress: 5 });
    try {
      const { apiUrl } = await small.listen();
      const first = new AbortController();
      expect((await fetch(`${apiUrl}/api/monitoring/stream`, { signal: first.signal })).status).toBe(200);
      const second = await fetch(`${apiUrl}/api/monitoring/stream`);
      expect(second.status).toBe(429);
      expect(((await second.json()) as { message: string }).message).toContain('(live_max_clients)');
      first.abort();
    } finally {
      await small.close();
    }
  });
});

describe('tokens', () => {
  it('reads token files: one per line, comments and blank lines left out', () => {
    expect(parseTokenFile('# team a\n  t1  \n\nt2 # rotated 2026-11\r\n#t3\n')).toEqual(['t1', 't2']);
  });

  it('matches only the tokens in force, whatever the guess shares with them', () => {
    const tokens = new TokenSet({ purpose: 'read', tokens: ['alpha-secret', 'beta-secret'], file: '' });
    expect(tokens.matches('alpha-secret')).toBe(true);
    expect(tokens.matches('beta-secret')).toBe(true);
    for (const guess of ['alpha-secreT', 'alpha-secre', 'alpha-secret ', '', undefined]) expect(tokens.matches(guess)).toBe(false);
    expect(new TokenSet({ purpose: 'read', tokens: [], file: '' }).required).toBe(false);
    expect(() => new TokenSet({ purpose: 'read', tokens: [], file: join(directory, 'missing') })).toThrow(
      /^cannot read the read tokens file/,
    );
  });

  it('signs browser sessions with the token that made them, for a bounded time', () => {
    const now = Date.now();
    const value = sessionCookieValue('alpha', now + 1000);
    expect(validSessionCookie(value, ['alpha'], now)).toBe(true);
    expect(validSessionCookie(value, ['beta'], now)).toBe(false);
    expect(validSessionCookie(value, ['alpha'], now + 1000)).toBe(false);
    // An expiry further off than a session lasts was not made here.
    expect(validSessionCookie(sessionCookieValue('alpha', now + 10 * 86_400_000), ['alpha'], now)).toBe(false);
    expect(validSessionCookie('garbage', ['alpha'], now)).toBe(false);
  });
});
