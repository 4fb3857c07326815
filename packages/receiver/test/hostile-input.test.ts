/**
 * The receiver's walls and honest refusals, over real sockets on port 0: a store listener, the sweep
 * and a live client that throw are caught, logged with a code and counted while the receiver keeps
 * serving; client errors raised by fastify or its plugins are coded 4xx, never 500; spans refused
 * for a full trace are reported and counted; `/readyz` says how full memory is; a new live client
 * and the active list cost a bounded amount however many sessions run.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver, ReceiverConfig } from '../src/index.js';
import { encodeTraceRequest, nanos, spanIdOf, traceIdOf, wire } from './otlp-wire.js';
import type { WireSpan } from './otlp-wire.js';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** Log lines the receiver wrote, parsed. */
function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

async function started(
  config: Partial<ReceiverConfig> = {},
  logger?: pino.Logger,
): Promise<{ receiver: Receiver; apiUrl: string; otlpTracesUrl: string }> {
  receiver = await buildReceiver(
    { port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent', ...config },
    logger ? { logger } : {},
  );
  return { receiver, ...(await receiver.listen()) };
}

const NOW = Date.now();

/** `count` running GenAI sessions, one span each, with a long prompt preview. */
function runningSessions(count: number, from = 0): Buffer {
  const spans: WireSpan[] = Array.from({ length: count }, (_, i) => ({
    traceId: traceIdOf(from + i),
    spanId: spanIdOf(from + i),
    name: 'chat',
    startTimeUnixNano: nanos(NOW + i),
    endTimeUnixNano: 0n,
    attributes: wire.attributes({ 'gen_ai.request.model': wire.string('m'), 'llm_monitor.content_preview': wire.string('p'.repeat(5000)) }),
  }));
  return encodeTraceRequest([{ resource: [], spans }]);
}

async function post(url: string, body: Buffer): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
}

async function metric(apiUrl: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * Sends raw bytes on a new connection; resolves with everything the server answered. The request
 * says `Connection: close`, so the server ends the exchange (a half-close from here could make it
 * drop the request unanswered).
 */
function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('walls around listeners and timers', () => {
  it('a store listener that throws is logged with its code and counted; ingest still succeeds and every endpoint answers', async () => {
    const { logger, lines } = capturedLogger();
    const { receiver: running, apiUrl, otlpTracesUrl } = await started({}, logger);
    running.pipeline.store.subscribe(() => {
      throw new Error('listener broke');
    }, 'test_listener');
    expect((await post(otlpTracesUrl, runningSessions(3))).status).toBe(200);
    expect((await post(otlpTracesUrl, runningSessions(3, 3))).status).toBe(200);
    for (const path of ['/api/monitoring/sessions/active', '/api/monitoring/statistics', '/api/monitoring/sessions/recent', '/readyz']) {
      expect((await fetch(`${apiUrl}${path}`)).status, path).toBe(200);
    }
    expect(running.pipeline.store.size).toBe(6);
    expect(await metric(apiUrl, /^llm_monitor_receiver_internal_errors_total\{component="test_listener"\} (\d+)$/m)).toBe(6);
    // Logged once (more would flood the log), with the code and the component.
    const logged = lines.filter((line) => line.code === 'LLMMON_ERR_LISTENER_FAILED');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ component: 'test_listener', err: { message: 'listener broke' } });
  });

  it('a sweep that throws is counted on every tick and the timer keeps going', async () => {
    const { receiver: running, apiUrl } = await started({ sweepIntervalSeconds: 0.05 });
    running.pipeline.sweep = () => {
      throw new Error('sweep broke');
    };
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await metric(apiUrl, /^llm_monitor_receiver_internal_errors_total\{component="sweep"\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
  });

  it('a live client whose delivery throws keeps the batch from no one else', async () => {
    const { receiver: running, apiUrl, otlpTracesUrl } = await started({ liveTickMs: 10 });
    running.hub.connect({
      subscription: { active: true },
      deliver: () => {
        throw new Error('client broke');
      },
      close: () => undefined,
    });
    const messages: string[] = [];
    const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
    socket.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
    await new Promise((resolve) => socket.once('open', resolve));
    await post(otlpTracesUrl, runningSessions(2));
    for (let i = 0; i < 100 && !messages.some((message) => message.includes('session_started')); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    socket.close();
    expect(messages.some((message) => message.includes('session_started'))).toBe(true);
    expect(await metric(apiUrl, /^llm_monitor_receiver_internal_errors_total\{component="live_deliver"\} (\d+)$/m)).toBeGreaterThanOrEqual(
      1,
    );
  });
});

describe('honest refusals', () => {
  it('answers client errors raised by fastify or a plugin with a coded 4xx, never 500', async () => {
    const { logger, lines } = capturedLogger();
    const { apiUrl, otlpTracesUrl } = await started({}, logger);
    const invalidJson = await fetch(`${apiUrl}/api/monitoring/statistics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{bad',
    });
    expect(invalidJson.status).toBe(400);
    expect(await invalidJson.json()).toMatchObject({ statusCode: 400, code: 'LLMMON_ERR_BAD_REQUEST' });
    const tooLarge = await fetch(`${apiUrl}/api/monitoring/statistics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `"${'x'.repeat(2 * 1024 * 1024)}"`,
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ code: 'LLMMON_ERR_PAYLOAD_TOO_LARGE' });
    // Over a raw socket, so nothing normalises the path on the way.
    for (const path of [
      '/docs/static/../../package.json',
      '/docs/static/%2e%2e/%2e%2e/package.json',
      '/docs/static/..%2f..%2fpackage.json',
      '/docs/static/%00',
    ]) {
      const answer = await rawRequest(apiUrl, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]);
      expect(status >= 400 && status < 500, `${path}: ${answer.slice(0, 200)}`).toBe(true);
      expect(answer, path).toMatch(/"code":"LLMMON_ERR_[A-Z_]+"/);
    }
    // A request the HTTP parser cannot read gets a coded JSON answer too, then the connection closes.
    const garbage = await rawRequest(apiUrl, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    expect(garbage).toContain('"code":"LLMMON_ERR_BAD_REQUEST"');
    const otlpGarbage = await rawRequest(otlpTracesUrl, 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n');
    expect(otlpGarbage).toMatch(/^HTTP\/1\.1 400/);
    expect(otlpGarbage).toContain('"message":"LLMMON_ERR_MALFORMED_OTLP: malformed HTTP request');
    // None of these is the receiver's fault: nothing logged as an error.
    expect(lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('reports spans refused for a full trace as rejected, and counts them', async () => {
    const { apiUrl, otlpTracesUrl } = await started({ maxSpansPerTrace: 10 });
    const spans = Array.from({ length: 25 }, (_, i) => ({
      traceId: 'ab'.repeat(16),
      spanId: spanIdOf(i),
      parentSpanId: 'feedfacefeedface',
      name: 'chat',
      startTimeUnixNano: nanos(NOW),
      endTimeUnixNano: nanos(NOW + 1),
      attributes: wire.attributes({ 'gen_ai.request.model': wire.string('m') }),
    }));
    const request = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: spans.map((span) => ({
                ...span,
                startTimeUnixNano: String(span.startTimeUnixNano),
                endTimeUnixNano: String(span.endTimeUnixNano),
                attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }],
              })),
            },
          ],
        },
      ],
    };
    const answer = await fetch(otlpTracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      partialSuccess: { rejectedSpans: '15', errorMessage: 'rejected 15 span(s): trace already holds max_spans_per_trace spans' },
    });
    expect(await metric(apiUrl, /^llm_monitor_receiver_spans_refused_total\{reason="trace_full"\} (\d+)$/m)).toBe(15);
    const session = (await (await fetch(`${apiUrl}/api/monitoring/sessions/${'ab'.repeat(16)}`)).json()) as { llm_calls: unknown[] };
    expect(session.llm_calls).toHaveLength(10);
  });
});

describe('bounded answers', () => {
  it('/readyz reports memory, and says degraded as orphan traces near their bound', async () => {
    const { apiUrl, otlpTracesUrl } = await started({ maxOrphanTraces: 100 });
    const ready = (await (await fetch(`${apiUrl}/readyz`)).json()) as {
      status: string;
      components: Record<string, { status: string; details: Record<string, number> }>;
    };
    expect(ready.components.memory!.status).toBe('healthy');
    expect(ready.components.memory!.details).toMatchObject({
      rss_bytes: expect.any(Number),
      heap_limit_bytes: expect.any(Number),
      held_bytes: expect.any(Number),
      orphan_traces: 0,
      max_orphan_traces: 100,
    });
    // Plain HTTP root spans: traces that are no session.
    const plain = Array.from({ length: 95 }, (_, i) => ({
      traceId: traceIdOf(1000 + i),
      spanId: spanIdOf(i),
      name: 'GET /',
      kind: 2,
      startTimeUnixNano: nanos(NOW),
      endTimeUnixNano: nanos(NOW + 1),
      attributes: wire.attributes({ 'http.route': wire.string('/') }),
    }));
    expect((await post(otlpTracesUrl, encodeTraceRequest([{ resource: [], spans: plain }]))).status).toBe(200);
    const filling = (await (await fetch(`${apiUrl}/readyz`)).json()) as typeof ready;
    expect(filling.status).toBe('degraded');
    expect(filling.components.memory).toMatchObject({ status: 'degraded', details: { orphan_traces: 95 } });
  });

  it('a new live client gets at most 1,000 running sessions as short summaries, and is told how many run', async () => {
    const { apiUrl, otlpTracesUrl } = await started();
    for (let from = 0; from < 1500; from += 500) expect((await post(otlpTracesUrl, runningSessions(500, from))).status).toBe(200);
    const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
    const snapshot = await new Promise<{ active_sessions: { content_preview: string }[]; active_total: number }>((resolve) =>
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as never)),
    );
    socket.close();
    expect(snapshot.active_total).toBe(1500);
    expect(snapshot.active_sessions).toHaveLength(1000);
    expect(Math.max(...snapshot.active_sessions.map((summary) => summary.content_preview.length))).toBeLessThanOrEqual(500);

    const active = await fetch(`${apiUrl}/api/monitoring/sessions/active?limit=10`);
    expect(active.headers.get('x-total-count')).toBe('1500');
    expect(await active.json()).toHaveLength(10);
    const all = await fetch(`${apiUrl}/api/monitoring/sessions/active`);
    expect(((await all.json()) as unknown[]).length).toBe(1000);
  });
});
