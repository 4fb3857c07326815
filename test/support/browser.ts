import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { toolAvailable } from './tools.js';

/** Debian's Chromium, as every browser test here uses it: never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** True when Debian's chromium is installed (under CI=true its absence fails the run). */
export function chromiumAvailable(): boolean {
  return toolAvailable('chromium', 'chromium');
}

/** Launches headless Chromium with the flags this machine needs (no sandbox as root, no network chatter). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
