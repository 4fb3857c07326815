/**
 * What keeping history costs ingest, and whether history stays on disk (the history stores of
 * `storage_url`). Two scenarios, each with real `llm-monitor` processes:
 *
 * 1. Ingest with history. For each of `memory:` (nothing kept beyond the live window: the baseline),
 *    `sqlite:` (a temporary file) and PostgreSQL (`DATABASE_URL`, default
 *    postgres://postgres@127.0.0.1:5432/test, in a fresh schema; skipped with a note when it cannot
 *    be reached), a receiver is started and a separate load process (bench/support/storage-load.mjs)
 *    sends protobuf requests of 30 sessions (root, ten stages, one LLM call, token events: 360 spans,
 *    about 140 KB) from 4 senders, each waiting for its answer (given only after the commit) before
 *    the next: 4 s of warm-up, then a measured window. Printed per store: spans per second
 *    acknowledged, spans per second of the receiver's CPU (all its threads, /proc), request latency
 *    p50/p95/p99, `/healthz` latency probed from this process every 20 ms (idle, then under load;
 *    probes over 50 ms), RSS, and the group commits; then the ratio of each durable store to memory
 *    (target: SQLite at least 50 % of memory's throughput).
 *
 * 2. Memory with 30 days of history. A SQLite file is filled directly through the store
 *    (`openSqliteHistory` + `commit`) with 200,000 sessions spread over 30 days, another with the same
 *    rate for one hour (278 sessions); the sessions are rebuilt by `SessionBuilder` from the same
 *    requests, with backdated times. A receiver on each answers `/sessions/recent` and
 *    `/statistics?window=1h` five times each: RSS should not depend on the history kept. Then
 *    `/statistics` without a window (it loads a summary of every session) and `/analytics?window=30d`
 *    (every LLM call): their time, RSS and the longest `/healthz` wait meanwhile are printed as the
 *    known risk they are.
 *
 * vitest's own table shows one sample per scenario (its whole length); the figures are in the tables
 * printed after it. Nothing is asserted: the machine is shared, only comparisons within one run count.
 *
 *   pnpm exec vitest bench --run bench/storage.bench.ts
 *
 * Environment: DATABASE_URL; LLMMON_BENCH_STORES (comma-separated subset of memory,sqlite,postgres);
 * LLMMON_BENCH_LOAD_SECONDS (measured window, default 20); LLMMON_BENCH_HISTORY_SESSIONS (default
 * 200000); LLMMON_BENCH_CPU_PROF_DIR (run the ingest receivers under `--cpu-prof`, profiles there).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { decodeTraceRequestProtobuf } from '@llm-monitor/receiver';
import { SessionBuilder } from '@llm-monitor/sessions';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { openSqliteHistory } from '../packages/receiver/dist/storage/sqlite-history.js';
import { MONITOR_BIN } from '../test/support/monitor-process.js';
import { sessionRequests } from '../test/support/session-requests.mjs';
import { cpuProfileArgs, mainThreadTimes, percentile, rssMb, startReceiverProcess } from './support/receiver-process.js';
import type { ReceiverProcess } from './support/receiver-process.js';

const SESSIONS_PER_REQUEST = 30;
const SENDERS = 4;
const IDLE_MS = 3_000;
const WARMUP_MS = 4_000;
const LOAD_MS = Number(process.env.LLMMON_BENCH_LOAD_SECONDS ?? 20) * 1000;
const PROBE_INTERVAL_MS = 20;
/** A `/healthz` answer slower than this counts as a stall of the event loop (or a busy machine). */
const STALL_MS = 50;
const RSS_INTERVAL_MS = 100;
const HISTORY_SESSIONS = Number(process.env.LLMMON_BENCH_HISTORY_SESSIONS ?? 200_000);
const HISTORY_DAYS = 30;
const HISTORY_BATCH = 1_000;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const STORES = (process.env.LLMMON_BENCH_STORES ?? 'memory,sqlite,postgres').split(',').map((store) => store.trim());
const LOAD_SCRIPT = fileURLToPath(new URL('./support/storage-load.mjs', import.meta.url));
const WORK_DIR = mkdtempSync(join(tmpdir(), 'llmmon-storage-bench-'));

// ---------------------------------------------------------------------------------------------
// One request's spans, made once by our own instrumentation (test/support/session-requests.mjs); the
// load process sends copies with new trace and session ids.

const TRACE_MARK = '5704a6e0bead';
const SESSION_MARK = 'storage-';
const made = await sessionRequests({ sessionsPerRequest: SESSIONS_PER_REQUEST, traceMark: TRACE_MARK, sessionMark: SESSION_MARK });
const requestTemplate = made.template('protobuf');
const template = requestTemplate.body;
const SPANS_PER_REQUEST = made.spansPerRequest;
const TEMPLATE_PATH = join(WORK_DIR, 'request.pb');
writeFileSync(TEMPLATE_PATH, template);

// ---------------------------------------------------------------------------------------------
// What /proc says of a process and of the machine.

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU ticks of the whole machine: busy and in all. */
function machineTicks(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const total = ticks.reduce((sum, tick) => sum + tick, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** CPU seconds of every `postgres` process on the machine (the database server's share of the load). */
function postgresCpuSeconds(): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      seconds += cpuSeconds(Number(entry)) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// HTTP from this process: `/healthz` probes on schedule (every probe sent on time whether or not
// earlier ones were answered, timed from when it was sent: a stall of one second shows as 50 slow
// probes, not one), and plain GETs.

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function get(url: string, timeoutMs = 120_000): Promise<{ status: number; ms: number; body: string }> {
  const sent = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - sent, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

interface ProbeSamples {
  readonly latencies: number[];
  failed: number;
}

class Prober {
  readonly #url: string;
  readonly #samples = new Map<string, ProbeSamples>();
  readonly #start = performance.now();
  #phase = 'start';
  #tick = 0;
  #outstanding = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(url: string) {
    this.#url = url;
    this.#next();
  }

  phase(name: string): void {
    this.#phase = name;
  }

  samples(name: string): ProbeSamples {
    let samples = this.#samples.get(name);
    if (!samples) this.#samples.set(name, (samples = { latencies: [], failed: 0 }));
    return samples;
  }

  #next(): void {
    this.#probe();
    this.#tick += 1;
    this.#timer = setTimeout(() => this.#next(), Math.max(0, this.#start + this.#tick * PROBE_INTERVAL_MS - performance.now()));
  }

  #probe(): void {
    const samples = this.samples(this.#phase);
    this.#outstanding += 1;
    get(this.#url, 30_000)
      .then(
        (answer) => {
          if (answer.status === 200) samples.latencies.push(answer.ms);
          else samples.failed += 1;
        },
        () => {
          samples.failed += 1;
        },
      )
      .finally(() => {
        this.#outstanding -= 1;
      });
  }

  /** Stops probing; resolves once every probe sent is answered. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    while (this.#outstanding > 0) await sleep(10);
  }
}

/** RSS of `pid` sampled every RSS_INTERVAL_MS, by phase. */
class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly byPhase = new Map<string, number[]>();
  phase = 'start';

  constructor(pid: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), RSS_INTERVAL_MS);
  }

  sample(): number | undefined {
    const mb = rssMb(this.#pid);
    if (mb === undefined) return undefined;
    let samples = this.byPhase.get(this.phase);
    if (!samples) this.byPhase.set(this.phase, (samples = []));
    samples.push(mb);
    return mb;
  }

  max(phase: string): number {
    return Math.max(...(this.byPhase.get(phase) ?? [Number.NaN]));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The store's figures in `/readyz` (commits so far), when it answers. */
async function historyStats(
  apiUrl: string,
): Promise<{ commits: number; sessionsWritten: number; lastCommitMs: number | null } | undefined> {
  try {
    const answer = JSON.parse((await get(`${apiUrl}/readyz`)).body) as {
      components?: { store?: { details?: { history?: { commits: number; sessionsWritten: number; lastCommitMs: number | null } } } };
    };
    return answer.components?.store?.details?.history;
  } catch {
    return undefined;
  }
}

/** The receiver's V8 heap in use, in MB, from `/readyz`. */
async function heapUsedMb(apiUrl: string): Promise<number> {
  try {
    const answer = JSON.parse((await get(`${apiUrl}/readyz`)).body) as {
      components?: { memory?: { details?: { heap_used_bytes?: number } } };
    };
    return (answer.components?.memory?.details?.heap_used_bytes ?? Number.NaN) / 1024 / 1024;
  } catch {
    return Number.NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// The stores.

interface Store {
  readonly label: string;
  readonly storageUrl: string;
  cleanup(): Promise<void>;
}

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** `pg` as the receiver resolves it (it is the receiver's dependency, not the workspace root's). */
function pgClient(url: string): PgClient {
  const pg = createRequire(fileURLToPath(new URL('../packages/receiver/package.json', import.meta.url)))('pg') as {
    Client: new (options: { connectionString: string; connectionTimeoutMillis: number }) => PgClient;
  };
  return new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
}

/** A fresh schema in DATABASE_URL's database, or why there is none. */
async function postgresStore(): Promise<Store | string> {
  const schema = `llmmon_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = pgClient(DATABASE_URL);
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    return `PostgreSQL skipped: ${DATABASE_URL} cannot be reached or used (${(error as Error).message})`;
  }
  const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
  return {
    label: 'postgres',
    storageUrl: url,
    cleanup: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

function sqliteStore(name: string): Store {
  const path = join(WORK_DIR, `${name}.db`);
  return { label: 'sqlite', storageUrl: `sqlite:${path}`, cleanup: async () => removeSqlite(path) };
}

function removeSqlite(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

function fileMb(path: string): number {
  let bytes = 0;
  for (const suffix of ['', '-wal']) {
    try {
      bytes += statSync(`${path}${suffix}`).size;
    } catch {
      // no WAL
    }
  }
  return bytes / 1024 / 1024;
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: ingest with history.

interface Answer {
  readonly status: number;
  readonly rejected: number;
  readonly ms: number;
}

interface IngestResult {
  readonly label: string;
  readonly answers: readonly Answer[];
  readonly loadSeconds: number;
  /** The receiver's CPU seconds (all threads) within the measured window. */
  readonly cpuSeconds: number;
  readonly mainThread: { readonly onCpu: number; readonly waiting: number } | undefined;
  /** Share of the machine's CPUs busy within the window (every process). */
  readonly machineBusy: number;
  /** CPU seconds of the PostgreSQL server's processes within the window. */
  readonly databaseCpuSeconds: number;
  readonly healthzIdle: ProbeSamples;
  readonly healthzLoad: ProbeSamples;
  readonly rss: { readonly idle: number; readonly end: number; readonly max: number };
  readonly commits: number | undefined;
  readonly sessionsWritten: number | undefined;
  readonly loadAverage: readonly [number, number];
  readonly logged: readonly string[];
  readonly survived: boolean;
}

interface Snapshot {
  readonly at: number;
  readonly cpu: number;
  readonly thread: { onCpu: number; waiting: number } | undefined;
  readonly machine: { busy: number; total: number };
  readonly database: number;
  readonly history: Promise<Awaited<ReturnType<typeof historyStats>>>;
}

function snapshot(receiver: ReceiverProcess, withDatabase: boolean): Snapshot {
  return {
    at: performance.now(),
    cpu: cpuSeconds(receiver.pid) ?? Number.NaN,
    thread: mainThreadTimes(receiver.pid),
    machine: machineTicks(),
    database: withDatabase ? postgresCpuSeconds() : 0,
    history: historyStats(receiver.apiUrl),
  };
}

async function runIngest(store: Store, requestBase: number): Promise<IngestResult> {
  const nodeArgs = cpuProfileArgs(`storage-${store.label}`);
  const receiver = await startReceiverProcess(MONITOR_BIN, ['--storage-url', store.storageUrl], nodeArgs);
  const rss = new RssSampler(receiver.pid);
  const prober = new Prober(`${receiver.apiUrl}/healthz`);
  const withDatabase = store.label === 'postgres';
  try {
    // The first probes pay for the connection and the route's first calls.
    await sleep(500);
    prober.phase('idle');
    rss.phase = 'idle';
    await sleep(IDLE_MS);
    prober.phase('warmup');
    rss.phase = 'warmup';
    const load = spawn(
      process.execPath,
      [
        LOAD_SCRIPT,
        JSON.stringify({
          otlpUrl: receiver.otlpUrl,
          templatePath: TEMPLATE_PATH,
          traceIdOffsets: requestTemplate.traceIdOffsets,
          sessionIdOffsets: requestTemplate.sessionIdOffsets,
          spansPerRequest: SPANS_PER_REQUEST,
          senders: SENDERS,
          warmupMs: WARMUP_MS,
          loadMs: LOAD_MS,
          firstRequest: requestBase,
        }),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let start: Snapshot | undefined;
    let end: Snapshot | undefined;
    let rssEnd = Number.NaN;
    const loadAverageAtStart = loadavg()[0]!;
    const answers = await new Promise<Answer[]>((resolvePromise, reject) => {
      load.on('message', (raw) => {
        const message = raw as { type: string; name?: string; answers?: Answer[] };
        if (message.type === 'phase' && message.name === 'load') {
          start = snapshot(receiver, withDatabase);
          prober.phase('load');
          rss.phase = 'load';
        } else if (message.type === 'phase' && message.name === 'after') {
          end = snapshot(receiver, withDatabase);
          rssEnd = rss.sample() ?? Number.NaN;
          prober.phase('after');
          rss.phase = 'after';
        } else if (message.type === 'done') {
          resolvePromise(message.answers ?? []);
        }
      });
      load.once('exit', (code) => {
        if (code !== 0) reject(new Error(`the load process exited with ${code}`));
      });
    });
    await prober.stop();
    if (!start || !end) throw new Error('the load process never reported its measured window');
    const [historyAtStart, historyAtEnd] = await Promise.all([start.history, end.history]);
    const cores =
      end.machine.total - start.machine.total > 0
        ? (end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total)
        : Number.NaN;
    return {
      label: store.label,
      answers,
      loadSeconds: (end.at - start.at) / 1000,
      cpuSeconds: end.cpu - start.cpu,
      mainThread:
        start.thread && end.thread
          ? { onCpu: end.thread.onCpu - start.thread.onCpu, waiting: end.thread.waiting - start.thread.waiting }
          : undefined,
      machineBusy: cores,
      databaseCpuSeconds: end.database - start.database,
      healthzIdle: prober.samples('idle'),
      healthzLoad: prober.samples('load'),
      rss: { idle: rss.byPhase.get('idle')?.at(-1) ?? Number.NaN, end: rssEnd, max: rss.max('load') },
      commits: historyAtStart && historyAtEnd ? historyAtEnd.commits - historyAtStart.commits : undefined,
      sessionsWritten: historyAtStart && historyAtEnd ? historyAtEnd.sessionsWritten - historyAtStart.sessionsWritten : undefined,
      loadAverage: [loadAverageAtStart, loadavg()[0]!],
      logged: receiver.logged(),
      survived: receiver.alive(),
    };
  } finally {
    await prober.stop();
    rss.stop();
    await receiver.stop(30_000);
    await store.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: memory with 30 days of history.

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A deep copy of `value` with every ISO time in it moved by `deltaMs`. */
function shifted<T>(value: T, deltaMs: number): T {
  if (typeof value === 'string') return (ISO_TIME.test(value) ? new Date(Date.parse(value) + deltaMs).toISOString() : value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => shifted(item, deltaMs)) as T;
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = shifted(item, deltaMs);
    return copy as T;
  }
  return value;
}

let sessionTemplates: ProcessingSession[] | undefined;

/** The sessions of one request, as the receiver's builder makes them from its spans. */
function templates(): ProcessingSession[] {
  sessionTemplates ??= new SessionBuilder().ingest(decodeTraceRequestProtobuf(template).spans);
  if (sessionTemplates.length !== SESSIONS_PER_REQUEST || sessionTemplates.some((session) => session.status !== 'completed')) {
    throw new Error(`the template request made ${sessionTemplates.length} sessions, not ${SESSIONS_PER_REQUEST} completed ones`);
  }
  return sessionTemplates;
}

/** Writes `count` sessions, evenly spread over the `spanMs` before `nowMs`, straight into a SQLite store. */
async function fillHistory(path: string, count: number, spanMs: number, nowMs: number, idBase: number): Promise<number> {
  const started = performance.now();
  const store = openSqliteHistory(path);
  try {
    const sources = templates();
    for (let first = 0; first < count; first += HISTORY_BATCH) {
      const sessions: ProcessingSession[] = [];
      for (let i = first; i < Math.min(count, first + HISTORY_BATCH); i += 1) {
        const source = sources[i % sources.length]!;
        const startMs = nowMs - spanMs + ((i + 0.5) * spanMs) / count;
        const session = shifted(source, startMs - Date.parse(source.start_time));
        const sessionId = `history-${(idBase + i).toString(16).padStart(8, '0')}`;
        session.trace_id = (idBase + i).toString(16).padStart(32, '0');
        session.session_id = sessionId;
        session.conversation_id = `conversation-${sessionId}`;
        for (const event of session.events) event.session_id = sessionId;
        sessions.push(session);
      }
      await store.commit({ sessions, running: [], settled: [], leftLiveWindow: [] });
    }
  } finally {
    await store.close();
  }
  return (performance.now() - started) / 1000;
}

interface Timed {
  readonly ms: number[];
  /** RSS after the requests (and a short pause), MB. */
  readonly rssAfter: number;
  readonly rssMax: number;
  readonly heapAfter: number;
  /** The longest `/healthz` wait while these requests ran, ms. */
  readonly healthzMax: number;
  readonly healthzOver: number;
  readonly note: string;
}

interface HistoryResult {
  readonly label: string;
  readonly sessions: number;
  readonly fillSeconds: number;
  readonly fileMb: number;
  readonly startMs: number;
  readonly rssReady: number;
  readonly heapReady: number;
  readonly recent: Timed;
  readonly hour: Timed;
  readonly whole: Timed;
  readonly analytics: Timed;
  readonly logged: readonly string[];
  readonly survived: boolean;
}

async function runHistory(label: string, sessions: number, spanMs: number, nowMs: number, idBase: number): Promise<HistoryResult> {
  const path = join(WORK_DIR, `history-${label.replace(/\W+/g, '-')}.db`);
  removeSqlite(path);
  try {
    const fillSeconds = await fillHistory(path, sessions, spanMs, nowMs, idBase);
    const size = fileMb(path);
    const started = performance.now();
    // 31 days: the retention job (30 by default, first run 30 s after start) must not thin the oldest day meanwhile.
    const receiver = await startReceiverProcess(MONITOR_BIN, [
      '--storage-url',
      `sqlite:${path}`,
      '--history-retention-days',
      String(HISTORY_DAYS + 1),
    ]);
    const rss = new RssSampler(receiver.pid);
    const prober = new Prober(`${receiver.apiUrl}/healthz`);
    try {
      for (;;) {
        const ready = await get(`${receiver.apiUrl}/readyz`).catch(() => undefined);
        if (ready?.status === 200) break;
        await sleep(20);
      }
      const startMs = performance.now() - started;
      await sleep(1_000);
      const rssReady = rss.sample() ?? Number.NaN;
      const heapReady = await heapUsedMb(receiver.apiUrl);
      const timed = async (phase: string, url: string, times: number, describeAnswer: (body: string) => string): Promise<Timed> => {
        prober.phase(phase);
        rss.phase = phase;
        const ms: number[] = [];
        let note = '';
        for (let i = 0; i < times; i += 1) {
          const answer = await get(url);
          if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status} ${answer.body.slice(0, 300)}`);
          ms.push(answer.ms);
          note = describeAnswer(answer.body);
        }
        await sleep(500);
        prober.phase(`${phase} done`);
        rss.phase = `${phase} done`;
        const probes = prober.samples(phase);
        return {
          ms,
          rssAfter: rss.sample() ?? Number.NaN,
          rssMax: rss.max(phase),
          heapAfter: await heapUsedMb(receiver.apiUrl),
          healthzMax: Math.max(0, ...probes.latencies),
          healthzOver: probes.latencies.filter((latency) => latency > STALL_MS).length + probes.failed,
          note,
        };
      };
      const sessionsTotal = (body: string): string => `${(JSON.parse(body) as { sessions_total: number }).sessions_total} sessions`;
      const recent = await timed(
        'recent',
        `${receiver.apiUrl}/api/monitoring/sessions/recent`,
        5,
        (body) => `${(JSON.parse(body) as { sessions: unknown[] }).sessions.length} sessions`,
      );
      const hour = await timed('hour', `${receiver.apiUrl}/api/monitoring/statistics?window=1h`, 5, sessionsTotal);
      // Once each: with 200,000 sessions either takes seconds to tens of seconds on a busy 2-core machine.
      const whole = await timed('whole', `${receiver.apiUrl}/api/monitoring/statistics`, 1, sessionsTotal);
      const analytics = await timed(
        'analytics',
        `${receiver.apiUrl}/api/monitoring/analytics?window=${HISTORY_DAYS}d`,
        1,
        (body) => `${(body.length / 1024).toFixed(0)} KB`,
      );
      return {
        label,
        sessions,
        fillSeconds,
        fileMb: size,
        startMs,
        rssReady,
        heapReady,
        recent,
        hour,
        whole,
        analytics,
        logged: receiver.logged(),
        survived: receiver.alive(),
      };
    } finally {
      await prober.stop();
      rss.stop();
      await receiver.stop(30_000);
    }
  } finally {
    removeSqlite(path);
  }
}

// ---------------------------------------------------------------------------------------------
// Printing.

function sortedOf(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function fixed(value: number | undefined, digits = 1): string {
  return value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** A difference, with its sign (and no `-0`). */
function signed(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const rounded = Math.round(value);
  return rounded > 0 ? `+${rounded}` : rounded === 0 ? '0' : String(rounded);
}

function thousands(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
}

function table(title: string, header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [`\n${title}`, line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** Share of the measured window the receiver's main thread spent waiting for a CPU. */
function waitingShare(result: IngestResult): number {
  return result.mainThread ? result.mainThread.waiting / result.loadSeconds : Number.NaN;
}

function acknowledged(result: IngestResult): number {
  return result.answers.filter((answer) => answer.status === 200).reduce((sum, answer) => sum + SPANS_PER_REQUEST - answer.rejected, 0);
}

function answersByStatus(answers: readonly Answer[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const status = answer.status === 0 ? 'failed' : String(answer.status);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${n}× ${status}`).join(', ') || '–';
}

function ingestReport(results: readonly IngestResult[], notes: readonly string[]): string {
  let out = `\nstorage, ingest: ${SENDERS} senders × protobuf requests of ${SESSIONS_PER_REQUEST} sessions, ${SPANS_PER_REQUEST} spans, ${(template.length / 1024).toFixed(0)} KB; ${WARMUP_MS / 1000} s warm-up, ${LOAD_MS / 1000} s measured; /healthz every ${PROBE_INTERVAL_MS} ms from the bench process\n`;
  for (const note of notes) out += `  ${note}\n`;
  const column = (figure: (result: IngestResult) => string): string[] => results.map(figure);
  const spansPerSecond = (r: IngestResult): number => acknowledged(r) / r.loadSeconds;
  const okMs = (r: IngestResult): number[] => sortedOf(r.answers.filter((answer) => answer.status === 200).map((answer) => answer.ms));
  const healthz = (samples: ProbeSamples): number[] => sortedOf(samples.latencies);
  const rows: string[][] = [
    ['requests answered in the window', ...column((r) => answersByStatus(r.answers))],
    ['spans/s acknowledged', ...column((r) => thousands(spansPerSecond(r)))],
    ['receiver CPU, cores (all threads)', ...column((r) => fixed(r.cpuSeconds / r.loadSeconds, 2))],
    ['spans per receiver CPU-second', ...column((r) => thousands(acknowledged(r) / r.cpuSeconds))],
    [
      'receiver main thread on a CPU / waiting, s',
      ...column((r) => (r.mainThread ? `${fixed(r.mainThread.onCpu)} / ${fixed(r.mainThread.waiting)}` : '–')),
    ],
    ['PostgreSQL server CPU, cores', ...column((r) => (r.label === 'postgres' ? fixed(r.databaseCpuSeconds / r.loadSeconds, 2) : '–'))],
    [
      'spans per CPU-second, receiver + PostgreSQL',
      ...column((r) => (r.label === 'postgres' ? thousands(acknowledged(r) / (r.cpuSeconds + r.databaseCpuSeconds)) : '–')),
    ],
    ['machine CPUs busy (all processes), %', ...column((r) => fixed(r.machineBusy * 100, 0))],
    [
      'request ms p50 / p95 / p99 / max',
      ...column(
        (r) =>
          `${fixed(percentile(okMs(r), 50))} / ${fixed(percentile(okMs(r), 95))} / ${fixed(percentile(okMs(r), 99))} / ${fixed(okMs(r).at(-1))}`,
      ),
    ],
    [
      '/healthz ms idle p50 / p99',
      ...column((r) => `${fixed(percentile(healthz(r.healthzIdle), 50))} / ${fixed(percentile(healthz(r.healthzIdle), 99))}`),
    ],
    [
      '/healthz ms load p50 / p95 / p99 / max',
      ...column(
        (r) =>
          `${fixed(percentile(healthz(r.healthzLoad), 50))} / ${fixed(percentile(healthz(r.healthzLoad), 95))} / ${fixed(percentile(healthz(r.healthzLoad), 99))} / ${fixed(healthz(r.healthzLoad).at(-1))}`,
      ),
    ],
    [
      `/healthz probes over ${STALL_MS} ms (or failed) under load`,
      ...column(
        (r) =>
          `${r.healthzLoad.latencies.filter((ms) => ms > STALL_MS).length + r.healthzLoad.failed} of ${r.healthzLoad.latencies.length + r.healthzLoad.failed}`,
      ),
    ],
    [
      'commits in the window, sessions per commit',
      ...column((r) =>
        r.commits === undefined || r.sessionsWritten === undefined ? '–' : `${r.commits}, ${fixed(r.sessionsWritten / r.commits)}`,
      ),
    ],
    ['RSS idle / end / max under load, MB', ...column((r) => `${fixed(r.rss.idle, 0)} / ${fixed(r.rss.end, 0)} / ${fixed(r.rss.max, 0)}`)],
    ['machine load average at start / end', ...column((r) => `${fixed(r.loadAverage[0], 2)} / ${fixed(r.loadAverage[1], 2)}`)],
    ['lines logged (warn and above)', ...column((r) => String(r.logged.length))],
    ['process alive at the end', ...column((r) => (r.survived ? 'yes' : 'NO'))],
  ];
  out += table('ingest with history, by store', ['', ...results.map((r) => r.label)], rows);

  const memory = results.find((r) => r.label === 'memory');
  if (memory) {
    const ratioRows = results
      .filter((r) => r !== memory)
      .map((r) => {
        const ratio = spansPerSecond(r) / spansPerSecond(memory);
        return [
          r.label,
          `${fixed(ratio * 100, 0)} %`,
          `${fixed((acknowledged(r) / r.cpuSeconds / (acknowledged(memory) / memory.cpuSeconds)) * 100, 0)} %`,
          `${fixed(percentile(okMs(r), 99) / percentile(okMs(memory), 99))}×`,
          `${fixed(waitingShare(r) * 100, 0)} % / ${fixed(waitingShare(memory) * 100, 0)} %`,
          r.label === 'sqlite' ? (ratio >= 0.5 ? 'met (≥ 50 %)' : 'MISSED (< 50 %)') : '–',
        ];
      });
    out += table(
      'durable stores against memory: (store) / (memory) in the same run',
      [
        'store',
        'spans/s',
        'spans per receiver CPU-s',
        'request p99',
        'main thread waiting for a CPU, store / memory',
        'target SQLite ≥ 50 % of memory (spans/s)',
      ],
      ratioRows,
    );
    out +=
      '  spans/s follows what else runs on the machine (a receiver whose main thread waits for a CPU half the window acknowledges less);\n';
    out += '  spans per receiver CPU-second is what the store itself costs.\n';
  }
  for (const result of results) {
    if (result.logged.length === 0) continue;
    out += `\n${result.label} logged (first 3 of ${result.logged.length}):\n${result.logged
      .slice(0, 3)
      .map((line) => `  ${line.slice(0, 300)}\n`)
      .join('')}`;
  }
  return out;
}

function historyReport(results: readonly HistoryResult[]): string {
  let out = `\nstorage, memory with history: SQLite files filled through the store (openSqliteHistory + commit, ${HISTORY_BATCH} sessions a commit), sessions of ${SPANS_PER_REQUEST / SESSIONS_PER_REQUEST} spans each rebuilt by SessionBuilder, backdated; a receiver started on each\n`;
  const column = (figure: (result: HistoryResult) => string): string[] => results.map(figure);
  const median = (values: readonly number[]): number => percentile(sortedOf(values), 50);
  const timedRows = (name: string, pick: (result: HistoryResult) => Timed): string[][] => [
    [
      pick(results[0]!).ms.length > 1 ? `${name}: ms first / median of ${pick(results[0]!).ms.length}` : `${name}: ms`,
      ...column((r) => (pick(r).ms.length > 1 ? `${fixed(pick(r).ms[0])} / ${fixed(median(pick(r).ms))}` : fixed(pick(r).ms[0]))),
    ],
    [`${name}: answer`, ...column((r) => pick(r).note)],
    [`${name}: RSS max during / after, MB`, ...column((r) => `${fixed(pick(r).rssMax, 0)} / ${fixed(pick(r).rssAfter, 0)}`)],
    [`${name}: V8 heap used after, MB`, ...column((r) => fixed(pick(r).heapAfter, 0))],
    [`${name}: /healthz max ms, probes over ${STALL_MS} ms`, ...column((r) => `${fixed(pick(r).healthzMax)}, ${pick(r).healthzOver}`)],
  ];
  const rows: string[][] = [
    ['sessions in the file', ...column((r) => thousands(r.sessions))],
    ['filled in, s', ...column((r) => fixed(r.fillSeconds))],
    ['file (+ WAL), MB', ...column((r) => fixed(r.fileMb, 0))],
    ['receiver start to ready, ms', ...column((r) => fixed(r.startMs, 0))],
    ['RSS ready, MB', ...column((r) => fixed(r.rssReady, 0))],
    ['V8 heap used ready, MB', ...column((r) => fixed(r.heapReady, 0))],
    ...timedRows('/sessions/recent', (r) => r.recent),
    ...timedRows('/statistics?window=1h', (r) => r.hour),
    ...timedRows('/statistics (whole history)', (r) => r.whole),
    ...timedRows(`/analytics?window=${HISTORY_DAYS}d`, (r) => r.analytics),
    ['lines logged (warn and above)', ...column((r) => String(r.logged.length))],
    ['process alive at the end', ...column((r) => (r.survived ? 'yes' : 'NO'))],
  ];
  out += table(
    'receiver on a SQLite history (in request order: recent ×5, statistics 1h ×5, statistics whole ×1, analytics 30d ×1)',
    ['', ...results.map((r) => r.label)],
    rows,
  );
  if (results.length === 2) {
    const [hour, month] = results as [HistoryResult, HistoryResult];
    out += table(
      'RSS with 30 days of history against one hour, MB (difference)',
      ['after', '1 hour', '30 days', 'difference'],
      [
        ['ready', fixed(hour.rssReady, 0), fixed(month.rssReady, 0), signed(month.rssReady - hour.rssReady)],
        [
          'recent ×5',
          fixed(hour.recent.rssAfter, 0),
          fixed(month.recent.rssAfter, 0),
          signed(month.recent.rssAfter - hour.recent.rssAfter),
        ],
        ['statistics 1h ×5', fixed(hour.hour.rssAfter, 0), fixed(month.hour.rssAfter, 0), signed(month.hour.rssAfter - hour.hour.rssAfter)],
        [
          'statistics whole (max during)',
          fixed(hour.whole.rssMax, 0),
          fixed(month.whole.rssMax, 0),
          signed(month.whole.rssMax - hour.whole.rssMax),
        ],
        [
          'statistics whole (after)',
          fixed(hour.whole.rssAfter, 0),
          fixed(month.whole.rssAfter, 0),
          signed(month.whole.rssAfter - hour.whole.rssAfter),
        ],
        [
          'analytics 30d (max during)',
          fixed(hour.analytics.rssMax, 0),
          fixed(month.analytics.rssMax, 0),
          signed(month.analytics.rssMax - hour.analytics.rssMax),
        ],
      ],
    );
  }
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

const ingestResults: IngestResult[] = [];
const ingestNotes: string[] = [];
const historyResults: HistoryResult[] = [];
afterAll(() => {
  agent.destroy();
  rmSync(WORK_DIR, { recursive: true, force: true });
  if (ingestResults.length > 0) process.stdout.write(ingestReport(ingestResults, ingestNotes));
  if (historyResults.length > 0) process.stdout.write(historyReport(historyResults));
});

const once = { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 };

describe(`storage: ingest of ${SPANS_PER_REQUEST}-span requests by store, ${LOAD_MS / 1000} s each (ms per iteration = the whole scenario; figures printed below)`, () => {
  const stores: Array<{ label: string; open: () => Promise<Store | string> }> = [
    { label: 'memory', open: async () => ({ label: 'memory', storageUrl: 'memory:', cleanup: async () => undefined }) },
    { label: 'sqlite', open: async () => sqliteStore('ingest') },
    { label: 'postgres', open: postgresStore },
  ];
  stores
    .filter((store) => STORES.includes(store.label))
    .forEach((store, index) => {
      bench(
        store.label,
        async () => {
          const opened = await store.open();
          if (typeof opened === 'string') {
            ingestNotes.push(opened);
            process.stdout.write(`\n${opened}\n`);
            return;
          }
          ingestResults.push(await runIngest(opened, (index + 1) * 0x1000000));
        },
        once,
      );
    });
});

describe(`storage: receiver memory with ${HISTORY_DAYS} days of SQLite history (${HISTORY_SESSIONS} sessions) against one hour`, () => {
  bench(
    'one hour, then 30 days',
    async () => {
      const nowMs = Date.now();
      const dayMs = 24 * 3600 * 1000;
      const perHour = Math.round(HISTORY_SESSIONS / (HISTORY_DAYS * 24));
      historyResults.push(await runHistory('1 hour', perHour, 3600 * 1000, nowMs, 0x10000000));
      historyResults.push(await runHistory(`${HISTORY_DAYS} days`, HISTORY_SESSIONS, HISTORY_DAYS * dayMs, nowMs, 0x20000000));
    },
    once,
  );
});
