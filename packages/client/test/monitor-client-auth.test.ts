/**
 * The REST client against a receiver that requires read tokens: a plain HTTP server that checks the
 * `Authorization` header and answers 401 as the receiver's contract says (support/token-server.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH_ERROR_CODES, CLIENT_ERROR_CODES, createMonitorClient, MonitorApiError } from '../src/index.js';
import { READ_TOKEN, startTokenServer } from './support/token-server.js';
import type { TokenServer } from './support/token-server.js';

let server: TokenServer;
beforeEach(async () => {
  server = await startTokenServer();
});
afterEach(async () => {
  await server.close();
});

describe('the monitor client with a read token', () => {
  it('sends the token as a bearer Authorization header with every request', async () => {
    const client = createMonitorClient({ baseUrl: server.baseUrl, token: READ_TOKEN });
    expect(await client.getStatistics()).toEqual({ sessions_total: 7 });
    await client.getStatistics({ window: '1h' });
    expect(server.requests.map((request) => request.authorization)).toEqual([`Bearer ${READ_TOKEN}`, `Bearer ${READ_TOKEN}`]);
  });

  it('sends no Authorization header without a token, and says the read token is missing when refused', async () => {
    const client = createMonitorClient({ baseUrl: server.baseUrl });
    const error = await client.getStatistics().catch((caught: unknown) => caught);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.authorization).toBeUndefined();
    expect(error).toBeInstanceOf(MonitorApiError);
    expect(error).toMatchObject({ status: 401, code: AUTH_ERROR_CODES.UNAUTHENTICATED });
    expect((error as Error).message).toContain('GET /api/monitoring/statistics failed with HTTP 401: the read token is missing');
    expect((error as Error).message).toContain('`token`');
    // What the server said comes along.
    expect((error as Error).message).toContain('a valid read token is required');
  });

  it('says the read token is wrong when a token is refused, without repeating it', async () => {
    const client = createMonitorClient({ baseUrl: server.baseUrl, token: 'not-the-right-one' });
    const error = await client.getActiveSessions().catch((caught: unknown) => caught);
    expect(server.requests[0]!.authorization).toBe('Bearer not-the-right-one');
    expect(error).toMatchObject({ status: 401, code: 'LLMMON_ERR_UNAUTHENTICATED' });
    expect((error as Error).message).toContain('the read token is wrong');
    expect((error as Error).message).not.toContain('not-the-right-one');
  });

  it("turns a 401 that is not the API's (a proxy's page) into the client's own code, still naming the read token", async () => {
    const fetch = (async () =>
      new Response('<html>401 Authorization Required</html>', {
        status: 401,
        headers: { 'content-type': 'text/html' },
      })) as typeof globalThis.fetch;
    const error = await createMonitorClient({ baseUrl: 'http://monitor.test', fetch })
      .getLlmCalls()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MonitorApiError);
    expect(error).toMatchObject({ status: 401, code: CLIENT_ERROR_CODES.BAD_RESPONSE });
    expect((error as Error).message).toBe(
      'GET /api/monitoring/llm-calls failed with HTTP 401: the read token is missing: the receiver requires one of its read_tokens; pass it as `token` to createMonitorClient',
    );
  });

  it('tells whether a token is required and accepted, and signs a browser session in with the token', async () => {
    expect(await createMonitorClient({ baseUrl: server.baseUrl }).getAuthState()).toEqual({ required: true, authenticated: false });
    const client = createMonitorClient({ baseUrl: server.baseUrl, token: READ_TOKEN });
    expect(await client.getAuthState()).toEqual({ required: true, authenticated: true });
    await client.startBrowserSession();
    expect(server.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/auth/session', authorization: `Bearer ${READ_TOKEN}` });
    const refused = await createMonitorClient({ baseUrl: server.baseUrl })
      .startBrowserSession('wrong')
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ status: 401, code: AUTH_ERROR_CODES.UNAUTHENTICATED });
    expect((refused as Error).message).toContain('POST /api/auth/session failed with HTTP 401: the read token is wrong');
  });
});
