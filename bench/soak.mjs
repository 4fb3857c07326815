#!/usr/bin/env node
/**
 * Soak run: a real `llm-monitor` (the built CLI) under the demo workload for a long while, sampled at
 * a fixed interval, to see whether its memory drifts upward once the held data is steady.
 *
 *   pnpm soak -- --minutes 30                          (builds first)
 *   node bench/soak.mjs --minutes 30 --out /tmp/soak.json
 *
 * The receiver runs with `storage_url memory:` and a retention shorter than the warm-up, so the
 * sessions it holds stop growing before the part of the run the verdict reads. The demo runs as a
 * process of its own (`llm-monitor-demo`; `--demo-in-process` uses `llm-monitor --demo` instead,
 * whose OpenTelemetry SDK then counts in the receiver's memory). A WebSocket and an SSE client that
 * read everything stay connected unless `--no-live-clients`.
 *
 * Each sample: the receiver's RSS (`VmRSS` of /proc/<pid>/status) and its peak (`VmHWM`); from its
 * `/metrics`, prom-client's default process metrics (heap used and total, external memory, CPU
 * seconds, event-loop delay p50/p99/max since the previous scrape, measured with a 10 ms
 * resolution, which the figures include) and the receiver's own (sessions held, spans received, live
 * clients and drops); from `/readyz`, what the session builder holds (bytes, traces, spans, removed
 * traces remembered). The JSON written to `--out` (after every sample, so a run cut short keeps its
 * samples) holds the settings, the samples and the summary; a CSV of the samples is written next to
 * it.
 *
 * The summary compares the medians of the first and the last window (5 minutes by default) and fits
 * a line to RSS and heap used after the warm-up: "drift" when either slope per 10 minutes exceeds
 * `--drift-percent` of its median after the warm-up and is more than twice its standard error;
 * otherwise "no upward drift". Plain JavaScript on the built dist: the repository has no TypeScript
 * runner for scripts (vitest runs the .ts benchmarks).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const HELP = `Usage: node bench/soak.mjs [options]   (or: pnpm soak -- [options])

Runs a real llm-monitor receiver under the demo workload and samples its memory and event loop.

  --minutes N            how long to run (default 30)
  --interval N           seconds between samples (default 10)
  --out FILE             where the JSON of samples and summary goes, a .csv beside it
                         (default /tmp/llm-monitor-soak-<date>.json)
  --rate N               demo sessions started per second (default 2, the demo's own default)
  --warmup-minutes N     left out of the drift fit (default min(5, minutes / 4))
  --window-minutes N     the first and last windows compared (default min(5, minutes / 4))
  --retention-seconds N  the receiver's retention_seconds (default 80 % of the warm-up, so the
                         sessions held are steady by its end)
  --storage-url URL      the receiver's storage_url (default memory:)
  --drift-percent N      slope per 10 minutes, in % of the median after warm-up, that counts as
                         drift (default 2)
  --demo-in-process      run the demo inside the receiver (llm-monitor --demo) instead of beside it
  --no-live-clients      no reading WebSocket and SSE clients
  --help                 this text
`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECEIVER_BIN = `${ROOT}packages/receiver/bin/llm-monitor.js`;
const DEMO_BIN = `${ROOT}examples/demo/bin/llm-monitor-demo.js`;
const BANNER = /web monitor on (http:\/\/[^\s]+?)\/ .*OTLP\/HTTP on (http:\/\/[^\s]+)/;
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

function readSettings(argv) {
  const { values } = parseArgs({
    // `pnpm soak -- --minutes 30` may pass the `--` along.
    args: argv.filter((arg) => arg !== '--'),
    options: {
      minutes: { type: 'string' },
      interval: { type: 'string' },
      out: { type: 'string' },
      rate: { type: 'string' },
      'warmup-minutes': { type: 'string' },
      'window-minutes': { type: 'string' },
      'retention-seconds': { type: 'string' },
      'storage-url': { type: 'string' },
      'drift-percent': { type: 'string' },
      'demo-in-process': { type: 'boolean' },
      'live-clients': { type: 'boolean' },
      'no-live-clients': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const positive = (name, fallback) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
    return value;
  };
  const minutes = positive('minutes', 30);
  const warmupMinutes = positive('warmup-minutes', Math.min(5, minutes / 4));
  const windowMinutes = positive('window-minutes', Math.min(5, minutes / 4));
  if (warmupMinutes >= minutes) throw new Error('--warmup-minutes must be shorter than --minutes');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return {
    minutes,
    intervalSeconds: positive('interval', 10),
    out: values.out ?? `/tmp/llm-monitor-soak-${stamp}.json`,
    rate: positive('rate', 2),
    warmupMinutes,
    windowMinutes,
    retentionSeconds: Math.max(1, Math.round(positive('retention-seconds', warmupMinutes * 60 * 0.8))),
    storageUrl: values['storage-url'] ?? 'memory:',
    driftPercent: positive('drift-percent', 2),
    demoInProcess: values['demo-in-process'] ?? false,
    liveClients: !values['no-live-clients'],
  };
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts `node bin args`; with `banner`, resolves once the output matches it. */
function startProcess(bin, args, banner) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk) => {
    // The first and the last few kilobytes are enough to say what went wrong.
    output = (output + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const handle = {
    child,
    pid: child.pid,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    async stop(graceMs = 10_000) {
      if (!handle.alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  if (!banner) return Promise.resolve(handle);
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = banner.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve({ ...handle, match });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`${bin} exited with ${code} before it served:\n${output}`)));
  });
}

function kilobytesOf(status, field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/** VmRSS and VmHWM of a process, in bytes (null once it is gone). */
function residentMemoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: kilobytesOf(status, 'VmRSS'), peak: kilobytesOf(status, 'VmHWM') };
  } catch {
    return { rss: null, peak: null };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the receiver
// ---------------------------------------------------------------------------------------------

async function metricsOf(apiUrl) {
  const response = await fetch(`${apiUrl}/metrics`, { headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const samples = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return (series) => samples.get(series) ?? null;
}

async function readinessOf(apiUrl) {
  const response = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
  return (await response.json()).components;
}

// ---------------------------------------------------------------------------------------------
// Live clients that read
// ---------------------------------------------------------------------------------------------

/** A WebSocket and an SSE client that read everything, and connect again (after a second) if cut off. */
function startLiveClients(apiUrl) {
  const figures = {
    websocket: { messages: 0, bytes: 0, connects: 0, closes: [] },
    sse: { events: 0, bytes: 0, connects: 0, closes: [] },
  };
  let stopping = false;
  let socket;
  let controller;

  const openWebSocket = () => {
    if (stopping) return;
    socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
    socket.on('open', () => (figures.websocket.connects += 1));
    socket.on('message', (data) => {
      figures.websocket.messages += 1;
      figures.websocket.bytes += data.length;
      JSON.parse(data.toString('utf8'));
    });
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      if (stopping) return;
      figures.websocket.closes.push({ at: new Date().toISOString(), code, reason: reason.toString() });
      setTimeout(openWebSocket, 1000).unref();
    });
  };

  const openEventStream = async () => {
    while (!stopping) {
      controller = new AbortController();
      let why = 'ended';
      try {
        const response = await fetch(`${apiUrl}/api/monitoring/stream`, { signal: controller.signal });
        if (response.status !== 200) throw new Error(`answered ${response.status}`);
        figures.sse.connects += 1;
        const decoder = new TextDecoder();
        let tail = '';
        for await (const chunk of response.body) {
          figures.sse.bytes += chunk.length;
          // Events end with a blank line; one may be split between chunks.
          const text = tail + decoder.decode(chunk, { stream: true });
          figures.sse.events += (text.match(/\n\n/g) ?? []).length;
          tail = text.endsWith('\n') && !text.endsWith('\n\n') ? '\n' : '';
        }
      } catch (error) {
        why = error.message;
      }
      if (stopping) return;
      figures.sse.closes.push({ at: new Date().toISOString(), reason: why });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  openWebSocket();
  const reading = openEventStream();
  return {
    figures,
    async stop() {
      stopping = true;
      socket?.terminate();
      controller?.abort();
      await reading;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

function median(values) {
  const sorted = values.filter((value) => value !== null && Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Least-squares line of `y` over `x`: slope, its standard error, and R². */
function linearFit(points) {
  const usable = points.filter(([, y]) => y !== null && Number.isFinite(y));
  const n = usable.length;
  if (n < 3) return null;
  const meanX = usable.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = usable.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of usable) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const residual = Math.max(0, syy - slope * sxy);
  return { slope, standardError: Math.sqrt(residual / (n - 2) / sxx), r2: syy === 0 ? 0 : 1 - residual / syy, n };
}

function summarize(settings, samples, endedBecause) {
  const last = samples.at(-1);
  const elapsed = last?.t ?? 0;
  const windowSeconds = settings.windowMinutes * 60;
  const first = samples.filter((sample) => sample.t <= windowSeconds);
  const final = samples.filter((sample) => sample.t >= elapsed - windowSeconds);
  const afterWarmup = samples.filter((sample) => sample.t >= settings.warmupMinutes * 60);
  const figuresOf = (set) => ({
    samples: set.length,
    rss_mib: median(set.map((sample) => sample.rss_bytes / MIB)),
    heap_used_mib: median(set.map((sample) => sample.heap_used_bytes / MIB)),
    event_loop_lag_p50_ms: median(set.map((sample) => sample.lag_p50_ms)),
    event_loop_lag_p99_ms: median(set.map((sample) => sample.lag_p99_ms)),
    sessions_held: median(set.map((sample) => sample.sessions_held)),
  });
  const trend = (field, scale) => {
    const fit = linearFit(afterWarmup.map((sample) => [sample.t, sample[field] === null ? null : sample[field] / scale]));
    const typical = median(afterWarmup.map((sample) => (sample[field] === null ? null : sample[field] / scale)));
    if (!fit || typical === null) return null;
    const per10 = fit.slope * 600;
    const threshold = (settings.driftPercent / 100) * typical;
    return {
      per_10_minutes: per10,
      standard_error: fit.standardError * 600,
      r2: fit.r2,
      samples: fit.n,
      median_after_warmup: typical,
      threshold_per_10_minutes: threshold,
      drifting: per10 > threshold && per10 > 2 * fit.standardError * 600,
    };
  };
  const slopes = {
    rss_mib: trend('rss_bytes', MIB),
    heap_used_mib: trend('heap_used_bytes', MIB),
    sessions_held: trend('sessions_held', 1),
    removed_traces: trend('removed_traces', 1),
  };
  const enough = slopes.rss_mib !== null && slopes.heap_used_mib !== null;
  let verdict;
  if (endedBecause.startsWith('receiver exited')) verdict = 'receiver died';
  else if (!enough) verdict = 'too few samples after the warm-up';
  else verdict = slopes.rss_mib.drifting || slopes.heap_used_mib.drifting ? 'drift' : 'no upward drift';
  return {
    ended_because: endedBecause,
    elapsed_minutes: elapsed / 60,
    spans_received: last?.spans_received ?? null,
    first_window: figuresOf(first),
    last_window: figuresOf(final),
    slopes_after_warmup: slopes,
    verdict,
  };
}

function printSummary(settings, summary, out) {
  const f = (value, digits = 1) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));
  const rows = [
    ['RSS (MiB)', 'rss_mib', 1],
    ['heap used (MiB)', 'heap_used_mib', 1],
    ['event-loop delay p50 (ms)', 'event_loop_lag_p50_ms', 1],
    ['event-loop delay p99 (ms)', 'event_loop_lag_p99_ms', 1],
    ['sessions held', 'sessions_held', 0],
  ];
  const lines = [
    '',
    `soak summary: ${f(summary.elapsed_minutes)} min (${summary.ended_because}), ${summary.spans_received ?? 'n/a'} spans received, demo ${settings.rate}/s`,
    `medians               first ${settings.windowMinutes} min (${summary.first_window.samples})   last ${settings.windowMinutes} min (${summary.last_window.samples})`,
    ...rows.map(
      ([label, key, digits]) =>
        `  ${label.padEnd(26)} ${f(summary.first_window[key], digits).padStart(10)}   ${f(summary.last_window[key], digits).padStart(10)}`,
    ),
    `slopes after ${settings.warmupMinutes} min of warm-up, per 10 min (± standard error; drift above ${settings.driftPercent} % of the median and 2 standard errors):`,
  ];
  for (const [label, key] of [
    ['RSS (MiB)', 'rss_mib'],
    ['heap used (MiB)', 'heap_used_mib'],
    ['sessions held', 'sessions_held'],
    ['removed traces remembered', 'removed_traces'],
  ]) {
    const slope = summary.slopes_after_warmup[key];
    lines.push(
      slope
        ? `  ${label.padEnd(26)} ${f(slope.per_10_minutes, 2).padStart(8)} ± ${f(slope.standard_error, 2)} (median ${f(slope.median_after_warmup)}, R² ${f(slope.r2, 2)})${key.endsWith('mib') ? `, threshold ${f(slope.threshold_per_10_minutes, 2)}` : ''}`
        : `  ${label.padEnd(26)} n/a`,
    );
  }
  lines.push(`verdict: ${summary.verdict}`, `samples: ${out} (and ${csvPathOf(out)})`, '');
  process.stdout.write(lines.join('\n'));
}

const CSV_FIELDS = [
  't',
  'at',
  'rss_bytes',
  'rss_peak_bytes',
  'heap_used_bytes',
  'heap_total_bytes',
  'external_bytes',
  'cpu_seconds',
  'lag_p50_ms',
  'lag_p99_ms',
  'lag_max_ms',
  'sessions_held',
  'sessions_active',
  'spans_received',
  'held_bytes',
  'held_traces',
  'held_spans',
  'removed_traces',
  'live_clients',
  'live_clients_dropped',
  'demo_rss_bytes',
  'live_websocket_bytes',
  'live_sse_bytes',
];

function csvPathOf(out) {
  return out.endsWith('.json') ? `${out.slice(0, -5)}.csv` : `${out}.csv`;
}

function write(out, document) {
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  const csv = [CSV_FIELDS.join(','), ...document.samples.map((sample) => CSV_FIELDS.map((field) => sample[field] ?? '').join(','))];
  writeFileSync(csvPathOf(out), `${csv.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async function main() {
  let settings;
  try {
    settings = readSettings(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${error.message}\n\n${HELP}`);
    return 2;
  }
  for (const built of ['packages/receiver/dist/cli.js', 'examples/demo/dist/cli.js']) {
    if (!existsSync(`${ROOT}${built}`)) {
      process.stderr.write(`soak: ${built} is missing; run \`pnpm build\` first\n`);
      return 2;
    }
  }

  const receiverArgs = [
    '--port',
    '0',
    '--otlp-port',
    '0',
    '--otlp-grpc-port',
    '0',
    '--log-level',
    'warn',
    '--storage-url',
    settings.storageUrl,
    '--retention-seconds',
    String(settings.retentionSeconds),
    ...(settings.demoInProcess ? ['--demo', '--demo-rate', String(settings.rate)] : []),
  ];
  const receiver = await startProcess(RECEIVER_BIN, receiverArgs, BANNER);
  const [, apiUrl, otlpUrl] = receiver.match;
  const demo = settings.demoInProcess ? undefined : await startProcess(DEMO_BIN, ['--endpoint', otlpUrl, '--rate', String(settings.rate)]);
  const live = settings.liveClients ? startLiveClients(apiUrl) : undefined;
  const startedAt = Date.now();
  process.stdout.write(
    `soak: receiver pid ${receiver.pid} at ${apiUrl} (${receiverArgs.join(' ')}); demo ${settings.demoInProcess ? 'in process' : `pid ${demo.pid}`} at ${settings.rate}/s; ` +
      `live clients ${settings.liveClients ? 'WebSocket + SSE' : 'none'}; ${settings.minutes} min, a sample every ${settings.intervalSeconds} s; ` +
      `warm-up ${settings.warmupMinutes} min, retention ${settings.retentionSeconds} s; writing ${settings.out}\n`,
  );

  const document = {
    started_at: new Date(startedAt).toISOString(),
    settings: { ...settings, receiver_args: receiverArgs, node: process.version, receiver_pid: receiver.pid },
    samples: [],
    summary: null,
  };

  let endedBecause;
  let stopRequested;
  const stopped = new Promise((resolve) => (stopRequested = resolve));
  /** The first reason to stop wins: a Ctrl-C also reaches the children, which then exit. */
  const stopFor = (reason) => {
    endedBecause ??= reason;
    stopRequested();
  };
  process.once('SIGINT', () => stopFor('stopped by SIGINT'));
  process.once('SIGTERM', () => stopFor('stopped by SIGTERM'));
  void receiver.exited.then((code) => stopFor(`receiver exited with ${code}`));

  const endAt = startedAt + settings.minutes * 60_000;
  for (let next = startedAt; ;) {
    const memory = residentMemoryOf(receiver.pid);
    try {
      const metric = await metricsOf(apiUrl);
      const components = await readinessOf(apiUrl);
      const held = components.memory?.details ?? {};
      const sample = {
        t: Math.round((Date.now() - startedAt) / 100) / 10,
        at: new Date().toISOString(),
        rss_bytes: memory.rss,
        rss_peak_bytes: memory.peak,
        heap_used_bytes: metric('nodejs_heap_size_used_bytes'),
        heap_total_bytes: metric('nodejs_heap_size_total_bytes'),
        external_bytes: metric('nodejs_external_memory_bytes'),
        cpu_seconds: metric('process_cpu_seconds_total'),
        lag_p50_ms: (metric('nodejs_eventloop_lag_p50_seconds') ?? NaN) * 1000,
        lag_p99_ms: (metric('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
        lag_max_ms: (metric('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
        sessions_held: metric('llm_monitor_store_sessions'),
        sessions_active: metric('llm_monitor_sessions_active'),
        spans_received: metric('llm_monitor_receiver_spans_received_total'),
        held_bytes: held.held_bytes ?? null,
        held_traces: held.traces ?? null,
        held_spans: held.spans ?? null,
        removed_traces: held.removed_traces ?? null,
        live_clients:
          (metric('llm_monitor_live_clients{transport="websocket"}') ?? 0) + (metric('llm_monitor_live_clients{transport="sse"}') ?? 0),
        live_clients_dropped:
          (metric('llm_monitor_live_clients_dropped_total{transport="websocket"}') ?? 0) +
          (metric('llm_monitor_live_clients_dropped_total{transport="sse"}') ?? 0),
        demo_rss_bytes: demo ? residentMemoryOf(demo.pid).rss : null,
        live_websocket_bytes: live?.figures.websocket.bytes ?? null,
        live_sse_bytes: live?.figures.sse.bytes ?? null,
      };
      document.samples.push(sample);
      write(settings.out, document);
      process.stdout.write(
        `  t=${String(Math.round(sample.t)).padStart(5)} s  RSS ${(sample.rss_bytes / MIB).toFixed(1)} MiB  heap ${(sample.heap_used_bytes / MIB).toFixed(1)} MiB  ` +
          `lag p99 ${sample.lag_p99_ms.toFixed(1)} ms  sessions ${sample.sessions_held}  spans ${sample.spans_received}\n`,
      );
    } catch (error) {
      if (receiver.alive()) process.stderr.write(`soak: sample failed: ${error.message}\n`);
    }
    next += settings.intervalSeconds * 1000;
    if (next > endAt) {
      endedBecause ??= 'duration reached';
      break;
    }
    const wait = new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    const reason = await Promise.race([wait.then(() => 'tick'), stopped.then(() => 'stop')]);
    if (reason === 'stop') break;
  }

  await live?.stop();
  const demoExit = await demo?.stop();
  const receiverExit = await receiver.stop();
  document.ended_at = new Date().toISOString();
  document.processes = {
    demo_exit: demoExit ?? null,
    demo_output: demo?.output().trim().split('\n').slice(-5) ?? null,
    receiver_exit: receiverExit,
    receiver_output: receiver.output().trim().split('\n').slice(-20),
    live_clients: live?.figures ?? null,
  };
  document.summary = summarize(settings, document.samples, endedBecause);
  write(settings.out, document);
  printSummary(settings, document.summary, settings.out);
  if (live) {
    const { websocket, sse } = live.figures;
    process.stdout.write(
      `live clients: WebSocket ${websocket.messages} messages (${(websocket.bytes / MIB).toFixed(1)} MiB), ${websocket.closes.length} reconnects; ` +
        `SSE ${sse.events} events (${(sse.bytes / MIB).toFixed(1)} MiB), ${sse.closes.length} reconnects\n`,
    );
  }
  if (endedBecause.startsWith('receiver exited')) {
    process.stderr.write(`soak: the receiver exited early (${endedBecause}); its last output:\n${receiver.output()}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
