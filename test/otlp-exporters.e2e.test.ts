/**
 * A session travels the whole way as a user's application would send it: instrumentation → the
 * official OpenTelemetry OTLP exporters (protobuf and JSON) → a real socket → receiver → REST.
 */
import { describe, expect, it } from 'vitest';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { useReceiver } from './support/receiver.js';
import { createMonitorClient, MonitorApiError } from '@llm-monitor/client';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

const server = useReceiver();

// The exporters' compression option takes their own enum; its value is the string 'gzip'.
const gzip = 'gzip' as ConstructorParameters<typeof ProtoExporter>[0] extends infer C
  ? C extends { compression?: infer A }
    ? A
    : never
  : never;

const exporters: [string, (url: string) => SpanExporter][] = [
  ['exporter-trace-otlp-proto (protobuf)', (url) => new ProtoExporter({ url })],
  ['exporter-trace-otlp-http (JSON)', (url) => new JsonExporter({ url })],
  ['exporter-trace-otlp-proto (protobuf, gzip)', (url) => new ProtoExporter({ url, compression: gzip })],
  ['exporter-trace-otlp-http (JSON, gzip)', (url) => new JsonExporter({ url, compression: gzip })],
];

describe.each(exporters)('a session exported with %s', (_name, makeExporter) => {
  it('is rebuilt with all ten stages, progress 100 and token counts, and served over HTTP', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'e2e-app' }),
      spanProcessors: [new SimpleSpanProcessor(makeExporter(server.otlpTracesUrl))],
    });
    const monitor = createLlmMonitor({ tracerProvider: provider, captureTokenText: true });
    const session = monitor.startSession({
      task: 'summarize',
      model: 'gpt-4o-mini',
      provider: 'openai',
      processorType: 'openai',
      content: 'Please summarize this report.',
      conversationId: 'conv-e2e',
      metadata: { template_id: 'summary-v2' },
    });
    for (const stage of BUILTIN_STAGE_IDS) {
      session.stage(stage, { message: `stage ${stage}` });
      if (stage === 'sending_request') {
        session.startLlmCall({ operation: 'chat', provider: 'openai', model: 'gpt-4o-mini' }).end({ inputTokens: 14, outputTokens: 4 });
      }
      if (stage === 'streaming_response') {
        session.tokens(2, 'Short ');
        session.tokens(2, 'summary.');
      }
    }
    session.complete({ result: 'Short summary.', inputTokens: 14, outputTokens: 4 });
    await provider.forceFlush();
    await provider.shutdown();

    const client = createMonitorClient({ baseUrl: server.apiUrl });
    const served = await client.getSession(session.sessionId);
    expect(served).toMatchObject({
      session_id: session.sessionId,
      status: 'completed',
      progress: 100,
      current_stage: 'completed',
      task: 'summarize',
      model: 'gpt-4o-mini',
      provider: 'openai',
      processor_type: 'openai',
      service_name: 'e2e-app',
      conversation_id: 'conv-e2e',
      content_preview: 'Please summarize this report.',
      result_preview: 'Short summary.',
      metadata: { template_id: 'summary-v2' },
      token_counts: { input: 14, output: 4, total: 18, streamed: 4 },
      error: null,
    });
    expect(served.stages.map((stage) => stage.stage)).toEqual(BUILTIN_STAGE_IDS);
    expect(served.events.map((event) => event.stage)).toEqual([...BUILTIN_STAGE_IDS, 'completed']);
    // Both token calls fall in one batch (256 tokens by default): one event with all the text.
    expect(served.streamed_tokens.join('')).toBe('Short summary.');
    expect(served.llm_calls).toHaveLength(1);
    expect(served.time_to_first_token_ms).toBeGreaterThanOrEqual(0);

    // The same over a plain HTTP request, as curl would see it.
    const response = await fetch(`${server.apiUrl}/api/monitoring/sessions/${session.sessionId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(served);
  });
});

describe('a running session', () => {
  it('is visible before its root span ends, thanks to the pending markers', async () => {
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new ProtoExporter({ url: server.otlpTracesUrl }))],
    });
    const session = createLlmMonitor({ tracerProvider: provider }).startSession({ task: 'classify', model: 'llama3.1:8b' });
    session.stage('initializing');
    session.stage('validating_input', { message: 'checking' });
    await provider.forceFlush();

    const client = createMonitorClient({ baseUrl: server.apiUrl });
    const running = await client.getSession(session.sessionId);
    expect(running).toMatchObject({ status: 'active', current_stage: 'validating_input', progress: 10, end_time: null });
    expect(running.stages.map((stage) => stage.status)).toEqual(['ok', 'running']);
    const active = await client.getActiveSessions();
    expect(active.map((s) => s.session_id)).toContain(session.sessionId);

    session.fail(new Error('input rejected'));
    await provider.forceFlush();
    await provider.shutdown();
    const failed = await client.getSession(session.sessionId);
    expect(failed).toMatchObject({ status: 'failed', current_stage: 'failed', error: 'input rejected', progress: 10 });
  });

  it('an unknown id gives a typed 404 error through the client', async () => {
    const client = createMonitorClient({ baseUrl: server.apiUrl });
    await expect(client.getSession('no-such-session')).rejects.toMatchObject({
      status: 404,
      code: 'LLMMON_ERR_SESSION_NOT_FOUND',
    });
    await expect(client.getSession('no-such-session')).rejects.toBeInstanceOf(MonitorApiError);
  });
});
