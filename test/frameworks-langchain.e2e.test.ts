/**
 * LangChain.js, traced by OpenInference (`@arizeai/openinference-instrumentation-langchain`), run
 * for real against a local stand-in for the OpenAI API and exported over OTLP to a real receiver:
 * each run becomes one session whose steps name LangChain's runs with their kinds and nesting, and
 * whose model, tokens, conversation and user come from the OpenInference attributes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context } from '@opentelemetry/api';
import { LangChainInstrumentation } from '@arizeai/openinference-instrumentation-langchain';
import { setSession, setUser } from '@arizeai/openinference-core';
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { RunnableLambda } from '@langchain/core/runnables';
import { HumanMessage } from '@langchain/core/messages';
import type { BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { TOOL_ANSWER, startOpenAiStandIn } from './support/openai-stand-in.js';
import { expectStartOrder, stepNamed, stepTree, tree } from './support/step-tree.js';
import { useTracedApp } from './support/traced-app.js';
import type { OpenAiStandIn } from './support/openai-stand-in.js';

const app = useTracedApp('langchain-app');
const { theNewSession } = app;
let standIn: OpenAiStandIn;
let instrumentation: LangChainInstrumentation;

beforeAll(async () => {
  standIn = await startOpenAiStandIn({ reply: 'Hello Ada!' });
  // The ESM build of @langchain/core cannot be patched on import: hand the module to the instrumentation.
  instrumentation = new LangChainInstrumentation({ tracerProvider: app.provider });
  instrumentation.manuallyInstrument(CallbackManagerModule);
});

afterAll(async () => {
  instrumentation.disable();
  await standIn.close();
});

function chatModel(): ChatOpenAI {
  return new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test-key', temperature: 0, configuration: { baseURL: standIn.baseUrl } });
}

describe('LangChain traced by OpenInference', () => {
  it('a prompt | model | parser chain becomes one session: the chain, its three runs, the model call and its tokens', async () => {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You are a terse assistant.'],
      ['human', 'Say hello to {name}.'],
    ]);
    const chain = prompt.pipe(chatModel()).pipe(new StringOutputParser());
    // The conversation from the run's metadata, the user from OpenInference's context helper (the
    // instrumentation turns metadata `user_id` into no attribute).
    const answer = await context.with(setUser(context.active(), { userId: 'lc-user-1' }), () =>
      chain.invoke({ name: 'Ada' }, { metadata: { session_id: 'lc-session-1' } }),
    );
    expect(answer).toBe('Hello Ada!');

    const session = await theNewSession();
    expect(stepTree(session.steps)).toEqual(
      tree(['chain RunnableSequence', '  template ChatPromptTemplate', '  llm_call ChatOpenAI', '  chain StrOutputParser']),
    );
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      service_name: 'langchain-app',
      model: 'gpt-4o-mini',
      conversation_id: 'lc-session-1',
      user_id: 'lc-user-1',
      token_counts: { input: 12, output: 5, total: 17, streamed: 0 },
      steps_dropped: 0,
      error: null,
    });
    expect(session.llm_calls).toHaveLength(1);
    expect(session.llm_calls[0]).toMatchObject({
      operation: 'chat',
      request_model: 'gpt-4o-mini',
      input_tokens: 12,
      output_tokens: 5,
      total_tokens: 17,
      finish_reasons: ['stop'],
      status: 'ok',
    });
    expect(session.llm_calls[0]!.span_id).toBe(stepNamed(session, 'ChatOpenAI').span_id);
    // The call's previews are the conversation: the span has it as `llm.input_messages.N.message.*`
    // and `llm.output_messages.N.message.*` beside LangChain's serialized run (`input.value`/`output.value`).
    expect(session.llm_calls[0]!.prompt_preview).toContain('Say hello to Ada.');
    expect(session.llm_calls[0]!.response_preview).toBe('Hello Ada!');

    const root = stepNamed(session, 'RunnableSequence');
    expect(root).toMatchObject({
      parent_span_id: null,
      convention: 'openinference',
      status: 'ok',
      input_preview: 'Ada',
      output_preview: 'Hello Ada!',
    });
    for (const name of ['ChatPromptTemplate', 'ChatOpenAI', 'StrOutputParser']) {
      expect(stepNamed(session, name), name).toMatchObject({ parent_span_id: root.span_id, convention: 'openinference', status: 'ok' });
    }
    expectStartOrder(['RunnableSequence', 'ChatPromptTemplate', 'ChatOpenAI', 'StrOutputParser'].map((name) => stepNamed(session, name)));
    expect(stepNamed(session, 'ChatOpenAI').facts).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 12, output_tokens: 5 });
    expect(stepNamed(session, 'ChatOpenAI').output_preview).toContain('Hello Ada!');
    expect(stepNamed(session, 'ChatPromptTemplate').input_preview).toBe('Ada');
    expect(stepNamed(session, 'StrOutputParser').output_preview).toBe('Hello Ada!');
  });

  it('a tool-calling agent becomes one session: two model calls around the tool run, inside the agent', async () => {
    const weather = tool(async ({ city }: { city: string }) => JSON.stringify({ city, temperature: 21 }), {
      name: 'weather',
      description: 'Get the weather for a city',
      schema: z.object({ city: z.string() }),
    });
    const model = chatModel().bindTools([weather]);
    const agent = RunnableLambda.from(async (question: string, config) => {
      // LangChain parents a nested run to the lambda's run only through the config passed down.
      const messages: BaseMessage[] = [new HumanMessage(question)];
      const first = await model.invoke(messages, config);
      messages.push(first);
      for (const call of first.tool_calls ?? []) messages.push(await weather.invoke(call, config));
      const final = await model.invoke(messages, config);
      return final.content;
    }).withConfig({ runName: 'weather_agent' });

    const answer = await context.with(setSession(context.active(), { sessionId: 'lc-session-2' }), () =>
      agent.invoke('What is the weather in Paris?'),
    );
    expect(answer).toBe(TOOL_ANSWER);
    // The tool's result went back to the model.
    expect(standIn.requests.at(-1)?.body).toMatchObject({ messages: expect.arrayContaining([expect.objectContaining({ role: 'tool' })]) });

    const session = await theNewSession();
    expect(stepTree(session.steps)).toEqual(
      tree(['chain weather_agent', '  llm_call ChatOpenAI', '  tool_call weather', '  llm_call ChatOpenAI']),
    );
    expect(session).toMatchObject({
      status: 'completed',
      model: 'gpt-4o-mini',
      conversation_id: 'lc-session-2',
      token_counts: { input: 24, output: 10, total: 34, streamed: 0 },
    });
    expect(session.llm_calls.map((call) => call.finish_reasons)).toEqual([['tool_calls'], ['stop']]);
    expect(session.llm_calls.map((call) => [call.input_tokens, call.output_tokens, call.total_tokens])).toEqual([
      [12, 5, 17],
      [12, 5, 17],
    ]);

    const root = stepNamed(session, 'weather_agent');
    expect(root).toMatchObject({
      parent_span_id: null,
      kind: 'chain',
      input_preview: 'What is the weather in Paris?',
      output_preview: TOOL_ANSWER,
    });
    const toolStep = stepNamed(session, 'weather');
    expect(toolStep).toMatchObject({ parent_span_id: root.span_id, kind: 'tool_call', convention: 'openinference', status: 'ok' });
    expect(toolStep.facts).toMatchObject({ tool_name: 'weather' });
    // LangChain hands the tool's start callback the argument alone, and its end callback the ToolMessage.
    expect(toolStep.input_preview).toContain('Paris');
    expect(toolStep.output_preview).toContain('"temperature\\":21');
    expectStartOrder([root, stepNamed(session, 'ChatOpenAI', 0), toolStep, stepNamed(session, 'ChatOpenAI', 1)]);
    for (const index of [0, 1])
      expect(stepNamed(session, 'ChatOpenAI', index)).toMatchObject({
        parent_span_id: root.span_id,
        facts: { model: 'gpt-4o-mini', input_tokens: 12, output_tokens: 5 },
      });
  });
});
