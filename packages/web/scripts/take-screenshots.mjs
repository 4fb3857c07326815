// Takes the screenshots of docs/web-monitor.md and the README from the real page:
//   pnpm --filter @llm-monitor/web screenshots
// It starts `llm-monitor --demo` (built by `pnpm build`) on free ports, lets the demo run, and
// photographs each view in Debian's Chromium (/usr/bin/chromium) into docs/images/web/.
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

const [port, otlpPort] = [await freePort(), await freePort()];
const receiver = spawn(
  process.execPath,
  [
    `${root}packages/receiver/bin/llm-monitor.js`,
    '--port',
    String(port),
    '--otlp-port',
    String(otlpPort),
    '--otlp-grpc-port',
    '0',
    '--demo',
    '--demo-rate',
    '3',
    '--model-prices',
    PRICES,
    '--storage-url',
    `sqlite:${join(data, 'history.db')}`,
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  await waitForReady(`${base}/readyz`);
  mkdirSync(output, { recursive: true });
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  const page = await desktop.newPage();
  await page.goto(`${base}/`);
  // A minute of the demo: the charts (which also read the last five minutes of history) fill up.
  await sleep(60_000);
  await page.screenshot({ path: `${output}live.png` });

  const streaming = page.locator('.session-card', { hasText: 'streaming response' }).first();
  await streaming.waitFor({ timeout: 30_000 });
  await streaming.locator('a.card-link').click();
  await page.waitForSelector('[data-testid=step-tree] .tree-row');
  await sleep(1500);
  await page.setViewportSize({ width: 1280, height: 1300 });
  await page.screenshot({ path: `${output}session-details.png` });
  await page.setViewportSize({ width: 1280, height: 860 });

  await page.goto(`${base}/#/history`);
  await page.waitForSelector('[data-testid=history-table] tbody tr');
  await page.screenshot({ path: `${output}history.png` });

  await page.goto(`${base}/#/usage?window=24h`);
  await page.waitForSelector('[data-testid=usage-by-model] tbody tr');
  await sleep(1000);
  await page.setViewportSize({ width: 1280, height: 1200 });
  await page.screenshot({ path: `${output}usage.png` });
  await page.setViewportSize({ width: 1280, height: 860 });

  await page.goto(`${base}/#/log`);
  await sleep(4000);
  await page.screenshot({ path: `${output}log.png` });

  const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'dark' });
  const darkPage = await dark.newPage();
  await darkPage.goto(`${base}/`);
  await sleep(4000);
  await darkPage.screenshot({ path: `${output}live-dark.png` });

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
  await phonePage.screenshot({ path: `${output}phone.png` });
  process.stdout.write(
    `wrote live.png, session-details.png, history.png, usage.png, log.png, live-dark.png and phone.png into docs/images/web/\n`,
  );
} finally {
  await browser.close();
  receiver.kill('SIGTERM');
  await new Promise((resolve) => receiver.once('exit', resolve));
  rmSync(data, { recursive: true, force: true });
}
