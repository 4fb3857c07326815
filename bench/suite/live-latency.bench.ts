/**
 * Live latency as a user feels it: from `session.stage()` in an application to the `stage_changed`
 * event in a WebSocket client, with 10, 100 and 1,000 sessions running at once (each moving to its
 * next stage every 200 ms), default settings everywhere. The application is a process of its own
 * (bench/suite/live-app.mjs: `setupLlmMonitor`, the real exporter), the receiver another (the built
 * `llm-monitor`), the client this one; all three read the same clock. Baseline: one session alone,
 * in the same run.
 *
 *   pnpm bench                                        (the whole suite, one table)
 *   pnpm exec vitest bench --run bench/suite/live-latency.bench.ts
 */
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import WebSocket from 'ws';
import { startReceiverProcess } from '../support/receiver-process.js';
import { now, runLiveApp } from './live-app-process.js';
import { percentile, QUICK, report } from './results.js';

const RECEIVER_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
const SESSION_COUNTS = QUICK ? [1, 10] : [1, 10, 100, 1000];
const SECONDS = QUICK ? 3 : 15;
const STAGE_MS = 200;
const TARGET_P99_MS = 50;

/** Latencies (ms) of every stage start the client saw, with `sessions` running at once. */
async function measure(sessions: number): Promise<{ latencies: number[]; missed: number; dropped: number }> {
  const receiver = await startReceiverProcess(RECEIVER_BIN, ['--storage-url', 'memory:']);
  try {
    const seen = new Map<string, number>();
    const socket = new WebSocket(`${receiver.apiUrl.replace('http', 'ws')}/ws/monitoring`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString('utf8')) as {
        type: string;
        events?: { type: string; session_id: string; stage?: string }[];
      };
      if (message.type !== 'batch') return;
      for (const event of message.events ?? []) {
        if (event.type !== 'stage_changed') continue;
        const key = `${event.session_id} ${event.stage}`;
        if (!seen.has(key)) seen.set(key, at);
      }
    });
    const app = await runLiveApp(receiver.otlpUrl, { sessions, seconds: SECONDS, stageMs: STAGE_MS });
    // The last stages' events are on their way.
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.close();
    const latencies: number[] = [];
    let missed = 0;
    for (const [sessionId, stage, startedAt] of app.starts) {
      const at = seen.get(`${sessionId} ${stage}`);
      if (at === undefined) missed += 1;
      else latencies.push(at - startedAt);
    }
    return { latencies, missed, dropped: app.stats.droppedSpans + app.stats.droppedUpdates };
  } finally {
    await receiver.stop();
  }
}

describe('live latency', () => {
  bench(
    'stage start in the app → WebSocket client',
    async () => {
      const results = new Map<number, number[]>();
      for (const sessions of SESSION_COUNTS) {
        const { latencies, missed, dropped } = await measure(sessions);
        results.set(sessions, latencies);
        console.log(
          `live latency, ${sessions} sessions: ${latencies.length} stage changes seen, ${missed} missed, ${dropped} dropped by the app; ` +
            `p50 ${percentile(latencies, 50).toFixed(1)} / p95 ${percentile(latencies, 95).toFixed(1)} / p99 ${percentile(latencies, 99).toFixed(1)} / max ${Math.max(...latencies).toFixed(1)} ms`,
        );
      }
      const alone = results.get(1)!;
      for (const [sessions, latencies] of results) {
        if (sessions === 1) continue;
        for (const p of [50, 95, 99]) {
          const value = percentile(latencies, p);
          report({
            scenario: 'live latency',
            figure: `stage start → WebSocket, ${sessions} sessions, p${p}`,
            value: Math.round(value * 10) / 10,
            unit: 'ms',
            baseline: { label: '1 session', value: Math.round(percentile(alone, p) * 10) / 10 },
            ...(p === 99 ? { target: { text: `≤ ${TARGET_P99_MS} ms`, met: value <= TARGET_P99_MS } } : {}),
          });
        }
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
