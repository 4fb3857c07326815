/**
 * The Vercel AI SDK (`ai` v5 with `@ai-sdk/openai`), run for real against a local stand-in for the
 * OpenAI API with its own telemetry (`experimental_telemetry`) on the global tracer provider, and
 * exported over OTLP to a real receiver: a `generateText` agent loop with a tool becomes one
 * session whose steps are the outer call, its provider calls and the tool call; a `streamText`
 * call becomes one session with the stream's usage and time to first chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import type { ProcessingSession, StepRecord } from '@llm-monitor/sessions';
import { useReceiver } from './support/receiver.js';
import { STAND_IN_CHAT_MODEL, TOOL_ANSWER, TOOL_CALL_ID, startOpenAiStandIn } from './support/openai-stand-in.js';
import type { OpenAiStandIn } from './support/openai-stand-in.js';

const SERVICE = 'vercel-ai-app';
const server = useReceiver();
let standIn: OpenAiStandIn;
let provider: BasicTracerProvider;

beforeAll(async () => {
  // Plain answers: 12/5/17 tokens; streams: "Hello| from| the| stream", 9/4/13 tokens.
  standIn = await startOpenAiStandIn();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: server.otlpTracesUrl }))],
  });
  // `experimental_telemetry` uses the global tracer provider unless it is given a tracer.
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  await standIn.close();
});

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${server.apiUrl}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

const seen = new Set<string>();

/** The one session that appeared since the last call, read back over the REST API. */
async function theNewSession(): Promise<ProcessingSession> {
  await provider.forceFlush();
  const { sessions } = await getJson<{ sessions: ProcessingSession[] }>('/api/monitoring/sessions/recent?limit=100');
  const fresh = sessions.filter((session) => session.service_name === SERVICE && !seen.has(session.session_id));
  for (const session of fresh) seen.add(session.session_id);
  expect(fresh.map((session) => session.session_id)).toHaveLength(1);
  return getJson<ProcessingSession>(`/api/monitoring/sessions/${encodeURIComponent(fresh[0]!.session_id)}`);
}

type Branch = [head: string, ...lines: string[]];

/** Branches in the order of their first line, each branch's lines indented under it. */
function sortedBranches(branches: Branch[]): string[] {
  return branches.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([head, ...lines]) => [head, ...lines.map((line) => `  ${line}`)]);
}

/**
 * The tree of steps as `kind name` lines, each step's children indented under it. Siblings are in
 * the order of their lines, not of their starts: the OTel JS SDK stamps a span's start in whole
 * milliseconds, so steps that start in the same millisecond have no order (their span ids decide).
 * Tests check the order that matters by the steps' times.
 */
function stepTree(steps: readonly StepRecord[], parent: string | null = null): string[] {
  return sortedBranches(steps.filter((step) => step.parent_span_id === parent).map((step): Branch => [`${step.kind} ${step.name}`, ...stepTree(steps, step.span_id)]));
}

/** A tree written as indented lines (two spaces a level), in the order {@link stepTree} gives. */
function tree(lines: readonly string[]): string[] {
  const branches: Branch[] = [];
  for (const line of lines) {
    if (line.startsWith('  ') && branches.length > 0) branches.at(-1)!.push(line.slice(2));
    else branches.push([line]);
  }
  return sortedBranches(branches.map(([head, ...rest]): Branch => [head, ...tree(rest)]));
}

/** Each step starts no earlier than the one before it (to the millisecond, as the times are). */
function expectStartOrder(steps: readonly StepRecord[]): void {
  const starts = steps.map((step) => Date.parse(step.start_time));
  expect(starts, steps.map((step) => step.name).join(' → ')).toEqual([...starts].sort((a, b) => a - b));
}

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
    expect(stepTree(session.steps)).toEqual(tree([
      'chain ai.generateText',
      '  llm_call ai.generateText.doGenerate',
      '  tool_call weather',
      '  llm_call ai.generateText.doGenerate',
    ]));
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      service_name: SERVICE,
      task: 'weather-agent',
      conversation_id: 's-1',
      user_id: 'u-1',
      model: STAND_IN_CHAT_MODEL,
      token_counts: { input: 24, output: 10, total: 34, streamed: 0 },
      error: null,
    });
    expect(session.llm_calls).toHaveLength(2);
    expect(session.llm_calls.map((call) => [call.operation, call.request_model, call.response_model, call.input_tokens, call.output_tokens, call.total_tokens])).toEqual([
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
      expect(call).toMatchObject({ parent_span_id: root.span_id, convention: 'vercel_ai', facts: { model: STAND_IN_CHAT_MODEL, input_tokens: 12, output_tokens: 5 } });
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
    expect(session.llm_calls[0]).toMatchObject({ input_tokens: 9, output_tokens: 4, total_tokens: 13, finish_reasons: ['stop'], response_preview: 'Hello from the stream' });
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
