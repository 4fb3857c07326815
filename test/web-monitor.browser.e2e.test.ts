/**
 * The web monitor in a real browser (Debian's Chromium driven by playwright-core) against a real
 * receiver, with sessions from the instrumentation over OTLP/HTTP, as an engineer would see them.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildReceiver } from '@llm-monitor/receiver';
import { setupLlmMonitor } from '@llm-monitor/instrumentation/setup';
import type { LlmMonitorSetup } from '@llm-monitor/instrumentation/setup';
import { chromiumAvailable, launchChromium } from './support/browser.js';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const available = chromiumAvailable();
const server = useReceiver({ modelPrices: ['gpt-4o-mini=0.15/0.6'] });

let browser: Browser;
let context: BrowserContext;
let setup: LlmMonitorSetup;

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).allTextContents()).join('\n');
}

async function openPage(path = '/'): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(`${server.apiUrl}${path}`);
  await until('the live connection', async () => (await textOf(page, '[data-testid=connection]')) === 'Live');
  return page;
}

/** Script that makes the page believe it was hidden or shown, as a tab switch would (run in the page). */
function setVisibility(state: 'hidden' | 'visible'): string {
  return `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' }); document.dispatchEvent(new Event('visibilitychange'));`;
}

function pageErrors(page: Page): string[] {
  return (page as Page & { errors: string[] }).errors;
}

describe.skipIf(!available)('the web monitor in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'web-e2e', captureTokenText: true, progressIntervalMs: 0 });
  });

  afterAll(async () => {
    await setup?.shutdown();
    await browser?.close();
  });

  it('serves the page with caching headers and a content security policy, and JSON to API clients', async () => {
    const page = await fetch(`${server.apiUrl}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${server.apiUrl}/${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = asset.headers.get('etag')!;
    expect((await fetch(`${server.apiUrl}/${script}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // Nothing is fetched from another origin at run time: every script and stylesheet is our own.
    expect(html).not.toMatch(/(src|href)="https?:/);
    const index = await fetch(`${server.apiUrl}/`, { headers: { accept: 'application/json' } });
    expect(((await index.json()) as { endpoints: Record<string, string> }).endpoints.web_monitor).toBe('/');
    const missing = await fetch(`${server.apiUrl}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'LLMMON_ERR_ROUTE_NOT_FOUND' });
  });

  it('shows a session the moment it starts, its progress and stage live, its details, and lets it go when it ends', async () => {
    const page = await openPage();
    const session = setup.monitor.startSession({ task: 'browser-live', model: 'gpt-4o-mini', content: 'What is the capital of France?', metadata: { team: 'search' } });
    session.stage('initializing');
    const card = `.session-card[data-session-id="${session.sessionId}"]`;
    await until('the card of the new session', async () => (await page.locator(card).count()) === 1);

    session.stage('connecting_to_model', { message: 'opening a connection' });
    await until('the stage change on the card', async () => (await textOf(page, `${card} [data-testid=session-stage]`)) === 'connecting to model');
    expect(await page.locator(`${card} [data-testid=session-progress]`).getAttribute('aria-valuenow')).toBe('50');
    expect(await textOf(page, card)).toContain('opening a connection');

    session.stage('streaming_response');
    session.tokens(3, 'Paris is ');
    await until('streamed tokens on the card', async () => (await textOf(page, `${card} [data-testid=session-tokens]`)).includes('3 tokens'));
    expect(await page.locator(`${card} [data-testid=session-progress]`).getAttribute('aria-valuenow')).toBe('70');
    expect(await textOf(page, `${card} .stream-tail`)).toContain('Paris is');

    await page.locator(`${card} a.card-link`).click();
    expect(new URL(page.url()).hash).toBe(`#/sessions/${session.sessionId}`);
    await until('the waterfall', async () => (await page.locator('[data-testid=waterfall] li').count()) >= 3);
    expect(await page.locator('[data-testid=waterfall] li').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-stage')))).toEqual(['initializing', 'connecting to model', 'streaming response']);
    expect(await textOf(page, '[data-testid=details-response]')).toBe('Paris is ');
    expect(await textOf(page, 'main')).not.toContain('Loading…');

    session.tokens(2, 'the capital.');
    await until('the response growing while the page is open', async () => (await textOf(page, '[data-testid=details-response]')) === 'Paris is the capital.');
    const call = session.startLlmCall({ model: 'gpt-4o-mini', prompt: 'What is the capital of France?' });
    call.end({ response: 'Paris is the capital.', inputTokens: 2000, outputTokens: 1000 });
    session.complete({ result: 'Paris is the capital.' });
    await until('the session completed on its page', async () => (await textOf(page, '[data-testid=details-status]')) === 'completed');
    // 2,000 input and 1,000 output tokens at $0.15 and $0.60 per million.
    await until('the LLM call with its tokens and cost', async () => (await textOf(page, '[data-testid=llm-calls]')).includes('$0.00090'));
    expect(await textOf(page, '[data-testid=llm-calls]')).toContain('2,000');
    expect(await textOf(page, '[data-testid=details-prompt]')).toBe('What is the capital of France?');
    expect(await textOf(page, '[data-testid=events]')).toContain('completed');
    expect(await textOf(page, 'main')).toContain('"team": "search"');

    // The permalink opens the same session in a fresh page.
    const permalink = await context.newPage();
    await permalink.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the session from its permalink', async () => (await textOf(permalink, '[data-testid=details-status]')) === 'completed');
    await permalink.close();

    await page.goto(`${server.apiUrl}/#/`);
    await until('the ended session gone from the active list', async () => (await page.locator(card).count()) === 0);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('keeps what the reader opened while a session runs, and stops asking for a session that is not there', async () => {
    const page = await openPage();
    const session = setup.monitor.startSession({ task: 'browser-steady', model: 'gpt-4o-mini' });
    session.stage('sending_request');
    const call = session.startLlmCall({ model: 'gpt-4o-mini', prompt: 'a prompt to unfold' });
    call.end({ response: 'an answer', inputTokens: 10, outputTokens: 5 });
    session.stage('streaming_response');
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the call with its previews', async () => (await page.locator('[data-testid=llm-calls] details').count()) === 2);
    await page.locator('[data-testid=llm-calls] summary', { hasText: 'Prompt' }).click();
    for (let index = 0; index < 6; index += 1) {
      session.tokens(5, 'more words ');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await until('the tokens on the page', async () => (await textOf(page, '[data-testid=details-streamed]')) === '30');
    // The page redrew the figures many times; the preview the reader opened is still open.
    expect(await page.locator('[data-testid=llm-calls] details[open]').count()).toBe(1);
    session.complete();

    const asked: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/monitoring/sessions/does-not-exist')) asked.push(request.url());
    });
    await page.goto(`${server.apiUrl}/#/sessions/does-not-exist`);
    await until('the not-found message', async () => (await textOf(page, 'main')).includes('No session does-not-exist is held'));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(asked).toHaveLength(1);

    await page.goto(`${server.apiUrl}/#/sessions/%E0%A4%A`);
    await until('the broken-link message', async () => (await textOf(page, 'main')).includes('This link is broken'));
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('shows the error of a failed session', async () => {
    const page = await openPage();
    const session = setup.monitor.startSession({ task: 'browser-failure', model: 'gpt-4o-mini' });
    session.stage('sending_request');
    session.fail(new Error('upstream returned 503'));
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the failed session', async () => (await textOf(page, '[data-testid=details-status]')) === 'failed');
    expect(await textOf(page, '[data-testid=details-error]')).toContain('upstream returned 503');
    await page.close();
  });

  it('treats prompt, messages and streamed text as text: markup is shown, never run', async () => {
    const page = await openPage();
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const session = setup.monitor.startSession({ task: 'browser-xss', model: 'gpt-4o-mini', content: hostile, metadata: { note: '<script>window.__pwned=2</script>' } });
    session.stage('streaming_response', { message: '<b onmouseover="window.__pwned=3">bold</b>' });
    session.tokens(1, '<svg onload="window.__pwned=4"></svg>');
    const card = `.session-card[data-session-id="${session.sessionId}"]`;
    await until('the hostile session on the live list', async () => (await textOf(page, `${card} .stream-tail`)).includes('<svg onload'));
    expect(await textOf(page, card)).toContain('<b onmouseover="window.__pwned=3">bold</b>');
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the hostile prompt shown as text', async () => (await textOf(page, '[data-testid=details-prompt]')) === hostile);
    session.complete();
    await page.goto(`${server.apiUrl}/#/log`);
    await until('the log showing the hostile message', async () => (await textOf(page, '[data-testid=log]')).includes('<b onmouseover="window.__pwned=3">bold</b>'));
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('main img, main svg[onload], main b').count()).toBe(0);
    await page.close();
  });

  it('filters the history by status, model, task, conversation and text, and exports what it shows', async () => {
    for (const [index, outcome] of ['completed', 'failed', 'failed', 'completed'].entries()) {
      const session = setup.monitor.startSession({ task: 'browser-history', model: index < 2 ? 'gpt-4o-mini' : 'claude-sonnet-4', conversationId: `conv-${index % 2}`, content: `history question number ${index}` });
      session.stage('initializing');
      if (outcome === 'failed') session.fail(new Error(`failure ${index}`));
      else session.complete();
    }
    await setup.processor.forceFlush();
    const page = await openPage('/#/history?task=browser-history');
    await until('the four sessions of the task', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 4);

    await page.locator('select[name=status]').selectOption('failed');
    await until('only failed sessions', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 2);
    expect(new URL(page.url()).hash).toBe('#/history?status=failed&task=browser-history');

    await page.locator('input[name=model]').fill('claude-sonnet-4');
    await page.locator('[data-testid=history-filters] button[type=submit]').click();
    await until('failed sessions of one model', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 1);
    expect(await textOf(page, '[data-testid=history-table] tbody')).toContain('failure 2');

    await page.goto(`${server.apiUrl}/#/history?task=browser-history&conversation=conv-1&q=number%203`);
    await until('the text and conversation filter', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 1);

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-csv]').click()]);
    const csv = readFileSync((await csvDownload.path())!, 'utf8');
    expect(csvDownload.suggestedFilename()).toMatch(/^llm-monitor-sessions-.*\.csv$/);
    expect(csv.trim().split('\n')).toHaveLength(2);
    expect(csv).toContain('history question number 3');

    await page.goto(`${server.apiUrl}/#/history?task=browser-history&status=failed`);
    await until('the failed list', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 2);
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-json]').click()]);
    const exported = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as { status: string; task: string }[];
    expect(exported.map((session) => [session.task, session.status])).toEqual([
      ['browser-history', 'failed'],
      ['browser-history', 'failed'],
    ]);
    await page.close();
  });

  it('shows usage and cost by model and user, and the top spenders', async () => {
    // Two users, two models; prices: gpt-4o-mini from model_prices, claude-sonnet-4 from the built-in table.
    const calls: [string, string, number, number][] = [
      ['usage-alice', 'gpt-4o-mini', 1000, 500],
      ['usage-alice', 'claude-sonnet-4', 2000, 1000],
      ['usage-bob', 'gpt-4o-mini', 400, 100],
    ];
    for (const [user, model, inputTokens, outputTokens] of calls) {
      const session = setup.monitor.startSession({ task: 'browser-usage', model, userId: user });
      const call = session.startLlmCall({ operation: 'chat', provider: 'test', model });
      call.end({ responseModel: model, inputTokens, outputTokens });
      session.complete();
    }
    await setup.processor.forceFlush();
    const aliceCost = (1000 * 0.15 + 500 * 0.6) / 1e6 + (2000 * 3 + 1000 * 15) / 1e6;
    const page = await openPage('/#/usage?window=24h');
    await until('both users in the usage table', async () => (await textOf(page, '[data-testid=usage-by-user]')).includes('usage-bob'));
    const byUser = await textOf(page, '[data-testid=usage-by-user]');
    expect(byUser).toContain('usage-alice');
    expect(byUser).toContain(`$${aliceCost.toFixed(3)}`);
    expect(await textOf(page, '[data-testid=usage-by-model]')).toContain('claude-sonnet-4');
    expect(await textOf(page, '[data-testid=usage-top-users]')).toMatch(/usage-alice[\s\S]*usage-bob/);
    expect(await page.locator('[data-testid=usage-cost-chart] rect').count()).toBeGreaterThan(0);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('follows the event stream in the log, and holds it while paused', async () => {
    const page = await openPage('/#/log');
    const first = setup.monitor.startSession({ task: 'browser-log', model: 'gpt-4o-mini' });
    first.stage('initializing', { message: 'first session' });
    await until('the first session in the log', async () => (await textOf(page, '[data-testid=log]')).includes('first session'));
    await page.locator('[data-testid=log-pause]').click();
    const lines = await page.locator('[data-testid=log] li').count();
    first.stage('validating_input', { message: 'while paused' });
    await until('the paused log counting new lines', async () => (await textOf(page, '.log-status')).includes('while paused'));
    expect(await page.locator('[data-testid=log] li').count()).toBe(lines);
    await page.locator('[data-testid=log-pause]').click();
    await until('the held lines after resuming', async () => (await textOf(page, '[data-testid=log]')).includes('while paused'));
    // Scrolled to the newest line.
    expect(await page.locator('[data-testid=log]').evaluate((log) => Math.abs(log.scrollHeight - log.clientHeight - log.scrollTop) <= 2)).toBe(true);
    first.complete();
    await page.close();
  });

  it('holds no live connection while hidden, and resubscribes when shown again', async () => {
    const page = await openPage();
    // Pages of earlier tests are closed; wait until their sockets are gone too, so only this page's counts.
    await until('one live client: this page', () => server.receiver.hub.stats().clients_by_transport.websocket === 1);
    await page.evaluate(setVisibility('hidden'));
    await until('the WebSocket closed while hidden', () => server.receiver.hub.stats().clients_by_transport.websocket === 0);
    expect(await textOf(page, '[data-testid=connection]')).toBe('Paused while hidden');
    const session = setup.monitor.startSession({ task: 'browser-hidden', model: 'gpt-4o-mini' });
    session.stage('initializing');
    await setup.processor.forceFlush();
    await page.evaluate(setVisibility('visible'));
    await until('live again', async () => (await textOf(page, '[data-testid=connection]')) === 'Live');
    // The snapshot on resubscribing brings the session that started while the page was hidden.
    await until('the session started while hidden', async () => (await page.locator(`.session-card[data-session-id="${session.sessionId}"]`).count()) === 1);
    session.complete();
    await page.close();
  });

  it('fits a phone-sized screen, and switches between light and dark themes', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    const session = setup.monitor.startSession({ task: 'browser-phone-with-a-rather-long-task-name', model: 'gpt-4o-mini', content: 'x'.repeat(400) });
    session.stage('streaming_response', { message: 'a long message '.repeat(20) });
    session.tokens(50, 'word '.repeat(50));
    await page.goto(`${server.apiUrl}/`);
    await until('the session on the phone', async () => (await page.locator(`.session-card[data-session-id="${session.sessionId}"]`).count()) === 1);
    const overflow = (): Promise<number> => page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the details on the phone', async () => (await page.locator('[data-testid=waterfall] li').count()) >= 1);
    expect(await overflow()).toBeLessThanOrEqual(0);
    session.complete();

    const background = (): Promise<string> => page.evaluate('getComputedStyle(document.body).backgroundColor');
    const theme = (): Promise<string> => page.evaluate('document.documentElement.dataset.theme');
    const before = await theme();
    const beforeColour = await background();
    await page.locator('[data-testid=theme-toggle]').click();
    const after = await theme();
    expect(after).not.toBe(before);
    expect(await background()).not.toBe(beforeColour);
    await page.reload();
    expect(await theme()).toBe(after);
    await phone.close();
  });
});

describe.skipIf(!available)('the web monitor when the receiver goes away', () => {
  it('says it is reconnecting, and reconnects when the receiver is back', async () => {
    const first = await buildReceiver({ port: 0, otlpPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
    const { apiUrl } = await first.listen();
    const port = Number(new URL(apiUrl).port);
    const chromium = await launchChromium();
    let second: Awaited<ReturnType<typeof buildReceiver>> | undefined;
    try {
      const page = await chromium.newPage();
      await page.goto(`${apiUrl}/`);
      await until('live', async () => (await page.locator('[data-testid=connection]').textContent()) === 'Live');
      await first.close();
      await until('reconnecting', async () => ((await page.locator('[data-testid=connection]').textContent()) ?? '').startsWith('Reconnecting'));
      second = await buildReceiver({ port, otlpPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
      await second.listen();
      await until('live again', async () => (await page.locator('[data-testid=connection]').textContent()) === 'Live', 20_000);
    } finally {
      await chromium.close();
      await second?.close();
    }
  });
});
