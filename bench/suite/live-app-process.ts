/**
 * The application process of the live scenarios (./live-app.mjs) as the benches start it, and the
 * clock every process of a scenario shares to time what crosses between them.
 */
import { fileURLToPath } from 'node:url';
import { runJsonScript } from '../support/receiver-process.js';

const APP = fileURLToPath(new URL('./live-app.mjs', import.meta.url));

/** Milliseconds on the machine's clock, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

/** What the application reports: every stage start `[sessionId, stage, startedAtMs]`, and its processor's counts. */
export interface AppReport {
  starts: [string, string, number][];
  stats: { droppedSpans: number; droppedUpdates: number; failedExports: number };
}

/** Runs the application: `sessions` at once against `endpoint`, each stage `stageMs` long, for `seconds`. */
export function runLiveApp(endpoint: string, options: { sessions: number; seconds: number; stageMs: number }): Promise<AppReport> {
  return runJsonScript<AppReport>(APP, { endpoint, ...options });
}
