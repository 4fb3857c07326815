/**
 * Ingest throughput: spans per CPU-second of a real `llm-monitor` process (the built CLI, default
 * settings) through the whole OTLP/HTTP path — read, decompress, decode, admit, build sessions, store,
 * history, answer — for protobuf, JSON and protobuf + gzip requests, with the memory store
 * (`memory:`) and the durable one (`sqlite:` in a temporary file). Baseline in the same run, per
 * encoding: a decode-only server (bench/suite/decode-only-server.mjs: `node:http`, the receiver's own
 * decoders, 200 — nothing kept), measured the same way.
 *
 * Requests are sent over loopback by a process of its own (bench/suite/ingest-load.mjs): 30 sessions
 * per request, made once by our instrumentation (root, ten stages, one LLM call with 20 token events:
 * 12 spans a session, 360 a request), every copy with new trace and session ids, so no session is ever
 * sent twice. 4 senders, each waiting for its answer before the next; warm-up, then a measured window
 * (full: 10 s; quick: 0.4 s), bounded in requests too. CPU is the server process's utime + stime
 * (all its threads) from /proc/<pid>/stat across the window.
 *
 *   pnpm exec vitest bench --run bench/suite/ingest.bench.ts
 *   LLMMON_BENCH_QUICK=1 pnpm exec vitest bench --run bench/suite/ingest.bench.ts
 *
 * LLMMON_BENCH_CPU_PROF_DIR runs the receivers under `--cpu-prof`, their profiles written there.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { cpuProfileArgs, cpuSecondsOf, startReceiverProcess } from '../support/receiver-process.js';
import { sessionRequests } from '../../test/support/session-requests.mjs';
import type { RequestTemplate } from '../../test/support/session-requests.mjs';
import { QUICK, report } from './results.js';

const RECEIVER_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL('./ingest-load.mjs', import.meta.url));
const DECODE_ONLY = fileURLToPath(new URL('./decode-only-server.mjs', import.meta.url));
const SESSIONS_PER_REQUEST = 30;
const SENDERS = 4;
const WARMUP_MS = QUICK ? 300 : 2_000;
const LOAD_MS = QUICK ? 400 : 10_000;
/** At most this many requests per variant, warm-up included (far above what the window takes here). */
const MAX_REQUESTS = QUICK ? 2_000 : 40_000;
const SCENARIO = 'ingest';
const UNIT = 'spans/CPU-s';

// ---------------------------------------------------------------------------------------------
// One request's spans, made once by our instrumentation (live markers off: what a batch exporter
// sends of finished work). Trace ids are `TRACE_MARK` + 4 bytes of request number + 6 bytes of
// session number; session ids (and the conversation ids made of them) `SESSION_MARK` + 8 hex digits of
// request number + `-` + the session's index.

const TRACE_MARK = '1a6e57be4c00';
const SESSION_MARK = 'bench-ingest-';
const made = await sessionRequests({ sessionsPerRequest: SESSIONS_PER_REQUEST, traceMark: TRACE_MARK, sessionMark: SESSION_MARK });
const SPANS_PER_REQUEST = made.spansPerRequest;

interface Template {
  readonly path: string;
  readonly bytes: number;
  readonly idFormat: 'binary' | 'hex';
  readonly traceIdOffsets: number[];
  readonly sessionIdOffsets: number[];
}

const WORK_DIR = mkdtempSync(join(tmpdir(), 'llmmon-ingest-bench-'));

function template(name: string, made: RequestTemplate): Template {
  const path = join(WORK_DIR, name);
  writeFileSync(path, made.body);
  return {
    path,
    bytes: made.body.length,
    idFormat: made.encoding === 'json' ? 'hex' : 'binary',
    traceIdOffsets: [...made.traceIdOffsets],
    sessionIdOffsets: [...made.sessionIdOffsets],
  };
}

const TEMPLATES = {
  protobuf: template('request.pb', made.template('protobuf')),
  json: template('request.json', made.template('json')),
};

interface Encoding {
  readonly label: string;
  readonly template: Template;
  readonly contentType: string;
  readonly gzip: boolean;
  /** The issue's target for the whole path against the decode-only server, if any. */
  readonly target?: (value: number, baseline: number) => { text: string; met: boolean };
}

const ENCODINGS: readonly Encoding[] = [
  {
    label: 'protobuf',
    template: TEMPLATES.protobuf,
    contentType: 'application/x-protobuf',
    gzip: false,
    target: (value, baseline) => ({
      text: '≥ 100k and ≥ 70% of decode-only',
      met: value >= 100_000 && value >= 0.7 * baseline,
    }),
  },
  {
    label: 'JSON',
    template: TEMPLATES.json,
    contentType: 'application/json',
    gzip: false,
    target: (value) => ({ text: '≥ 55k', met: value >= 55_000 }),
  },
  { label: 'protobuf + gzip', template: TEMPLATES.protobuf, contentType: 'application/x-protobuf', gzip: true },
];

const STORES: readonly { readonly label: string; readonly url: () => string }[] = [
  { label: 'memory:', url: () => 'memory:' },
  { label: 'sqlite:', url: () => `sqlite:${join(WORK_DIR, `history-${Date.now().toString(36)}.db`)}` },
];

// ---------------------------------------------------------------------------------------------
// Measurement: a server process, a load process, the server's CPU across the load's window.

interface LoadSummary {
  readonly seconds: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly acceptedSpans: number;
  readonly rejectedSpans: number;
  readonly bodyBytes: number;
  readonly sent: number;
}

interface Measurement extends LoadSummary {
  readonly cpuSeconds: number;
}

let requestBase = 0;

/** Runs the load process against `url` and reads `pid`'s CPU across its measured window. */
function load(url: string, pid: number, encoding: Encoding): Promise<Measurement> {
  const firstRequest = requestBase;
  requestBase += MAX_REQUESTS;
  const child = spawn(
    process.execPath,
    [
      LOAD_SCRIPT,
      JSON.stringify({
        url,
        templatePath: encoding.template.path,
        contentType: encoding.contentType,
        gzip: encoding.gzip,
        idFormat: encoding.template.idFormat,
        traceIdOffsets: encoding.template.traceIdOffsets,
        sessionIdOffsets: encoding.template.sessionIdOffsets,
        spansPerRequest: SPANS_PER_REQUEST,
        senders: SENDERS,
        warmupMs: WARMUP_MS,
        loadMs: LOAD_MS,
        maxRequests: MAX_REQUESTS,
        firstRequest,
      }),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  return new Promise((resolve, reject) => {
    let cpuAtStart: number | undefined;
    let cpuAtEnd: number | undefined;
    child.on('message', (raw) => {
      const message = raw as { type: string; name?: string } & LoadSummary;
      if (message.type === 'phase' && message.name === 'load') cpuAtStart = cpuSecondsOf(pid);
      else if (message.type === 'phase' && message.name === 'after') cpuAtEnd = cpuSecondsOf(pid);
      else if (message.type === 'done') {
        if (cpuAtStart === undefined || cpuAtEnd === undefined) reject(new Error('the load process never reported its window'));
        else resolve({ ...message, cpuSeconds: cpuAtEnd - cpuAtStart });
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load process exited with ${code}`));
    });
  });
}

/** Starts the decode-only server; resolves with its pid, URL and a stop. */
function startDecodeOnly(): Promise<{ pid: number; url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [DECODE_ONLY]);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^listening (\S+)$/m.exec(output);
      if (match)
        resolve({
          pid: child.pid!,
          url: match[1]!,
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(killer);
          },
        });
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code, signal) => reject(new Error(`the decode-only server exited with ${code ?? signal}:\n${output}`)));
  });
}

async function measureDecodeOnly(encoding: Encoding): Promise<Measurement> {
  const server = await startDecodeOnly();
  try {
    return await load(server.url, server.pid, encoding);
  } finally {
    await server.stop();
  }
}

async function measureReceiver(
  encoding: Encoding,
  store: { readonly label: string; readonly url: () => string },
): Promise<{ measured: Measurement; logged: string[] }> {
  const nodeArgs = cpuProfileArgs(`ingest-${encoding.label}-${store.label}`);
  const receiver = await startReceiverProcess(RECEIVER_BIN, ['--storage-url', store.url()], nodeArgs);
  try {
    const measured = await load(receiver.otlpUrl, receiver.pid, encoding);
    if (!receiver.alive()) throw new Error(`the receiver died under load:\n${receiver.logged().join('\n')}`);
    return { measured, logged: receiver.logged() };
  } finally {
    await receiver.stop();
  }
}

const rate = (measured: Measurement): number => (measured.cpuSeconds > 0 ? measured.acceptedSpans / measured.cpuSeconds : Number.NaN);

function describeRun(label: string, measured: Measurement): string {
  const refused = Object.entries(measured.statuses)
    .filter(([status]) => status !== '200')
    .map(([status, count]) => `${count} × ${status === '0' ? 'failed' : status}`)
    .join(', ');
  return (
    `${label} — ${measured.requests} requests in ${measured.seconds.toFixed(1)} s (${(measured.bodyBytes / 1024).toFixed(0)} KiB each), ` +
    `${measured.statuses['200'] ?? 0} accepted, ${refused === '' ? 'none refused' : `refused ${refused}`}, ${measured.rejectedSpans} spans rejected; ` +
    `${Math.round(measured.acceptedSpans / measured.seconds).toLocaleString('en-US')} spans/s acknowledged, ` +
    `${measured.cpuSeconds.toFixed(2)} CPU-s → ${Math.round(rate(measured)).toLocaleString('en-US')} spans/CPU-s`
  );
}

let measuredOnce = false;
afterAll(() => rmSync(WORK_DIR, { recursive: true, force: true }));

describe('ingest throughput', () => {
  bench(
    'spans per CPU-second through the whole OTLP/HTTP path, against a decode-only server',
    async () => {
      // vitest may call a bench more than once however few iterations it is given: measure once.
      if (measuredOnce) return;
      measuredOnce = true;
      console.log(
        `ingest: ${SESSIONS_PER_REQUEST} sessions, ${SPANS_PER_REQUEST} spans a request (protobuf ${TEMPLATES.protobuf.bytes} B, JSON ${TEMPLATES.json.bytes} B); ` +
          `${SENDERS} senders, ${WARMUP_MS} ms warm-up, ${LOAD_MS} ms measured per variant`,
      );
      for (const encoding of ENCODINGS) {
        const baseline = await measureDecodeOnly(encoding);
        console.log(describeRun(`ingest, ${encoding.label}, decode-only server`, baseline));
        const baselineRate = rate(baseline);
        for (const store of STORES) {
          const { measured, logged } = await measureReceiver(encoding, store);
          console.log(describeRun(`ingest, ${encoding.label}, receiver with ${store.label}`, measured));
          if (logged.length > 0) console.log(`  the receiver logged: ${logged.slice(0, 5).join(' | ')}`);
          const value = rate(measured);
          report({
            scenario: SCENARIO,
            figure: `${encoding.label}, ${store.label} store, whole path`,
            value: Math.round(value),
            unit: UNIT,
            baseline: { label: 'decode-only server', value: Math.round(baselineRate) },
            ...(encoding.target ? { target: encoding.target(value, baselineRate) } : {}),
          });
        }
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
