/**
 * An exporter whose upload is refused before its body is read must see the refusal, not a reset
 * connection: a 413, 401 or 415 makes it give up a request it would otherwise retry for ever. The
 * receiver reads and discards the rest of such a body after answering (a lingering close), for a
 * bounded time, and cuts an upload that is still going then. The receiver runs as its own process:
 * in one event loop with the client, the reset never overtakes the answer.
 */
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FREE_PORTS_QUIET, startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';

stopMonitorsAfterEach();

const MAX_BODY_BYTES = 100_000;
/** Ten times the limit: the client is still writing when the answer comes. */
const OVERSIZED = Buffer.alloc(10 * MAX_BODY_BYTES, 0x20);
/** Enough repeats that a reset racing the answer shows (before the linger: 44% of them). */
const REPEATS = 60;

interface Outcome {
  readonly status: number | string;
  readonly message: string;
}

async function post(url: string, init: RequestInit): Promise<Outcome> {
  try {
    const response = await fetch(url, { method: 'POST', ...init, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') === true;
    return { status: response.status, message: json ? ((JSON.parse(text) as { message?: string }).message ?? '') : '' };
  } catch (error) {
    return { status: String((error as Error).cause ?? error), message: '' };
  }
}

/** Statuses of `outcomes`, counted. */
function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of outcomes) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('uploads refused before their body is read', () => {
  it('answer 413 to every oversized body, with or without a length, and keep the connection usable', async () => {
    const { otlpUrl: otlpTracesUrl } = await startMonitor([...FREE_PORTS_QUIET, '--otlp-max-body-bytes', String(MAX_BODY_BYTES)]);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < REPEATS; i += 1) {
      outcomes.push(await post(otlpTracesUrl, { headers: { 'content-type': 'application/json' }, body: OVERSIZED }));
    }
    expect(tally(outcomes)).toEqual({ 413: REPEATS });
    expect(outcomes[0]!.message).toMatch(/^LLMMON_ERR_PAYLOAD_TOO_LARGE: /);
    // Chunked, so the size shows only while reading.
    const chunked = await post(otlpTracesUrl, {
      headers: { 'content-type': 'application/json' },
      body: Readable.toWeb(Readable.from([OVERSIZED.subarray(0, 60_000), OVERSIZED.subarray(0, 60_000), OVERSIZED])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // The next request is served as usual.
    expect((await post(otlpTracesUrl, { headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
  });

  it('answer 401 to a wrong token and 415 to an unknown type, whatever the size of the body', async () => {
    const { otlpUrl: otlpTracesUrl } = await startMonitor([
      ...FREE_PORTS_QUIET,
      '--otlp-max-body-bytes',
      String(10 * MAX_BODY_BYTES),
      '--ingest-tokens',
      'right-token',
    ]);
    const unauthorised: Outcome[] = [];
    const unsupported: Outcome[] = [];
    for (let i = 0; i < REPEATS / 2; i += 1) {
      unauthorised.push(
        await post(otlpTracesUrl, {
          headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer wrong' },
          body: OVERSIZED,
        }),
      );
      unsupported.push(
        await post(otlpTracesUrl, { headers: { 'content-type': 'text/plain', authorization: 'Bearer right-token' }, body: OVERSIZED }),
      );
    }
    expect(tally(unauthorised)).toEqual({ 401: REPEATS / 2 });
    expect(tally(unsupported)).toEqual({ 415: REPEATS / 2 });
    expect(unsupported[0]!.message).toMatch(/^LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE: /);
  });

  it('cut an upload still going two seconds after its answer', async () => {
    const { otlpUrl: otlpTracesUrl } = await startMonitor([
      ...FREE_PORTS_QUIET,
      '--otlp-max-body-bytes',
      String(MAX_BODY_BYTES),
      '--otlp-body-idle-seconds',
      '30',
    ]);
    const url = new URL(otlpTracesUrl);
    const socket = connect({ port: Number(url.port), host: url.hostname });
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`);
    // A thousand bytes every 50 ms: never idle, never done.
    const trickle = setInterval(() => socket.write(Buffer.alloc(1000, 0x20)), 50);
    const startedAt = Date.now();
    try {
      const closedAfterMs = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - startedAt)));
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(closedAfterMs).toBeGreaterThanOrEqual(1500);
      expect(closedAfterMs).toBeLessThan(10_000);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});
