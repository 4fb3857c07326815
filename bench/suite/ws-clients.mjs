/**
 * The live clients of the fan-out scenario (bench/suite/fanout.bench.ts), in a process of their own so
 * that their CPU is not the receiver's: `clients` WebSocket connections to `url`, each noting when
 * (on the machine's clock, `performance.timeOrigin + performance.now()`) it received each session's
 * `stage_changed` event.
 *
 *   node bench/suite/ws-clients.mjs '{"url":"ws://127.0.0.1:8000/ws/monitoring","clients":1000}'
 *
 * Over IPC it tells its parent `{ type: 'ready', opened }` once every connection is open; the parent
 * answers `{ type: 'starts', starts }` (the application's `[sessionId, stage, startedAtMs]`) when the
 * load is over, and it replies `{ type: 'done', ... }` with the delivery latencies over all clients
 * (percentiles, counts), then exits.
 *
 * The clients measure, they are no browsers: every client of a tick gets the same batch (the receiver
 * serialises it once), so a message is parsed once for all of them and only compared by the
 * others — else parsing 1,000 copies would make this process the bottleneck and its lag the figure.
 * Each message is timed before anything else is done with it.
 *
 * Plain JavaScript: a child process started by vitest cannot load TypeScript.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';

const options = { clients: 1, ...JSON.parse(process.argv[2] ?? '{}') };
const now = () => performance.timeOrigin + performance.now();

/** Index of every `sessionId stage` seen, shared by all clients. */
const keyIndex = new Map();
/**
 * Parsed batches: the key indices of their stage changes, found by a fingerprint of the bytes (length
 * and a few words) and then compared whole — cheaper than decoding and hashing every copy's text.
 */
const parsed = new Map();
const PARSED_KEPT = 500;

function fingerprintOf(bytes) {
  const n = bytes.length;
  if (n < 16) return `${n}`;
  return `${n}:${bytes.readUInt32LE(n - 8)}:${bytes.readUInt32LE(n >> 1)}:${bytes.readUInt32LE(n >> 2)}:${bytes.readUInt32LE((3 * n) >> 2)}`;
}

function stageKeysOf(bytes) {
  const fingerprint = fingerprintOf(bytes);
  const candidates = parsed.get(fingerprint);
  const known = candidates?.find((candidate) => candidate.bytes.equals(bytes));
  if (known !== undefined) return known.keys;
  const message = JSON.parse(bytes.toString('utf8'));
  const keys = [];
  if (message.type === 'batch') {
    for (const event of message.events ?? []) {
      if (event.type !== 'stage_changed') continue;
      const key = `${event.session_id} ${event.stage}`;
      let index = keyIndex.get(key);
      if (index === undefined) {
        index = keyIndex.size;
        keyIndex.set(key, index);
      }
      keys.push(index);
    }
  }
  if (parsed.size >= PARSED_KEPT) parsed.clear();
  if (candidates) candidates.push({ bytes, keys });
  else parsed.set(fingerprint, [{ bytes, keys }]);
  return keys;
}

/** One client: receipt times by key index (0 = not received). */
function client() {
  return new Promise((resolve) => {
    const state = { times: new Float64Array(1024), messages: 0, closed: undefined, opened: false };
    const socket = new WebSocket(options.url, { perMessageDeflate: false });
    state.socket = socket;
    socket.on('message', (data) => {
      const at = now();
      state.messages += 1;
      for (const index of stageKeysOf(data)) {
        if (index >= state.times.length) {
          const grown = new Float64Array(Math.max(state.times.length * 2, index + 1));
          grown.set(state.times);
          state.times = grown;
        }
        if (state.times[index] === 0) state.times[index] = at;
      }
    });
    socket.once('open', () => {
      state.opened = true;
      resolve(state);
    });
    socket.once('error', (error) => {
      state.closed ??= `error ${error.message}`;
      resolve(state);
    });
    socket.once('close', (code, reason) => {
      state.closed ??= `closed ${code} ${reason.toString('utf8')}`;
    });
  });
}

const clients = [];
// Open in groups, as many browsers arriving would, without a thousand handshakes at one instant.
for (let opened = 0; opened < options.clients; opened += 50) {
  clients.push(...(await Promise.all(Array.from({ length: Math.min(50, options.clients - opened) }, client))));
}
// How late this process's own event loop ran: a receipt is timed only when the loop gets to it.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
process.send({ type: 'ready', opened: clients.filter((one) => one.opened && one.closed === undefined).length });

process.on('message', (message) => {
  if (message.type !== 'starts') return;
  loopDelay.disable();
  const starts = message.starts;
  const latencies = new Float64Array(starts.length * clients.length);
  let count = 0;
  let missed = 0;
  for (const state of clients) {
    for (const [sessionId, stage, startedAt] of starts) {
      const index = keyIndex.get(`${sessionId} ${stage}`);
      const at = index === undefined || index >= state.times.length ? 0 : state.times[index];
      if (at === 0) missed += 1;
      else latencies[count++] = at - startedAt;
    }
  }
  const sorted = latencies.subarray(0, count).sort();
  const percentile = (p) => (count === 0 ? Number.NaN : sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))]);
  const closedEarly = clients.filter((state) => state.closed !== undefined).map((state) => state.closed);
  for (const state of clients) state.socket.terminate();
  process.send(
    {
      type: 'done',
      clients: clients.length,
      latencies: count,
      missed,
      p50: percentile(50),
      p95: percentile(95),
      p99: percentile(99),
      max: count === 0 ? Number.NaN : sorted[count - 1],
      messages: clients.reduce((sum, state) => sum + state.messages, 0),
      closedEarly: closedEarly.slice(0, 5),
      closedEarlyCount: closedEarly.length,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    },
    () => process.exit(0),
  );
});
