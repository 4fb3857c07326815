/**
 * How soon the web page shows a session: the time from `startSession` + first `stage` until the
 * card with that stage is in the page's DOM, in Debian's Chromium, over real OTLP/HTTP and the real
 * WebSocket. The baseline is a Node client on the same WebSocket (`subscribeLive`) receiving the
 * stage change: the difference is what the page adds (parsing, state, drawing on the next frame,
 * and the DevTools round trip that reads the DOM). Each iteration is one measurement: read the mean
 * and p99 columns as latencies.
 *
 *   pnpm exec vitest bench --run bench/web-latency.bench.ts
 */
import { afterAll, beforeAll, bench, describe } from 'vitest';
import WebSocket from 'ws';
import type { Browser, Page } from 'playwright-core';
import { subscribeLive } from '@llm-monitor/client';
import type { LiveSubscriptionHandle, WebSocketLike } from '@llm-monitor/client';
import type { LlmMonitor } from '@llm-monitor/instrumentation';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { buildReceiver } from '@llm-monitor/receiver';
import type { Receiver } from '@llm-monitor/receiver';
import { launchChromium } from '../test/support/browser.js';

/** The little of the page's globals the check reads (the bench compiles without DOM types). */
interface PageGlobals {
  readonly document: { querySelector(selector: string): { readonly textContent: string | null } | null };
}

let receiver: Receiver;
let live: LlmMonitorSetup;
let browser: Browser;
let page: Page;
let subscription: LiveSubscriptionHandle;
const stagesSeen = new Map<string, string>();
let notify: (() => void) | undefined;

beforeAll(async () => {
  receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
  const { apiUrl, otlpTracesUrl } = await receiver.listen();
  live = setupLlmMonitor({ endpoint: otlpTracesUrl, progressIntervalMs: 0 });
  subscription = subscribeLive({
    baseUrl: apiUrl,
    WebSocket: WebSocket as unknown as new (url: string) => WebSocketLike,
    onStage: (stage) => {
      stagesSeen.set(stage.session_id, stage.stage);
      notify?.();
    },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${apiUrl}/`);
  await page.waitForFunction("document.querySelector('[data-testid=connection]')?.textContent === 'Live'");
});

afterAll(async () => {
  subscription.close();
  await browser.close();
  await live.shutdown();
  await receiver.close();
});

async function seenByNodeClient(monitor: LlmMonitor): Promise<void> {
  const session = monitor.startSession({ task: 'latency' });
  session.stage('connecting_to_model');
  await new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('never seen')), 10_000);
    notify = () => {
      if (stagesSeen.get(session.sessionId) !== 'connecting_to_model') return;
      clearTimeout(timeout);
      resolve();
    };
    notify();
  });
  session.complete();
}

async function shownOnPage(monitor: LlmMonitor): Promise<void> {
  const session = monitor.startSession({ task: 'latency' });
  session.stage('connecting_to_model');
  // Checked in the page on every frame. A function, not a string: the page's CSP forbids eval.
  await page.waitForFunction(
    (id) =>
      (globalThis as unknown as PageGlobals).document.querySelector(`.session-card[data-session-id="${id}"] [data-testid=session-stage]`)
        ?.textContent === 'connecting to model',
    session.sessionId,
    { polling: 'raf', timeout: 10_000 },
  );
  session.complete();
}

describe('a new session and its running stage on the web page (ms per iteration = latency)', () => {
  bench('baseline: a Node WebSocket client receives the stage change', () => seenByNodeClient(live.monitor), { iterations: 30, time: 0 });
  bench('the page in Chromium shows the card with the stage', () => shownOnPage(live.monitor), { iterations: 30, time: 0 });
});
