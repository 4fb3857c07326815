/**
 * OpenTelemetry's own `@opentelemetry/instrumentation-openai` (GenAI semantic conventions) around
 * the official `openai` client, run for real against a local stand-in for the OpenAI API and
 * exported over OTLP to a real receiver: the application's root span with chat calls (plain,
 * streamed, a tool-call round trip) and an embeddings call inside becomes one session whose steps
 * are the calls, with their models, tokens and finish reasons.
 *
 * How `openai` gets patched here, and why this way: an instrumentation patches a module as it is
 * loaded, through `require-in-the-middle` (CommonJS) or `import-in-the-middle`'s loader hook (ES
 * modules). An ESM `import OpenAI from 'openai'` loads openai's ESM build, which only the loader hook
 * sees, and the hook must be registered (`module.register()`) before openai is first imported: a
 * test file's static imports are loaded before any of its code runs, and registering the hook
 * inside a vitest worker would wrap every module imported after it, vitest's own included. What a
 * CommonJS application does works unchanged here: `registerInstrumentations()` first, then
 * `require('openai')` (its CommonJS build, through `createRequire`). The instrumentation's own hook
 * then patches the module, checking its version against the range it supports (`>=4.19.0 <7`), as
 * in production. Nothing is patched by hand: the instrumentation has no `manuallyInstrument`, and
 * calling its module definition's `patch()` ourselves would skip that check (and needs
 * `setMeterProvider()` called by hand, or a streamed call with usage throws).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import type { OpenAI } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { STAND_IN_CHAT_MODEL, STAND_IN_EMBEDDING_MODEL, TOOL_ANSWER, startOpenAiStandIn } from './support/openai-stand-in.js';
import type { OpenAiStandIn } from './support/openai-stand-in.js';
import { expectStartOrder, stepTree, tree } from './support/step-tree.js';
import { useTracedApp } from './support/traced-app.js';

const app = useTracedApp('otel-openai-app');
const { getJson } = app;
let standIn: OpenAiStandIn;
let unregister: () => void;
let OpenAIClient: typeof OpenAI;

beforeAll(async () => {
  // Plain answers: 12/5/17 tokens; streams: "Hello| from| the| stream", 9/4/13 tokens; embeddings: 4 tokens.
  standIn = await startOpenAiStandIn();
  // As an application starts its SDK: instrumentations first, then the library (see the comment at the top).
  unregister = registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()], tracerProvider: app.provider });
  ({ OpenAI: OpenAIClient } = createRequire(import.meta.url)('openai') as { OpenAI: typeof OpenAI });
});

afterAll(async () => {
  unregister();
  await standIn.close();
});

const WEATHER_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'weather',
    description: 'Get the weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('@opentelemetry/instrumentation-openai around the openai client', () => {
  it('an application span with chat, stream, tool round trip and embeddings becomes one session of its calls', async () => {
    const client = new OpenAIClient({ apiKey: 'test-key', baseURL: standIn.baseUrl });
    const traceId = await trace.getTracer('app').startActiveSpan('app.request', async (root) => {
      const plain = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        temperature: 0.2,
        max_tokens: 50,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Say hello.' },
        ],
      });
      expect(plain.choices[0]!.message.content).toBe('Hello there');

      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Say hello (stream).' }],
      });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
      expect(streamed).toBe('Hello from the stream');

      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
      const asked = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL] });
      const call = asked.choices[0]!.message.tool_calls![0]!;
      messages.push(asked.choices[0]!.message, {
        role: 'tool',
        tool_call_id: call.id,
        content: JSON.stringify({ city: 'Paris', temperature: 21 }),
      });
      const answered = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [WEATHER_TOOL] });
      expect(answered.choices[0]!.message.content).toBe(TOOL_ANSWER);

      const embedded = await client.embeddings.create({ model: STAND_IN_EMBEDDING_MODEL, input: 'hello' });
      expect(embedded.data).toHaveLength(1);
      root.end();
      return root.spanContext().traceId;
    });
    await app.provider.forceFlush();

    // A session of other instrumentations is its trace: its id is the trace id.
    const session = await getJson<ProcessingSession>(`/api/monitoring/sessions/${traceId}`);
    const { sessions } = await getJson<{ sessions: ProcessingSession[] }>('/api/monitoring/sessions/recent?limit=100');
    expect(sessions.map((listed) => listed.session_id)).toEqual([traceId]);

    expect(stepTree(session.steps)).toEqual(
      tree([
        'other app.request',
        '  llm_call chat gpt-4o-mini',
        '  llm_call chat gpt-4o-mini',
        '  llm_call chat gpt-4o-mini',
        '  llm_call chat gpt-4o-mini',
        `  embedding embeddings ${STAND_IN_EMBEDDING_MODEL}`,
      ]),
    );
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      service_name: 'otel-openai-app',
      provider: 'openai',
      // Four chat calls (12 + 9 + 12 + 12 in, 5 + 4 + 5 + 5 out) and one embedding (4 in).
      token_counts: { input: 49, output: 19, total: 68, streamed: 0 },
      error: null,
    });

    const calls = session.llm_calls;
    expect(calls.map((c) => [c.operation, c.request_model, c.response_model, c.provider])).toEqual([
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 'openai'],
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 'openai'],
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 'openai'],
      ['chat', 'gpt-4o-mini', STAND_IN_CHAT_MODEL, 'openai'],
      ['embeddings', STAND_IN_EMBEDDING_MODEL, STAND_IN_EMBEDDING_MODEL, 'openai'],
    ]);
    expect(calls.map((c) => [c.input_tokens, c.output_tokens, c.total_tokens]).slice(0, 4)).toEqual([
      [12, 5, 17],
      [9, 4, 13],
      [12, 5, 17],
      [12, 5, 17],
    ]);
    // An embeddings call has input tokens only (the span has no total): its total is those, as the
    // session's `token_counts.total` takes whichever is known.
    expect([calls[4]!.input_tokens, calls[4]!.output_tokens, calls[4]!.total_tokens]).toEqual([4, null, 4]);
    expect(calls.map((c) => c.finish_reasons)).toEqual([['stop'], ['stop'], ['tool_calls'], ['stop'], null]);
    expect(calls.every((c) => c.status === 'ok')).toBe(true);
    // This instrumentation records messages as log records, not on spans: no previews from traces.
    expect(calls.map((c) => [c.prompt_preview, c.response_preview])).toEqual(Array.from({ length: 5 }, () => [null, null]));

    const root = session.steps.find((step) => step.parent_span_id === null)!;
    // The calls' steps, in the order of the calls (each call starts after the one before ended).
    const children = calls.map((c) => session.steps.find((step) => step.span_id === c.span_id)!);
    expectStartOrder([root, ...children]);
    expect(root).toMatchObject({ parent_span_id: null, convention: 'otel', status: 'ok' });
    expect(children.map((step) => step.parent_span_id)).toEqual(children.map(() => root.span_id));
    expect(children.map((step) => step.convention)).toEqual(children.map(() => 'gen_ai'));
    expect(children.map((step) => step.kind)).toEqual(['llm_call', 'llm_call', 'llm_call', 'llm_call', 'embedding']);
    expect(children[1]!.facts).toEqual({ model: STAND_IN_CHAT_MODEL, provider: 'openai', input_tokens: 9, output_tokens: 4 });
    expect(children[4]!.facts).toEqual({ model: STAND_IN_EMBEDDING_MODEL, provider: 'openai', input_tokens: 4 });

    // The session's model is the chat model that answered, not the embedding model of its last call.
    expect(session.model).toBe(STAND_IN_CHAT_MODEL);
  });
});
