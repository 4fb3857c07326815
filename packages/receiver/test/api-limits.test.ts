/**
 * The API port's own limits: a per-address rate limit on reading (read_rate_limit_per_minute),
 * which also slows a client guessing tokens, and connections that are idle or half-sent are closed
 * within seconds rather than minutes.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Receiver } from '../src/index.js';
import { buildQuietReceiver } from './quiet-receiver.js';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** Opens a connection, sends `text`, and resolves with how long the server took to close it, in ms. */
function closedAfter(apiUrl: string, text: string): Promise<{ ms: number; answer: string }> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    let answer = '';
    const socket = connect(Number(url.port), url.hostname, () => socket.write(text));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve({ ms: Date.now() - startedAt, answer }));
    socket.on('error', reject);
    // A server that never closes fails the test rather than hanging it.
    setTimeout(() => socket.destroy(new Error('still open after 40 s')), 40_000).unref();
  });
}

describe('the API port', () => {
  it('limits each client address to read_rate_limit_per_minute, with 429, Retry-After and a catalogue code, not counting probes', async () => {
    receiver = await buildQuietReceiver({ readRateLimitPerMinute: 5, readTokens: ['read-token'] });
    const { apiUrl } = await receiver.listen();
    const get = (path: string, token = 'read-token') => fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    // Failed logins count: guessing tokens is rate-limited too.
    expect((await get('/api/monitoring/sessions/active', 'wrong')).status).toBe(401);
    for (let i = 0; i < 4; i += 1) expect((await get('/api/monitoring/sessions/active')).status).toBe(200);
    const limited = await get('/api/monitoring/statistics');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({
      statusCode: 429,
      code: 'LLMMON_ERR_RATE_LIMITED',
      message: expect.stringContaining('more than 5 requests a minute from 127.0.0.1 (read_rate_limit_per_minute)'),
    });
    expect((await get('/metrics')).status).toBe(429);
    // Probes and the page are not counted.
    for (let i = 0; i < 10; i += 1) {
      expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${apiUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${apiUrl}/`)).status).toBe(200);
    }
    // The count is on /metrics — for a client not rate-limited (another address in production; here, a fresh window).
    const metrics = await receiver.apiServer.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer read-token' },
      remoteAddress: '127.0.0.9',
    });
    expect(metrics.body).toContain('llm_monitor_receiver_read_rate_limited_total 2');
  });

  it('with read_rate_limit_per_minute 0, does not limit', async () => {
    receiver = await buildQuietReceiver({ readRateLimitPerMinute: 0 });
    const { apiUrl } = await receiver.listen();
    for (let i = 0; i < 30; i += 1) expect((await fetch(`${apiUrl}/api/monitoring/sessions/active`)).status).toBe(200);
  });

  it('closes idle keep-alive and half-sent connections within seconds', async () => {
    receiver = await buildQuietReceiver();
    const { apiUrl } = await receiver.listen();
    const host = new URL(apiUrl).host;
    const [idle, halfSent, neverSent] = await Promise.all([
      // One answered request, then nothing: closed after the keep-alive timeout (10 s).
      closedAfter(apiUrl, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      // Headers begun and never finished: closed after the headers timeout (10 s).
      closedAfter(apiUrl, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `),
      // Connected, never a byte.
      closedAfter(apiUrl, ''),
    ]);
    expect(idle.answer).toMatch(/^HTTP\/1\.1 200 /);
    // Node checks the timeouts every second: 10 s plus that, plus a noisy machine's slack.
    for (const connection of [idle, halfSent, neverSent]) {
      expect(connection.ms).toBeGreaterThanOrEqual(9_000);
      expect(connection.ms).toBeLessThan(20_000);
    }
  }, 30_000);
});
