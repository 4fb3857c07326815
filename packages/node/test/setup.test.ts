import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, diag, DiagLogLevel, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { diagnoseEndpoint, setupLlmMonitor, WRONG_ENDPOINT_WARNING } from '../src/index.js';

let diagErrors: string[];
let diagWarnings: string[];
beforeEach(() => {
  diagErrors = [];
  diagWarnings = [];
  diag.setLogger(
    {
      error: (message) => diagErrors.push(message),
      warn: (message) => diagWarnings.push(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
});
afterEach(() => {
  diag.disable();
  context.disable();
});

/** A real HTTP server answering every request with `status` and a JSON error, like the receiver's API port. */
async function answering(status: number, message: string): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests += 1;
    request.resume();
    request.on('end', () =>
      response
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 'LLMMON_ERR_ROUTE_NOT_FOUND', message })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('setupLlmMonitor', () => {
  it('never throws on an unusable endpoint: spans are dropped and counted', async () => {
    const setup = setupLlmMonitor({ endpoint: 'not a url', registerContextManager: false, flushOnExit: false });
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
    expect(setup.processor.stats().failedExports).toBe(1);
    expect(diagErrors).toHaveLength(1);
    await setup.shutdown();
  });

  it('makes spans of the application nest under chain steps without any context setup of its own', async () => {
    const exported: string[] = [];
    const exporter: SpanExporter = {
      export: (spans, done) => (exported.push(...spans.map((s) => s.name)), done({ code: 0 })),
      shutdown: async () => undefined,
    };
    const setup = setupLlmMonitor({ exporter, flushOnExit: false });
    const session = setup.monitor.startSession({ task: 't' });
    let parentSeen: string | undefined;
    await session.chainStep('outer', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      parentSeen = trace.getActiveSpan()?.spanContext().spanId;
    });
    session.complete();
    await setup.shutdown();
    expect(parentSeen).toBeDefined();
    expect(exported).toContain('llm_monitor.chain_step outer');
  });

  it('ends a shutdown with the receiver hanging after one export timeout, counting what it drops', async () => {
    const hanging: SpanExporter = { export: () => undefined, shutdown: async () => undefined };
    const setup = setupLlmMonitor({
      exporter: hanging,
      processor: { exportTimeoutMs: 100, maxExportBatchSize: 10 },
      flushOnExit: false,
      registerContextManager: false,
    });
    for (let i = 0; i < 50; i += 1) setup.monitor.startSession({ task: 't' }).complete();
    await setup.shutdown();
    const stats = setup.processor.stats();
    expect(stats.failedExports).toBeGreaterThanOrEqual(1);
    expect(stats.droppedSpans).toBeGreaterThan(0);
    expect(stats.queuedSpans).toBe(0);
  });

  it('says once, as a diag error and a process warning, that an endpoint answering 404 is not the OTLP port', async () => {
    const apiPort = await answering(
      404,
      'no route for POST /v1/traces: this is the API port; send OTLP to http://127.0.0.1:4318/v1/traces',
    );
    const warnings: { message: string; code: string }[] = [];
    const onWarning = (warning: Error & { code?: string }): void =>
      void warnings.push({ message: warning.message, code: warning.code ?? '' });
    process.on('warning', onWarning);
    try {
      const setup = setupLlmMonitor({
        endpoint: apiPort.url,
        registerContextManager: false,
        flushOnExit: false,
        processor: { exportDelayMs: 1 },
      });
      for (let round = 0; round < 3; round += 1) {
        setup.monitor.startSession({ task: 't' }).complete();
        await setup.processor.forceFlush();
      }
      await setup.shutdown();
      await new Promise((resolve) => setImmediate(resolve));
      expect(apiPort.requests()).toBeGreaterThanOrEqual(3);
      expect(setup.processor.stats().failedExports).toBeGreaterThanOrEqual(3);
    } finally {
      process.off('warning', onWarning);
      await apiPort.close();
    }
    const reports = diagErrors.filter((message) => message.includes('No span reaches the monitor'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain(apiPort.url);
    expect(reports[0]).toContain('HTTP 404');
    expect(reports[0]).toContain('this is the API port; send OTLP to http://127.0.0.1:4318/v1/traces');
    expect(reports[0]).toContain('4318');
    expect(warnings.filter((warning) => warning.code === WRONG_ENDPOINT_WARNING)).toHaveLength(1);
  });

  it('warns once through diag when nothing listens at the endpoint', async () => {
    const closed = await answering(200, '');
    await closed.close();
    const setup = setupLlmMonitor({
      endpoint: closed.url,
      registerContextManager: false,
      flushOnExit: false,
      processor: { exportDelayMs: 1, exportTimeoutMs: 500 },
    });
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
    setup.monitor.startSession({ task: 't' }).complete();
    await setup.processor.forceFlush();
    await setup.shutdown();
    expect(diagWarnings.filter((message) => message.includes('is the receiver running?'))).toHaveLength(1);
    expect(diagErrors.filter((message) => message.includes('No span reaches the monitor'))).toHaveLength(0);
  });
});

describe('diagnoseEndpoint', () => {
  it('passes every result on unchanged and stays quiet on success and on other failures', () => {
    const results = [{ code: 0 }, { code: 1, error: Object.assign(new Error('Service Unavailable'), { code: 503 }) }];
    let next = 0;
    const inner: SpanExporter = { export: (_spans, done) => done(results[next++ % results.length]!), shutdown: async () => undefined };
    const warned: string[] = [];
    const exporter = diagnoseEndpoint(inner, 'http://x/v1/traces', { emitWarning: (message) => void warned.push(message) });
    const seen: number[] = [];
    exporter.export([], (result) => seen.push(result.code));
    exporter.export([], (result) => seen.push(result.code));
    expect(seen).toEqual([0, 1]);
    expect(warned).toEqual([]);
    expect(diagErrors).toEqual([]);
  });
});
