/**
 * Sessions from instrumentations we did not write: each test builds spans the way that
 * instrumentation writes them (names and attributes from its documentation and its own output).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMISSION_LIMITS, SessionBuilder, SessionPipeline } from '../src/index.js';
import type { ProcessingSession, SpanRecord } from '../src/index.js';
import { span, T0, TRACE_ID } from './span-fixtures.js';

function sessionOf(spans: SpanRecord[]): ProcessingSession {
  const builder = new SessionBuilder();
  builder.ingest(spans);
  return builder.sessionOf(TRACE_ID)!;
}

describe('OpenTelemetry GenAI conventions', () => {
  it('reads the current names', () => {
    const root = span({ name: 'POST /chat', startTimeUnixMs: T0, endTimeUnixMs: T0 + 900 });
    const call = span({
      parentSpanId: root.spanId,
      name: 'chat gpt-4o',
      kind: 3,
      startTimeUnixMs: T0 + 100,
      endTimeUnixMs: T0 + 800,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.usage.input_tokens': 30,
        'gen_ai.usage.output_tokens': 12,
        'gen_ai.conversation.id': 'conv-7',
        'user.id': 'u-3',
      },
    });
    expect(sessionOf([root, call])).toMatchObject({
      session_id: TRACE_ID,
      source: 'gen_ai',
      status: 'completed',
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      duration_ms: 900,
      token_counts: { input: 30, output: 12, total: 42 },
      conversation_id: 'conv-7',
      user_id: 'u-3',
    });
  });
});

describe('OpenLLMetry (@traceloop/instrumentation-*)', () => {
  it('reads the deprecated gen_ai forms, the request type and the association properties', () => {
    const workflow = span({
      name: 'support.workflow',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 500,
      attributes: {
        'traceloop.span.kind': 'workflow',
        'traceloop.workflow.name': 'support',
        'traceloop.association.properties.session_id': 'chat-42',
        'traceloop.association.properties.user_id': 'alice',
      },
    });
    const call = span({
      parentSpanId: workflow.spanId,
      name: 'openai.chat',
      kind: 3,
      startTimeUnixMs: T0 + 10,
      endTimeUnixMs: T0 + 490,
      attributes: {
        'gen_ai.system': 'openai',
        'llm.request.type': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.usage.prompt_tokens': 18,
        'gen_ai.usage.completion_tokens': 9,
        'llm.usage.total_tokens': 27,
      },
      status: { code: 2, message: 'rate limited' },
    });
    const session = sessionOf([workflow, call]);
    expect(session).toMatchObject({
      task: 'support',
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      token_counts: { input: 18, output: 9, total: 27 },
      conversation_id: 'chat-42',
      user_id: 'alice',
      status: 'completed',
    });
    expect(session.llm_calls[0]).toMatchObject({ operation: 'chat', status: 'error', error: 'rate limited' });
  });
});

describe('the Vercel AI SDK', () => {
  it('counts the provider call, not the outer span that repeats its usage, and takes time to first chunk', () => {
    const outer = span({
      name: 'ai.streamText',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 1200,
      attributes: {
        'ai.operationId': 'ai.streamText',
        'ai.model.id': 'gpt-4o-mini',
        'ai.model.provider': 'openai.chat',
        'ai.usage.promptTokens': 40,
        'ai.usage.completionTokens': 60,
        'ai.telemetry.functionId': 'summarize-ticket',
        'ai.telemetry.metadata.sessionId': 'vercel-session-1',
      },
    });
    const doStream = span({
      parentSpanId: outer.spanId,
      name: 'ai.streamText.doStream',
      kind: 3,
      startTimeUnixMs: T0 + 50,
      endTimeUnixMs: T0 + 1150,
      attributes: {
        'ai.operationId': 'ai.streamText.doStream',
        'ai.model.id': 'gpt-4o-mini',
        'ai.model.provider': 'openai.chat',
        'ai.usage.promptTokens': 40,
        'ai.usage.completionTokens': 60,
        'ai.response.msToFirstChunk': 230.5,
      },
      events: [{ name: 'ai.stream.firstChunk', timeUnixMs: T0 + 280.5, attributes: { 'ai.response.msToFirstChunk': 230.5 } }],
    });
    const session = sessionOf([outer, doStream]);
    expect(session).toMatchObject({
      task: 'summarize-ticket',
      model: 'gpt-4o-mini',
      provider: 'openai.chat',
      token_counts: { input: 40, output: 60, total: 100 },
      time_to_first_token_ms: 280.5,
      conversation_id: 'vercel-session-1',
      duration_ms: 1200,
    });
    expect(session.llm_calls).toHaveLength(1);
  });

  it('takes time to first chunk from the event when the attribute is missing, and reads v5 usage names', () => {
    const doStream = span({
      name: 'ai.streamText.doStream',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 400,
      attributes: { 'ai.operationId': 'ai.streamText.doStream', 'ai.model.id': 'm', 'ai.usage.inputTokens': 5, 'ai.usage.outputTokens': 7 },
      events: [{ name: 'ai.stream.firstChunk', timeUnixMs: T0 + 120, attributes: {} }],
    });
    expect(sessionOf([doStream])).toMatchObject({ time_to_first_token_ms: 120, token_counts: { input: 5, output: 7 } });
  });
});

describe('OpenInference', () => {
  it('reads LLM spans with llm.model_name and llm.token_count.*', () => {
    const chain = span({
      name: 'RetrievalQA',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 300,
      attributes: { 'openinference.span.kind': 'CHAIN', 'session.id': 'oi-session' },
    });
    const llm = span({
      parentSpanId: chain.spanId,
      name: 'ChatOpenAI',
      startTimeUnixMs: T0 + 20,
      endTimeUnixMs: T0 + 280,
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-3.5-turbo',
        'llm.provider': 'openai',
        'llm.token_count.prompt': 100,
        'llm.token_count.completion': 20,
        'llm.token_count.total': 120,
      },
    });
    expect(sessionOf([chain, llm])).toMatchObject({
      model: 'gpt-3.5-turbo',
      provider: 'openai',
      token_counts: { input: 100, output: 20, total: 120 },
      conversation_id: 'oi-session',
    });
  });
});

describe('conversation grouping', () => {
  it.each([
    ['gen_ai.conversation.id'],
    ['session.id'],
    ['langfuse.session.id'],
    ['traceloop.association.properties.session_id'],
    ['ai.telemetry.metadata.sessionId'],
  ])('groups by %s', (key) => {
    const call = span({ attributes: { 'gen_ai.request.model': 'm', [key]: 'conversation-1' } });
    expect(sessionOf([call]).conversation_id).toBe('conversation-1');
  });
});

describe('what a review found wrong once', () => {
  it('counts the tokens of an agent and its chat calls once: only the innermost calls add up', () => {
    const agent = span({
      name: 'invoke_agent helper',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 100,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 50 },
    });
    const chat = span({
      parentSpanId: agent.spanId,
      name: 'chat m',
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'm',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 50,
      },
    });
    expect(sessionOf([agent, chat]).token_counts).toMatchObject({ input: 100, output: 50 });
  });

  it('counts nested OpenInference LLM spans once, even when the span between them was not kept', () => {
    const framework = span({
      name: 'ChatOpenAI',
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 100,
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt',
        'llm.token_count.prompt': 10,
        'llm.token_count.completion': 5,
      },
    });
    const http = span({ parentSpanId: framework.spanId, name: 'POST /v1/chat/completions', kind: 3 });
    const client = span({
      parentSpanId: http.spanId,
      name: 'openai.chat',
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt',
        'llm.token_count.prompt': 10,
        'llm.token_count.completion': 5,
      },
    });
    expect(sessionOf([client, http, framework]).token_counts).toMatchObject({ input: 10, output: 5 });
  });

  it('keeps the model and provider when the last call is a tool call without them', () => {
    const chat = span({
      name: 'chat m',
      startTimeUnixMs: T0,
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' },
    });
    const tool = span({
      name: 'execute_tool search',
      startTimeUnixMs: T0 + 10,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' },
    });
    expect(sessionOf([chat, tool])).toMatchObject({ model: 'gpt-4o', provider: 'openai' });
  });

  it('ends the session of a service called by another at its entry span', () => {
    const entry = span({ name: 'POST /answer', kind: 2, parentSpanId: 'feedfacefeedface', startTimeUnixMs: T0, endTimeUnixMs: T0 + 300 });
    const call = span({ parentSpanId: entry.spanId, name: 'chat m', attributes: { 'gen_ai.request.model': 'm' } });
    expect(sessionOf([call, entry])).toMatchObject({ status: 'completed', duration_ms: 300 });
  });

  it('takes the conversation from the root first, then from the calls', () => {
    const root = span({ name: 'handle', startTimeUnixMs: T0, endTimeUnixMs: T0 + 1, attributes: { 'session.id': 'root-session' } });
    const call = span({
      parentSpanId: root.spanId,
      attributes: { 'gen_ai.request.model': 'm', 'gen_ai.conversation.id': 'call-conversation' },
    });
    expect(sessionOf([root, call]).conversation_id).toBe('root-session');
  });

  it('keeps deep or huge JSON metadata as text, cut to the longest value kept', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const session = sessionOf([
      span({ attributes: { 'gen_ai.request.model': 'm' } }),
      span({
        parentSpanId: '',
        name: 'root',
        attributes: { 'llm_monitor.span_type': 'session', 'llm_monitor.metadata.deep': deep, 'llm_monitor.metadata.ok': '{"a":[1]}' },
      }),
    ]);
    expect(session.metadata).toEqual({ deep: deep.slice(0, DEFAULT_ADMISSION_LIMITS.maxAttributeValueLength), ok: { a: [1] } });
    expect(() => JSON.stringify(session)).not.toThrow();
  });
});

describe('a trace whose caller is elsewhere', () => {
  it('is settled once its calls have ended and nothing came for a while, instead of abandoned', () => {
    const pipeline = new SessionPipeline({ settleAfterMs: 1000, abandonAfterMs: 60_000 });
    const call = span({
      parentSpanId: 'feedfacefeedface',
      name: 'chat m',
      kind: 3,
      startTimeUnixMs: T0,
      endTimeUnixMs: T0 + 200,
      attributes: { 'gen_ai.request.model': 'm' },
    });
    pipeline.ingest([call], 0);
    expect(pipeline.store.get(TRACE_ID)?.status).toBe('active');
    pipeline.sweep(1000);
    expect(pipeline.store.get(TRACE_ID)).toMatchObject({ status: 'completed', duration_ms: 200, error: null });
  });

  it('is not settled while a call still runs', () => {
    const pipeline = new SessionPipeline({ settleAfterMs: 1000, abandonAfterMs: 60_000 });
    pipeline.ingest([span({ parentSpanId: 'feedfacefeedface', endTimeUnixMs: 0, attributes: { 'gen_ai.request.model': 'm' } })], 0);
    pipeline.sweep(5000);
    expect(pipeline.store.get(TRACE_ID)?.status).toBe('active');
  });
});

describe('complete LLM call records', () => {
  const call = (attributes: SpanRecord['attributes'], name = 'chat gpt-4o'): SpanRecord[] => {
    const root = span({ name: 'POST /chat', startTimeUnixMs: T0, endTimeUnixMs: T0 + 900, attributes: { 'user.id': 'session-user' } });
    return [root, span({ parentSpanId: root.spanId, name, kind: 3, startTimeUnixMs: T0 + 100, endTimeUnixMs: T0 + 800, attributes })];
  };

  it('keep total and cached tokens, finish reasons and the call’s user (GenAI conventions)', () => {
    const session = sessionOf(
      call({
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.usage.output_tokens': 80,
        'gen_ai.usage.cache_read.input_tokens': 1024,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'user.id': 'call-user',
      }),
    );
    expect(session.llm_calls[0]).toMatchObject({
      total_tokens: 1280,
      cached_tokens: 1024,
      finish_reasons: ['stop', 'length'],
      user_id: 'call-user',
    });
  });

  it('read the Vercel AI SDK’s names for them', () => {
    const session = sessionOf(
      call(
        {
          'ai.operationId': 'ai.streamText.doStream',
          'ai.model.id': 'gpt-4o-mini',
          'ai.usage.inputTokens': 50,
          'ai.usage.outputTokens': 20,
          'ai.usage.totalTokens': 75,
          'ai.usage.cachedInputTokens': 32,
          'ai.response.finishReason': 'tool-calls',
        },
        'ai.streamText.doStream',
      ),
    );
    // The total is the span's own (it may count reasoning tokens that input + output leave out).
    expect(session.llm_calls[0]).toMatchObject({
      input_tokens: 50,
      output_tokens: 20,
      total_tokens: 75,
      cached_tokens: 32,
      finish_reasons: ['tool-calls'],
      user_id: null,
    });
  });

  it('read OpenInference’s names for them, and add input and output when no total is given', () => {
    const withTotal = sessionOf(
      call({
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-4o',
        'llm.token_count.prompt': 10,
        'llm.token_count.completion': 5,
        'llm.token_count.total': 15,
        'llm.token_count.prompt_details.cache_read': 4,
      }),
    );
    expect(withTotal.llm_calls[0]).toMatchObject({ total_tokens: 15, cached_tokens: 4, finish_reasons: null });
    const withoutTotal = sessionOf(
      call({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 3 }),
    );
    expect(withoutTotal.llm_calls[0]).toMatchObject({ total_tokens: 10, cached_tokens: null, finish_reasons: null, user_id: null });
  });

  it('drop a cached count that is no token count, and finish reasons that are not text', () => {
    const session = sessionOf(
      call({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.cache_read.input_tokens': -3,
        'gen_ai.response.finish_reasons': [1, '', 'stop'] as never,
      }),
    );
    expect(session.llm_calls[0]).toMatchObject({ cached_tokens: null, finish_reasons: ['stop'] });
  });
});
