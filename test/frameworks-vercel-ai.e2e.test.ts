/**
 * The Vercel AI SDK (`ai` v5 with `@ai-sdk/openai`), run for real against a local stand-in for the
 * OpenAI API with its own telemetry (`experimental_telemetry`) on the global tracer provider, and
 * exported over OTLP to a real receiver: a `generateText` agent loop with a tool becomes one
 * session whose steps are the outer call, its provider calls and the tool call; a `streamText`
 * call becomes one session with the stream's usage and time to first chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import { STAND_IN_CHAT_MODEL, TOOL_ANSWER, TOOL_CALL_ID, startOpenAiStandIn } from './support/openai-stand-in.js';
import type { OpenAiStandIn } from './support/openai-stand-in.js';
import type { StepRecord } from '@llm-monitor/sessions';
import { expectStartOrder, stepTree, tree } from './support/step-tree.js';
import { useTracedApp } from './support/traced-app.js';

// `experimental_telemetry` uses the global tracer provider unless it is given a tracer.
const { theNewSession } = useTracedApp('vercel-ai-app');
let standIn: OpenAiStandIn;

beforeAll(async () => {
  // Plain answers: 12/5/17 tokens; streams: "Hello| from| the| stream", 9/4/13 tokens.
  standIn = await startOpenAiStandIn();
});

afterAll(async () => {
  await standIn.close();
});

function model() {
  return createOpenAI({ baseURL: standIn.baseUrl, apiKey: 'test-key' }).chat('gpt-4o-mini');
}

describe('the Vercel AI SDK with @ai-sdk/openai', () => {
  it('generateText with a tool becomes one session: the call, two provider calls and the tool call between them', async () => {
    const result = await generateText({
      model: model(),
      tools: {
        weather: tool({
          description: 'Get the weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, temperature: 21 }),
        }),
      },
      stopWhen: stepCountIs(3),
      prompt: 'What is the weather in Paris?',
      experimental_telemetry: { isEnabled: true, functionId: 'weather-agent', metadata: { sessionId: 's-1', userId: 'u-1' } },
    });
    expect(result.text).toBe(TOOL_ANSWER);
    expect(result.steps).toHaveLength(2);

    const session = await theNewSession();
    expect(stepTree(session.steps)).toEqual(
      tree([
        'chain ai.generateText',
        '  llm_call ai.generateText.doGenerate',
        '  tool_call weather',
        '  llm_call ai.generateText.doGenerate',
      ]),
    );
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      service_name: 'vercel-ai-app',
      task: 'weather-agent',
      conversation_id: 's-1',
      user_id: 'u-1',
      model: STAND_IN_CHAT_MODEL,
      token_counts: { input: 24, output: 10, total: 34, streamed: 0 },
      error: null,
    });
    expect(session.llm_calls).toHaveLength(2);
    expect(
      session.llm_calls.map((call) => [
        call.operation,
        call.request_model,
        call.response_model,
        call.input_tokens,
        call.output_tokens,
        call.total_tokens,
      ]),
    ).toEqual([
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 12, 5, 17],
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 12, 5, 17],
    ]);
    expect(session.llm_calls.map((call) => call.finish_reasons)).toEqual([['tool-calls'], ['stop']]);
    expect(session.llm_calls[1]!.response_preview).toBe(TOOL_ANSWER);
    expect(session.llm_calls.map((call) => call.user_id)).toEqual(['u-1', 'u-1']);

    const stepOf = (spanId: string): StepRecord => session.steps.find((step) => step.span_id === spanId)!;
    const root = session.steps.find((step) => step.parent_span_id === null)!;
    const [firstCall, secondCall] = session.llm_calls.map((call) => stepOf(call.span_id)) as [StepRecord, StepRecord];
    const toolCall = session.steps.find((step) => step.kind === 'tool_call')!;
    expect(root).toMatchObject({ parent_span_id: null, convention: 'vercel_ai', status: 'ok', output_preview: TOOL_ANSWER });
    expect(root.input_preview).toContain('What is the weather in Paris?');
    expect(root.facts).toMatchObject({ model: 'gpt-4o-mini' });
    for (const call of [firstCall, secondCall]) {
      expect(call).toMatchObject({
        parent_span_id: root.span_id,
        convention: 'vercel_ai',
        facts: { model: STAND_IN_CHAT_MODEL, input_tokens: 12, output_tokens: 5 },
      });
    }
    expect(firstCall.input_preview).toContain('What is the weather in Paris?');
    expect(toolCall).toMatchObject({
      parent_span_id: root.span_id,
      convention: 'vercel_ai',
      status: 'ok',
      facts: { tool_name: 'weather', tool_call_id: TOOL_CALL_ID },
      input_preview: '{"city":"Paris"}',
      output_preview: '{"city":"Paris","temperature":21}',
    });
    // The tool ran between the two provider calls.
    expectStartOrder([root, firstCall, toolCall, secondCall]);
    expect(Date.parse(toolCall.start_time)).toBeGreaterThanOrEqual(Date.parse(firstCall.end_time!));
    expect(Date.parse(secondCall.start_time)).toBeGreaterThanOrEqual(Date.parse(toolCall.end_time!));
  });

  it('streamText becomes one session with the stream usage and the time to its first chunk', async () => {
    const result = streamText({
      model: model(),
      prompt: 'Say hello',
      experimental_telemetry: { isEnabled: true, functionId: 'hello-stream', metadata: { sessionId: 's-2', userId: 'u-2' } },
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hello from the stream');
    // The SDK asked for the usage chunk.
    expect(standIn.requests.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const session = await theNewSession();
    expect(stepTree(session.steps)).toEqual(tree(['chain ai.streamText', '  llm_call ai.streamText.doStream']));
    expect(session).toMatchObject({
      status: 'completed',
      task: 'hello-stream',
      conversation_id: 's-2',
      user_id: 'u-2',
      model: STAND_IN_CHAT_MODEL,
      token_counts: { input: 9, output: 4, total: 13, streamed: 0 },
    });
    expect(session.llm_calls).toHaveLength(1);
    expect(session.llm_calls[0]).toMatchObject({
      input_tokens: 9,
      output_tokens: 4,
      total_tokens: 13,
      finish_reasons: ['stop'],
      response_preview: 'Hello from the stream',
    });
    expect(session.llm_calls[0]!.time_to_first_token_ms).toBeGreaterThan(0);
    expect(session.time_to_first_token_ms).toBeGreaterThanOrEqual(session.llm_calls[0]!.time_to_first_token_ms!);
    const root = session.steps.find((step) => step.parent_span_id === null)!;
    expect(root).toMatchObject({ kind: 'chain', input_preview: '{"prompt":"Say hello"}', output_preview: 'Hello from the stream' });
    expect(session.steps.find((step) => step.kind === 'llm_call')).toMatchObject({
      span_id: session.llm_calls[0]!.span_id,
      parent_span_id: root.span_id,
      output_preview: 'Hello from the stream',
      facts: { model: STAND_IN_CHAT_MODEL, input_tokens: 9, output_tokens: 4 },
    });
  });
});
