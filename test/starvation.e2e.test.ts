/**
 * Starvation, against a real `llm-monitor` process with its default limits: from two other loopback
 * addresses (127.0.0.2 and 127.0.0.3), 40 connections each start OTLP uploads and stall, and every
 * one that is cut or refused is reopened at once — the attack that once made every one of 733
 * exporter requests get 429 for 75 s. Meanwhile a real OpenTelemetry exporter (OTLP/HTTP protobuf,
 * from 127.0.0.1) sends sessions, and plain requests are timed. Every exporter request must be
 * accepted at once: stalled bodies hold upload slots only (at most `otlp_max_uploads_per_address`
 * from one address), never the processing slots, and are cut after `otlp_body_idle_seconds`.
 *
 * While under attack, a browser-borne attack is refused too: a WebSocket upgrade from another
 * origin, and a request naming a foreign Host (DNS rebinding).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { FREE_PORTS_QUIET, startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';

stopMonitorsAfterEach();

/** An export's outcome, as @opentelemetry/core spells it (code 0: success). */
interface ExportResult {
  code: number;
  error?: Error;
}
const SUCCESS = 0;

const ATTACK_SECONDS = 14;
const ATTACKERS = ['127.0.0.2', '127.0.0.3'];
const CONNECTIONS_PER_ATTACKER = 40;

const sockets = new Set<Socket>();
afterAll(() => {
  for (const socket of sockets) socket.destroy();
});

interface AttackFigures {
  opened: number;
  refused: number;
  cutAfterIdle: number;
}

/** Keeps `connections` stalled uploads open from `localAddress` until `until`, reopening each as soon as it ends. */
async function stallFrom(url: URL, localAddress: string, connections: number, until: number, figures: AttackFigures): Promise<void> {
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const openedAt = Date.now();
      let answer = '';
      const socket = connect({ port: Number(url.port), host: url.hostname, localAddress }, () => {
        figures.opened += 1;
        socket.write(
          `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n`,
        );
        socket.write(Buffer.alloc(10));
      });
      sockets.add(socket);
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        if (answer.startsWith('HTTP/1.1 429')) figures.refused += 1;
        else if (Date.now() - openedAt >= 4000) figures.cutAfterIdle += 1;
        resolve();
      });
      // The attack ends: its connections go.
      setTimeout(() => socket.destroy(), Math.max(0, until - Date.now())).unref();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await one();
        // Reopened at once, but not in a busy loop: the test's two cores also run the receiver.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }),
  );
}

/** The official exporter, with every export's result recorded. */
class RecordingExporter implements SpanExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: OTLPTraceExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** Sends a request with another Origin or Host; resolves with the status line. */
function statusOf(url: URL, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, path, headers }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('starvation by stalled uploads', () => {
  it('keeps every exporter request accepted while other addresses hold stalled uploads at their limit', async () => {
    const monitor = await startMonitor([...FREE_PORTS_QUIET]);
    const otlpUrl = new URL(monitor.otlpUrl);
    const until = Date.now() + ATTACK_SECONDS * 1000;
    const figures: AttackFigures = { opened: 0, refused: 0, cutAfterIdle: 0 };
    const attack = Promise.all(ATTACKERS.map((address) => stallFrom(otlpUrl, address, CONNECTIONS_PER_ATTACKER, until, figures)));
    // Let the attack take every upload slot it can.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // The real exporter: one session every 100 ms, each exported at once (SimpleSpanProcessor).
    const exporter = new RecordingExporter(new OTLPTraceExporter({ url: monitor.otlpUrl, timeoutMillis: 10_000 }));
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const llm = createLlmMonitor({ tracerProvider: provider });
    const sessionIds: string[] = [];
    const plainStatuses: number[] = [];
    let browserRefusals: number[] = [];
    for (let i = 0; Date.now() < until - 2000; i += 1) {
      const session = llm.startSession({ task: 'under attack', model: 'gpt-4o-mini' });
      sessionIds.push(session.sessionId);
      session.stage('sending_request');
      session.complete({ inputTokens: 10, outputTokens: 10 });
      // And a plain request, as any exporter sends it.
      const plain = await fetch(monitor.otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [] }),
      });
      plainStatuses.push(plain.status);
      if (i === 10) {
        const api = new URL(monitor.apiUrl);
        browserRefusals = await Promise.all([
          statusOf(api, '/ws/monitoring', {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            origin: 'http://evil.example',
          }),
          statusOf(api, '/api/monitoring/sessions/active', { host: `evil.example:${api.port}` }),
        ]);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await provider.forceFlush();
    await attack;
    await provider.shutdown();

    const metrics = await (await fetch(`${monitor.apiUrl}/metrics`)).text();
    const refusedBy = (limit: string): number =>
      Number(new RegExp(`^llm_monitor_receiver_ingest_admission_refused_total\\{limit="${limit}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    console.log(
      `starvation: ${figures.opened} stalled uploads opened from ${ATTACKERS.join(' and ')} (${figures.refused} refused at the per-address limit, ${figures.cutAfterIdle} cut after idling); ` +
        `exporter: ${exporter.results.length} exports, ${exporter.results.filter((r) => r.code === SUCCESS).length} succeeded; plain: ${plainStatuses.length} requests, ${plainStatuses.filter((s) => s === 200).length} accepted; ` +
        `refused by limit: uploads ${refusedBy('uploads')}, per address ${refusedBy('uploads_per_address')}, processing ${refusedBy('processing')}`,
    );

    // The attack ran: at its limit from each address, refused beyond it, cut when idle.
    expect(figures.refused).toBeGreaterThan(0);
    expect(figures.cutAfterIdle).toBeGreaterThan(0);
    // (A few refusals of the last moment were not read before the attack's sockets went.)
    expect(refusedBy('uploads_per_address')).toBeGreaterThanOrEqual(figures.refused);
    // Nobody else was refused: not one exporter request had to wait for a slot.
    expect(refusedBy('uploads')).toBe(0);
    expect(refusedBy('processing')).toBe(0);
    expect(plainStatuses.length).toBeGreaterThan(50);
    expect(plainStatuses.every((status) => status === 200)).toBe(true);
    expect(exporter.results.length).toBeGreaterThan(50);
    expect(exporter.results.every((result) => result.code === SUCCESS)).toBe(true);
    // Every session the exporter sent is there.
    const active = await fetch(`${monitor.apiUrl}/api/monitoring/sessions/recent?limit=1000`);
    const stored = new Set(((await active.json()) as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id));
    expect(sessionIds.filter((id) => !stored.has(id))).toEqual([]);
    // Browsers turned against it were refused.
    expect(browserRefusals).toEqual([403, 403]);
    expect(monitor.alive()).toBe(true);
  }, 60_000);
});
