import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { oneSpanRequest } from './otlp-fixtures.js';

/** What Prometheus 3 sends by default. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

let receiver: Receiver;
let apiUrl: string;
beforeAll(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', port: 0, otlpPort: 0, otlpGrpcPort: 0 });
  ({ apiUrl } = await receiver.listen());
  for (let i = 0; i < 20; i++) {
    const id = (i + 1).toString(16).padStart(2, '0');
    await receiver.otlpServer.inject(
      oneSpanRequest({
        traceId: id.repeat(16),
        spanId: id.repeat(8),
        name: 'chat gpt-4o-mini',
        attributes: { 'gen_ai.request.model': 'gpt-4o-mini' },
      }),
    );
  }
  await receiver.historyWriter.flush();
});
afterAll(() => receiver.close());

function decoded(encoding: unknown, body: Buffer): string {
  return (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
}

describe('compressed API answers', () => {
  it('compress a JSON answer above a kilobyte as Accept-Encoding asks', async () => {
    const plain = await receiver.apiServer.inject('/api/monitoring/sessions/recent?limit=20');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.length).toBeGreaterThan(1024);
    for (const [acceptEncoding, expected] of [
      ['gzip', 'gzip'],
      ['gzip, deflate, br, zstd', 'gzip'],
      ['br', undefined],
      ['identity', undefined],
    ] as const) {
      const response = await receiver.apiServer.inject({
        url: '/api/monitoring/sessions/recent?limit=20',
        headers: { 'accept-encoding': acceptEncoding },
      });
      expect(response.headers['content-encoding'], acceptEncoding).toBe(expected);
      if (expected) {
        expect(response.headers['vary']).toBe('accept-encoding');
        // Small answers are compressed at once and say their length; larger ones are streamed, chunked.
        if (response.headers['content-length'] !== undefined)
          expect(Number(response.headers['content-length'])).toBe(response.rawPayload.length);
        expect(response.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
      }
      expect(JSON.parse(decoded(expected, response.rawPayload))).toEqual(plain.json());
    }
  });

  it('leave small answers as they are', async () => {
    for (const url of ['/healthz', '/api', '/api/monitoring/sessions/nope']) {
      const response = await receiver.apiServer.inject({ url, headers: { 'accept-encoding': 'gzip' } });
      expect(response.rawPayload.length, url).toBeLessThan(1024);
      expect(response.headers['content-encoding'], url).toBeUndefined();
      expect(() => response.json(), url).not.toThrow();
    }
  });

  it('compress a CSV export', async () => {
    const response = await receiver.apiServer.inject({
      url: '/api/monitoring/sessions/recent?format=csv&limit=20',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(decoded('gzip', response.rawPayload).split('\r\n')[0]).toMatch(/^session_id,trace_id,status/);
  });

  it('gzip a Prometheus scrape in either format, and keep its media type', async () => {
    const openMetrics = await receiver.apiServer.inject({
      url: '/metrics',
      headers: { accept: PROMETHEUS_ACCEPT, 'accept-encoding': 'gzip' },
    });
    expect(openMetrics.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(openMetrics.headers['content-encoding']).toBe('gzip');
    const text = decoded('gzip', openMetrics.rawPayload);
    expect(text).toContain('# TYPE llm_monitor_sessions_started counter');
    expect(text.endsWith('# EOF\n')).toBe(true);
    const classic = await receiver.apiServer.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    expect(classic.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(classic.headers['content-encoding']).toBe('gzip');
    expect(decoded('gzip', classic.rawPayload)).toContain('# TYPE llm_monitor_sessions_started_total counter');
    // A scraper that asks for no compression gets none.
    expect(
      (await receiver.apiServer.inject({ url: '/metrics', headers: { 'accept-encoding': 'identity' } })).headers['content-encoding'],
    ).toBeUndefined();
  });
});

describe('live streams under compression', () => {
  it('send SSE events uncompressed, each as it is written, even to a client that takes gzip and br', async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpRequest(
        `${apiUrl}/api/monitoring/stream`,
        { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, deflate, br' } },
        resolve,
      );
      request.on('error', reject);
      request.end();
    });
    try {
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(response.headers['content-encoding']).toBeUndefined();
      // The snapshot arrives while the stream is open: nothing holds it back to fill a block.
      const first = await new Promise<string>((resolve) => response.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
      expect(first).toContain('event: snapshot');
      expect(response.complete).toBe(false);
    } finally {
      response.destroy();
    }
  });

  it('open the WebSocket for a client that offers compressed encodings', async () => {
    const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    try {
      const message = await new Promise<{ type: string }>((resolve, reject) => {
        socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as { type: string }));
        socket.once('error', reject);
      });
      expect(message.type).toBe('snapshot');
    } finally {
      socket.close();
    }
  });
});
