import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { gunzipSync } from 'node:zlib';
import { buildReceiver, createRedactor, decodeTraceRequestProtobuf, MASK, resolveConfig } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { oneSpanRequest } from './otlp-fixtures.js';
import { INPUT_PREVIEW_KEYS, OUTPUT_PREVIEW_KEYS } from '@llm-monitor/sessions';
import type { SpanRecord } from '@llm-monitor/sessions';

let receiver: Receiver | undefined;
let downstream: Server | undefined;
afterEach(async () => {
  await receiver?.close();
  await new Promise((resolve) => (downstream ? downstream.close(resolve) : resolve(undefined)));
  receiver = undefined;
  downstream = undefined;
});

function record(attributes: SpanRecord['attributes'], events: SpanRecord['events'] = []): SpanRecord {
  return {
    traceId: '1'.repeat(32),
    spanId: '2'.repeat(16),
    parentSpanId: '',
    name: 'chat m',
    kind: 3,
    startTimeUnixMs: 1,
    endTimeUnixMs: 2,
    attributes,
    events,
    status: { code: 0, message: '' },
    resource: {},
    scope: { name: '', version: '' },
  };
}

describe('createRedactor', () => {
  it('masks content attributes of every convention, on spans and on events', () => {
    const redact = createRedactor({ content: true, attributes: [], mode: 'mask' })!;
    const [span] = redact([
      record(
        {
          'gen_ai.input.messages': '[...]',
          'gen_ai.prompt.0.content': 'secret',
          'ai.prompt.messages': '[...]',
          'ai.response.text': 'answer',
          'llm.input_messages.0.message.content': 'hi',
          'input.value': 'q',
          'traceloop.entity.output': 'out',
          'llm_monitor.prompt_preview': 'p',
          'gen_ai.request.model': 'kept',
        },
        [{ name: 'llm_monitor.tokens', timeUnixMs: 1, attributes: { 'llm_monitor.tokens.text': 'tok', 'llm_monitor.tokens.count': 1 } }],
      ),
    ]);
    expect(Object.entries(span!.attributes).filter(([, value]) => value !== MASK)).toEqual([['gen_ai.request.model', 'kept']]);
    expect(span!.events[0]!.attributes).toEqual({ 'llm_monitor.tokens.text': MASK, 'llm_monitor.tokens.count': 1 });
  });

  it('masks every attribute a step or call preview is read from, so no preview can show content', () => {
    const redact = createRedactor({ content: true, attributes: [], mode: 'mask' })!;
    for (const key of [...INPUT_PREVIEW_KEYS, ...OUTPUT_PREVIEW_KEYS]) {
      expect(redact([record({ [key]: 'secret' })])[0]!.attributes[key], key).toBe(MASK);
    }
  });

  it('drops chosen attributes by name and by pattern, and leaves untouched spans as they are', () => {
    const redact = createRedactor({ content: false, attributes: ['user.email', '/^app\\.secret\\./'], mode: 'drop' })!;
    const clean = record({ 'gen_ai.request.model': 'm' });
    const [dirty, same] = redact([record({ 'user.email': 'a@b.c', 'app.secret.key': 'k', 'app.public': 'p' }), clean]);
    expect(dirty!.attributes).toEqual({ 'app.public': 'p' });
    expect(same).toBe(clean);
    expect(createRedactor({ content: false, attributes: [], mode: 'mask' })).toBeUndefined();
  });
});

describe('redaction in the receiver', () => {
  it('keeps content out of what is stored and served', async () => {
    receiver = await buildReceiver({
      storageUrl: 'memory:',
      logLevel: 'silent',
      redactContent: true,
      redactAttributes: ['llm_monitor.metadata.customer'],
    });
    await receiver.otlpServer.inject(
      oneSpanRequest({
        traceId: '3'.repeat(32),
        spanId: '4'.repeat(16),
        name: 'llm_monitor.session t',
        attributes: {
          'llm_monitor.span_type': 'session',
          'llm_monitor.session.id': 'private',
          'llm_monitor.content_preview': 'my bank password is hunter2',
          'llm_monitor.metadata.customer': 'ACME',
          'llm_monitor.metadata.plan': 'pro',
        },
      }),
    );
    const served = (await receiver.apiServer.inject('/api/monitoring/sessions/private')).json();
    expect(served.content_preview).toBe(MASK);
    expect(served.metadata).toEqual({ customer: MASK, plan: 'pro' });
    expect(JSON.stringify(served)).not.toContain('hunter2');
  });
});

describe('forwarding to another OTLP endpoint', () => {
  it('sends each accepted request on unchanged: same bytes, content type and encoding', async () => {
    const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
    downstream = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks) });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => downstream!.listen(0, '127.0.0.1', resolve));
    const address = downstream.address() as { port: number };
    receiver = await buildReceiver({
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
      storageUrl: 'memory:',
      logLevel: 'silent',
      forwardEndpoint: `http://127.0.0.1:${address.port}/v1/traces`,
      forwardHeaders: ['X-Scope-OrgID=llm'],
    });
    const { otlpTracesUrl } = await receiver.listen();

    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl, compression: 'gzip' as never }))],
    });
    provider
      .getTracer('t')
      .startSpan('chat m', { attributes: { 'gen_ai.request.model': 'm' } })
      .end();
    await provider.forceFlush();
    await provider.shutdown();
    await receiver.forwarder!.drain();

    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-type']).toBe('application/x-protobuf');
    expect(received[0]!.headers['content-encoding']).toBe('gzip');
    expect(received[0]!.headers['x-scope-orgid']).toBe('llm');
    // Still gzip, still the exporter's protobuf: it decodes to the span that was sent.
    const forwarded = decodeTraceRequestProtobuf(gunzipSync(received[0]!.body));
    expect(forwarded.spans.map((span) => [span.name, span.attributes['gen_ai.request.model']])).toEqual([['chat m', 'm']]);
    expect(receiver.forwarder!.stats()).toMatchObject({ forwarded: 1, failed: 0, dropped: 0 });
    // The receiver kept the session too.
    expect([...receiver.pipeline.store.values()].map((session) => session.model)).toEqual(['m']);
  });

  it('counts a failing downstream without failing ingest', async () => {
    downstream = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => downstream!.listen(0, '127.0.0.1', resolve));
    const { port } = downstream.address() as { port: number };
    receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', forwardEndpoint: `http://127.0.0.1:${port}/v1/traces` });
    const response = await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(response.statusCode).toBe(200);
    await receiver.forwarder!.drain();
    expect(receiver.forwarder!.stats()).toMatchObject({ forwarded: 0, failed: 1 });
  });
});

describe('redaction rules and configuration a review found wrong once', () => {
  it('ignores the g and y flags, which would make every other key slip through', () => {
    const redact = createRedactor({ content: false, attributes: ['/secret/gy'], mode: 'drop' })!;
    const [one, two] = redact([
      record({ 'app.secret.a': 1, 'app.secret.b': 2, 'app.secret.c': 3 }),
      record({ 'app.secret.a': 1, 'app.secret.b': 2 }),
    ]);
    expect(one!.attributes).toEqual({});
    expect(two!.attributes).toEqual({});
  });

  it('masks error texts that can quote content', () => {
    const redact = createRedactor({ content: true, attributes: [], mode: 'mask' })!;
    const failed = {
      ...record({}, [
        {
          name: 'exception',
          timeUnixMs: 1,
          attributes: { 'exception.message': 'cannot parse: my secret answer', 'exception.type': 'SyntaxError' },
        },
      ]),
      status: { code: 2 as const, message: 'cannot parse: my secret answer' },
    };
    const [span] = redact([failed]);
    expect(span!.status.message).toBe(MASK);
    expect(span!.events[0]!.attributes).toEqual({ 'exception.message': MASK, 'exception.type': 'SyntaxError' });
  });

  it('refuses bad rules, bad headers and unannounced unredacted forwarding, naming the problem', async () => {
    await expect(buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', redactAttributes: ['/([/'] })).rejects.toThrow(
      /LLMMON_ERR_CONFIG|not a valid regular expression/,
    );
    await expect(
      buildReceiver({
        storageUrl: 'memory:',
        logLevel: 'silent',
        forwardEndpoint: 'http://127.0.0.1:1/v1/traces',
        forwardHeaders: ['no-equals'],
      }),
    ).rejects.toThrow(/expected Name=value/);
    await expect(
      buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', redactContent: true, forwardEndpoint: 'http://127.0.0.1:1/v1/traces' }),
    ).rejects.toThrow(/forward_unredacted/);
    const allowed = await buildReceiver({
      storageUrl: 'memory:',
      logLevel: 'silent',
      redactContent: true,
      forwardEndpoint: 'http://127.0.0.1:1/v1/traces',
      forwardUnredacted: true,
    });
    await allowed.close();
  });

  it('keeps a regular expression with commas whole in a comma-separated list', () => {
    expect(resolveConfig({ env: { LLM_MONITOR_REDACT_ATTRIBUTES: 'user.email,/^x{1,3}$/,/a,b/i,plain' } }).redactAttributes).toEqual([
      'user.email',
      '/^x{1,3}$/',
      '/a,b/i',
      'plain',
    ]);
  });
});
