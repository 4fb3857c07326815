/**
 * An upload that stalls does not keep its admission slot: after `otlp_body_idle_seconds` without a
 * byte its connection is cut, and the slot serves the next exporter. Meanwhile it holds an upload
 * slot only — never a processing slot — and uploads from one address cannot take every upload slot.
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
function stalledUpload(url: URL, localAddress = '127.0.0.1'): Promise<{ closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: Number(url.port), host: url.hostname, localAddress }, () => {
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
    receiver = await buildQuietReceiver({ otlpMaxUploads: 2, otlpBodyIdleSeconds: 0.5 });
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

  it('hold no processing slot, and from one address take no more than otlp_max_uploads_per_address', async () => {
    receiver = await buildQuietReceiver({
      otlpMaxConcurrentRequests: 1,
      otlpMaxUploads: 4,
      otlpMaxUploadsPerAddress: 2,
      otlpBodyIdleSeconds: 30,
    });
    const { otlpTracesUrl } = await receiver.listen();
    const url = new URL(otlpTracesUrl);
    const body = asProtobuf(await sdkSpans());
    const post = () => fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    // Two stalled uploads from another loopback address: its share of the upload slots.
    await Promise.all([stalledUpload(url, '127.0.0.2'), stalledUpload(url, '127.0.0.2')]);
    await expect.poll(() => receiver!.admission.uploading).toBe(2);
    // The one processing slot was never taken: fetch (from 127.0.0.1) is served while 127.0.0.2
    // is at its limit.
    expect(receiver.admission.inFlight).toBe(0);
    for (let i = 0; i < 5; i += 1) expect((await post()).status).toBe(200);
    // A third upload from 127.0.0.2 is refused before its body is read.
    const refusedFromThere = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: Number(url.port), host: url.hostname, localAddress: '127.0.0.2' }, () => {
        socket.write(
          `POST /v1/traces HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n`,
        );
      });
      sockets.push(socket);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(refusedFromThere).toMatch(/^HTTP\/1\.1 429 /);
    expect(refusedFromThere).toMatch(/otlp_max_uploads_per_address/);
    expect(receiver.admission.refusals.uploadsPerAddress).toBe(1);
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
