/** The OTLP endpoint's error answers over a real socket, as an exporter sees them. */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '@llm-monitor/receiver';
import type { Receiver } from '@llm-monitor/receiver';

let receiver: Receiver;
let url: string;

beforeAll(async () => {
  receiver = await buildReceiver({
    port: 0,
    otlpPort: 0,
    otlpGrpcPort: 0,
    storageUrl: 'memory:',
    logLevel: 'silent',
    otlpMaxBodyBytes: 1024,
  });
  ({ otlpTracesUrl: url } = await receiver.listen());
});

afterAll(async () => {
  await receiver.close();
});

async function post(body: Buffer | string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, headers: response.headers, json: (await response.json()) as { code: number; message: string } };
}

describe('OTLP errors over a socket', () => {
  it.each([
    ['unknown content type', 'hi', { 'content-type': 'text/plain' }, 415, 'LLMMON_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['unknown encoding', '{}', { 'content-type': 'application/json', 'content-encoding': 'br' }, 400, 'LLMMON_ERR_UNSUPPORTED_ENCODING'],
    ['malformed JSON', '{"resourceSpans":', { 'content-type': 'application/json' }, 400, 'LLMMON_ERR_MALFORMED_OTLP'],
    ['malformed gzip', 'not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 400, 'LLMMON_ERR_MALFORMED_OTLP'],
    ['too large', 'x'.repeat(2048), { 'content-type': 'application/json' }, 413, 'LLMMON_ERR_PAYLOAD_TOO_LARGE'],
    [
      'too large once inflated',
      gzipSync('{"resourceSpans":[' + ' '.repeat(4096) + ']}'),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      413,
      'LLMMON_ERR_PAYLOAD_TOO_LARGE',
    ],
  ] as const)('%s: %i with a coded google.rpc.Status', async (_name, body, headers, status, code) => {
    const response = await post(body as Buffer | string, headers as Record<string, string>);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.json.message.startsWith(code)).toBe(true);
    expect(typeof response.json.code).toBe('number');
  });

  it('keeps taking good requests after bad ones', async () => {
    const good = await post('{"resourceSpans":[]}', { 'content-type': 'application/json' });
    expect(good.status).toBe(200);
  });
});
