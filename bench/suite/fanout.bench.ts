/**
 * Fan-out to live clients: a real receiver (the built `llm-monitor`, memory store) while an
 * application in a process of its own (bench/suite/live-app.mjs: `setupLlmMonitor`, the real
 * exporter) starts 50 sessions a second, each moving through every stage, one every 200 ms; the
 * WebSocket clients (bench/suite/ws-clients.mjs) in a third process, so their CPU is not the
 * receiver's. Measured with 1 client (the baseline) and with 1,000: delivery latency — stage start
 * in the application → receipt in a client, over every client, on the clock all processes share —
 * and the receiver's CPU (utime + stime of /proc/<pid>/stat over the measured window ÷ wall time;
 * 100 % = one core). A fresh receiver for each, with `--live-max-clients-per-address 2000` (all
 * clients come from 127.0.0.1) and no read rate limit. Quick: 10 clients, 3 s.
 *
 *   pnpm exec vitest bench --run bench/suite/fanout.bench.ts
 *
 * LLMMON_BENCH_CPU_PROF_DIR runs the receivers under `--cpu-prof`, their profiles written there.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { cpuProfileArgs, cpuSecondsOf, startReceiverProcess } from '../support/receiver-process.js';
import { now, runLiveApp } from './live-app-process.js';
import { QUICK, report } from './results.js';

const RECEIVER_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
const CLIENTS_SCRIPT = fileURLToPath(new URL('./ws-clients.mjs', import.meta.url));
const CLIENT_COUNTS = QUICK ? [1, 10] : [1, 1000];
const SECONDS = QUICK ? 3 : 15;
/** The start of the load not measured (connections, JIT, the exporter's first batches). */
const WARMUP_MS = QUICK ? 500 : 2000;
const SESSIONS_PER_SECOND = 50;
const STAGE_MS = 200;
/** Stages live-app.mjs runs per session: the built-in ones but `completed` and `failed`. */
const STAGES_PER_SESSION = 10;
/** Sessions running at once so that 50 start every second. */
const CONCURRENT_SESSIONS = (SESSIONS_PER_SECOND * STAGES_PER_SESSION * STAGE_MS) / 1000;
const TARGET_P99_MS = 100;
const TARGET_CPU_PERCENT = 25;

interface ClientsReport {
  clients: number;
  latencies: number;
  missed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  messages: number;
  closedEarly: string[];
  closedEarlyCount: number;
  loopDelayP99Ms: number;
}

/** The next IPC message of `type` from `child`, or its exit as an error. */
function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`ws-clients exited ${code} before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface Measured {
  clients: ClientsReport;
  receiverCpuPercent: number;
  clientsCpuPercent: number;
  sessionsPerSecond: number;
  windowSeconds: number;
  dropped: number;
  /** Spans (and live markers) the receiver took per CPU-second over the whole run. */
  spansPerCpuSecond: number;
}

/** `llm_monitor_receiver_spans_received_total` of a receiver now. */
async function spansReceived(apiUrl: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`, { headers: { accept: 'text/plain' } })).text();
  return Number(/^llm_monitor_receiver_spans_received_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

async function measure(clientCount: number): Promise<Measured> {
  const receiver = await startReceiverProcess(
    RECEIVER_BIN,
    ['--storage-url', 'memory:', '--live-max-clients-per-address', '2000', '--read-rate-limit-per-minute', '0'],
    cpuProfileArgs(`fanout-${clientCount}-clients`),
  );
  const clients = fork(
    CLIENTS_SCRIPT,
    [JSON.stringify({ url: `${receiver.apiUrl.replace('http', 'ws')}/ws/monitoring`, clients: clientCount })],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const samples: { at: number; receiver: number; clients: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const { opened } = await nextMessage<{ opened: number }>(clients, 'ready');
    if (opened !== clientCount) throw new Error(`only ${opened} of ${clientCount} WebSocket clients connected`);
    const sample = (): void => {
      samples.push({ at: now(), receiver: cpuSecondsOf(receiver.pid), clients: cpuSecondsOf(clients.pid!) });
    };
    const spansBefore = await spansReceived(receiver.apiUrl);
    sample();
    sampler = setInterval(sample, 100);
    const app = await runLiveApp(receiver.otlpUrl, { sessions: CONCURRENT_SESSIONS, seconds: SECONDS, stageMs: STAGE_MS });
    // The last stages' events are on their way.
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    sampler = undefined;
    sample();
    const spansAfter = await spansReceived(receiver.apiUrl);
    const cpuOfRun = samples[samples.length - 1]!.receiver - samples[0]!.receiver;

    // The measured window: from WARMUP_MS after the first stage start to the last one.
    const firstStart = Math.min(...app.starts.map((start) => start[2]));
    const lastStart = Math.max(...app.starts.map((start) => start[2]));
    const windowStart = firstStart + WARMUP_MS;
    const from = samples.find((one) => one.at >= windowStart) ?? samples[0]!;
    const to = [...samples].reverse().find((one) => one.at <= lastStart) ?? samples[samples.length - 1]!;
    const wallSeconds = (to.at - from.at) / 1000;
    const measured = app.starts.filter((start) => start[2] >= windowStart);
    const sessionsInWindow = new Set(measured.filter((start) => start[1] === app.starts[0]![1]).map((start) => start[0])).size;

    clients.send({ type: 'starts', starts: measured });
    const result = await nextMessage<ClientsReport>(clients, 'done');
    return {
      clients: result,
      receiverCpuPercent: ((to.receiver - from.receiver) / wallSeconds) * 100,
      clientsCpuPercent: ((to.clients - from.clients) / wallSeconds) * 100,
      sessionsPerSecond: sessionsInWindow / ((lastStart - windowStart) / 1000),
      windowSeconds: wallSeconds,
      dropped: app.stats.droppedSpans + app.stats.droppedUpdates,
      spansPerCpuSecond: (spansAfter - spansBefore) / cpuOfRun,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    if (clients.exitCode === null && clients.signalCode === null) clients.kill('SIGKILL');
    await receiver.stop();
  }
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

describe('fan-out', () => {
  bench(
    'stage start in the app → 1 and 1,000 WebSocket clients',
    async () => {
      const results = new Map<number, Measured>();
      for (const count of CLIENT_COUNTS) {
        const measured = await measure(count);
        results.set(count, measured);
        const { clients } = measured;
        console.log(
          `fan-out, ${count} client${count === 1 ? '' : 's'}: ${measured.sessionsPerSecond.toFixed(1)} sessions/s over ${measured.windowSeconds.toFixed(1)} s; ` +
            `${clients.latencies} deliveries, ${clients.missed} missed, ${clients.closedEarlyCount} clients closed early ${JSON.stringify(clients.closedEarly)}, ${measured.dropped} dropped by the app; ` +
            `p50 ${clients.p50.toFixed(1)} / p95 ${clients.p95.toFixed(1)} / p99 ${clients.p99.toFixed(1)} / max ${clients.max.toFixed(1)} ms; ` +
            `receiver CPU ${measured.receiverCpuPercent.toFixed(1)} %, clients' process CPU ${measured.clientsCpuPercent.toFixed(1)} %, its event-loop delay p99 ${clients.loopDelayP99Ms.toFixed(1)} ms`,
        );
      }
      const [one, many] = CLIENT_COUNTS.map((count) => results.get(count)!) as [Measured, Measured];
      const manyLabel = `${CLIENT_COUNTS[1]!.toLocaleString('en-US')} clients`;
      report({
        scenario: 'fan-out',
        figure: `${manyLabel}, delivery p50`,
        value: round1(many.clients.p50),
        unit: 'ms',
        baseline: { label: '1 client', value: round1(one.clients.p50) },
      });
      report({
        scenario: 'fan-out',
        figure: `${manyLabel}, delivery p99`,
        value: round1(many.clients.p99),
        unit: 'ms',
        baseline: { label: '1 client', value: round1(one.clients.p99) },
        target: { text: `≤ ${TARGET_P99_MS} ms`, met: many.clients.p99 <= TARGET_P99_MS && many.clients.missed === 0 },
      });
      report({
        scenario: 'fan-out',
        figure: `${manyLabel}, receiver CPU`,
        value: round1(many.receiverCpuPercent),
        unit: '%',
        baseline: { label: '1 client', value: round1(one.receiverCpuPercent) },
        target: { text: `≤ ${TARGET_CPU_PERCENT}%`, met: many.receiverCpuPercent <= TARGET_CPU_PERCENT },
      });
      // The live workload itself: a real application's small, frequent requests (markers, a request
      // every export delay) at 50 sessions/s, one client reading.
      report({
        scenario: 'fan-out',
        figure: 'live workload at 50 sessions/s, 1 client: spans per receiver CPU-second',
        value: Math.round(one.spansPerCpuSecond),
        unit: 'spans/CPU-s',
        target: { text: '≥ 40,000', met: one.spansPerCpuSecond >= 40_000 },
      });
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
