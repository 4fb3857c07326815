/**
 * Slow consumers of the live streams, against a real `llm-monitor` process over real sockets (the
 * hardening issue: "many WebSocket and SSE clients that never read do not grow the server's memory").
 *
 * 100 WebSocket clients (raw sockets that send the upgrade and never read a byte, not even the 101)
 * and 100 SSE clients that never read are connected while sessions with large token events stream
 * in over OTLP, paced at about one request per live tick. Half of the slow clients of each transport
 * follow everything (they share one serialisation of each batch), half follow a filter (`?task=chat`,
 * so each gets a text of its own): unbounded, the filtered half alone would hold what was sent
 * beyond the kernel's buffers once per client, hundreds of MiB here.
 *
 * The test runs in two phases against the same process:
 *
 *  1. baseline: a well-behaved WebSocket client and a well-behaved SSE client (both read everything)
 *     and the same workload, paced the same; the receiver's peak RSS (`VmHWM`) and largest heap
 *     (`/readyz`) under that workload are the baseline;
 *  2. slow consumers: the 200 slow clients connect, and three times what the kernel can absorb per
 *     connection (its send buffer's maximum plus the client's receive buffer) is sent.
 *
 * It checks that every slow client is dropped and counted in `/metrics`
 * (`llm_monitor_live_clients_dropped_total`), that the server closes their connections (its own
 * descriptors, read from /proc), that peak RSS and heap stay within the baseline plus what the
 * settings let each slow client hold plus a fixed slack (nothing proportional to what was sent), that
 * the well-behaved clients stay connected and see each probe session (one every 500 ms) promptly,
 * and that REST keeps answering throughout. Counts, sizes and every wait are bounded; the whole test
 * takes about 40 s.
 *
 * It can fail: with the drop effectively off (`LLMMON_TEST_LIVE_MAX_BUFFERED_BYTES=1000000000000`),
 * no client is dropped and the filtered clients' buffers take the receiver past its RSS bound (or out
 * of its 512 MiB heap).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_TASK,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import { encodeTraceRequest, nanos, spanIdOf, traceIdOf, wire } from '../packages/receiver/test/otlp-wire.js';
import type { WireSpan } from '../packages/receiver/test/otlp-wire.js';
import { startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import { connectionsOfProcessTo, metricsOf, residentMemoryOf } from './support/process-figures.js';
import { until } from './support/wait.js';

stopMonitorsAfterEach();

const KIB = 1024;
const MIB = 1024 * KIB;

/** Slow clients per transport. */
const SLOW_PER_TRANSPORT = 100;
const SLOW_CLIENTS = 2 * SLOW_PER_TRANSPORT;
/** Bytes a live client may have waiting: what the bounds are computed from. */
const LIVE_MAX_BUFFERED_BYTES = 64 * KIB;
/**
 * What the receiver is started with: {@link LIVE_MAX_BUFFERED_BYTES} unless overridden, to see the
 * test fail (see the module comment); the bounds stay those of the nominal setting.
 */
const LIVE_MAX_BUFFERED_FLAG = process.env.LLMMON_TEST_LIVE_MAX_BUFFERED_BYTES ?? String(LIVE_MAX_BUFFERED_BYTES);
const LIVE_TICK_MS = 50;
const MAX_SESSIONS = 200;
const SESSIONS_PER_REQUEST = 2;
const TOKEN_EVENTS_PER_SESSION = 32;
const TOKEN_TEXT = 'lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. '.repeat(6);
/** Token text per workload request. */
const TEXT_PER_REQUEST = SESSIONS_PER_REQUEST * TOKEN_EVENTS_PER_SESSION * TOKEN_TEXT.length;
/** Token text sent in the baseline phase. */
const BASELINE_TEXT = 4 * MIB;
/** The filter half of the slow clients follow; the workload's sessions match it, the probes do not. */
const FILTER_QUERY = '?task=chat';
const PROBE_EVERY_MS = 500;
/** The child's V8 heap limit: unbounded buffering ends the process instead of eating the machine. */
const CHILD_NODE_ARGS = ['--max-old-space-size=512'];
/** Longest wait for any one answer; only a hang trips it, never a slow machine. */
const HANG_GUARD_MS = 10_000;
/**
 * What RSS and heap may differ by between two phases of the same workload, whatever the clients:
 * when V8 collects (a young generation of up to three 16 MiB semi-spaces, an old generation that
 * grows by a factor before its next mark-compact) and what the allocator keeps of freed socket
 * buffers. It is fixed: it does not grow with what is sent.
 */
const SLACK = 64 * MIB;
/**
 * What a connected live client costs the server before any event: its socket, request, the
 * WebSocket or response object, the hub's entry (200 connections added 0.2–4 MiB of RSS here).
 */
const PER_CONNECTION = 64 * KIB;
/**
 * The most one tick may write to one client: paced a tick apart, at most two workload requests' events
 * (their text, and the JSON and SSE framing around it) fall in one tick.
 */
const TICK_CHUNK = 2 * TEXT_PER_REQUEST * 1.5;
/** Promptly: a probe session reaches the well-behaved clients within this (40 live ticks). */
const PROMPT_MS = 2000;
/** Promptly: a REST answer during the flood. */
const REST_PROMPT_MS = 2000;

const START_MS = Date.now();

// ---------------------------------------------------------------------------------------------
// Measuring the child (as test/memory-bounds.e2e.test.ts does)
// ---------------------------------------------------------------------------------------------

/** The heap used and the live clients dropped so far, from `/readyz`. */
async function readinessOf(apiUrl: string): Promise<{ heapUsed: number; dropped: number }> {
  const response = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    components: {
      memory: { details: { heap_used_bytes: number } };
      fanout: { details: { dropped_too_slow: { websocket: number; sse: number } } };
    };
  };
  const dropped = body.components.fanout.details.dropped_too_slow;
  return { heapUsed: body.components.memory.details.heap_used_bytes, dropped: dropped.websocket + dropped.sse };
}

/** Every REST endpoint answers 200 with a body. */
async function expectEveryEndpointAnswers(apiUrl: string): Promise<void> {
  const paths = [
    '/api',
    '/api/monitoring/sessions/active',
    '/api/monitoring/sessions/recent',
    '/api/monitoring/sessions/recent?limit=1000',
    '/api/monitoring/statistics',
    '/api/monitoring/statistics?window=1h',
    '/healthz',
    '/readyz',
    '/metrics',
  ];
  for (const path of paths) {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
    expect(response.status, path).toBe(200);
    expect((await response.text()).length, path).toBeGreaterThan(0);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

/** Posts one OTLP/protobuf request; resolves with the answer's status. */
async function postTraces(otlpUrl: string, body: Buffer): Promise<number> {
  const response = await fetch(otlpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body,
    signal: AbortSignal.timeout(HANG_GUARD_MS),
  });
  await response.arrayBuffer();
  return response.status;
}

let nextTrace = 0;

/** One request of `SESSIONS_PER_REQUEST` ended `chat` sessions, each with its token text in events. */
function workloadRequest(): Buffer {
  const spans: WireSpan[] = [];
  for (let s = 0; s < SESSIONS_PER_REQUEST; s += 1) {
    // No session id attribute: the trace id names the session.
    const traceId = traceIdOf(nextTrace++);
    spans.push(
      {
        traceId,
        spanId: spanIdOf(1),
        name: 'llm_monitor.session chat',
        startTimeUnixNano: nanos(START_MS),
        endTimeUnixNano: nanos(START_MS + 2000),
        attributes: wire.attributes({ [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.session), [ATTR_TASK]: wire.string('chat') }),
      },
      {
        traceId,
        spanId: spanIdOf(2),
        parentSpanId: spanIdOf(1),
        name: 'llm_monitor.stage streaming_response',
        startTimeUnixNano: nanos(START_MS + 10),
        endTimeUnixNano: nanos(START_MS + 1900),
        attributes: wire.attributes({ [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.stage), [ATTR_STAGE]: wire.string('streaming_response') }),
        events: Array.from({ length: TOKEN_EVENTS_PER_SESSION }, (_, k) => ({
          timeUnixNano: nanos(START_MS + 20 + k),
          name: EVENT_TOKENS,
          attributes: wire.attributes({
            [ATTR_TOKENS_COUNT]: wire.int(100),
            [ATTR_TOKENS_TOTAL]: wire.int(100 * (k + 1)),
            [ATTR_TOKENS_TEXT]: wire.string(TOKEN_TEXT),
          }),
        })),
      },
    );
  }
  return encodeTraceRequest([{ resource: wire.attributes({ 'service.name': wire.string('chat-app') }), spans }]);
}

/** A tiny ended session named `sessionId`, of task `probe` (the filtered clients do not follow it). */
function probeRequest(sessionId: string): Buffer {
  const traceId = traceIdOf(nextTrace++);
  const now = Date.now();
  return encodeTraceRequest([
    {
      resource: wire.attributes({ 'service.name': wire.string('probe-app') }),
      spans: [
        {
          traceId,
          spanId: spanIdOf(1),
          name: 'llm_monitor.session probe',
          startTimeUnixNano: nanos(now - 5),
          endTimeUnixNano: nanos(now),
          attributes: wire.attributes({
            [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.session),
            [ATTR_TASK]: wire.string('probe'),
            [ATTR_SESSION_ID]: wire.string(sessionId),
          }),
        },
        {
          traceId,
          spanId: spanIdOf(2),
          parentSpanId: spanIdOf(1),
          name: 'llm_monitor.stage initializing',
          startTimeUnixNano: nanos(now - 4),
          endTimeUnixNano: nanos(now - 1),
          attributes: wire.attributes({ [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.stage), [ATTR_STAGE]: wire.string('initializing') }),
        },
      ],
    },
  ]);
}

/** What a workload sent: token text accepted, and requests refused (anything but 200). */
interface WorkloadProgress {
  text: number;
  refused: string[];
}

/**
 * Sends workload requests, one at a time and a live tick apart, until `text` bytes of token text were
 * accepted, counting in `progress`; a refused request (the receiver shedding load) is counted and
 * not retried, and more than 20 end the workload.
 */
async function streamWorkload(otlpUrl: string, text: number, progress: WorkloadProgress): Promise<void> {
  const until = progress.text + text;
  while (progress.text < until && progress.refused.length <= 20) {
    const status = await postTraces(otlpUrl, workloadRequest());
    if (status === 200) progress.text += TEXT_PER_REQUEST;
    else progress.refused.push(`OTLP ${status} after ${mib(progress.text)}`);
    await sleep(LIVE_TICK_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/** When each probe session was sent, and when each well-behaved client saw it start. */
class ProbeClock {
  readonly sent = new Map<string, number>();
  readonly seen = { websocket: new Map<string, number>(), sse: new Map<string, number>() };
  #next = 0;

  newProbe(): string {
    const id = `probe-${this.#next++}`;
    this.sent.set(id, performance.now());
    return id;
  }

  saw(transport: 'websocket' | 'sse', sessionId: string): void {
    if (this.sent.has(sessionId) && !this.seen[transport].has(sessionId)) this.seen[transport].set(sessionId, performance.now());
  }

  /** Latencies (ms) of the probes in `ids` seen by `transport`; unseen ones are left out. */
  latencies(transport: 'websocket' | 'sse', ids: readonly string[]): number[] {
    return ids.flatMap((id) => {
      const seen = this.seen[transport].get(id);
      return seen === undefined ? [] : [seen - this.sent.get(id)!];
    });
  }
}

interface LiveEventLike {
  type: string;
  session?: { session_id: string };
}

/** A WebSocket client that reads everything, telling `clock` of each session that starts. */
async function goodWebSocket(
  apiUrl: string,
  clock: ProbeClock,
): Promise<{ socket: WebSocket; bytes(): number; closeCode(): number | undefined }> {
  const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
  let bytes = 0;
  let closeCode: number | undefined;
  socket.on('message', (data: Buffer) => {
    bytes += data.length;
    const message = JSON.parse(data.toString('utf8')) as { type: string; events?: LiveEventLike[] };
    for (const event of message.events ?? [])
      if (event.type === 'session_started' && event.session) clock.saw('websocket', event.session.session_id);
  });
  socket.on('close', (code) => (closeCode = code));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, bytes: () => bytes, closeCode: () => closeCode };
}

/** An SSE client that reads everything, telling `clock` of each session that starts. */
async function goodEventStream(
  apiUrl: string,
  clock: ProbeClock,
): Promise<{ bytes(): number; errors(): string[]; ended(): boolean; close(): Promise<void> }> {
  const controller = new AbortController();
  const response = await fetch(`${apiUrl}/api/monitoring/stream`, { signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let ended = false;
  let pending = '';
  const errors: string[] = [];
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.length;
      pending += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (block.startsWith('event: session_started\n')) {
          const event = JSON.parse(block.slice(block.indexOf('\ndata: ') + 7)) as LiveEventLike;
          if (event.session) clock.saw('sse', event.session.session_id);
        } else if (block.startsWith('event: error\n')) errors.push(block);
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => (ended = true));
  return {
    bytes: () => bytes,
    errors: () => errors,
    ended: () => ended,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

/**
 * A raw TCP connection that asks for the live stream of `transport` and never reads: paused before
 * it connects, Node never starts reading it, so what the server sends fills the kernel's buffers and
 * then piles up in the server.
 */
async function slowClient(api: URL, transport: 'websocket' | 'sse', query: string): Promise<Socket> {
  const socket = connect({ host: api.hostname, port: Number(api.port) });
  socket.pause();
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    transport === 'websocket'
      ? `GET /ws/monitoring${query} HTTP/1.1\r\nHost: ${api.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      : `GET /api/monitoring/stream${query} HTTP/1.1\r\nHost: ${api.host}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  return socket;
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

describe('slow consumers of the live streams', () => {
  it(`drops ${SLOW_PER_TRANSPORT} WebSocket and ${SLOW_PER_TRANSPORT} SSE clients that never read, within a bound of its own baseline, while a reading client keeps up`, async () => {
    const monitor = await startMonitor(
      [
        '--port',
        '0',
        '--otlp-port',
        '0',
        '--log-level',
        'warn',
        '--live-max-buffered-bytes',
        LIVE_MAX_BUFFERED_FLAG,
        '--live-tick-ms',
        String(LIVE_TICK_MS),
        '--max-sessions',
        String(MAX_SESSIONS),
        // Every client comes from this process's one address: above the default cap per address.
        '--live-max-clients-per-address',
        String(SLOW_CLIENTS + 10),
      ],
      {},
      CHILD_NODE_ARGS,
    );
    const pid = monitor.child.pid!;
    const api = new URL(monitor.apiUrl);
    await expectEveryEndpointAnswers(monitor.apiUrl);

    const clock = new ProbeClock();
    const goodWs = await goodWebSocket(monitor.apiUrl, clock);
    const goodSse = await goodEventStream(monitor.apiUrl, clock);
    const slow: Socket[] = [];
    const slowPorts = new Set<number>();

    // Background probes while the workload runs: heap every 250 ms, a probe session every 500 ms,
    // REST every 200 ms. Each phase collects its own figures.
    let phase: 'baseline' | 'flood' = 'baseline';
    const heapMax = { baseline: 0, flood: 0 };
    const probes = { baseline: [] as string[], flood: [] as string[] };
    const rest = { baseline: [] as number[], flood: [] as number[] };
    const restFailures: string[] = [];
    const backgroundErrors: string[] = [];
    const workload: WorkloadProgress = { text: 0, refused: [] };
    /** Token text sent in the flood by the time every slow client was dropped. */
    let allDroppedAfter: number | undefined;
    let floodFrom = Infinity;
    let running = true;
    const loop = async (everyMs: number, body: () => Promise<void>): Promise<void> => {
      while (running) {
        try {
          await body();
        } catch (error) {
          backgroundErrors.push(String(error));
        }
        await sleep(everyMs);
      }
    };
    const background = Promise.all([
      loop(250, async () => {
        const { heapUsed, dropped } = await readinessOf(monitor.apiUrl);
        heapMax[phase] = Math.max(heapMax[phase], heapUsed);
        if (dropped >= SLOW_CLIENTS) allDroppedAfter ??= workload.text - floodFrom;
      }),
      loop(PROBE_EVERY_MS, async () => {
        const id = clock.newProbe();
        probes[phase].push(id);
        const status = await postTraces(monitor.otlpUrl, probeRequest(id));
        if (status !== 200) backgroundErrors.push(`probe ${id}: OTLP ${status}`);
      }),
      loop(200, async () => {
        const path = rest[phase].length % 2 === 0 ? '/api/monitoring/sessions/recent?limit=20' : '/healthz';
        const started = performance.now();
        try {
          const response = await fetch(`${monitor.apiUrl}${path}`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
          await response.arrayBuffer();
          if (response.status !== 200) restFailures.push(`${path}: ${response.status}`);
        } catch (error) {
          restFailures.push(`${path}: ${(error as Error).message}`);
        }
        rest[phase].push(performance.now() - started);
      }),
    ]);

    try {
      // 1. The baseline: the same workload, with only the well-behaved clients.
      await streamWorkload(monitor.otlpUrl, BASELINE_TEXT, workload);
      await sleep(PROBE_EVERY_MS);
      const baseline = { peakRss: residentMemoryOf(pid).peak, heapMax: heapMax.baseline, rss: residentMemoryOf(pid).current };

      // 2. The slow clients connect, half following everything, half a filter.
      for (let i = 0; i < SLOW_PER_TRANSPORT; i += 1) {
        for (const transport of ['websocket', 'sse'] as const) {
          const socket = await slowClient(api, transport, i % 2 === 0 ? '' : FILTER_QUERY);
          slow.push(socket);
          slowPorts.add(socket.localPort!);
        }
      }
      await until(
        'every slow client connected',
        async () => {
          const metric = await metricsOf(monitor.apiUrl);
          return (
            metric('llm_monitor_live_clients{transport="websocket"}') === SLOW_PER_TRANSPORT + 1 &&
            metric('llm_monitor_live_clients{transport="sse"}') === SLOW_PER_TRANSPORT + 1
          );
        },
        HANG_GUARD_MS,
        50,
      );
      expect(connectionsOfProcessTo(pid, Number(api.port), slowPorts)).toBe(SLOW_CLIENTS);
      const rssConnected = residentMemoryOf(pid).current;
      floodFrom = workload.text;
      phase = 'flood';

      // Three times what the kernel can take per connection before the server's own buffer fills:
      // its send buffer (up to tcp_wmem's maximum) and the client's receive buffer (tcp_rmem's
      // default, since the client never reads).
      const [, , sendBufferMax] = readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/).map(Number);
      const [, receiveBufferDefault] = readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8').trim().split(/\s+/).map(Number);
      const kernelPerClient = sendBufferMax! + receiveBufferDefault!;
      const floodStarted = performance.now();
      await streamWorkload(monitor.otlpUrl, 3 * kernelPerClient, workload);
      const textSent = workload.text - floodFrom;
      const floodSeconds = (performance.now() - floodStarted) / 1000;
      await sleep(PROBE_EVERY_MS);

      // Dropped streams are closed (WebSocket) or ended (SSE), and destroyed after a grace of a second
      // if the client does not take its last bytes: the server's side of every connection must go.
      let stillOpen = connectionsOfProcessTo(pid, Number(api.port), slowPorts);
      await until(
        'the server to close the slow connections',
        () => (stillOpen = connectionsOfProcessTo(pid, Number(api.port), slowPorts)) === 0,
        5000,
        100,
      ).catch(() => undefined);
      running = false;
      await background;

      expect(monitor.alive()).toBe(true);
      const metric = await metricsOf(monitor.apiUrl);
      const dropped = {
        websocket: metric('llm_monitor_live_clients_dropped_total{transport="websocket"}'),
        sse: metric('llm_monitor_live_clients_dropped_total{transport="sse"}'),
      };
      const peakRss = residentMemoryOf(pid).peak;
      const connectionCost = SLOW_CLIENTS * PER_CONNECTION;
      const held = SLOW_CLIENTS * (LIVE_MAX_BUFFERED_BYTES + TICK_CHUNK);
      const rssBound = baseline.peakRss + connectionCost + held + SLACK;
      const heapBound = baseline.heapMax + connectionCost + held + SLACK;
      // What the filtered clients alone would hold if nothing were dropped: what each was sent beyond
      // the kernel's buffers, a text of its own per client.
      const unbounded = (SLOW_PER_TRANSPORT / 2) * 2 * Math.max(0, textSent - kernelPerClient);
      const latencies = {
        baseline: [...clock.latencies('websocket', probes.baseline), ...clock.latencies('sse', probes.baseline)],
        flood: [...clock.latencies('websocket', probes.flood), ...clock.latencies('sse', probes.flood)],
      };
      const unseen = (['websocket', 'sse'] as const).flatMap((transport) =>
        [...probes.baseline, ...probes.flood].filter((id) => !clock.seen[transport].has(id)).map((id) => `${transport} ${id}`),
      );
      const ms = (values: number[]): string =>
        `p50 ${percentile(values, 50).toFixed(0)} / p95 ${percentile(values, 95).toFixed(0)} / max ${Math.max(...values).toFixed(0)} ms`;
      process.stdout.write(
        [
          `slow consumers: ${SLOW_PER_TRANSPORT} WebSocket + ${SLOW_PER_TRANSPORT} SSE clients that never read (half of each filtered), --live-max-buffered-bytes ${LIVE_MAX_BUFFERED_FLAG}`,
          `  workload: ${(TEXT_PER_REQUEST / KIB).toFixed(1)} KiB of token text per request, a tick apart; baseline ${mib(floodFrom)}, flood ${mib(textSent)} in ${floodSeconds.toFixed(1)} s (kernel buffers per connection ${mib(kernelPerClient)}); requests refused ${workload.refused.length}`,
          `  dropped: websocket ${dropped.websocket}, sse ${dropped.sse}, all ${SLOW_CLIENTS} after ${allDroppedAfter === undefined ? 'never' : mib(allDroppedAfter)} of the flood; server sockets of slow clients still open ${stillOpen}`,
          `  RSS: baseline peak ${mib(baseline.peakRss)} (now ${mib(baseline.rss)}), after connecting ${mib(rssConnected)}, peak ${mib(peakRss)}, bound ${mib(rssBound)}`,
          `  heap: baseline max ${mib(baseline.heapMax)}, flood max ${mib(heapMax.flood)}, bound ${mib(heapBound)}; unbounded, the filtered clients alone would hold ${mib(unbounded)}`,
          `  well-behaved clients: probe → session_started, baseline ${ms(latencies.baseline)}, flood ${ms(latencies.flood)}; received websocket ${mib(goodWs.bytes())}, sse ${mib(goodSse.bytes())}`,
          `  REST during the flood: ${rest.flood.length} answers, ${ms(rest.flood)} (baseline ${ms(rest.baseline)}); failures ${restFailures.length}`,
          '',
        ].join('\n'),
      );

      // The headline: memory stayed within the baseline plus what the settings allow, far below
      // what was sent.
      expect(peakRss, 'peak RSS of the receiver').toBeLessThan(rssBound);
      expect(heapMax.flood, 'largest heap of the receiver during the flood').toBeLessThan(heapBound);
      expect(
        rssBound - baseline.peakRss,
        'what the bound allows over the baseline, against what unbounded buffers would hold',
      ).toBeLessThan(unbounded);
      // The workload went in whole: the receiver did not shed it.
      expect(workload.refused).toEqual([]);
      // Every slow client was dropped, counted by transport, and its connection closed by the server.
      expect(dropped).toEqual({ websocket: SLOW_PER_TRANSPORT, sse: SLOW_PER_TRANSPORT });
      expect(stillOpen, 'server sockets of slow clients still open').toBe(0);
      // The well-behaved clients were never dropped and saw every probe promptly.
      expect(metric('llm_monitor_live_clients{transport="websocket"}')).toBe(1);
      expect(metric('llm_monitor_live_clients{transport="sse"}')).toBe(1);
      expect(goodWs.socket.readyState).toBe(WebSocket.OPEN);
      expect(goodWs.closeCode()).toBeUndefined();
      expect(goodSse.ended()).toBe(false);
      expect(goodSse.errors()).toEqual([]);
      expect(probes.flood.length).toBeGreaterThanOrEqual(Math.floor((floodSeconds * 1000) / PROBE_EVERY_MS / 2));
      expect(unseen, 'probe sessions a well-behaved client never saw').toEqual([]);
      expect(Math.max(...latencies.flood), 'slowest probe during the flood (ms)').toBeLessThan(PROMPT_MS);
      // REST answered throughout, and every probe session and heap reading went through.
      expect(restFailures).toEqual([]);
      expect(backgroundErrors).toEqual([]);
      expect(Math.max(...rest.flood), 'slowest REST answer during the flood (ms)').toBeLessThan(REST_PROMPT_MS);
      await expectEveryEndpointAnswers(monitor.apiUrl);
      expect(monitor.alive()).toBe(true);
    } catch (error) {
      // A receiver that died takes its reasons with it unless they are shown (its exit may be
      // reported a moment after the refused connection that revealed it).
      await sleep(500);
      if (!monitor.alive()) {
        const exit = monitor.child.exitCode ?? monitor.child.signalCode;
        throw new Error(`${String(error)}; llm-monitor exited (${exit}), its last output:\n${monitor.output().slice(-4000)}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      running = false;
      await background;
      for (const socket of slow) socket.destroy();
      goodWs.socket.terminate();
      await goodSse.close();
    }
  }, 90_000);
});
