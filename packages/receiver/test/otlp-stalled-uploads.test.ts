/**
 * An upload that stalls does not keep its admission slot: after `otlp_body_idle_seconds` without a
 * byte its connection is cut, and the slot serves the next exporter.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Receiver } from '../src/index.js';
import { asProtobuf, sdkSpans } from './otlp-fixtures.js';
import { buildQuietReceiver } from './quiet-receiver.js';

let receiver: Receiver | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.length = 0;
  await receiver?.close();
  receiver = undefined;
});

/** Starts an upload and stops after a few bytes of its body; resolves with the socket and when it closes. */
function stalledUpload(url: URL): Promise<{ closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n`);
      socket.write(Buffer.alloc(10));
      resolve({ closedAt: new Promise((closed) => socket.once('close', () => closed(Date.now()))) });
    });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

describe('stalled uploads', () => {
  it('are cut after otlp_body_idle_seconds without a byte, and their slots serve exporters again', async () => {
    receiver = await buildQuietReceiver({ otlpMaxConcurrentRequests: 2, otlpBodyIdleSeconds: 0.5 });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    const body = asProtobuf(await sdkSpans());
    const post = () => fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });

    const startedAt = Date.now();
    const stalled = await Promise.all([stalledUpload(url), stalledUpload(url)]);
    // Both slots are held: an exporter is told to come back.
    expect((await post()).status).toBe(429);
    const closed = await Promise.all(stalled.map((upload) => upload.closedAt));
    for (const at of closed) expect(at - startedAt).toBeGreaterThanOrEqual(450);
    // The slots are free again.
    expect((await post()).status).toBe(200);
    expect(receiver.otlpServer.server.listening).toBe(true);
  });

  it('leaves an upload that keeps sending, however slowly, to finish', async () => {
    receiver = await buildQuietReceiver({ otlpBodyIdleSeconds: 0.5 });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    const body = asProtobuf(await sdkSpans());
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        );
        // Four pieces, 300 ms apart: slower than the idle limit in all, never idle that long.
        const piece = Math.ceil(body.length / 4);
        const sendFrom = (at: number): void => {
          if (at >= body.length) return;
          socket.write(body.subarray(at, at + piece));
          setTimeout(() => sendFrom(at + piece), 300);
        };
        sendFrom(0);
      });

      sockets.push(socket);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});
