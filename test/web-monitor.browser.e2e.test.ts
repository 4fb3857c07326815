/**
 * The web monitor in a real browser (Debian's Chromium driven by playwright-core) against a real
 * receiver, with sessions from the instrumentation over OTLP/HTTP, as an engineer would see them.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildReceiver } from '@llm-monitor/receiver';
import { runDemoSession } from '@llm-monitor/demo';
import type { LlmMonitor } from '@llm-monitor/instrumentation';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { chromiumAvailable, launchChromium } from './support/browser.js';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const available = chromiumAvailable();
// At most 500 steps a session: the test of a big session sees what the receiver left out.
const server = useReceiver({ modelPrices: ['gpt-4o-mini=0.15/0.6'], maxStepsPerSession: 500 });
// Set LLMMON_SCREENSHOTS to a directory to keep pictures of the step tree, to judge how it reads.
const SCREENSHOTS = process.env['LLMMON_SCREENSHOTS'];

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

async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage });
}

/** `monitor`, telling `onSession` the id of each session it starts (the demo does not say). */
function watchedMonitor(monitor: LlmMonitor, onSession: (sessionId: string) => void): LlmMonitor {
  return new Proxy(monitor, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (key === 'startSession') {
        return (...args: Parameters<LlmMonitor['startSession']>) => {
          const session = target.startSession(...args);
          onSession(session.sessionId);
          return session;
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The row of the step or stage called `name` in the step tree. */
function treeRow(page: Page, name: string): ReturnType<Page['locator']> {
  return page.locator(`[data-testid=step-tree] .tree-row[data-name="${name.replace(/["\\]/g, '\\$&')}"]`);
}

/** The horizontal extent of a row's bar, in pixels. */
async function barExtent(page: Page, name: string): Promise<{ left: number; right: number }> {
  const box = (await treeRow(page, name).locator('.tree-bar').boundingBox())!;
  return { left: box.x, right: box.x + box.width };
}

describe.skipIf(!available)('the web monitor in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    // A missing element fails its test with the locator in the message, well before the test's own timeout.
    context.setDefaultTimeout(10_000);
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
    // A receiver without read tokens asks for none: no login form, and nothing to log out of.
    expect(await page.locator('[data-testid=login-view], [data-testid=logout]').count()).toBe(0);
    const session = setup.monitor.startSession({
      task: 'browser-live',
      model: 'gpt-4o-mini',
      content: 'What is the capital of France?',
      metadata: { team: 'search' },
    });
    session.stage('initializing');
    const card = `.session-card[data-session-id="${session.sessionId}"]`;
    await until('the card of the new session', async () => (await page.locator(card).count()) === 1);

    session.stage('connecting_to_model', { message: 'opening a connection' });
    await until(
      'the stage change on the card',
      async () => (await textOf(page, `${card} [data-testid=session-stage]`)) === 'connecting to model',
    );
    expect(await page.locator(`${card} [data-testid=session-progress]`).getAttribute('aria-valuenow')).toBe('50');
    expect(await textOf(page, card)).toContain('opening a connection');

    session.stage('streaming_response');
    session.tokens(3, 'Paris is ');
    await until('streamed tokens on the card', async () =>
      (await textOf(page, `${card} [data-testid=session-tokens]`)).includes('3 tokens'),
    );
    expect(await page.locator(`${card} [data-testid=session-progress]`).getAttribute('aria-valuenow')).toBe('70');
    expect(await textOf(page, `${card} .stream-tail`)).toContain('Paris is');

    await page.locator(`${card} a.card-link`).click();
    expect(new URL(page.url()).hash).toBe(`#/sessions/${session.sessionId}`);
    await until('the stages in the tree', async () => (await page.locator('[data-testid=step-tree] .stage-row').count()) >= 3);
    expect(
      await page.locator('[data-testid=step-tree] .stage-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-name'))),
    ).toEqual(['initializing', 'connecting to model', 'streaming response']);
    expect(await textOf(page, '[data-testid=details-response]')).toBe('Paris is ');
    expect(await textOf(page, 'main')).not.toContain('Loading…');

    session.tokens(2, 'the capital.');
    await until(
      'the response growing while the page is open',
      async () => (await textOf(page, '[data-testid=details-response]')) === 'Paris is the capital.',
    );
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
    const session = setup.monitor.startSession({
      task: 'browser-xss',
      model: 'gpt-4o-mini',
      content: hostile,
      metadata: { note: '<script>window.__pwned=2</script>' },
    });
    session.stage('streaming_response', { message: '<b onmouseover="window.__pwned=3">bold</b>' });
    session.tokens(1, '<svg onload="window.__pwned=4"></svg>');
    const card = `.session-card[data-session-id="${session.sessionId}"]`;
    await until('the hostile session on the live list', async () => (await textOf(page, `${card} .stream-tail`)).includes('<svg onload'));
    expect(await textOf(page, card)).toContain('<b onmouseover="window.__pwned=3">bold</b>');
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the hostile prompt shown as text', async () => (await textOf(page, '[data-testid=details-prompt]')) === hostile);
    session.complete();
    await page.goto(`${server.apiUrl}/#/log`);
    await until('the log showing the hostile message', async () =>
      (await textOf(page, '[data-testid=log]')).includes('<b onmouseover="window.__pwned=3">bold</b>'),
    );
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('main img, main svg[onload], main b').count()).toBe(0);
    await page.close();
  });

  it('filters the history by status, model, task, conversation and text, and exports what it shows', async () => {
    for (const [index, outcome] of ['completed', 'failed', 'failed', 'completed'].entries()) {
      const session = setup.monitor.startSession({
        task: 'browser-history',
        model: index < 2 ? 'gpt-4o-mini' : 'claude-sonnet-4',
        conversationId: `conv-${index % 2}`,
        content: `history question number ${index}`,
      });
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
    expect(
      await page.locator('[data-testid=log]').evaluate((log) => Math.abs(log.scrollHeight - log.clientHeight - log.scrollTop) <= 2),
    ).toBe(true);
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
    await until(
      'the session started while hidden',
      async () => (await page.locator(`.session-card[data-session-id="${session.sessionId}"]`).count()) === 1,
    );
    session.complete();
    await page.close();
  });

  it('draws a demo session as a tree: the retrieval chain, its parallel searches and nested rerank, the model selection with its fallback, and a step’s facts on click', async () => {
    let sessionId = '';
    const monitor = watchedMonitor(setup.monitor, (id) => (sessionId = id));
    // A fixed random source: no injected failure, the FAQ search finds nothing, and the model selection falls back once.
    const outcome = await runDemoSession({
      monitor,
      random: () => 0.1,
      timeScale: 0.3,
      failureRate: 0,
      signal: new AbortController().signal,
    });
    expect(outcome).toBe('completed');
    await setup.processor.forceFlush();
    const page = await openPage(`/#/sessions/${encodeURIComponent(sessionId)}`);
    await until('the completed demo session', async () => (await textOf(page, '[data-testid=details-status]')) === 'completed');
    await until('the retrieval chain in the tree', async () => (await treeRow(page, 'retrieve_context').count()) === 1);

    const chain = treeRow(page, 'retrieve_context');
    expect(await chain.getAttribute('data-kind')).toBe('retrieval');
    expect(await page.locator('[data-testid=step-tree] .stage-row[data-name="resolving template"]').count()).toBe(1);
    // The chain sits under its stage, its steps under it, the rerank one level down as well.
    expect(await chain.getAttribute('data-depth')).toBe('1');
    for (const name of ['qdrant docs', 'qdrant faq', 'rerank', 'embeddings text-embedding-3-small'])
      expect(await treeRow(page, name).getAttribute('data-depth'), name).toBe('2');
    expect(await treeRow(page, 'rerank').getAttribute('data-kind')).toBe('rerank');
    expect(await treeRow(page, 'qdrant docs').getAttribute('data-kind')).toBe('vector_search');
    // The two searches ran side by side: their bars overlap on the time axis, and both say so.
    const docs = await barExtent(page, 'qdrant docs');
    const faq = await barExtent(page, 'qdrant faq');
    expect(Math.min(docs.right, faq.right)).toBeGreaterThan(Math.max(docs.left, faq.left));
    expect(await textOf(page, '[data-testid=step-tree] .tree-row[data-name="qdrant docs"] .marker')).toContain('parallel');
    // The rerank starts after the searches end.
    expect((await barExtent(page, 'rerank')).left).toBeGreaterThanOrEqual(Math.max(docs.right, faq.right) - 2);

    // The fallback is marked with words, not only colour.
    const selection = page.locator('[data-testid=step-tree] .tree-row[data-kind=model_selection]');
    expect(await selection.getAttribute('class')).toContain('has-fallback');
    expect(await textOf(page, '[data-testid=step-tree] .tree-row[data-kind=model_selection] .marker.fallback')).toBe('↪ 1 fallback');

    // A click on a row opens its facts; a click on another moves them there.
    await treeRow(page, 'qdrant docs').locator('.tree-bar').click();
    await until('the facts of the docs search', async () => (await textOf(page, '[data-testid=step-facts]')).includes('Collection'));
    const facts = await textOf(page, '[data-testid=step-facts]');
    expect(facts).toContain('docs');
    expect(facts).toContain('Top k4');
    expect(facts).toMatch(/Scores0\.\d{3}, /);
    expect(await treeRow(page, 'qdrant docs').locator('.tree-name').getAttribute('aria-expanded')).toBe('true');
    await screenshot(page, 'tree-demo.png', true);

    await selection.locator('.tree-name').click();
    await until('the model selection details', async () => (await page.locator('[data-testid=step-fallbacks]').count()) === 1);
    expect(await page.locator('[data-testid=step-details]').count()).toBe(1);
    expect(await textOf(page, '[data-testid=step-fallbacks]')).toContain('503 model overloaded');
    expect(await textOf(page, '[data-testid=step-facts]')).toContain('lowest latency for the task');
    await screenshot(page, 'tree-demo-fallback.png', true);

    // The LLM call's details carry its tokens and cost, from the session's call of the same span.
    await page.locator('[data-testid=step-tree] .tree-row[data-kind=llm_call] .tree-name').click();
    await until('the call in the step details', async () => (await page.locator('[data-testid=step-llm-call]').count()) === 1);
    expect(await textOf(page, '[data-testid=step-llm-call]')).toMatch(/Tokens in \/ out[\d,]+ \/ [\d,]+/);
    expect(await textOf(page, '[data-testid=step-llm-call]')).toContain('$');
    expect(await textOf(page, '[data-testid=step-input]')).toContain('You are a careful assistant.');

    // On a phone the tree fits the width: labels above their bars.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await treeRow(page, 'retrieve_context').scrollIntoViewIfNeeded();
    await screenshot(page, 'tree-demo-phone.png');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
    if (SCREENSHOTS) {
      const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
      const darkPage = await dark.newPage();
      await darkPage.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(sessionId)}`);
      await until('the tree in the dark theme', async () => (await treeRow(darkPage, 'retrieve_context').count()) === 1);
      await darkPage.locator('[data-testid=step-tree] .tree-row[data-kind=model_selection] .tree-name').click();
      await screenshot(darkPage, 'tree-demo-dark.png');
      await dark.close();
    }
  });

  it('grows the tree while the session runs, keeping what the reader collapsed, focused and opened', async () => {
    const session = setup.monitor.startSession({ task: 'browser-tree-live', model: 'gpt-4o-mini' });
    session.stage('initializing');
    await session.resolveTemplate({ templateId: 'qa', version: '2' }, () => 'a prompt');
    session.stage('resolving_template');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gathering = session.chainStep('gather', async (step) => {
      await step.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 2 }, () => [{ score: 0.9 }]);
      await gate;
      await step.chainStep('late_child', () => 'found it');
      return 'gathered';
    });
    await setup.processor.forceFlush();
    const page = await openPage(`/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until(
      'the running chain',
      async () =>
        (await treeRow(page, 'gather')
          .getAttribute('data-status')
          .catch(() => null)) === 'running',
    );
    expect(await textOf(page, '[data-testid=step-tree] .tree-row[data-name=gather] .tree-status')).toContain('running');

    // The reader opens the search's details and collapses the first stage from the keyboard.
    await treeRow(page, 'qdrant docs').locator('.tree-name').click();
    await until('the search details', async () => (await textOf(page, '[data-testid=step-facts]')).includes('docs'));
    const toggle = treeRow(page, 'initializing').locator('.tree-toggle');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await treeRow(page, 'qa').count()).toBe(0);

    release();
    await gathering;
    session.stage('sending_request');
    await setup.processor.forceFlush();
    await until('the chain ended', async () => (await treeRow(page, 'gather').getAttribute('data-status')) === 'ok');
    await until('the new step under it', async () => (await treeRow(page, 'late_child').count()) === 1);
    await until('the new stage', async () => (await treeRow(page, 'sending request').count()) === 1);
    // Redrawn many times meanwhile; what the reader did holds.
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(
      await page.evaluate('document.activeElement?.classList.contains("tree-toggle") && document.activeElement.getAttribute("aria-label")'),
    ).toBe('Expand initializing');
    expect(await textOf(page, '[data-testid=step-facts]')).toContain('docs');
    expect(await page.locator('[data-testid=step-details]').count()).toBe(1);
    await screenshot(page, 'tree-live.png');
    await page.keyboard.press('Space');
    await until('the stage open again', async () => (await treeRow(page, 'qa').count()) === 1);
    session.complete();
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('keeps a session of 500 steps readable: collapsed groups, pages of rows, and the steps it left out', async () => {
    const session = setup.monitor.startSession({ task: 'browser-tree-500', model: 'gpt-4o-mini' });
    session.stage('initializing');
    session.stage('resolving_template');
    await session.resolveTemplate({ templateId: 'agent', version: '1' }, () => 'plan');
    // An agent loop: 104 iterations of an embedding, a search, a model selection and a call: 522 steps, 500 kept.
    await session.chainStep(
      'agent_loop',
      async (agent) => {
        for (let index = 0; index < 104; index += 1) {
          await agent.chainStep(`iteration ${index}`, async (iteration) => {
            await iteration.embed({ model: 'text-embedding-3-small', inputCount: 1 }, () => [[0.1, 0.2, 0.3]]);
            await iteration.similaritySearch({ store: 'qdrant', collection: `shard-${index % 4}`, topK: 3 }, () => [
              { score: 0.9 },
              { score: 0.7 },
            ]);
            await iteration.selectModel({ candidates: ['gpt-4o-mini', 'gpt-4o'] }, (selection) => {
              if (index % 10 === 3) selection.fallback('gpt-4o', new Error('429 rate limited'));
              selection.choose('gpt-4o-mini');
              return 'gpt-4o-mini';
            });
            const call = iteration.startLlmCall({ model: 'gpt-4o-mini', prompt: `think about step ${index}` });
            if (index % 25 === 7) call.end({ error: new Error('upstream 500') });
            else call.end({ response: `step ${index} done`, inputTokens: 40, outputTokens: 12 });
          });
        }
      },
      { kind: 'agent' },
    );
    session.stage('sending_request');
    session.complete();
    await setup.processor.forceFlush();

    const page = await openPage();
    const started = Date.now();
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the agent loop in the tree', async () => (await treeRow(page, 'agent_loop').count()) === 1);
    const firstRender = Date.now() - started;
    // Loosely timed: a page that takes seconds to draw 500 steps is broken, whatever the machine.
    expect(firstRender).toBeLessThan(5000);
    expect(await textOf(page, '[data-testid=steps-dropped]')).toContain('22 more steps not kept');
    // The session says which limit cut it, above its fields.
    expect(await textOf(page, '[data-testid=details-limits]')).toBe('Limits hit: 22 steps left out over max_steps_per_session');
    expect(await textOf(page, '[data-testid=step-summary]')).toContain('500 steps');

    // The loop has too many children to open by itself: one row says what it holds.
    const loop = treeRow(page, 'agent_loop');
    expect(await loop.locator('.tree-toggle').getAttribute('aria-expanded')).toBe('false');
    const summary = await textOf(page, '[data-testid=step-tree] .tree-row[data-name=agent_loop] .tree-markers');
    expect(summary).toMatch(/\d{3} steps inside/);
    expect(summary).toMatch(/✕ \d+ errors? inside/);
    expect(summary).toMatch(/↪ \d+ fallbacks? inside/);
    expect(await page.locator('[data-testid=step-tree] .tree-row').count()).toBeLessThan(20);
    await screenshot(page, 'tree-500-collapsed.png');

    // Opened, it shows a page of iterations (each collapsed) and a row for the rest.
    await loop.locator('.tree-toggle').click();
    await until(
      'a page of iterations',
      async () => (await page.locator('[data-testid=step-tree] .tree-row[data-depth="2"]').count()) === 50,
    );
    const more = page.locator('[data-testid=tree-more]');
    expect(await textOf(page, '[data-testid=tree-more]')).toContain('more steps here');
    await more.locator('button').click();
    // 500 steps kept: the template, the loop, and 100 iterations (the last with only two of its steps).
    await until(
      'every iteration kept',
      async () => (await page.locator('[data-testid=step-tree] .tree-row[data-depth="2"]').count()) === 100,
    );
    expect(await page.locator('[data-testid=tree-more]').count()).toBe(0);

    // An iteration opens to its four steps; the failed call is marked in words.
    await treeRow(page, 'iteration 7').locator('.tree-toggle').click();
    await until(
      'the steps of iteration 7',
      async () => (await page.locator('[data-testid=step-tree] .tree-row[data-depth="3"]').count()) === 4,
    );
    expect(await textOf(page, '[data-testid=step-tree] .tree-row[data-depth="3"][data-status=error]')).toContain('✕ failed');
    await treeRow(page, 'iteration 3').locator('.tree-toggle').click();
    await until(
      'the fallback of iteration 3',
      async () => (await page.locator('[data-testid=step-tree] .tree-row.has-fallback').count()) === 1,
    );
    await treeRow(page, 'iteration 3').scrollIntoViewIfNeeded();
    await screenshot(page, 'tree-500-expanded.png');
    expect(await page.evaluate('document.body.innerText.length')).toBeGreaterThan(1000);

    await page.locator('[data-testid=tree-collapse-all]').click();
    await until(
      'only the stages',
      async () =>
        (await page.locator('[data-testid=step-tree] .tree-row').count()) ===
        (await page.locator('[data-testid=step-tree] .stage-row').count()),
    );
    await page.locator('[data-testid=tree-expand-all]').click();
    await until(
      'everything open, a page at a time',
      async () => (await page.locator('[data-testid=step-tree] .tree-row[data-depth="3"]').count()) > 100,
    );
    expect(await page.locator('[data-testid=step-tree] .tree-row').count()).toBeLessThan(600);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('treats step names, previews and facts as text: markup is shown, never run', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const session = setup.monitor.startSession({ task: 'browser-tree-xss', model: 'gpt-4o-mini' });
    session.stage('resolving_template');
    await session.chainStep(
      hostile,
      async (step) => {
        await step.similaritySearch({ store: hostile, collection: '<svg onload="window.__pwned=2">', topK: 1 }, () => [{ score: 1 }]);
        return '<script>window.__pwned=3</script>';
      },
      { input: hostile },
    );
    await session.selectModel({ candidates: [hostile] }, (selection) => {
      selection.fallback('<b onmouseover="window.__pwned=4">model</b>', new Error(hostile));
      selection.choose(hostile, '<iframe src="javascript:window.__pwned=5"></iframe>');
      return hostile;
    });
    session.complete();
    await setup.processor.forceFlush();
    const page = await openPage(`/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the hostile step in the tree', async () => (await textOf(page, '[data-testid=step-tree]')).includes(hostile));
    await page.locator('[data-testid=step-tree] .tree-row[data-kind=chain] .tree-name').click();
    await until('its previews as text', async () =>
      (await textOf(page, '[data-testid=step-output]')).includes('<script>window.__pwned=3</script>'),
    );
    expect(await textOf(page, '[data-testid=step-input]')).toContain(hostile);
    await page.locator('[data-testid=step-tree] .tree-row[data-kind=vector_search] .tree-name').click();
    await until('the hostile facts as text', async () =>
      (await textOf(page, '[data-testid=step-facts]')).includes('<svg onload="window.__pwned=2">'),
    );
    await page.locator('[data-testid=step-tree] .tree-row[data-kind=model_selection] .tree-name').click();
    await until('the hostile fallback as text', async () =>
      (await textOf(page, '[data-testid=step-fallbacks]')).includes('<b onmouseover="window.__pwned=4">model</b>'),
    );
    expect(await textOf(page, '[data-testid=step-fallbacks]')).toContain(hostile);
    expect(await textOf(page, '[data-testid=step-facts]')).toContain('<iframe src="javascript:window.__pwned=5"></iframe>');
    await page.locator('[data-testid=step-tree] .tree-row[data-kind=model_selection] .tree-name').hover();
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('main img, main svg[onload], main b, main script, main iframe').count()).toBe(0);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('fits a phone-sized screen, and switches between light and dark themes', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    const session = setup.monitor.startSession({
      task: 'browser-phone-with-a-rather-long-task-name',
      model: 'gpt-4o-mini',
      content: 'x'.repeat(400),
    });
    session.stage('streaming_response', { message: 'a long message '.repeat(20) });
    session.tokens(50, 'word '.repeat(50));
    await page.goto(`${server.apiUrl}/`);
    await until(
      'the session on the phone',
      async () => (await page.locator(`.session-card[data-session-id="${session.sessionId}"]`).count()) === 1,
    );
    const overflow = (): Promise<number> => page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${server.apiUrl}/#/sessions/${encodeURIComponent(session.sessionId)}`);
    await until('the details on the phone', async () => (await page.locator('[data-testid=step-tree] .tree-row').count()) >= 1);
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
    const first = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
    const { apiUrl } = await first.listen();
    const port = Number(new URL(apiUrl).port);
    const chromium = await launchChromium();
    let second: Awaited<ReturnType<typeof buildReceiver>> | undefined;
    try {
      const page = await chromium.newPage();
      await page.goto(`${apiUrl}/`);
      await until('live', async () => (await page.locator('[data-testid=connection]').textContent()) === 'Live');
      await first.close();
      await until('reconnecting', async () =>
        ((await page.locator('[data-testid=connection]').textContent()) ?? '').startsWith('Reconnecting'),
      );
      second = await buildReceiver({ port, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
      await second.listen();
      await until('live again', async () => (await page.locator('[data-testid=connection]').textContent()) === 'Live', 20_000);
    } finally {
      await chromium.close();
      await second?.close();
    }
  });
});
