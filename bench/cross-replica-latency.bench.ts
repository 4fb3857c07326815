/**
 * What the live fan-out across replicas adds (issue #16): two `llm-monitor` processes, A and B,
 * sharing Redis (`redis_url`) and — when one answers at `DATABASE_URL` — a PostgreSQL history in a
 * fresh schema. An application in this process exports to A only, at a steady load; a WebSocket
 * client of A and one of B record when each stage change arrives. Each stage change is timed from the
 * application's `stage()` call, so both paths include the same export; their difference is what the
 * hop through Redis to B costs. Target: B's p95 under A's p95 + 50 ms.
 *
 *   pnpm build && pnpm exec vitest bench --run bench/cross-replica-latency.bench.ts
 *
 * Settings (environment): LLMMON_BENCH_SESSIONS_PER_S (default 10), LLMMON_BENCH_STAGES (stages per
 * session, default 6, 100 ms apart), LLMMON_BENCH_LOAD_S (default 20), REDIS_URL, DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import WebSocket from 'ws';
import pg from 'pg';
import { setupLlmMonitor } from '@llm-monitor/node';
import { percentile, startReceiverProcess } from './support/receiver-process.js';
import type { ReceiverProcess } from './support/receiver-process.js';

const BIN = fileURLToPath(new URL('../packages/receiver/bin/llm-monitor.js', import.meta.url));
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const SESSIONS_PER_S = Number(process.env.LLMMON_BENCH_SESSIONS_PER_S ?? 10);
const STAGES = Math.max(2, Number(process.env.LLMMON_BENCH_STAGES ?? 6));
const LOAD_MS = Number(process.env.LLMMON_BENCH_LOAD_S ?? 20) * 1000;
const STAGE_GAP_MS = 100;
const STAGE_NAMES = [
  'initializing',
  'validating_input',
  'preparing_context',
  'connecting_to_model',
  'sending_request',
  'streaming_response',
];

interface Report {
  store: string;
  samples: number;
  a: number[];
  b: number[];
  missingAtB: number;
  cpuA: number;
  cpuB: number;
  /** Session updates and messages B took from A over Redis, and their bytes' worth in A's messages. */
  receivedAtB: { sessions: number; messages: number };
  loadSeconds: number;
  /** B's CPU seconds per second while nothing came. */
  idleCpuRateB: number;
}
const reports: Report[] = [];
const notes: string[] = [];

async function pgReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function withPg(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Receiver CPU seconds (utime + stime) of a process, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A WebSocket client that records when each `stage_changed` of a session arrives. */
async function stageClock(apiUrl: string): Promise<{ arrivals: Map<string, number>; close(): void }> {
  const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
  const arrivals = new Map<string, number>();
  socket.on('message', (data: Buffer) => {
    const now = performance.now();
    const message = JSON.parse(data.toString('utf8')) as { events?: { type: string; session_id?: string; stage?: string }[] };
    for (const event of message.events ?? []) {
      if (event.type !== 'stage_changed' || !event.session_id || !event.stage) continue;
      const key = `${event.session_id}/${event.stage}`;
      if (!arrivals.has(key)) arrivals.set(key, now);
    }
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { arrivals, close: () => socket.close() };
}

async function readyFanout(replica: ReceiverProcess, peer: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = (await (await fetch(`${replica.apiUrl}/readyz`)).json()) as {
      components: { fanout: { status: string; details: { replication?: { replicas: { replica_id: string }[] } } } };
    };
    const fanout = ready.components.fanout;
    if (fanout.status === 'healthy' && fanout.details.replication?.replicas.some((item) => item.replica_id === peer)) return;
    if (Date.now() > deadline) throw new Error(`${replica.apiUrl}: fan-out not connected to ${peer}: ${JSON.stringify(fanout)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runScenario(storageUrl: string, store: string): Promise<Report> {
  const channel = `llm-monitor-bench:${randomBytes(5).toString('hex')}`;
  const common = ['--storage-url', storageUrl, '--redis-url', REDIS_URL, '--redis-channel', channel];
  const a = await startReceiverProcess(BIN, [...common, '--replica-id', 'bench-a']);
  const b = await startReceiverProcess(BIN, [...common, '--replica-id', 'bench-b']);
  try {
    await readyFanout(a, 'bench-b');
    await readyFanout(b, 'bench-a');
    const atA = await stageClock(a.apiUrl);
    const atB = await stageClock(b.apiUrl);
    const app = setupLlmMonitor({ endpoint: `${a.otlpUrl}`, serviceName: 'bench-cross-replica', progressIntervalMs: 0 });
    const sent = new Map<string, number>();
    // B's own cost when nothing comes (timers, sweeps, heartbeats, its live client), over 5 s: the
    // same-run baseline the fan-out's cost is read against.
    const idleB0 = await cpuSeconds(b.pid);
    const idleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idleCpuRateB = ((await cpuSeconds(b.pid)) - idleB0) / ((performance.now() - idleStarted) / 1000);
    const cpuA0 = await cpuSeconds(a.pid);
    const cpuB0 = await cpuSeconds(b.pid);
    const started = performance.now();
    const running: Promise<void>[] = [];
    // A steady load: a new session every 1/SESSIONS_PER_S s, each moving through its stages 100 ms apart.
    for (let index = 0; performance.now() - started < LOAD_MS; index += 1) {
      const due = started + (index * 1000) / SESSIONS_PER_S;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const session = app.monitor.startSession({ task: 'bench', model: 'gpt-4o-mini' });
      running.push(
        (async () => {
          for (let stage = 0; stage < STAGES; stage += 1) {
            const name = STAGE_NAMES[stage % STAGE_NAMES.length]!;
            sent.set(`${session.sessionId}/${name}`, performance.now());
            session.stage(name);
            await new Promise((resolve) => setTimeout(resolve, STAGE_GAP_MS));
          }
          session.complete({ result: 'ok' });
        })(),
      );
    }
    await Promise.all(running);
    await app.shutdown();
    // Let the last stage changes arrive.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cpuA = (await cpuSeconds(a.pid)) - cpuA0;
    const cpuB = (await cpuSeconds(b.pid)) - cpuB0;
    const loadSeconds = (performance.now() - started) / 1000;
    const readyB = (await (await fetch(`${b.apiUrl}/readyz`)).json()) as {
      components: { fanout: { details: { replication: { sessions_received: number; messages_received: number } } } };
    };
    const replication = readyB.components.fanout.details.replication;
    atA.close();
    atB.close();
    const latencyA: number[] = [];
    const latencyB: number[] = [];
    let missingAtB = 0;
    for (const [key, at] of sent) {
      const arrivedA = atA.arrivals.get(key);
      const arrivedB = atB.arrivals.get(key);
      // A stage that starts and ends within one tick arrives as step/stage state without its own
      // stage_changed; it is left out of both paths alike.
      if (arrivedA === undefined) continue;
      if (arrivedB === undefined) {
        missingAtB += 1;
        continue;
      }
      latencyA.push(arrivedA - at);
      latencyB.push(arrivedB - at);
    }
    latencyA.sort((x, y) => x - y);
    latencyB.sort((x, y) => x - y);
    return {
      store,
      samples: latencyA.length,
      a: latencyA,
      b: latencyB,
      missingAtB,
      cpuA,
      cpuB,
      receivedAtB: { sessions: replication.sessions_received, messages: replication.messages_received },
      loadSeconds,
      idleCpuRateB,
    };
  } finally {
    await a.stop();
    await b.stop();
  }
}

function report(results: readonly Report[]): string {
  const fixed = (value: number): string => value.toFixed(1);
  const lines = [
    '',
    `cross-replica live latency: stage() in the app → stage_changed on a WebSocket client; ${SESSIONS_PER_S} sessions/s × ${STAGES} stages, ${LOAD_MS / 1000} s, exported to replica A only`,
    '',
    '| store | path | samples | p50 ms | p95 ms | p99 ms | replica CPU (s) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of results) {
    const row = (path: string, values: number[], cpu: string): string =>
      `| ${result.store} | ${path} | ${values.length} | ${fixed(percentile(values, 50))} | ${fixed(percentile(values, 95))} | ${fixed(percentile(values, 99))} | ${cpu} |`;
    lines.push(row('A → client of A (same replica)', result.a, `A ${result.cpuA.toFixed(2)}`));
    lines.push(row('A → Redis → client of B', result.b, `B ${result.cpuB.toFixed(2)}`));
    const added = (p: number): string => {
      const difference = percentile(result.b, p) - percentile(result.a, p);
      return `${difference >= 0 ? '+' : '−'}${fixed(Math.abs(difference))}`;
    };
    lines.push(`| ${result.store} | added by the hop | | ${added(50)} | ${added(95)} | ${added(99)} | |`);
    if (result.missingAtB > 0) lines.push(`| ${result.store} | seen at A, never at B | ${result.missingAtB} | | | | |`);
    const { sessions, messages } = result.receivedAtB;
    const fanoutCpu = Math.max(0, result.cpuB - result.idleCpuRateB * result.loadSeconds);
    lines.push(
      '',
      `${result.store}: B applied ${sessions} session updates from A in ${messages} messages (${(sessions / result.loadSeconds).toFixed(0)} updates/s); ` +
        `B's CPU: ${((result.cpuB / result.loadSeconds) * 100).toFixed(1)} % of a core under the load, ${(result.idleCpuRateB * 100).toFixed(1)} % idle; ` +
        `the difference is ${((fanoutCpu * 1e6) / Math.max(1, sessions)).toFixed(0)} µs per remote update (decode, diff, delivery to one live client)`,
    );
  }
  lines.push('', `target: p95 added under 50 ms`, ...notes, '');
  return lines.join('\n');
}

afterAll(() => {
  if (reports.length > 0 || notes.length > 0) process.stdout.write(report(reports));
});

const once = { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 };

describe('cross-replica live latency (ms per iteration = the whole scenario; figures printed below)', () => {
  bench(
    'two replicas over Redis',
    async () => {
      if (await pgReachable()) {
        const schema = `llmmon_bench_${randomBytes(5).toString('hex')}`;
        await withPg((client) => client.query(`CREATE SCHEMA ${schema}`));
        try {
          const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
          reports.push(await runScenario(url, 'postgres'));
        } finally {
          await withPg((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
        }
      } else {
        notes.push(`PostgreSQL not reachable at DATABASE_URL: each replica ran on memory: (history not shared)`);
        reports.push(await runScenario('memory:', 'memory'));
      }
    },
    once,
  );
});
