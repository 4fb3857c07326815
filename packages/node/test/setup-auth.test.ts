/**
 * `setupLlmMonitor({ token })` against a receiver that requires ingest tokens, played by a plain
 * node:http server that records the headers of each export and answers 401 without the right
 * `Authorization: Bearer` — the real OTLP exporter sends to it.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { context, diag, DiagLogLevel } from '@opentelemetry/api';
import { setupLlmMonitor, UNAUTHENTICATED_WARNING, WRONG_ENDPOINT_WARNING } from '../src/index.js';
import type { SetupOptions } from '../src/index.js';

const INGEST_TOKEN = 'ingest-token-for-tests';

let diagErrors: string[];
beforeEach(() => {
  diagErrors = [];
  diag.setLogger(
    {
      error: (message) => diagErrors.push(message),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  // The tests say which of these are set; none leaks in from the machine.
  for (const name of ['LLM_MONITOR_INGEST_TOKEN', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) vi.stubEnv(name, '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  diag.disable();
  context.disable();
});

/** An OTLP receiver stand-in: records every request's headers; answers 401 unless `Authorization: Bearer <required>`. */
async function receiver(
  required: string | undefined,
): Promise<{ url: string; headers: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    headers.push(request.headers);
    request.resume();
    request.on('end', () => {
      if (required !== undefined && request.headers.authorization !== `Bearer ${required}`) {
        response
          .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="llm-monitor"' })
          .end(JSON.stringify({ code: 'LLMMON_ERR_UNAUTHENTICATED', message: 'a valid ingest token is required' }));
      } else {
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    headers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Exports `rounds` sessions, one export each, through a setup with `options`, and reports the processor's counts. */
async function exportSessions(url: string, options: SetupOptions, rounds = 1): Promise<{ exported: number; failed: number }> {
  const setup = setupLlmMonitor({
    endpoint: url,
    registerContextManager: false,
    flushOnExit: false,
    processor: { exportDelayMs: 1 },
    ...options,
  });
  for (let round = 0; round < rounds; round += 1) {
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
  }
  await setup.shutdown();
  const stats = setup.processor.stats();
  return { exported: stats.exportedSpans, failed: stats.failedExports };
}

describe('setupLlmMonitor with an ingest token', () => {
  it('sends the token as a bearer Authorization header with every export', async () => {
    const server = await receiver(INGEST_TOKEN);
    try {
      const result = await exportSessions(server.url, { token: INGEST_TOKEN }, 2);
      expect(result.failed).toBe(0);
      expect(server.headers.length).toBeGreaterThanOrEqual(2);
      for (const headers of server.headers) {
        expect(headers.authorization).toBe(`Bearer ${INGEST_TOKEN}`);
        expect(headers['content-type']).toBe('application/x-protobuf');
      }
    } finally {
      await server.close();
    }
    expect(diagErrors).toEqual([]);
  });

  it('sends no Authorization header without a token', async () => {
    const server = await receiver(undefined);
    try {
      await exportSessions(server.url, {});
      expect(server.headers.length).toBeGreaterThanOrEqual(1);
      expect(server.headers.every((headers) => headers.authorization === undefined)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('takes the token from LLM_MONITOR_INGEST_TOKEN when the option is absent, and an empty option sends none', async () => {
    vi.stubEnv('LLM_MONITOR_INGEST_TOKEN', INGEST_TOKEN);
    const server = await receiver(undefined);
    try {
      await exportSessions(server.url, {});
      expect(server.headers.at(-1)?.authorization).toBe(`Bearer ${INGEST_TOKEN}`);
      await exportSessions(server.url, { token: 'from-the-option' });
      expect(server.headers.at(-1)?.authorization).toBe('Bearer from-the-option');
      await exportSessions(server.url, { token: '' });
      expect(server.headers.at(-1)?.authorization).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it("still sends the user's OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS beside the token", async () => {
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-tenant=acme,x-both=general');
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x-both=traces');
    const server = await receiver(INGEST_TOKEN);
    try {
      const result = await exportSessions(server.url, { token: INGEST_TOKEN, headers: { 'x-option': 'yes' } });
      expect(result.failed).toBe(0);
      expect(server.headers[0]).toMatchObject({
        authorization: `Bearer ${INGEST_TOKEN}`,
        'x-tenant': 'acme',
        'x-both': 'traces',
        'x-option': 'yes',
      });
    } finally {
      await server.close();
    }
  });

  it('lets an Authorization the user set win over the token it would otherwise default to', async () => {
    const server = await receiver(undefined);
    try {
      // The environment's token yields to the user's OTLP header variable…
      vi.stubEnv('LLM_MONITOR_INGEST_TOKEN', 'from-the-environment');
      vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'Authorization=Bearer%20from-otel,x-tenant=acme');
      await exportSessions(server.url, {});
      expect(server.headers.at(-1)).toMatchObject({ authorization: 'Bearer from-otel', 'x-tenant': 'acme' });
      // …the option, code, wins over the variable (as the exporter's own `headers` do), sent once…
      await exportSessions(server.url, { token: 'from-the-option' });
      expect(server.headers.at(-1)).toMatchObject({ authorization: 'Bearer from-the-option', 'x-tenant': 'acme' });
      // …and an Authorization in `headers` wins over everything.
      await exportSessions(server.url, { token: 'from-the-option', headers: { authorization: 'Basic abc' } });
      expect(server.headers.at(-1)?.authorization).toBe('Basic abc');
    } finally {
      await server.close();
    }
  });

  it('says once, as a diag error and a process warning, that the receiver requires an ingest token, never printing it', async () => {
    const server = await receiver(INGEST_TOKEN);
    const warnings: { message: string; code: string }[] = [];
    const onWarning = (warning: Error & { code?: string }): void =>
      void warnings.push({ message: warning.message, code: warning.code ?? '' });
    process.on('warning', onWarning);
    try {
      const missing = await exportSessions(server.url, {}, 3);
      expect(missing.failed).toBeGreaterThanOrEqual(3);
      const wrong = await exportSessions(server.url, { token: 'a-wrong-token' }, 3);
      expect(wrong.failed).toBeGreaterThanOrEqual(3);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      await server.close();
    }
    // Once per setup: one for the missing token, one for the wrong one.
    const reports = diagErrors.filter((message) => message.includes('requires an ingest token'));
    expect(reports).toHaveLength(2);
    expect(reports[0]).toContain(`${server.url} answered HTTP 401`);
    expect(reports[0]).toContain('none was sent');
    expect(reports[0]).toContain('`token` option');
    expect(reports[0]).toContain('LLM_MONITOR_INGEST_TOKEN');
    expect(reports[1]).toContain('it refused the token sent');
    expect(diagErrors.join('\n')).not.toContain('a-wrong-token');
    const tokenWarnings = warnings.filter((warning) => warning.code === UNAUTHENTICATED_WARNING);
    expect(tokenWarnings.map((warning) => warning.message)).toEqual(reports);
    expect(warnings.filter((warning) => warning.code === WRONG_ENDPOINT_WARNING)).toEqual([]);
  });
});
