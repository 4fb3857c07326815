import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { ATTR_PROMPT_PREVIEW, ATTR_RESPONSE_PREVIEW, ATTR_SESSION_ID, ATTR_USAGE_TOTAL_TOKENS, GEN_AI } from '@llm-monitor/semconv';
import { createLlmMonitor } from '../src/index.js';
import { createHarness } from './harness.js';
import type { Harness } from './harness.js';

let harness: Harness;
beforeEach(() => {
  harness = createHarness();
});
afterEach(async () => {
  await harness.close();
});

const callSpan = (h: Harness) => h.spans().find((span) => span.kind === SpanKind.CLIENT)!;

describe('LLM calls', () => {
  it('follow the GenAI conventions, with prompt and response previews of 1,000 characters', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.stage('sending_request');
    const call = session.startLlmCall({
      operation: 'chat',
      provider: 'openai',
      model: 'gpt-4o',
      prompt: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'q'.repeat(3000) },
      ],
      userId: 'u-1',
      conversationId: 'c-1',
      metadata: { attempt: 1 },
    });
    call.end({ responseModel: 'gpt-4o-2024-08-06', response: 'Answer.', inputTokens: 900, outputTokens: 3, finishReason: 'stop' });
    session.complete();
    const span = callSpan(harness);
    expect(span.name).toBe('chat gpt-4o');
    expect(span.attributes).toMatchObject({
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'openai',
      [GEN_AI.requestModel]: 'gpt-4o',
      [GEN_AI.responseModel]: 'gpt-4o-2024-08-06',
      [GEN_AI.usageInputTokens]: 900,
      [GEN_AI.usageOutputTokens]: 3,
      [ATTR_USAGE_TOTAL_TOKENS]: 903,
      [GEN_AI.responseFinishReasons]: ['stop'],
      [GEN_AI.conversationId]: 'c-1',
      'user.id': 'u-1',
      [ATTR_SESSION_ID]: session.sessionId,
      'llm_monitor.metadata.attempt': 1,
      [ATTR_RESPONSE_PREVIEW]: 'Answer.',
    });
    expect(String(span.attributes[ATTR_PROMPT_PREVIEW])).toHaveLength(1001);
    expect(String(span.attributes[ATTR_PROMPT_PREVIEW])).toMatch(/^system: Be brief\.\nuser: q+…$/);
    const input = JSON.parse(String(span.attributes[GEN_AI.inputMessages])) as { role: string; parts: { content: string }[] }[];
    expect(input.map((message) => message.role)).toEqual(['system', 'user']);
    expect(input[1]!.parts[0]!.content).toHaveLength(1001);
    expect(JSON.parse(String(span.attributes[GEN_AI.outputMessages]))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Answer.' }], finish_reason: 'stop' },
    ]);
  });

  it('keep shorter previews, or none, when configured', () => {
    const short = createLlmMonitor({ tracerProvider: harness.provider, llmContentLength: 5 }).startSession({ task: 't' });
    short.startLlmCall({ model: 'm', prompt: 'abcdefghij' }).end({ response: 'klmnopqrst' });
    short.complete();
    expect(callSpan(harness).attributes).toMatchObject({ [ATTR_PROMPT_PREVIEW]: 'abcde…', [ATTR_RESPONSE_PREVIEW]: 'klmno…' });
    harness.exporter.reset();

    const none = createLlmMonitor({ tracerProvider: harness.provider, llmContentLength: 0 }).startSession({ task: 't' });
    none.startLlmCall({ model: 'm', prompt: 'secret' }).end({ response: 'secret' });
    none.complete();
    const attributes = callSpan(harness).attributes;
    for (const key of [ATTR_PROMPT_PREVIEW, ATTR_RESPONSE_PREVIEW, GEN_AI.inputMessages, GEN_AI.outputMessages])
      expect(attributes[key]).toBeUndefined();
  });

  it('record call types and failures', () => {
    const session = createLlmMonitor({ tracerProvider: harness.provider }).startSession({ task: 't' });
    session.startLlmCall({ operation: 'execute_tool', model: 'search_web' }).end();
    session.startLlmCall({ model: 'gpt-4o' }).end({ error: new RangeError('context length exceeded') });
    session.complete();
    const [tool, failed] = harness.spans().filter((span) => span.kind === SpanKind.CLIENT);
    expect(tool!.attributes[GEN_AI.operationName]).toBe('execute_tool');
    expect(failed!.attributes[GEN_AI.operationName]).toBe('chat');
    expect(failed!.status).toMatchObject({ code: 2, message: 'context length exceeded' });
    expect(failed!.attributes['error.type']).toBe('RangeError');
    expect(failed!.events.map((event) => event.name)).toContain('exception');
  });

  it('can stand alone, outside any session, as the root of their own trace', () => {
    const call = createLlmMonitor({ tracerProvider: harness.provider }).startLlmCall({
      model: 'm',
      sessionId: 'app-session',
      prompt: 'hi',
    });
    call.end({ outputTokens: 1 });
    call.end({ outputTokens: 2 });
    const span = callSpan(harness);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes[ATTR_SESSION_ID]).toBe('app-session');
    expect(span.attributes[GEN_AI.usageOutputTokens]).toBe(1);
    expect(harness.diagErrors).toHaveLength(1);
  });
});
