// Takes the screenshots of docs/web-monitor.md and the README from the real page:
//   pnpm --filter @llm-monitor/web screenshots            every picture
//   pnpm --filter @llm-monitor/web screenshots login      only the ones named (login, live, …)
// It starts `llm-monitor --demo` (built by `pnpm build`) on free ports, lets the demo run, and
// photographs each view in Debian's Chromium (/usr/bin/chromium) into docs/images/web/. The login
// form comes from a receiver of its own, started with a read token.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const output = `${root}docs/images/web/`;
// The demo's hosted models are priced by the built-in table; its local Ollama model costs nothing.
const PRICES = 'llama3.1:8b=0/0';
// History in a SQLite file of its own, removed afterwards.
const data = mkdtempSync(join(tmpdir(), 'llm-monitor-screenshots-'));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForReady(url) {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready`);
}

// Names given on the command line: only those pictures (e.g. `login`); none: every one.
const wanted = new Set(process.argv.slice(2).map((name) => name.replace(/\.png$/, '')));
const DEMO_PICTURES = ['live', 'session-details', 'history', 'usage', 'log', 'live-dark', 'phone'];
const ALL_PICTURES = [...DEMO_PICTURES, 'login'];
const unknown = [...wanted].filter((name) => !ALL_PICTURES.includes(name));
if (unknown.length > 0) throw new Error(`no such picture: ${unknown.join(', ')} (there are ${ALL_PICTURES.join(', ')})`);
const want = (name) => wanted.size === 0 || wanted.has(name);
const written = [];

/** Starts `llm-monitor` with `flags` on free ports; `stop()` ends it. */
async function startReceiver(flags) {
  const [port, otlpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      `${root}packages/receiver/bin/llm-monitor.js`,
      '--port',
      String(port),
      '--otlp-port',
      String(otlpPort),
      '--otlp-grpc-port',
      '0',
      '--log-level',
      'warn',
      ...flags,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    base,
    ready: () => waitForReady(`${base}/readyz`),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function shoot(page, name) {
  if (!want(name)) return;
  await page.screenshot({ path: `${output}${name}.png` });
  written.push(`${name}.png`);
}

/** The views with the demo workload running. */
async function demoPictures(browser) {
  const receiver = await startReceiver([
    '--demo',
    '--demo-rate',
    '3',
    '--model-prices',
    PRICES,
    '--storage-url',
    `sqlite:${join(data, 'history.db')}`,
  ]);
  try {
    await receiver.ready();
    const { base } = receiver;
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    const page = await desktop.newPage();
    await page.goto(`${base}/`);
    // A minute of the demo: the charts (which also read the last five minutes of history) fill up.
    await sleep(60_000);
    await shoot(page, 'live');

    const streaming = page.locator('.session-card', { hasText: 'streaming response' }).first();
    await streaming.waitFor({ timeout: 30_000 });
    await streaming.locator('a.card-link').click();
    await page.waitForSelector('[data-testid=step-tree] .tree-row');
    await sleep(1500);
    await page.setViewportSize({ width: 1280, height: 1300 });
    await shoot(page, 'session-details');
    await page.setViewportSize({ width: 1280, height: 860 });

    await page.goto(`${base}/#/history`);
    await page.waitForSelector('[data-testid=history-table] tbody tr');
    await shoot(page, 'history');

    await page.goto(`${base}/#/usage?window=24h`);
    await page.waitForSelector('[data-testid=usage-by-model] tbody tr');
    await sleep(1000);
    await page.setViewportSize({ width: 1280, height: 1200 });
    await shoot(page, 'usage');
    await page.setViewportSize({ width: 1280, height: 860 });

    await page.goto(`${base}/#/log`);
    await sleep(4000);
    await shoot(page, 'log');

    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'dark' });
    const darkPage = await dark.newPage();
    await darkPage.goto(`${base}/`);
    await sleep(4000);
    await shoot(darkPage, 'live-dark');

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'light',
    });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${base}/`);
    await sleep(4000);
    await shoot(phonePage, 'phone');
  } finally {
    await receiver.stop();
  }
}

/** The login form, from a receiver that asks for a read token (it needs no workload: the form shows no data). */
async function loginPicture(browser) {
  const receiver = await startReceiver(['--read-tokens', `screenshot-${process.pid}`, '--storage-url', 'memory:']);
  try {
    await receiver.ready();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(`${receiver.base}/`);
    await page.waitForSelector('[data-testid=login-view]');
    await shoot(page, 'login');
  } finally {
    await receiver.stop();
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  mkdirSync(output, { recursive: true });
  if (DEMO_PICTURES.some(want)) await demoPictures(browser);
  if (want('login')) await loginPicture(browser);
  process.stdout.write(`wrote ${written.join(', ')} into docs/images/web/\n`);
} finally {
  await browser.close();
  rmSync(data, { recursive: true, force: true });
}
