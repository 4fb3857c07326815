/**
 * Instrumentation under failure, end to end on the application side: `setupLlmMonitor()` with its
 * default OTLP/HTTP protobuf exporter against a real HTTP server on 127.0.0.1 that misbehaves — not
 * listening, hanging, answering 429/503 (retryable) or 400 (not retryable) — and the bounded queue
 * while it hangs. Whatever the receiver does, the application's calls never wait on the network nor
 * throw, retryable answers are retried until the spans arrive, and every span handed to the processor
 * is accounted for in `processor.stats()`: exported, failed (lost with a failed export) or dropped.
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { context } from '@opentelemetry/api';
import { setupLlmMonitor } from '../src/index.js';
import type { LiveSpanProcessorOptions, LiveSpanProcessorStats, LlmMonitor, LlmMonitorSetup } from '../src/index.js';

// ---------------------------------------------------------------------------------------------------
// A minimal OTLP protobuf reader: enough of ExportTraceServiceRequest to list the spans of a request.
// ---------------------------------------------------------------------------------------------------

interface Field {
  readonly number: number;
  /** The bytes of a length-delimited field (wire type 2); empty for the others. */
  readonly bytes: Uint8Array;
}

function readVarint(buffer: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = buffer[at++];
    if (byte === undefined) throw new Error('truncated varint');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
}

function fieldsOf(buffer: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < buffer.length) {
    const [key, next] = readVarint(buffer, at);
    at = next;
    const wireType = key % 8;
    const number = Math.floor(key / 8);
    if (wireType === 0) at = readVarint(buffer, at)[1];
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const [length, start] = readVarint(buffer, at);
      fields.push({ number, bytes: buffer.subarray(start, start + length) });
      at = start + length;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  return fields;
}

const children = (buffer: Uint8Array, number: number): Uint8Array[] =>
  fieldsOf(buffer)
    .filter((field) => field.number === number)
    .map((field) => field.bytes);

interface ReceivedSpan {
  readonly spanId: string;
  readonly name: string;
}

/** ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) → ScopeSpans.spans(2) → Span.span_id(2), name(5). */
function spansOf(body: Uint8Array): ReceivedSpan[] {
  return children(body, 1)
    .flatMap((resourceSpans) => children(resourceSpans, 2))
    .flatMap((scopeSpans) => children(scopeSpans, 2))
    .map((span) => ({
      spanId: Buffer.from(children(span, 2)[0] ?? []).toString('hex'),
      name: Buffer.from(children(span, 5)[0] ?? []).toString('utf8'),
    }));
}

// ---------------------------------------------------------------------------------------------------
// A real misbehaving receiver.
// ---------------------------------------------------------------------------------------------------

/** How the server answers its `index`-th request (0-based): a status with headers, or never. */
type Answer = { readonly status: number; readonly headers?: Readonly<Record<string, string>> } | 'hang';

interface ReceivedRequest {
  /** `performance.now()` when the whole body had arrived. */
  readonly at: number;
  readonly body: Buffer;
  readonly spans: readonly ReceivedSpan[];
  readonly answer: Answer;
}

interface MisbehavingReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

const receivers: MisbehavingReceiver[] = [];

async function misbehavingReceiver(answer: (index: number) => Answer): Promise<MisbehavingReceiver> {
  const requests: ReceivedRequest[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const given = answer(requests.length);
      requests.push({ at: performance.now(), body, spans: spansOf(body), answer: given });
      if (given === 'hang') {
        hanging.push(response);
        return;
      }
      response.writeHead(given.status, { 'content-type': 'application/x-protobuf', ...given.headers }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: MisbehavingReceiver = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
      }),
  };
  receivers.push(receiver);
  return receiver;
}

/** A URL where nothing listens: a port the system just gave out, closed again. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1/traces`;
}

// ---------------------------------------------------------------------------------------------------
// The application.
// ---------------------------------------------------------------------------------------------------

const STAGES = ['initializing', 'validating_input', 'generating_prompt', 'sending_request', 'streaming_response'] as const;
const TOKENS_PER_SESSION = 20;

/**
 * One processing request as an application instruments it, synchronously from start to end (so no
 * span is still running when the processor exports, and no pending marker joins the spans).
 */
function oneSession(monitor: LlmMonitor, index: number): void {
  const session = monitor.startSession({ task: 'answer_question', model: 'gpt-4o-mini', content: `question ${index}` });
  for (const stage of STAGES) session.stage(stage);
  for (let token = 0; token < TOKENS_PER_SESSION; token += 1) session.tokens(1, 'tok');
  session.complete({ result: `answer ${index}` });
}

interface WorkloadTiming {
  /** Wall time of the whole workload, yields included, in ms. */
  readonly totalMs: number;
  /** The longest synchronous session, in ms. */
  readonly slowestSessionMs: number;
}

/** `sessions` sessions, yielding to the event loop between them as a server handling requests would. */
async function workload(monitor: LlmMonitor, sessions: number): Promise<WorkloadTiming> {
  const start = performance.now();
  let slowestSessionMs = 0;
  for (let index = 0; index < sessions; index += 1) {
    const before = performance.now();
    oneSession(monitor, index);
    slowestSessionMs = Math.max(slowestSessionMs, performance.now() - before);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { totalMs: performance.now() - start, slowestSessionMs };
}

/** Options every scenario uses: what an application would pass, plus short timeouts for the test. */
function setupAgainst(endpoint: string, processor: LiveSpanProcessorOptions): LlmMonitorSetup {
  const setup = setupLlmMonitor({ endpoint, serviceName: 'receiver-failures-test', processor });
  setups.push(setup);
  return setup;
}

/** Every span the processor was handed is exported, lost with a failed export, dropped, or still waiting. */
const accounted = (stats: LiveSpanProcessorStats): number =>
  stats.exportedSpans + stats.failedSpans + stats.droppedSpans + stats.queuedSpans;

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
}

// ---------------------------------------------------------------------------------------------------

const setups: LlmMonitorSetup[] = [];
let unhandled: unknown[];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

/** Spans one `oneSession` makes, and how long the workload takes with a healthy receiver. */
let spansPerSession: number;
let healthy: WorkloadTiming;
const TIMED_SESSIONS = 200;

/**
 * The workload of a scenario did not wait on the network: no session took long (a generous bound, far
 * under the export timeouts, backoffs and hangs the scenarios use), nor the whole run much longer than
 * with a healthy receiver.
 */
function expectUnhindered(timing: WorkloadTiming): void {
  expect(timing.slowestSessionMs).toBeLessThan(500);
  expect(timing.totalMs).toBeLessThan(healthy.totalMs * 4 + 2000);
}

beforeAll(async () => {
  // The baseline: a healthy receiver gets every span of the workload, in the same test file.
  const receiver = await misbehavingReceiver(() => ({ status: 200 }));
  const setup = setupAgainst(receiver.url, { exportTimeoutMs: 5000 });
  healthy = await workload(setup.monitor, TIMED_SESSIONS);
  await setup.shutdown();
  const received = receiver.requests.flatMap((request) => request.spans);
  expect(received.length % TIMED_SESSIONS).toBe(0);
  spansPerSession = received.length / TIMED_SESSIONS;
  // The session, its stages; span ids all distinct (the decoder reads what the exporter wrote).
  expect(spansPerSession).toBe(1 + STAGES.length);
  expect(new Set(received.map((span) => span.spanId)).size).toBe(received.length);
  expect(received.filter((span) => span.name.length === 0)).toEqual([]);
  expect(setup.processor.stats()).toMatchObject({ exportedSpans: received.length, failedExports: 0, failedSpans: 0, droppedSpans: 0 });
  context.disable();
});

beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  // A failed assertion must not leave a setup exporting into the next scenario.
  await Promise.all(setups.splice(0).map((setup) => setup.shutdown()));
  process.off('unhandledRejection', onUnhandled);
  context.disable();
});

afterAll(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

describe('the application, with a receiver that fails', () => {
  it('is not held up when nothing listens, and every span is counted as failed or dropped', async () => {
    const setup = setupAgainst(await closedPortUrl(), { exportTimeoutMs: 1000, exportDelayMs: 10 });
    const timing = await workload(setup.monitor, TIMED_SESSIONS);
    expectUnhindered(timing);
    const [, shutdownMs] = await timed(() => setup.shutdown());
    expect(shutdownMs).toBeLessThan(1000 + 3000);
    const stats = setup.processor.stats();
    expect(stats.exportedSpans).toBe(0);
    expect(stats.failedExports).toBeGreaterThanOrEqual(1);
    expect(stats.failedSpans).toBeGreaterThan(0);
    expect(stats.queuedSpans).toBe(0);
    expect(accounted(stats)).toBe(TIMED_SESSIONS * spansPerSession);
    expect(unhandled).toEqual([]);
  });

  it('is not held up by a receiver that accepts and never answers, and a shutdown ends after about one export timeout', async () => {
    const receiver = await misbehavingReceiver(() => 'hang');
    const exportTimeoutMs = 1500;
    const setup = setupAgainst(receiver.url, { exportTimeoutMs });
    const timing = await workload(setup.monitor, TIMED_SESSIONS);
    expectUnhindered(timing);
    const [, shutdownMs] = await timed(() => setup.shutdown());
    // One export timeout, and slack for a noisy machine — far from the exporter's own default of 10 s.
    expect(shutdownMs).toBeLessThan(exportTimeoutMs + 3000);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
    const stats = setup.processor.stats();
    expect(stats.exportedSpans).toBe(0);
    expect(stats.failedExports).toBeGreaterThanOrEqual(1);
    expect(stats.queuedSpans).toBe(0);
    expect(stats.failedSpans + stats.droppedSpans).toBe(TIMED_SESSIONS * spansPerSession);
    expect(unhandled).toEqual([]);
  });

  it('retries an export answered 429, honouring Retry-After, until every span has arrived', async () => {
    const retryAfter = ['2', '1'];
    const receiver = await misbehavingReceiver((index) =>
      index < retryAfter.length ? { status: 429, headers: { 'retry-after': retryAfter[index]! } } : { status: 200 },
    );
    const setup = setupAgainst(receiver.url, { exportTimeoutMs: 8000 });
    const sessions = 20;
    const timing = await workload(setup.monitor, sessions);
    expectUnhindered(timing);
    await setup.processor.forceFlush();

    const [first, second, third] = receiver.requests;
    // The same payload, sent again after the server's Retry-After (2 s is beyond the exporter's own
    // first backoff of at most 1.2 s, so only the header explains the wait).
    expect(second?.body.equals(first!.body)).toBe(true);
    expect(third?.body.equals(first!.body)).toBe(true);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(900);
    // Nothing lost: every span reached the receiver in a request it accepted.
    const accepted = receiver.requests.filter((request) => request.answer !== 'hang' && request.answer.status === 200);
    const arrived = new Set(accepted.flatMap((request) => request.spans.map((span) => span.spanId)));
    expect(arrived.size).toBe(sessions * spansPerSession);
    expect(setup.processor.stats()).toMatchObject({
      exportedSpans: sessions * spansPerSession,
      failedExports: 0,
      failedSpans: 0,
      droppedSpans: 0,
      queuedSpans: 0,
    });
    expect(unhandled).toEqual([]);
  });

  it('retries an export answered 503 after a backoff, until every span has arrived', async () => {
    const receiver = await misbehavingReceiver((index) => (index === 0 ? { status: 503 } : { status: 200 }));
    const setup = setupAgainst(receiver.url, { exportTimeoutMs: 8000 });
    const sessions = 20;
    const timing = await workload(setup.monitor, sessions);
    expectUnhindered(timing);
    await setup.processor.forceFlush();

    const [first, second] = receiver.requests;
    expect(second?.body.equals(first!.body)).toBe(true);
    // The exporter's first backoff is 1 s ± 20 %: a retry, not a storm.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(700);
    const accepted = receiver.requests.filter((request) => request.answer !== 'hang' && request.answer.status === 200);
    expect(new Set(accepted.flatMap((request) => request.spans.map((span) => span.spanId))).size).toBe(sessions * spansPerSession);
    expect(setup.processor.stats()).toMatchObject({
      exportedSpans: sessions * spansPerSession,
      failedExports: 0,
      failedSpans: 0,
      droppedSpans: 0,
      queuedSpans: 0,
    });
    expect(unhandled).toEqual([]);
  });

  it('sends an export answered 400 once, never again, and counts it as failed', async () => {
    const receiver = await misbehavingReceiver(() => ({ status: 400 }));
    const setup = setupAgainst(receiver.url, { exportTimeoutMs: 8000 });
    const rounds = 3;
    const sessionsPerRound = 10;
    for (let round = 0; round < rounds; round += 1) {
      expectUnhindered(await workload(setup.monitor, sessionsPerRound));
      // An export's result comes back only once the exporter is done retrying it.
      await setup.processor.forceFlush();
    }
    const stats = setup.processor.stats();
    expect(stats.failedExports).toBeGreaterThanOrEqual(rounds);
    // One request per export: no payload was sent twice.
    expect(receiver.requests).toHaveLength(stats.failedExports);
    expect(new Set(receiver.requests.map((request) => request.body.toString('base64'))).size).toBe(receiver.requests.length);
    expect(receiver.requests.flatMap((request) => request.spans)).toHaveLength(rounds * sessionsPerRound * spansPerSession);
    expect(stats).toMatchObject({
      exportedSpans: 0,
      failedSpans: rounds * sessionsPerRound * spansPerSession,
      droppedSpans: 0,
      queuedSpans: 0,
    });
    expect(unhandled).toEqual([]);
  });

  it('drops what does not fit the bounded queue while the receiver hangs, counting it, and memory stays flat', async () => {
    const receiver = await misbehavingReceiver(() => 'hang');
    const maxQueueSize = 100;
    const maxExportBatchSize = 50;
    const setup = setupAgainst(receiver.url, { maxQueueSize, maxExportBatchSize, exportTimeoutMs: 1500 });
    const collectGarbage = exposedGc();
    const heapUsed = (): number => {
      collectGarbage?.();
      return process.memoryUsage().heapUsed;
    };

    // Warm up (first export in flight and hanging, code compiled), then measure across many more sessions.
    await workload(setup.monitor, 500);
    const heapBefore = heapUsed();
    const sessions = 20_000;
    for (let chunk = 0; chunk < sessions / 500; chunk += 1) {
      for (let index = 0; index < 500; index += 1) oneSession(setup.monitor, index);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const heapGrowth = heapUsed() - heapBefore;

    const during = setup.processor.stats();
    expect(during.queuedSpans).toBeLessThanOrEqual(maxQueueSize);
    // Held: at most a full queue plus what went out in export requests (one batch each).
    const handedOver = (500 + sessions) * spansPerSession;
    expect(during.droppedSpans).toBeGreaterThanOrEqual(handedOver - maxQueueSize - (during.failedExports + 1) * maxExportBatchSize);
    // The 120,000 spans would hold about 1 KB each if they were kept (some 130 MB): a full queue is 100.
    expect(heapGrowth).toBeLessThan(32 * 1024 * 1024);

    await setup.shutdown();
    const stats = setup.processor.stats();
    expect(stats.exportedSpans).toBe(0);
    expect(accounted(stats)).toBe(handedOver);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
    expect(unhandled).toEqual([]);
  });
});

/** V8's `gc()`, made reachable without `--expose-gc`, so that heap readings hold live objects only. */
function exposedGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
