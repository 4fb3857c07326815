/**
 * What a retained ended session costs a receiver's memory: a real receiver (the built `llm-monitor`,
 * `--max-sessions 100000`, `--max-held-bytes` 16 GiB so nothing is let go for size, an 8 GiB V8 heap
 * so the memory guard never refuses) is sent 100,000 complete, realistic sessions (quick: 2,000) from
 * a process of its own (bench/suite/session-sender.mjs: our instrumentation, per session a root, ten
 * stages, one LLM call and 20 token events; 30 sessions per protobuf request, 4 in flight), once with
 * the memory store and once with the durable one (SQLite in a temporary file). Heap used after a full
 * garbage collection, before and after, over the sessions the store then holds
 * (`llm_monitor_store_sessions`). The receiver has no endpoint for a collection: it runs with
 * `--inspect` on a loopback port of its own and the bench asks for one through the inspector
 * (`HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`). The minimum of `/metrics`'
 * `nodejs_heap_size_used_bytes` over a few seconds after ingest, without a forced collection, is
 * printed beside it (it includes garbage not yet collected). Baseline: the session's own REST JSON
 * (`GET /api/monitoring/sessions/{id}`), in bytes.
 *
 * Then, if cheap: the resident memory of a receiver with default settings (SQLite history,
 * `max_sessions` 10,000) while 20,000 sessions (quick: 1,000 held of 2,000) are sent to it, against
 * the same receiver idle.
 *
 *   pnpm exec vitest bench --run bench/suite/retained-memory.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import WebSocket from 'ws';
import { residentMemoryOf } from '../../test/support/process-figures.js';
import { runJsonScript, startReceiverProcess } from '../support/receiver-process.js';
import type { ReceiverProcess } from '../support/receiver-process.js';
import { QUICK, report } from './results.js';

const RECEIVER_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
const SENDER = fileURLToPath(new URL('./session-sender.mjs', import.meta.url));
const SESSIONS = QUICK ? 2000 : 100_000;
const RSS_HELD = QUICK ? 1000 : 10_000;
const RSS_SENT = RSS_HELD * 2;
/** How long heap used is read from /metrics after ingest (every 500 ms). */
const SETTLE_MS = QUICK ? 1000 : 5000;
const MAX_HELD_BYTES = 16 * 2 ** 30;
const KB = 1024;
const MIB = 1024 * 1024;
const MB = 1e6;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SenderReport {
  seconds: number;
  sessions: number;
  spansPerSession: number;
  bodyBytes: number;
  statuses: Record<string, number>;
  rejectedSpans: number;
  lastSessionId: string;
}

function runSender(url: string, sessions: number): Promise<SenderReport> {
  return runJsonScript<SenderReport>(SENDER, { url, sessions });
}

/** A free loopback port (for the receiver's inspector). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A session of the receiver's inspector: one command at a time. */
async function inspectorOf(port: number): Promise<{ command: (method: string) => Promise<unknown>; close: () => void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id === undefined) return;
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) pending?.reject(new Error(message.error.message));
    else pending?.resolve(message.result);
  });
  return {
    command: (method) =>
      new Promise((resolve, reject) => {
        id += 1;
        waiting.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method }));
      }),
    close: () => socket.close(),
  };
}

/** The samples of `/metrics` whose series starts with `name`, summed. */
async function metric(apiUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`, { headers: { accept: 'text/plain' } })).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  if (!found) throw new Error(`no ${name} in /metrics`);
  return sum;
}

/** The least heap used `/metrics` shows over `ms` (read every 500 ms), without forcing a collection. */
async function leastHeapUsed(apiUrl: string, ms: number): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let waited = 0; ; waited += 500) {
    least = Math.min(least, await metric(apiUrl, 'nodejs_heap_size_used_bytes'));
    if (waited >= ms) return least;
    await sleep(500);
  }
}

/** Heap used after full collections (two: the first may leave what finalizers free). */
async function heapAfterFullGc(inspector: { command: (method: string) => Promise<unknown> }): Promise<number> {
  await inspector.command('HeapProfiler.collectGarbage');
  await inspector.command('HeapProfiler.collectGarbage');
  return ((await inspector.command('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
}

interface Retained {
  sessions: number;
  /** Of those, compacted (their trace let its spans go). */
  compacted: number;
  bytesPerSession: number;
  /** Buffers (`nodejs_external_memory_bytes`) per session: where compacted details are kept. */
  externalBytesPerSession: number;
  metricsBytesPerSession: number;
  heldBytesPerSession: number;
  restJsonBytes: number;
  rssBefore: number;
  rssAfter: number;
  sender: SenderReport;
}

/**
 * Sends the sessions to a receiver of its own and measures what they cost once held. `released`:
 * with `release_spans_after_seconds` 1 (not the default 60, so the bench need not wait a minute),
 * measured once every session let its spans go and was compacted; else with 3,600, so every session
 * still holds its spans, as each does during its first minute after ending.
 */
async function retained(storageUrl: string, released: boolean): Promise<Retained> {
  const inspectPort = await freePort();
  const receiver: ReceiverProcess = await startReceiverProcess(
    RECEIVER_BIN,
    [
      '--storage-url',
      storageUrl,
      '--max-sessions',
      String(SESSIONS),
      '--max-held-bytes',
      String(MAX_HELD_BYTES),
      '--release-spans-after-seconds',
      released ? '1' : '3600',
      '--sweep-interval-seconds',
      '0.5',
    ],
    [`--inspect=127.0.0.1:${inspectPort}`, '--max-old-space-size=8192'],
  );
  const inspector = await inspectorOf(inspectPort);
  try {
    await sleep(1000);
    const metricsBefore = await leastHeapUsed(receiver.apiUrl, 1000);
    const before = await heapAfterFullGc(inspector);
    const externalBefore = await metric(receiver.apiUrl, 'nodejs_external_memory_bytes');
    const rssBefore = residentMemoryOf(receiver.pid).current;

    const sender = await runSender(receiver.otlpUrl, SESSIONS);
    if (sender.rejectedSpans > 0) throw new Error(`the receiver rejected ${sender.rejectedSpans} spans`);

    if (released) {
      // Every session lets its spans go a second after its last one, and is compacted after the next
      // sweep; sessions evicted for max_sessions meanwhile are neither.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const held = await metric(receiver.apiUrl, 'llm_monitor_store_sessions');
        const releasedTraces = await metric(receiver.apiUrl, 'llm_monitor_receiver_held_traces{kind="released"}');
        const compacted = await metric(receiver.apiUrl, 'llm_monitor_receiver_sessions_compacted_total');
        if (releasedTraces >= held && compacted >= releasedTraces) break;
        if (Date.now() > deadline)
          throw new Error(`not all compacted within 120 s: ${held} held, ${releasedTraces} released, ${compacted} compacted`);
        await sleep(500);
      }
    }
    const metricsAfter = await leastHeapUsed(receiver.apiUrl, SETTLE_MS);
    const after = await heapAfterFullGc(inspector);
    const externalAfter = await metric(receiver.apiUrl, 'nodejs_external_memory_bytes');
    const rssAfter = residentMemoryOf(receiver.pid).current;
    const sessions = await metric(receiver.apiUrl, 'llm_monitor_store_sessions');
    const heldBytes = await metric(receiver.apiUrl, 'llm_monitor_receiver_held_bytes');
    const response = await fetch(`${receiver.apiUrl}/api/monitoring/sessions/${sender.lastSessionId}`);
    if (response.status !== 200) throw new Error(`GET the session ${sender.lastSessionId}: ${response.status}`);
    const restJsonBytes = Buffer.byteLength(await response.text());
    return {
      sessions,
      compacted: await metric(receiver.apiUrl, 'llm_monitor_receiver_sessions_compacted_total'),
      bytesPerSession: (after - before) / sessions,
      externalBytesPerSession: (externalAfter - externalBefore) / sessions,
      metricsBytesPerSession: (metricsAfter - metricsBefore) / sessions,
      heldBytesPerSession: heldBytes / sessions,
      restJsonBytes,
      rssBefore,
      rssAfter,
      sender,
    };
  } finally {
    inspector.close();
    await receiver.stop();
  }
}

/** Peak resident memory of a default receiver (SQLite history at `storageUrl`) while sessions are sent. */
async function rssUnderLoad(
  storageUrl: string,
): Promise<{ idle: number; peak: number; held: number; seconds: number; settled: number; compacted: number }> {
  // Default settings but a release after 1 s (not 60), so the bench sees the held sessions compacted without waiting a minute.
  const receiver = await startReceiverProcess(RECEIVER_BIN, [
    '--storage-url',
    storageUrl,
    '--max-sessions',
    String(RSS_HELD),
    '--release-spans-after-seconds',
    '1',
  ]);
  try {
    await sleep(1000);
    const idle = residentMemoryOf(receiver.pid).current;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, residentMemoryOf(receiver.pid).current)), 100);
    try {
      const sender = await runSender(receiver.otlpUrl, RSS_SENT);
      peak = Math.max(peak, residentMemoryOf(receiver.pid).current);
      const held = await metric(receiver.apiUrl, 'llm_monitor_store_sessions');
      // Then the held sessions are released and compacted (at the default sweep, every 10 s).
      const deadline = Date.now() + 60_000;
      let compacted = 0;
      while (
        (compacted = await metric(receiver.apiUrl, 'llm_monitor_receiver_held_traces{kind="released"}')) < held &&
        Date.now() < deadline
      )
        await sleep(500);
      await sleep(SETTLE_MS);
      return { idle, peak, held, seconds: sender.seconds, settled: residentMemoryOf(receiver.pid).current, compacted };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await receiver.stop();
  }
}

const round = (value: number): number => Math.round(value * 10) / 10;

describe('retained memory', () => {
  bench(
    'heap per retained ended session, memory and SQLite stores',
    async () => {
      const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-retained-'));
      try {
        const stores = [
          { name: 'memory store', url: () => 'memory:', target: 4 },
          { name: 'durable store (sqlite)', url: () => `sqlite:${join(directory, `history-${Date.now()}.db`)}`, target: 2 },
        ];
        const phases = [
          { released: true, name: 'released and compacted' },
          { released: false, name: 'spans still held (its first minute)' },
        ];
        for (const phase of phases)
          for (const store of stores) {
            const result = await retained(store.url(), phase.released);
            const { sender } = result;
            console.log(
              `retained memory, ${store.name}: ${sender.sessions.toLocaleString('en-US')} sessions of ${sender.spansPerSession} spans sent in ${sender.seconds.toFixed(1)} s ` +
                `(${(sender.sessions / sender.seconds).toFixed(0)} sessions/s, statuses ${JSON.stringify(sender.statuses)}), ${result.sessions.toLocaleString('en-US')} held; ` +
                `heap after full GC ${(result.bytesPerSession / KB).toFixed(2)} KB per session (from /metrics' least heap used, no forced GC: ${(result.metricsBytesPerSession / KB).toFixed(2)} KB; ` +
                `held_bytes estimate ${(result.heldBytesPerSession / KB).toFixed(2)} KB); RSS ${(result.rssBefore / MIB).toFixed(0)} → ${(result.rssAfter / MIB).toFixed(0)} MiB; ` +
                `its REST JSON ${result.restJsonBytes} bytes; ${phase.name}: ${result.compacted.toLocaleString('en-US')} compacted, buffers ${(result.externalBytesPerSession / KB).toFixed(2)} KB per session`,
            );
            report({
              scenario: 'retained memory',
              figure: `heap per retained ended session, ${store.name}, ${phase.name}`,
              value: round(result.bytesPerSession / KB),
              unit: 'KB',
              baseline: { label: 'its REST JSON', value: round(result.restJsonBytes / KB) },
              // The target is for a session retained for its hour, which is released within its first minute.
              ...(phase.released ? { target: { text: `≤ ${store.target} KB`, met: result.bytesPerSession <= store.target * KB } } : {}),
            });
            if (phase.released)
              report({
                scenario: 'retained memory',
                figure: `heap + buffers per retained ended session, ${store.name}, ${phase.name}`,
                value: round((result.bytesPerSession + result.externalBytesPerSession) / KB),
                unit: 'KB',
                baseline: { label: 'its REST JSON', value: round(result.restJsonBytes / KB) },
              });
          }

        const load = await rssUnderLoad(`sqlite:${join(directory, 'load.db')}`);
        console.log(
          `retained memory, RSS under load: ${RSS_SENT.toLocaleString('en-US')} sessions sent in ${load.seconds.toFixed(1)} s to a default receiver (SQLite, max_sessions ${RSS_HELD.toLocaleString('en-US')}), ` +
            `${load.held.toLocaleString('en-US')} held at the end; RSS idle ${(load.idle / MB).toFixed(1)} MB, peak ${(load.peak / MB).toFixed(1)} MB; ` +
            `${load.compacted.toLocaleString('en-US')} released, then RSS ${(load.settled / MB).toFixed(1)} MB`,
        );
        report({
          scenario: 'retained memory',
          figure: `RSS with ${RSS_HELD.toLocaleString('en-US')} sessions under load`,
          value: round(load.peak / MB),
          unit: 'MB',
          baseline: { label: 'same receiver idle', value: round(load.idle / MB) },
          target: { text: '≤ 150 MB', met: load.peak <= 150 * MB },
        });
        report({
          scenario: 'retained memory',
          figure: `RSS with ${RSS_HELD.toLocaleString('en-US')} sessions held, once released and compacted`,
          value: round(load.settled / MB),
          unit: 'MB',
          baseline: { label: 'same receiver idle', value: round(load.idle / MB) },
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
