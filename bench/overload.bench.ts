/**
 * Whether the receiver stays responsive under large OTLP requests (issue #12): a real `llm-monitor`
 * process receives protobuf requests of about 15 MB / 36,800 spans each (1,600 sessions from our own
 * instrumentation, every built-in stage, 20 token events each), four in flight at once for 25 s,
 * while `/healthz` is probed every 20 ms and `/readyz` every second. Printed per build: `/healthz`
 * latency p50/p90/p99/max, spans per second accepted, and the process's RSS over time.
 *
 * Baseline in the same run: `/healthz` probed the same way for 5 s while the receiver is idle; the
 * figure to read is p99 under load against p99 idle (target: p99 under load below 100 ms). With
 * `LLMMON_BENCH_BEFORE_BIN` pointing at another build's `llm-monitor.js`, that build runs the same
 * scenario after the current one and the tables put both side by side (see bench/README.md).
 *
 * vitest's own table shows one sample per build — the length of the whole scenario; the figures are
 * in the tables this file prints after it.
 *
 * With `LLMMON_BENCH_ENCODING=json` the requests are OTLP/JSON instead: 800 sessions, 18,400 spans,
 * about 16 MB each (the JSON form of 1,600 would pass the default 20 MiB body limit).
 *
 *   pnpm exec vitest bench --run bench/overload.bench.ts
 *   LLMMON_BENCH_BEFORE_BIN=/path/to/before/packages/receiver/bin/llm-monitor.js pnpm exec vitest bench --run bench/overload.bench.ts
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterAll, bench, describe } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, RandomIdGenerator, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { MONITOR_BIN } from '../test/support/monitor-process.js';
import { mainThreadTimes, offsetsAfter, percentile, rssMb, startReceiverProcess } from './support/receiver-process.js';

/** How requests are encoded: protobuf (the default, what Collectors send) or JSON. */
const ENCODING = process.env.LLMMON_BENCH_ENCODING === 'json' ? 'json' : 'protobuf';
const SESSIONS_PER_REQUEST = ENCODING === 'json' ? 800 : 1_600;
const SENDERS = 4;
const IDLE_MS = 5_000;
const LOAD_MS = 25_000;
const PROBE_INTERVAL_MS = 20;
const READYZ_EVERY_PROBES = 50;
const RSS_INTERVAL_MS = 1_000;
const RSS_ROW_EVERY_S = 5;
/** A request still unanswered after this counts as failed (the receiver's own limit is 30 s). */
const REQUEST_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// One request's spans, made once; each request sent is a copy with its own trace and session ids.
// Regenerating 36,800 spans and serializing them costs about 600 ms of this process's CPU per
// request, which would compete with the receiver for the machine's two cores; patching ids in a
// copy of the bytes costs a few milliseconds. Trace ids are `MARK` + 4 bytes of request number +
// 6 bytes of session number, session ids `overload-<request number in hex>-<session number>`:
// both keep their length, so the protobuf stays valid with the same framing.

const TRACE_MARK = 'b3a7c0de5eed';
const SESSION_MARK = 'overload-';
let traceNumber = 0;
const spanIds = new RandomIdGenerator();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  idGenerator: {
    generateTraceId: () => `${TRACE_MARK}00000000${(traceNumber++).toString(16).padStart(12, '0')}`,
    generateSpanId: () => spanIds.generateSpanId(),
  },
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const monitor = createLlmMonitor({ tracerProvider: provider, captureTokenText: true });
for (let i = 0; i < SESSIONS_PER_REQUEST; i += 1) {
  const sessionId = `${SESSION_MARK}00000000-${String(i).padStart(6, '0')}`;
  const session = monitor.startSession({ sessionId, task: 'summarize', model: 'gpt-4o-mini', content: 'benchmark input '.repeat(10) });
  for (const stage of BUILTIN_STAGE_IDS) {
    session.stage(stage, { message: `stage ${stage}` });
    if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5, 'a few tokens ');
  }
  session.complete({ inputTokens: 100, outputTokens: 100 });
}
const serializer = ENCODING === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer;
const template = Buffer.from(serializer.serializeRequest(exporter.getFinishedSpans())!);
const SPANS_PER_REQUEST = exporter.getFinishedSpans().length;
exporter.reset();
await provider.shutdown();

// In protobuf a trace id is 16 bytes; in OTLP/JSON, 32 hex characters.
const traceIdOffsets = offsetsAfter(template, ENCODING === 'json' ? Buffer.from(TRACE_MARK, 'latin1') : Buffer.from(TRACE_MARK, 'hex'));
const sessionIdOffsets = offsetsAfter(template, Buffer.from(SESSION_MARK, 'utf8'));
// Every span carries its trace id once; more hits would mean the mark also occurs by chance elsewhere.
if (traceIdOffsets.length !== SPANS_PER_REQUEST || sessionIdOffsets.length < SESSIONS_PER_REQUEST) {
  throw new Error(
    `id patching would be wrong: ${traceIdOffsets.length} trace ids for ${SPANS_PER_REQUEST} spans, ${sessionIdOffsets.length} session ids`,
  );
}

let requestNumber = 0;
/** A request of new traces and sessions (not duplicates the receiver could take cheaply). */
function nextRequest(): Buffer {
  requestNumber += 1;
  const body = Buffer.allocUnsafe(template.length);
  template.copy(body);
  const hex = Buffer.from(requestNumber.toString(16).padStart(8, '0'), 'latin1');
  for (const at of traceIdOffsets) {
    if (ENCODING === 'json') hex.copy(body, at);
    else body.writeUInt32BE(requestNumber, at);
  }
  for (const at of sessionIdOffsets) hex.copy(body, at);
  return body;
}

// ---------------------------------------------------------------------------------------------
// The probes run on a thread of their own, so this thread's sending (copying 15 MB bodies, writing
// them to sockets) can neither delay a probe nor its timing. A worker cannot load TypeScript under
// vitest, hence plain JavaScript here. Every probe is sent on schedule whether or not earlier ones
// were answered, and timed from when it was sent: a receiver that stalls for a second shows as 50
// slow probes, not as one (no coordinated omission).

const PROBE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const results = { healthz: {}, readyz: {} };
let phase = 'warmup';
let outstanding = 0;
let stopping = false;
function bucket(kind, name) {
  return (results[kind][name] ??= { latencies: [], failed: 0, statuses: {} });
}
function count(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}
function finish() {
  agent.destroy();
  parentPort.postMessage(results);
}
function probe(kind, url) {
  const at = bucket(kind, phase);
  const sent = performance.now();
  let settled = false;
  const done = (status) => {
    if (settled) return;
    settled = true;
    if (status === 0) at.failed += 1;
    else {
      at.latencies.push(performance.now() - sent);
      count(at.statuses, status);
    }
    outstanding -= 1;
    if (stopping && outstanding === 0) finish();
  };
  outstanding += 1;
  const request = http.get(url, { agent, timeout: 30000 }, (response) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => { text += chunk; });
    response.on('error', () => done(0));
    response.on('end', () => {
      let status = String(response.statusCode);
      if (kind === 'readyz') {
        try { status += ' ' + JSON.parse(text).status; } catch { status += ' ?'; }
      }
      done(status);
    });
  });
  request.on('timeout', () => request.destroy(new Error('probe timed out')));
  request.on('error', () => done(0));
}
const start = performance.now();
let tick = 0;
let timer;
function next() {
  probe('healthz', workerData.healthUrl);
  if (tick % workerData.readyzEvery === 0) probe('readyz', workerData.readyUrl);
  tick += 1;
  timer = setTimeout(next, Math.max(0, start + tick * workerData.intervalMs - performance.now()));
}
parentPort.on('message', (message) => {
  if (message.type === 'phase') phase = message.name;
  if (message.type === 'stop') {
    stopping = true;
    clearTimeout(timer);
    if (outstanding === 0) finish();
  }
});
next();
`;

interface PhaseSamples {
  readonly latencies: number[];
  readonly failed: number;
  /** Answers by HTTP status (for `/readyz`, followed by the status it reported). */
  readonly statuses: Record<string, number>;
}

interface ProbeResults {
  readonly healthz: Record<string, PhaseSamples | undefined>;
  readonly readyz: Record<string, PhaseSamples | undefined>;
}

interface Prober {
  phase(name: 'idle' | 'load'): void;
  stop(): Promise<ProbeResults>;
}

function startProber(apiUrl: string): Prober {
  const worker = new Worker(PROBE_WORKER, {
    eval: true,
    workerData: {
      healthUrl: `${apiUrl}/healthz`,
      readyUrl: `${apiUrl}/readyz`,
      intervalMs: PROBE_INTERVAL_MS,
      readyzEvery: READYZ_EVERY_PROBES,
    },
  });
  const results = new Promise<ProbeResults>((resolve, reject) => {
    worker.once('message', (message: ProbeResults) => resolve(message));
    worker.once('error', reject);
  });
  return {
    phase: (name) => worker.postMessage({ type: 'phase', name }),
    stop: async () => {
      worker.postMessage({ type: 'stop' });
      const answer = await results;
      await worker.terminate();
      return answer;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The receiver as a child process, as a user runs it (the banner parsed as test/support does).

interface Answer {
  /** HTTP status, or 0 when the exchange failed (reset, timeout). */
  readonly status: number;
  readonly rejected: number;
  readonly ms: number;
  readonly retryAfterS: number;
}

function post(agent: http.Agent, url: string, body: Buffer): Promise<Answer> {
  const sent = performance.now();
  return new Promise((resolve) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: { 'content-type': ENCODING === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', () => resolve({ status: 0, rejected: 0, ms: performance.now() - sent, retryAfterS: 1 }));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          let rejected = 0;
          if (status === 200) {
            try {
              rejected = serializer.deserializeResponse(Buffer.concat(chunks)).partialSuccess?.rejectedSpans ?? 0;
            } catch {
              rejected = SPANS_PER_REQUEST;
            }
          }
          resolve({
            status,
            rejected: Number(rejected),
            ms: performance.now() - sent,
            retryAfterS: Number(response.headers['retry-after'] ?? 1),
          });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', () => resolve({ status: 0, rejected: 0, ms: performance.now() - sent, retryAfterS: 1 }));
    request.end(body);
  });
}

interface ScenarioResult {
  readonly label: string;
  readonly bin: string;
  readonly healthz: { readonly idle: PhaseSamples; readonly load: PhaseSamples };
  readonly readyz: { readonly idle: PhaseSamples; readonly load: PhaseSamples };
  readonly answers: readonly Answer[];
  /** From the first request sent to the last answer received, in seconds. */
  readonly loadSeconds: number;
  /** Seconds since the load started (negative while idle), RSS in MB. */
  readonly rss: ReadonlyArray<{ readonly t: number; readonly mb: number }>;
  /** The receiver's main thread during the load: seconds on a CPU and waiting for one. */
  readonly mainThread: { readonly onCpu: number; readonly waiting: number } | undefined;
  /** The machine's 1-minute load average when the load started and ended. */
  readonly loadAverage: readonly [number, number];
  readonly logged: readonly string[];
  readonly survived: boolean;
}

const EMPTY: PhaseSamples = { latencies: [], failed: 0, statuses: {} };

async function runScenario(label: string, bin: string): Promise<ScenarioResult> {
  const receiver = await startReceiverProcess(bin);
  const rss: { at: number; mb: number }[] = [];
  const sampleRss = (): void => {
    const mb = rssMb(receiver.pid);
    if (mb !== undefined) rss.push({ at: performance.now(), mb });
  };
  sampleRss();
  const rssTimer = setInterval(sampleRss, RSS_INTERVAL_MS);
  const prober = startProber(receiver.apiUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });
  try {
    // The first probes pay for connections and the receiver's first calls of its routes.
    await sleep(500);
    prober.phase('idle');
    await sleep(IDLE_MS);

    prober.phase('load');
    const loadStart = performance.now();
    const loadAverageAtStart = loadavg()[0]!;
    const threadAtStart = mainThreadTimes(receiver.pid);
    const loadEnd = loadStart + LOAD_MS;
    const answers: Answer[] = [];
    let lastAnswer = loadStart;
    const sender = async (): Promise<void> => {
      while (performance.now() < loadEnd) {
        const answer = await post(agent, receiver.otlpUrl, nextRequest());
        answers.push(answer);
        lastAnswer = performance.now();
        // A refused request is retried as an OTLP exporter would: after Retry-After.
        if (answer.status !== 200) await sleep(Math.min(5, answer.retryAfterS) * 1000);
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    const threadAtEnd = mainThreadTimes(receiver.pid);
    const probes = await prober.stop();
    return {
      label,
      bin,
      healthz: { idle: probes.healthz.idle ?? EMPTY, load: probes.healthz.load ?? EMPTY },
      readyz: { idle: probes.readyz.idle ?? EMPTY, load: probes.readyz.load ?? EMPTY },
      answers,
      loadSeconds: (lastAnswer - loadStart) / 1000,
      rss: rss.map((sample) => ({ t: (sample.at - loadStart) / 1000, mb: sample.mb })),
      mainThread:
        threadAtStart && threadAtEnd
          ? { onCpu: threadAtEnd.onCpu - threadAtStart.onCpu, waiting: threadAtEnd.waiting - threadAtStart.waiting }
          : undefined,
      loadAverage: [loadAverageAtStart, loadavg()[0]!],
      logged: receiver.logged(),
      survived: receiver.alive(),
    };
  } finally {
    clearInterval(rssTimer);
    agent.destroy();
    await receiver.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Printing.

function latencyFigures(samples: PhaseSamples): { count: number; failed: number; p50: number; p90: number; p99: number; max: number } {
  const sorted = [...samples.latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    failed: samples.failed,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function table(title: string, header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [`\n${title}`, line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

function statuses(samples: PhaseSamples): string {
  const entries = Object.entries(samples.statuses).map(([status, n]) => `${n}× ${status}`);
  if (samples.failed > 0) entries.push(`${samples.failed}× failed`);
  return entries.join(', ') || '–';
}

function answersByStatus(answers: readonly Answer[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const status = answer.status === 0 ? 'failed' : String(answer.status);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${n}× ${status}`).join(', ') || '–';
}

function report(results: readonly ScenarioResult[]): string {
  let out = `\noverload: ${SENDERS} senders × requests of ${SESSIONS_PER_REQUEST} sessions, ${SPANS_PER_REQUEST} spans, ${(template.length / 1e6).toFixed(1)} MB (${ENCODING}) for ${LOAD_MS / 1000} s; /healthz every ${PROBE_INTERVAL_MS} ms, /readyz every ${(PROBE_INTERVAL_MS * READYZ_EVERY_PROBES) / 1000} s\n`;
  for (const result of results) out += `  ${result.label}: ${result.bin}\n`;

  const latencyRows = results.flatMap((result) =>
    (['idle', 'load'] as const).map((phase) => {
      const figures = latencyFigures(result.healthz[phase]);
      return [
        `${result.label} ${phase === 'idle' ? 'idle (baseline)' : 'under load'}`,
        String(figures.count),
        String(figures.failed),
        fixed(figures.p50),
        fixed(figures.p90),
        fixed(figures.p99),
        fixed(figures.max),
      ];
    }),
  );
  out += table('/healthz latency, ms', ['build, phase', 'probes', 'failed', 'p50', 'p90', 'p99', 'max'], latencyRows);

  const column = (figure: (result: ScenarioResult) => string): string[] => results.map(figure);
  const accepted = (result: ScenarioResult): number =>
    result.answers.filter((answer) => answer.status === 200).reduce((sum, answer) => sum + SPANS_PER_REQUEST - answer.rejected, 0);
  const requestMs = (result: ScenarioResult): number[] =>
    result.answers
      .filter((answer) => answer.status === 200)
      .map((answer) => answer.ms)
      .sort((a, b) => a - b);
  const rows: string[][] = [
    [
      '/healthz p99 load / p99 idle',
      ...column((r) => `${fixed(latencyFigures(r.healthz.load).p99 / latencyFigures(r.healthz.idle).p99)}×`),
    ],
    [
      '/healthz probes over 100 ms under load',
      ...column(
        (r) => `${r.healthz.load.latencies.filter((ms) => ms > 100).length} of ${r.healthz.load.latencies.length + r.healthz.load.failed}`,
      ),
    ],
    ['/readyz under load: answers', ...column((r) => statuses(r.readyz.load))],
    [
      '/readyz under load: p99 / max ms',
      ...column((r) => `${fixed(latencyFigures(r.readyz.load).p99)} / ${fixed(latencyFigures(r.readyz.load).max)}`),
    ],
    ['requests sent', ...column((r) => String(r.answers.length))],
    ['requests answered', ...column((r) => answersByStatus(r.answers))],
    [
      'request time p50 / max, s (200 only)',
      ...column((r) => `${fixed(percentile(requestMs(r), 50) / 1000, 2)} / ${fixed((requestMs(r).at(-1) ?? Number.NaN) / 1000, 2)}`),
    ],
    ['spans accepted', ...column((r) => String(accepted(r)))],
    ['load window, s (to the last answer)', ...column((r) => fixed(r.loadSeconds))],
    ['spans/s accepted', ...column((r) => fixed(accepted(r) / r.loadSeconds, 0))],
    [
      'receiver main thread on a CPU / waiting for one, s',
      ...column((r) => (r.mainThread ? `${fixed(r.mainThread.onCpu)} / ${fixed(r.mainThread.waiting)}` : '–')),
    ],
    ['machine load average (1 min) at start / end', ...column((r) => `${fixed(r.loadAverage[0], 2)} / ${fixed(r.loadAverage[1], 2)}`)],
    [
      'RSS idle / max / end, MB',
      ...column(
        (r) =>
          `${fixed(r.rss.filter((s) => s.t <= 0).at(-1)?.mb ?? Number.NaN, 0)} / ${fixed(Math.max(...r.rss.map((s) => s.mb)), 0)} / ${fixed(r.rss.at(-1)?.mb ?? Number.NaN, 0)}`,
      ),
    ],
    ['lines logged (warn and above)', ...column((r) => String(r.logged.length))],
    ['process alive at the end', ...column((r) => (r.survived ? 'yes' : 'NO'))],
  ];
  out += table('under load', ['', ...results.map((r) => r.label)], rows);

  // The last sample taken by then: at t = 0 that is the idle receiver's.
  const rssAt = (result: ScenarioResult, t: number): string => {
    const last = result.rss.at(-1);
    if (!last || t > last.t) return '';
    return fixed(result.rss.filter((sample) => sample.t <= t).at(-1)?.mb ?? Number.NaN, 0);
  };
  const lastT = Math.max(...results.map((r) => r.rss.at(-1)?.t ?? 0));
  const rssRows: string[][] = [];
  for (let t = 0; t <= lastT; t += RSS_ROW_EVERY_S) rssRows.push([String(t), ...results.map((r) => rssAt(r, t))]);
  rssRows.push([
    'last sample',
    ...results.map((r) => `${fixed(r.rss.at(-1)?.mb ?? Number.NaN, 0)} (t ${fixed(r.rss.at(-1)?.t ?? Number.NaN)})`),
  ]);
  out += table(
    'receiver RSS over time, MB (t: seconds since the load started; 0 = end of idle)',
    ['t, s', ...results.map((r) => r.label)],
    rssRows,
  );

  for (const result of results) {
    if (result.logged.length === 0) continue;
    out += `\n${result.label} logged (first 3 of ${result.logged.length}):\n${result.logged
      .slice(0, 3)
      .map((line) => `  ${line.slice(0, 300)}\n`)
      .join('')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const builds: { label: string; bin: string }[] = [{ label: 'current', bin: MONITOR_BIN }];
const beforeBin = process.env.LLMMON_BENCH_BEFORE_BIN;
if (beforeBin) {
  if (!existsSync(beforeBin)) throw new Error(`LLMMON_BENCH_BEFORE_BIN=${beforeBin} does not exist`);
  builds.push({ label: 'before', bin: beforeBin });
}

const results: ScenarioResult[] = [];
afterAll(() => {
  if (results.length > 0) process.stdout.write(report(results));
});

describe(`overload: ${SENDERS} × ${(template.length / 1e6).toFixed(1)} MB requests of ${SPANS_PER_REQUEST} spans for ${LOAD_MS / 1000} s (ms per iteration = the whole scenario; figures printed below)`, () => {
  for (const build of builds) {
    bench(
      `${build.label} build`,
      async () => {
        results.push(await runScenario(build.label, build.bin));
      },
      { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
    );
  }
});
