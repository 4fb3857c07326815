import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';

const build = mkdtempSync(join(tmpdir(), 'llm-monitor-web-'));
mkdirSync(join(build, 'assets'));
const INDEX = '<!doctype html><script type="module" src="./assets/app-abc123.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;
writeFileSync(join(build, 'index.html'), INDEX);
writeFileSync(join(build, 'assets', 'app-abc123.js'), SCRIPT);
writeFileSync(join(build, 'assets', 'app-abc123.css'), 'body{color:red}');
afterAll(() => rmSync(build, { recursive: true, force: true }));

/** What Chrome asks for when it loads a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let receiver: Receiver;
beforeAll(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' }, { webAppDirectory: build });
});
afterAll(() => receiver.close());

describe('the page at /', () => {
  it('is revalidated on every load, under a content security policy, and keyed on Accept and Accept-Encoding', async () => {
    const page = await receiver.apiServer.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    // `/` answers HTML or JSON by Accept: a cache must not hand one to the other.
    expect(page.headers['vary']).toBe('accept, accept-encoding');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toBe(INDEX);

    const again = await receiver.apiServer.inject({
      url: '/',
      headers: { accept: BROWSER_ACCEPT, 'if-none-match': String(page.headers['etag']) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    // A 304 keeps what a cache refreshes from it.
    expect(again.headers['etag']).toBe(page.headers['etag']);
    expect(again.headers['cache-control']).toBe('no-cache');
    expect(again.headers['vary']).toBe('accept, accept-encoding');
  });

  it('shows a new build at once: a changed index.html no longer matches the old tag', async () => {
    const file = join(build, 'index.html');
    const before = await receiver.apiServer.inject({ url: '/', headers: { accept: 'text/html' } });
    // Same length, as a rebuild with new hashes gives; another time.
    const rebuilt = INDEX.replace('abc123', 'def456');
    writeFileSync(file, rebuilt);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    try {
      const after = await receiver.apiServer.inject({
        url: '/',
        headers: { accept: 'text/html', 'if-none-match': String(before.headers['etag']) },
      });
      expect(after.statusCode).toBe(200);
      expect(after.body).toBe(rebuilt);
      expect(after.headers['etag']).not.toBe(before.headers['etag']);
    } finally {
      writeFileSync(file, INDEX);
    }
  });

  it('answers the API index to clients that prefer JSON, the page to everyone else', async () => {
    const cases: [string | undefined, 'json' | 'html'][] = [
      ['application/json', 'json'],
      ['application/json; charset=utf-8', 'json'],
      ['application/json, text/html;q=0.9', 'json'],
      ['text/html;q=0.5, application/json;q=0.9', 'json'],
      // A range for the page at 0 leaves JSON, through the wildcard.
      ['text/html;q=0, */*', 'json'],
      [BROWSER_ACCEPT, 'html'],
      ['text/html', 'html'],
      ['*/*', 'html'],
      [undefined, 'html'],
      ['application/json;q=0, */*', 'html'],
      // The client's order decides between equals.
      ['text/html, application/json', 'html'],
      // Nothing we have: the page, as a server may answer when it cannot please.
      ['image/png', 'html'],
      ['', 'html'],
    ];
    for (const [accept, expected] of cases) {
      const response = await receiver.apiServer.inject({ url: '/', headers: accept === undefined ? {} : { accept } });
      expect(response.statusCode, String(accept)).toBe(200);
      expect(response.headers['content-type'], String(accept)).toBe(
        expected === 'json' ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      );
      expect(response.headers['vary'], String(accept)).toBe('accept, accept-encoding');
    }
    const index = await receiver.apiServer.inject({ url: '/', headers: { accept: 'application/json' } });
    expect(index.json()).toMatchObject({
      name: 'llm-monitor',
      endpoints: { web_monitor: '/', model_prices: '/api/monitoring/model-prices' },
    });
    expect((await receiver.apiServer.inject('/api')).json()).toEqual(index.json());
  });
});

describe('the assets under /assets/', () => {
  it('are cached for a year, typed, and not sniffed', async () => {
    const script = await receiver.apiServer.inject('/assets/app-abc123.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    expect(script.headers['vary']).toBe('accept-encoding');
    expect(script.headers['content-encoding']).toBeUndefined();
    expect(script.body).toBe(SCRIPT);
    expect((await receiver.apiServer.inject('/assets/app-abc123.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('are compressed as Accept-Encoding asks, by its q-values', async () => {
    const cases: [string | undefined, 'gzip' | undefined][] = [
      ['gzip', 'gzip'],
      ['x-gzip', 'gzip'],
      ['gzip, deflate, br', 'gzip'],
      ['br;q=1.0, gzip;q=0.8', 'gzip'],
      ['*', 'gzip'],
      ['GZIP;q=0.1', 'gzip'],
      ['gzip;q=0', undefined],
      ['*;q=0, identity', undefined],
      ['identity', undefined],
      // Only gzip is offered: brotli alone, or deflate, gets the plain bytes.
      ['br', undefined],
      ['deflate', undefined],
      [undefined, undefined],
    ];
    for (const [acceptEncoding, expected] of cases) {
      const response = await receiver.apiServer.inject({
        url: '/assets/app-abc123.js',
        headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      });
      expect(response.headers['content-encoding'], String(acceptEncoding)).toBe(expected);
      expect(response.headers['vary'], String(acceptEncoding)).toBe('accept-encoding');
      const body = expected === 'gzip' ? gunzipSync(response.rawPayload) : response.rawPayload;
      expect(body.toString(), String(acceptEncoding)).toBe(SCRIPT);
      if (expected) expect(response.rawPayload.length).toBeLessThan(SCRIPT.length / 4);
    }
  });

  it('carry one weak ETag for every encoding, and answer 304 to it in either form', async () => {
    const gzipped = await receiver.apiServer.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    const plain = await receiver.apiServer.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'identity' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    // Weak: the same content, not the same bytes, so no strong tag is shared between two encodings.
    const etag = String(gzipped.headers['etag']);
    expect(etag).toMatch(/^W\/"/);
    expect(plain.headers['etag']).toBe(etag);
    for (const acceptEncoding of ['gzip', 'identity']) {
      // If-None-Match compares weakly: with or without the W/ prefix, and within a list.
      for (const ifNoneMatch of [etag, etag.slice(2), `"other", ${etag}`, '*']) {
        const again = await receiver.apiServer.inject({
          url: '/assets/app-abc123.js',
          headers: { 'accept-encoding': acceptEncoding, 'if-none-match': ifNoneMatch },
        });
        expect(again.statusCode, `${acceptEncoding} ${ifNoneMatch}`).toBe(304);
        expect(again.rawPayload.length).toBe(0);
        // A cache refreshes its stored headers from a 304: it must not say the stored bytes are compressed.
        expect(again.headers['content-encoding'], acceptEncoding).toBeUndefined();
        expect(again.headers['content-type']).toBeUndefined();
        expect(again.headers['etag']).toBe(etag);
        expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        expect(again.headers['vary']).toBe('accept-encoding');
      }
    }
    // fetch() adds `Cache-Control: no-cache` (and Pragma) to a request it is given an If-None-Match
    // for: the client's condition still decides.
    for (const url of ['/assets/app-abc123.js', '/']) {
      const first = await receiver.apiServer.inject({ url, headers: { accept: 'text/html' } });
      const fetched = await receiver.apiServer.inject({
        url,
        headers: { accept: 'text/html', 'if-none-match': String(first.headers['etag']), 'cache-control': 'no-cache', pragma: 'no-cache' },
      });
      expect(fetched.statusCode, url).toBe(304);
      // A reload without a condition gets the file.
      expect(
        (await receiver.apiServer.inject({ url, headers: { accept: 'text/html', 'cache-control': 'no-cache' } })).statusCode,
        url,
      ).toBe(200);
    }
    const stale = await receiver.apiServer.inject({
      url: '/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip', 'if-none-match': 'W/"something-else"' },
    });
    expect(stale.statusCode).toBe(200);
    expect(gunzipSync(stale.rawPayload).toString()).toBe(SCRIPT);
  });

  it('answer a missing file with the API not-found error, and serve nothing outside assets/', async () => {
    const missing = await receiver.apiServer.inject('/assets/nope.js');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'LLMMON_ERR_ROUTE_NOT_FOUND' });
    expect((await receiver.apiServer.inject('/assets/../index.html')).statusCode).toBe(404);
    // An encoded traversal reaches @fastify/static, which refuses it (403 or 404, by its version).
    for (const url of ['/assets/%2e%2e/index.html', '/assets/..%2findex.html', '/assets/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const outside = await receiver.apiServer.inject(url);
      expect(outside.statusCode, url).toBeGreaterThanOrEqual(403);
      expect(outside.statusCode, url).toBeLessThanOrEqual(404);
      expect((outside.json() as { code: string }).code, url).toMatch(/^LLMMON_ERR_(FORBIDDEN|ROUTE_NOT_FOUND)$/);
    }
    // index.html is the page's, at /, with its own caching: not a year-long asset.
    expect((await receiver.apiServer.inject('/index.html')).statusCode).toBe(404);
  });
});

describe('without a built page', () => {
  it('tells a browser how to build it, gives other clients the API index, and keeps the API answering', async () => {
    const bare = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' }, { webAppDirectory: join(build, 'nothing-here') });
    try {
      for (const accept of ['text/html', BROWSER_ACCEPT, 'text/html, application/json']) {
        const page = await bare.apiServer.inject({ url: '/', headers: { accept } });
        expect(page.statusCode, accept).toBe(503);
        expect(page.json()).toMatchObject({ code: 'LLMMON_ERR_WEB_NOT_BUILT' });
      }
      // curl's */* wants no page: it gets the endpoint list.
      for (const headers of [{ accept: '*/*' }, {}, { accept: 'application/json' }]) {
        const curl = await bare.apiServer.inject({ url: '/', headers });
        expect(curl.statusCode, JSON.stringify(headers)).toBe(200);
        expect(curl.json()).toMatchObject({ name: 'llm-monitor' });
      }
      const asset = await bare.apiServer.inject('/assets/app-abc123.js');
      expect(asset.statusCode).toBe(404);
      expect(asset.json()).toMatchObject({ code: 'LLMMON_ERR_ROUTE_NOT_FOUND' });
      expect((await bare.apiServer.inject('/api/monitoring/sessions/active')).statusCode).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('the model prices', () => {
  it('are the built-in ones with the configured ones over them, for the page to price calls with', async () => {
    const priced = await buildReceiver(
      { storageUrl: 'memory:', logLevel: 'silent', modelPrices: ['gpt-4o-mini=1.5/6', 'my-local-model=0/0'] },
      { webAppDirectory: build },
    );
    try {
      const { prices } = (await priced.apiServer.inject('/api/monitoring/model-prices')).json() as { prices: Record<string, unknown> };
      expect(prices['gpt-4o-mini']).toEqual({ input_per_million: 1.5, output_per_million: 6 });
      expect(prices['my-local-model']).toEqual({ input_per_million: 0, output_per_million: 0 });
      // Built in: the demo's Anthropic model is priced without configuration.
      expect(prices['claude-sonnet-4']).toEqual({ input_per_million: 3, output_per_million: 15 });
    } finally {
      await priced.close();
    }
  });
});
