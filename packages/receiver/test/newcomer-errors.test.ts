/**
 * The errors a newcomer meets first, on real sockets: an exporter pointed at the API port, a port
 * already taken, a host that is not this machine's, and the version the API documents.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReceiver, LlmMonitorError } from '../src/index.js';
import type { Receiver, ReceiverConfig } from '../src/index.js';

const opened: Receiver[] = [];
const held: Server[] = [];

afterEach(async () => {
  for (const receiver of opened.splice(0)) await receiver.close();
  for (const server of held.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function receiverWith(config: Partial<ReceiverConfig>): Promise<Receiver> {
  const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', ...config });
  opened.push(receiver);
  return receiver;
}

/** A plain TCP server holding a port on 127.0.0.1, as another program would. */
async function holdPort(port = 0): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return (server.address() as { port: number }).port;
}

/** A port free right now: held, then let go. */
async function freePort(): Promise<number> {
  const port = await holdPort();
  const server = held.pop()!;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What `listen()` rejects with. */
async function listenFailure(receiver: Receiver): Promise<LlmMonitorError> {
  const error: unknown = await receiver.listen().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(LlmMonitorError);
  return error as LlmMonitorError;
}

describe('an exporter pointed at the API port', () => {
  it('is told, in the API error shape, that this is the API port and where OTLP goes', async () => {
    const receiver = await receiverWith({ port: 8000, otlpPort: 4318 });
    const response = await receiver.apiServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: Buffer.alloc(4),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      code: 'LLMMON_ERR_ROUTE_NOT_FOUND',
      error: 'Not Found',
      message:
        'POST /v1/traces: this is the llm-monitor API port (web monitor, REST API, /metrics), not its OTLP port; send OTLP to http://127.0.0.1:4318/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318)',
    });
  });

  it('is told that metrics and logs are not taken, with the traces URL that is', async () => {
    const receiver = await receiverWith({ port: 8000, otlpPort: 4318 });
    for (const signal of ['metrics', 'logs']) {
      const response = await receiver.apiServer.inject({
        method: 'POST',
        url: `/v1/${signal}`,
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('LLMMON_ERR_ROUTE_NOT_FOUND');
      expect(response.json().message).toBe(
        `POST /v1/${signal}: this is the llm-monitor API port (web monitor, REST API, /metrics), not its OTLP port; send OTLP to http://127.0.0.1:4318/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318); llm-monitor receives traces only, not ${signal}`,
      );
    }
  });

  it('names the OTLP port actually bound when otlp_port is 0', async () => {
    const receiver = await receiverWith({ port: 0, otlpPort: 0, otlpGrpcPort: 0 });
    const { apiUrl, otlpTracesUrl } = await receiver.listen();
    const response = await fetch(`${apiUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe('LLMMON_ERR_ROUTE_NOT_FOUND');
    expect(body.message).toContain(`send OTLP to ${otlpTracesUrl} `);
    // And that URL takes the same request.
    expect(
      (await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' }))
        .status,
    ).toBe(200);
  });

  it('is given the host it used when the servers bind to every interface', async () => {
    const receiver = await receiverWith({ host: '0.0.0.0', port: 8000, otlpPort: 4318 });
    const response = await receiver.apiServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { host: 'monitor.example:8000' },
      payload: '',
    });
    expect(response.json().message).toContain(
      'send OTLP to http://monitor.example:4318/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT=http://monitor.example:4318)',
    );
  });

  it('leaves other unknown paths with the plain answer', async () => {
    const receiver = await receiverWith({});
    for (const url of ['/v1/trace', '/v2/traces', '/api/v1/traces', '/v1/tracesx']) {
      const response = await receiver.apiServer.inject({ method: 'POST', url });
      expect(response.statusCode).toBe(404);
      expect(response.json().message).toBe(`no route for POST ${url}`);
    }
  });
});

describe('a port that cannot be had', () => {
  it('names the API server, its address and --port / LLM_MONITOR_PORT, and leaves the OTLP port free again', async () => {
    const taken = await holdPort();
    const otlpPort = await freePort();
    const receiver = await receiverWith({ port: taken, otlpPort });
    const error = await listenFailure(receiver);
    expect(error.code).toBe('LLMMON_ERR_PORT_IN_USE');
    expect(error.message).toBe(
      `the API server (web monitor, REST API, /metrics) cannot listen on 127.0.0.1:${taken}: the port is already in use (another llm-monitor?). Stop what holds it, or choose another port with --port or LLM_MONITOR_PORT (port in the config file); 0 picks any free port`,
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    // The OTLP server had started; nothing of the failed start is left listening.
    expect(receiver.otlpServer.server.listening).toBe(false);
    expect(await holdPort(otlpPort)).toBe(otlpPort);
  });

  it('names the OTLP/HTTP server and --otlp-port / LLM_MONITOR_OTLP_PORT when its port is taken', async () => {
    const taken = await holdPort();
    const receiver = await receiverWith({ port: 0, otlpPort: taken });
    const error = await listenFailure(receiver);
    expect(error.code).toBe('LLMMON_ERR_PORT_IN_USE');
    expect(error.message).toMatch(
      new RegExp(
        `^the OTLP/HTTP server cannot listen on 127\\.0\\.0\\.1:${taken}: the port is already in use \\(another llm-monitor, or an OpenTelemetry Collector\\?\\)`,
      ),
    );
    expect(error.message).toContain('choose another port with --otlp-port or LLM_MONITOR_OTLP_PORT (otlp_port in the config file)');
    expect(receiver.apiServer.server.listening).toBe(false);
    expect(receiver.otlpServer.server.listening).toBe(false);
  });

  it('says when the host is not an address of this machine, naming --host', async () => {
    // 192.0.2.0/24 is reserved for documentation (RFC 5737): no machine has it.
    const receiver = await receiverWith({ host: '192.0.2.1', port: 0, otlpPort: 0, otlpGrpcPort: 0 });
    const error = await listenFailure(receiver);
    expect(error.code).toBe('LLMMON_ERR_CONFIG');
    expect(error.message).toMatch(
      /^the OTLP\/HTTP server cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine\. Choose the interface with --host or LLM_MONITOR_HOST/,
    );
  });
});

describe('the OpenAPI document', () => {
  it('carries the version of the package', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const receiver = await receiverWith({});
    const document = (await receiver.apiServer.inject('/docs/json')).json() as { info: { version: string } };
    expect(document.info.version).toBe(version);
  });
});
