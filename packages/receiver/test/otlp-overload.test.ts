import { connect } from 'node:net';
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
  it('answers 429 with Retry-After while the requests in flight are at the limit, then takes requests again', async () => {
    receiver = await buildReceiver({ port: 0, otlpPort: 0, logLevel: 'silent', otlpMaxConcurrentRequests: 1 });
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
    receiver = await buildReceiver({ port: 0, otlpPort: 0, logLevel: 'silent' });
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
    socket.write(`POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`);
  });
}
