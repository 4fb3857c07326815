import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import { acceptsGzip, etagMatches } from '../src/web/web-app-routes.js';

const build = mkdtempSync(join(tmpdir(), 'llm-monitor-web-'));
mkdirSync(join(build, 'assets'));
writeFileSync(join(build, 'index.html'), '<!doctype html><script type="module" src="./assets/app-abc123.js"></script>');
writeFileSync(join(build, 'assets', 'app-abc123.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
afterAll(() => rmSync(build, { recursive: true, force: true }));

describe('the web page routes', () => {
  it('serve index.html for revalidation and hashed assets for a year, gzip when asked, 304 on a matching ETag', async () => {
    const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' }, { webAppDirectory: build });
    const page = await receiver.apiServer.inject({ url: '/', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-cache');
    // `/` answers HTML or JSON by Accept: a cache must not hand one to the other.
    expect(page.headers['vary']).toBe('accept, accept-encoding');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('app-abc123.js');

    const asset = await receiver.apiServer.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(asset.rawPayload).toString()).toContain('console.log');
    const again = await receiver.apiServer.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip', 'if-none-match': `W/${String(asset.headers['etag'])}` } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    // The plain bytes have their own tag: a cache holding the gzip form does not get a 304 for them.
    const plain = await receiver.apiServer.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip;q=0', 'if-none-match': String(asset.headers['etag']) } });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['etag']).not.toBe(asset.headers['etag']);

    const missing = await receiver.apiServer.inject('/assets/../index.html');
    expect(missing.statusCode).toBe(404);
    await receiver.close();
  });

  it('answer JSON clients at / and /api with the endpoint list', async () => {
    const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' }, { webAppDirectory: build });
    for (const request of [{ url: '/', headers: { accept: 'application/json' } }, { url: '/api' }]) {
      const response = await receiver.apiServer.inject(request);
      expect(response.headers['content-type']).toContain('application/json');
      expect(response.json()).toMatchObject({ name: 'llm-monitor', endpoints: { web_monitor: '/', model_prices: '/api/monitoring/model-prices' } });
    }
    await receiver.close();
  });

  it('say how to build the page when it is not built, and keep the API answering', async () => {
    const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' }, { webAppDirectory: join(build, 'nothing-here') });
    const page = await receiver.apiServer.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(503);
    expect(page.json()).toMatchObject({ code: 'LLMMON_ERR_WEB_NOT_BUILT' });
    // curl's */* wants no page: it gets the endpoint list.
    const curl = await receiver.apiServer.inject({ url: '/', headers: { accept: '*/*' } });
    expect(curl.statusCode).toBe(200);
    expect(curl.json()).toMatchObject({ name: 'llm-monitor' });
    expect((await receiver.apiServer.inject('/api/monitoring/sessions/active')).statusCode).toBe(200);
    await receiver.close();
  });

  it('serve the built-in model prices with the configured ones over them, for the page to price calls with', async () => {
    const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', modelPrices: ['gpt-4o-mini=1.5/6', 'my-local-model=0/0'] }, { webAppDirectory: build });
    const { prices } = (await receiver.apiServer.inject('/api/monitoring/model-prices')).json() as { prices: Record<string, unknown> };
    expect(prices['gpt-4o-mini']).toEqual({ input_per_million: 1.5, output_per_million: 6 });
    expect(prices['my-local-model']).toEqual({ input_per_million: 0, output_per_million: 0 });
    // Built in: the demo's Anthropic model is priced without configuration.
    expect(prices['claude-sonnet-4']).toEqual({ input_per_million: 3, output_per_million: 15 });
    await receiver.close();
  });
});

describe('conditional and compressed answers', () => {
  it('match If-None-Match as RFC 9110 says: any, lists, weak tags', () => {
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches('"x", W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches(undefined, '"a"')).toBe(false);
  });

  it('send gzip only to clients that take it', () => {
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0, identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
