/**
 * The web monitor in Chromium against a receiver with read tokens: the page asks for the token, trades
 * it for the session cookie, keeps it for the tab (sessionStorage) to log in again by itself, and logs
 * out. Sessions come from the instrumentation over OTLP/HTTP (no ingest tokens here, so the exporter
 * needs no header).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { chromiumAvailable, launchChromium } from './support/browser.js';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const available = chromiumAvailable();
const READ_TOKEN = 'read-token-for-the-browser-test';
const server = useReceiver({ readTokens: [READ_TOKEN] });
// Set LLMMON_SCREENSHOTS to a directory to keep pictures of the login form, to judge how it reads.
const SCREENSHOTS = process.env['LLMMON_SCREENSHOTS'];

let browser: Browser;
let setup: LlmMonitorSetup;

/** A page in a browser context of its own: no cookie, no sessionStorage from another test. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  // A missing element fails its test with the locator in the message, well before the test's own timeout.
  context.setDefaultTimeout(10_000);
  return { context, page: await context.newPage() };
}

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).allTextContents()).join('\n');
}

/** Requests the page made, as `METHOD path`, and the errors it threw. */
function watch(page: Page): { requests: string[]; errors: string[] } {
  const seen = { requests: [] as string[], errors: [] as string[] };
  page.on('request', (request) => seen.requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
  page.on('pageerror', (error) => seen.errors.push(error.message));
  return seen;
}

async function storedToken(page: Page): Promise<unknown> {
  return page.evaluate("sessionStorage.getItem('llm-monitor-read-token')");
}

/** What `GET /api/auth/session` says to the page, with its cookie. */
async function sessionState(page: Page): Promise<unknown> {
  return page.evaluate("fetch('/api/auth/session').then((response) => response.json())");
}

async function live(page: Page): Promise<void> {
  await until('the live connection', async () => (await textOf(page, '[data-testid=connection]')) === 'Live');
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.locator('[data-testid=login-token]').fill(token);
  await page.locator('[data-testid=login-submit]').click();
}

/** Script that makes the page believe it was hidden or shown, as a tab switch would (run in the page). */
function setVisibility(state: 'hidden' | 'visible'): string {
  return `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' }); document.dispatchEvent(new Event('visibilitychange'));`;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name) });
}

describe.skipIf(!available)('the web monitor behind read tokens, in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'web-login-e2e', progressIntervalMs: 0 });
  });

  afterAll(async () => {
    await setup?.shutdown();
    await browser?.close();
  });

  it('asks for the token before anything else, refuses a wrong one with the reason, and shows the sessions live with the right one', async () => {
    // The page's files are open to anyone; its data is not.
    expect((await fetch(`${server.apiUrl}/`)).status).toBe(200);
    expect((await fetch(`${server.apiUrl}/api/monitoring/sessions/active`)).status).toBe(401);

    const { context, page } = await freshPage();
    const seen = watch(page);
    await page.goto(`${server.apiUrl}/#/history`);
    await page.locator('[data-testid=login-view]').waitFor();
    // Nothing that needs data is drawn or asked for: no views, no connection, no Log out.
    expect(await page.locator('header nav, [data-testid=connection], [data-testid=logout]').count()).toBe(0);
    expect(seen.requests.filter((request) => request.includes('/api/') && !request.endsWith('/api/auth/session'))).toEqual([]);
    expect(seen.requests).not.toContain('GET /ws/monitoring');
    // The cursor waits in the token field, a password field with a label.
    expect(await page.evaluate('document.activeElement?.getAttribute("data-testid")')).toBe('login-token');
    expect(await page.locator('[data-testid=login-token]').getAttribute('type')).toBe('password');
    expect(await page.getByLabel('Read token').count()).toBe(1);
    await screenshot(page, 'login.png');

    await logIn(page, 'not-the-token');
    await until('the refusal', async () => (await textOf(page, '[data-testid=login-error]')).includes('not accepted'));
    expect(await textOf(page, '[data-testid=login-error]')).toBe('The token was not accepted: that token is not one of the read tokens');
    expect(await page.locator('[data-testid=login-token]').inputValue()).toBe('');
    expect(await page.locator('[data-testid=login-token]').getAttribute('aria-invalid')).toBe('true');
    expect(await storedToken(page)).toBeNull();
    // A token that cannot be one is not sent at all.
    const posts = seen.requests.filter((request) => request === 'POST /api/auth/session').length;
    await logIn(page, 'two words');
    expect(await textOf(page, '[data-testid=login-error]')).toContain('without spaces');
    expect(seen.requests.filter((request) => request === 'POST /api/auth/session')).toHaveLength(posts);
    await screenshot(page, 'login-refused.png');

    await logIn(page, ` ${READ_TOKEN} `);
    await live(page);
    // The address the page was opened at is the view it shows after the login.
    expect(await page.locator('[data-testid=history-table]').count()).toBe(1);
    expect(await page.locator('[data-testid=logout]').textContent()).toBe('Log out');
    expect(await storedToken(page)).toBe(READ_TOKEN);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    // The token is in no URL the page asked for, nowhere in the page, and the cookie is out of the script's reach.
    expect(seen.requests.some((request) => request.includes(READ_TOKEN))).toBe(false);
    expect(page.url()).not.toContain(READ_TOKEN);
    expect(await page.content()).not.toContain(READ_TOKEN);
    expect(await page.evaluate('document.cookie')).toBe('');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'llm_monitor_session', httpOnly: true, sameSite: 'Strict', path: '/' });

    await page.goto(`${server.apiUrl}/#/`);
    await screenshot(page, 'logged-in.png');
    const session = setup.monitor.startSession({ task: 'browser-login', model: 'gpt-4o-mini' });
    session.stage('streaming_response', { message: 'behind a read token' });
    const card = `.session-card[data-session-id="${session.sessionId}"]`;
    await until('the session live on the page', async () => (await page.locator(card).count()) === 1);
    expect(await textOf(page, card)).toContain('behind a read token');
    session.complete();
    expect(seen.errors).toEqual([]);
    await context.close();
  });

  it('stays logged in on a reload, and logs in again by itself when the cookie has gone', async () => {
    const { context, page } = await freshPage();
    const seen = watch(page);
    await page.goto(`${server.apiUrl}/`);
    await page.locator('[data-testid=login-view]').waitFor();
    await logIn(page, READ_TOKEN);
    await live(page);

    // A reload: the cookie is still valid, so no login at all.
    seen.requests.length = 0;
    await page.reload();
    await live(page);
    expect(await page.locator('[data-testid=login-view]').count()).toBe(0);
    expect(seen.requests).not.toContain('POST /api/auth/session');

    // The cookie expired (12 hours later): a reload logs in with the token the tab kept.
    await context.clearCookies();
    await page.reload();
    await live(page);
    expect(seen.requests).toContain('POST /api/auth/session');
    expect(await page.locator('[data-testid=login-view]').count()).toBe(0);

    // Expired while the page runs: a refused request is made again after a silent login, so the view never sees it.
    await context.clearCookies();
    const session = setup.monitor.startSession({ task: 'browser-login-later', model: 'gpt-4o-mini' });
    session.complete();
    await setup.processor.forceFlush();
    seen.requests.length = 0;
    await page.goto(`${server.apiUrl}/#/history?task=browser-login-later`);
    await until('the history after a silent login', async () => (await page.locator('[data-testid=history-table] tbody tr').count()) === 1);
    expect(seen.requests.filter((request) => request.startsWith('GET /api/monitoring/sessions/recent')).length).toBeGreaterThanOrEqual(2);
    expect(seen.requests).toContain('POST /api/auth/session');

    // And the live connection: refused without the cookie, it comes back once the page logged in again.
    await context.clearCookies();
    await page.goto(`${server.apiUrl}/#/`);
    await page.evaluate(setVisibility('hidden'));
    await until('paused', async () => (await textOf(page, '[data-testid=connection]')) === 'Paused while hidden');
    seen.requests.length = 0;
    await page.evaluate(setVisibility('visible'));
    await until('the POST of a silent login', () => seen.requests.includes('POST /api/auth/session'));
    await live(page);
    expect(await sessionState(page)).toEqual({ required: true, authenticated: true });
    expect(seen.errors).toEqual([]);
    await context.close();
  });

  it('asks again when the session ends and the tab kept no token, and logs out', async () => {
    const { context, page } = await freshPage();
    const seen = watch(page);
    await page.goto(`${server.apiUrl}/`);
    await logIn(page, READ_TOKEN);
    await live(page);

    // The session ends and this tab has no token to log in with: the form comes back, saying why.
    await context.clearCookies();
    await page.evaluate('sessionStorage.clear()');
    await page.goto(`${server.apiUrl}/#/usage`);
    await page.locator('[data-testid=login-view]').waitFor();
    expect(await textOf(page, '[data-testid=login-notice]')).toContain('Your session has ended');
    expect(await page.locator('[data-testid=connection]').count()).toBe(0);
    await logIn(page, READ_TOKEN);
    await until('the usage view again', async () => (await page.locator('[data-testid=usage-by-model]').count()) === 1);

    // Log out: the cookie is cleared, the tab forgets the token, and the form shows (also after a reload).
    await page.locator('[data-testid=logout]').click();
    await page.locator('[data-testid=login-view]').waitFor();
    expect(await textOf(page, '[data-testid=login-notice]')).toBe('You have logged out.');
    expect(seen.requests).toContain('DELETE /api/auth/session');
    expect(await storedToken(page)).toBeNull();
    expect(await context.cookies()).toEqual([]);
    expect(await sessionState(page)).toEqual({ required: true, authenticated: false });
    await page.reload();
    await page.locator('[data-testid=login-view]').waitFor();
    expect(await page.locator('[data-testid=login-notice]').count()).toBe(0);
    expect(seen.errors).toEqual([]);
    await context.close();
  });

  it('fits a phone, in the dark theme too', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const page = await phone.newPage();
    await page.goto(`${server.apiUrl}/`);
    await page.locator('[data-testid=login-view]').waitFor();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await screenshot(page, 'login-phone-dark.png');
    await logIn(page, READ_TOKEN);
    await live(page);
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await phone.close();
  });
});
