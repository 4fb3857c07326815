import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const BODY = JSON.stringify({ resourceSpans: [] });

/** Opens a request and sends only half of its body: the receiver holds it in flight. */
function halfSentRequest(url: URL): Promise<{ socket: Socket; finish: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(BODY.slice(0, 5));
      resolve({
        socket,
        finish: () =>
          new Promise<string>((done) => {
            let response = '';
            socket.on('data', (chunk: Buffer) => (response += chunk.toString('utf8')));
            socket.on('end', () => done(response));
            socket.write(BODY.slice(5));
          }),
      });
    });
    socket.on('error', reject);
  });
}

describe('OTLP overload', () => {
  it('answers 429 with Retry-After while the bodies being received are at the limit, then takes requests again', async () => {
    receiver = await buildReceiver({
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
      storageUrl: 'memory:',
      logLevel: 'silent',
      otlpMaxUploads: 1,
      otlpMaxUploadsPerAddress: 1,
    });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    const held = await halfSentRequest(url);
    // Until the server has read the held request's headers, another request still gets in.
    let refused: Response;
    const deadline = Date.now() + 5000;
    do {
      refused = await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    } while (refused.status === 200 && Date.now() < deadline);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ code: 8, message: expect.stringMatching(/^LLMMON_ERR_OVERLOADED/) });

    expect(await held.finish()).toMatch(/^HTTP\/1\.1 200/);
    const accepted = await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    expect(accepted.status).toBe(200);
  });

  it('answers 503 with Retry-After once shutting down, and finishes what it accepted', async () => {
    receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    const held = await halfSentRequest(url);
    const idle = await openConnection(url);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = receiver.close();
    receiver = undefined;
    const late = await sendOn(idle, url);
    expect(late.status).toBe(503);
    expect(late.retryAfter).toBe('5');
    expect(late.body).toMatch(/LLMMON_ERR_SHUTTING_DOWN/);
    expect(await held.finish()).toMatch(/^HTTP\/1\.1 200/);
    await closing;
  });
});

/** A connection opened before shutdown begins (once it has, the OS refuses new ones). */
function openConnection(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Sends a whole request on `socket` and reads the answer. */
function sendOn(socket: Socket, url: URL): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve) => {
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('utf8')));
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1]);
      resolve({ status, retryAfter: /\r\nretry-after: (\d+)/i.exec(response)?.[1], body: response });
    });
    socket.write(
      `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`,
    );
  });
}

describe('admission slots', () => {
  it('come back when clients hang up before their answer', async () => {
    receiver = await buildReceiver({
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
      storageUrl: 'memory:',
      logLevel: 'silent',
      otlpMaxConcurrentRequests: 2,
    });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    // A large gzip body takes the receiver a while to inflate and decode: the clients are gone by then.
    const spans = Array.from({ length: 4000 }, (_, i) => ({
      traceId: 'ab'.repeat(16),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'x'.repeat(50),
    }));
    const body = gzipSync(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }));
    for (let i = 0; i < 6; i += 1) {
      const socket = await openConnection(url);
      socket.write(
        `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.end(body);
      socket.destroy();
    }
    let status = 0;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      status = (await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY })).status;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
  });

  it('come back when an upload stalls past the request timeout, and shutdown does not wait for it', async () => {
    receiver = await buildReceiver(
      { port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent', otlpMaxConcurrentRequests: 1 },
      { requestTimeoutMs: 300, shutdownGraceMs: 200 },
    );
    const { otlpTracesUrl } = await receiver.listen();
    const stalled = await halfSentRequest(new URL(otlpTracesUrl));
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    expect(after.status).toBe(200);
    const another = await halfSentRequest(new URL(otlpTracesUrl));
    await receiver.close();
    receiver = undefined;
    stalled.socket.destroy();
    another.socket.destroy();
  });
});
