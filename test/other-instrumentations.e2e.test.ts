/**
 * Spans from instrumentations we did not write, produced by the real libraries and sent over OTLP
 * to a real receiver: OpenLLMetry's `@traceloop/instrumentation-openai` around the official `openai`
 * client talking to a local stand-in for the OpenAI API, and the Vercel AI SDK's own telemetry with
 * its mock model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai';
import { simulateReadableStream, streamText } from 'ai';
import { MockLanguageModelV2 } from 'ai/test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { buildReceiver } from '@llm-monitor/receiver';
import type { Receiver } from '@llm-monitor/receiver';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { STAND_IN_CHAT_MODEL, startOpenAiStandIn } from './support/openai-stand-in.js';
import type { OpenAiStandIn } from './support/openai-stand-in.js';

let receiver: Receiver;
let otlpTracesUrl: string;
let openAiStandIn: OpenAiStandIn;

const RESPONSE_MODEL = STAND_IN_CHAT_MODEL;

beforeAll(async () => {
  receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
  ({ otlpTracesUrl } = await receiver.listen());
  // Plain answers: "Hello there", 12/5/17 tokens; streams: "Hello| from| the| stream", 9/4/13 tokens.
  openAiStandIn = await startOpenAiStandIn();
});

afterAll(async () => {
  await receiver.close();
  await openAiStandIn.close();
});

function providerFor(serviceName: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl }))],
  });
}

function sessionsOf(serviceName: string): ProcessingSession[] {
  return [...receiver.pipeline.store.values()].filter((session) => session.service_name === serviceName);
}

describe('OpenLLMetry: @traceloop/instrumentation-openai around the openai client', () => {
  it('becomes sessions with the model, provider and token counts, streamed or not', async () => {
    const provider = providerFor('openllmetry-app');
    // enrichTokens: this version counts a stream's tokens itself (js-tiktoken) instead of reading the usage chunk.
    const instrumentation = new OpenAIInstrumentation({ enrichTokens: true });
    instrumentation.setTracerProvider(provider);
    instrumentation.manuallyInstrument(OpenAI);
    const client = new OpenAI({ apiKey: 'test-key', baseURL: openAiStandIn.baseUrl });

    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    expect(answer.choices[0]!.message.content).toBe('Hello there');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('Hello from the stream');
    await provider.forceFlush();
    await provider.shutdown();
    instrumentation.disable();

    const sessions = sessionsOf('openllmetry-app');
    expect(sessions).toHaveLength(2);
    for (const session of sessions) {
      expect(session).toMatchObject({ source: 'gen_ai', status: 'completed', provider: 'openai', model: RESPONSE_MODEL });
      expect(session.llm_calls).toHaveLength(1);
      expect(session.duration_ms).toBeGreaterThan(0);
    }
    const [plain, streamedSession] = [...sessions].sort((a, b) => a.start_time.localeCompare(b.start_time));
    // The plain call's usage comes from the API's answer.
    expect(plain!.token_counts).toEqual({ input: 12, output: 5, total: 17, streamed: 0 });
    // The stream's, as the instrumentation counted them: "Hello| from| the| stream".
    expect(streamedSession!.token_counts.output).toBe(4);
    expect(streamedSession!.token_counts.input).toBeGreaterThan(0);
  });
});

describe('the Vercel AI SDK telemetry', () => {
  it('becomes a session with the model, tokens, time to first token, task and conversation', async () => {
    const provider = providerFor('vercel-ai-app');
    const model = new MockLanguageModelV2({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doStream: async () => ({
        stream: simulateReadableStream({
          initialDelayInMs: 40,
          chunkDelayInMs: 5,
          chunks: [
            { type: 'stream-start', warnings: [] },
            { type: 'text-start', id: 'text-1' },
            { type: 'text-delta', id: 'text-1', delta: 'Hello' },
            { type: 'text-delta', id: 'text-1', delta: ' world' },
            { type: 'text-end', id: 'text-1' },
            { type: 'finish', finishReason: 'stop', usage: { inputTokens: 7, outputTokens: 2, totalTokens: 9 } },
          ],
        }),
      }),
    });
    const result = streamText({
      model,
      prompt: 'Say hello',
      experimental_telemetry: { isEnabled: true, tracer: provider.getTracer('ai'), functionId: 'greet', metadata: { sessionId: 'chat-9' } },
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hello world');
    await provider.forceFlush();
    await provider.shutdown();

    const sessions = sessionsOf('vercel-ai-app');
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      model: 'mock-model',
      task: 'greet',
      conversation_id: 'chat-9',
      token_counts: { input: 7, output: 2, total: 9 },
    });
    // The mock model waits 40 ms before its first chunk.
    expect(session.time_to_first_token_ms).toBeGreaterThanOrEqual(35);
    expect(session.llm_calls).toHaveLength(1);
  });
});
