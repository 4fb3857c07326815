/**
 * Langfuse's OpenTelemetry SDK (`@langfuse/tracing` v4) on the global tracer provider, exported
 * with a plain OTLP exporter (no `LangfuseSpanProcessor`: the application sends to us, not to
 * Langfuse) to a real receiver: one trace with an observation of every type becomes one session
 * whose steps carry the observation types as kinds, whose calls are the generation and the
 * embedding with their usage, and whose task, conversation and user are the trace's, set once on
 * the root with `updateTrace` (v4 writes them on that span only).
 */
import { describe, expect, it } from 'vitest';
import { startActiveObservation, startObservation } from '@langfuse/tracing';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { expectStartOrder, stepNamed, stepTree, tree } from './support/step-tree.js';
import { useTracedApp } from './support/traced-app.js';

// @langfuse/tracing makes its spans with the global tracer provider.
const app = useTracedApp('langfuse-app');
const { getJson } = app;

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

/** A retrieval-augmented agent: embed the question, retrieve, ask the model, run the tool it asked for. */
async function runWeatherChat(): Promise<string> {
  return startActiveObservation('handle-request', async (root) => {
    root.update({ input: { question: 'What is the weather in Paris?' }, metadata: { route: '/chat' } });
    root.updateTrace({
      name: 'weather-chat',
      sessionId: 'lf-session-1',
      userId: 'lf-user-1',
      tags: ['demo'],
      metadata: { plan: 'pro' },
      release: 'r-1',
      version: 'v-1',
    });

    await startActiveObservation(
      'weather-agent',
      async (agent) => {
        agent.update({ input: 'What is the weather in Paris?' });

        startObservation(
          'embed-query',
          { model: 'text-embedding-3-small', input: 'paris weather', usageDetails: { input: 4 } },
          { asType: 'embedding' },
        ).end();
        await tick();
        startObservation(
          'doc-search',
          { input: 'paris weather', output: [{ id: 'doc1', text: 'Paris is mild.' }] },
          { asType: 'retriever' },
        ).end();
        await tick();
        const generation = startObservation(
          'llm-call',
          {
            model: 'gpt-4o-mini',
            modelParameters: { temperature: 0.2 },
            input: [{ role: 'user', content: 'What is the weather in Paris?' }],
          },
          { asType: 'generation' },
        );
        await tick();
        generation.update({
          output: { role: 'assistant', tool_calls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }] },
          usageDetails: { input: 12, output: 5, total: 17 },
          // When the first token came: Langfuse's time to first token.
          completionStartTime: new Date(),
        });
        await tick();
        generation.end();
        await tick();
        startObservation('weather', { input: { city: 'Paris' }, output: { city: 'Paris', temperature: 21 } }, { asType: 'tool' }).end();
        await tick();
        startObservation('pii-check', { input: 'It is 21 degrees in Paris.', output: { passed: true } }, { asType: 'guardrail' }).end();
        await tick();
        // Events end as they are made.
        startObservation('cache-miss', { input: { key: 'paris' }, level: 'WARNING', statusMessage: 'cache miss' }, { asType: 'event' });
        await tick();
        startObservation('format-answer', { input: 'It is 21 degrees', output: 'It is 21 degrees in Paris.' }).end();
        await tick();
        startObservation('quality-eval', { input: 'It is 21 degrees in Paris.', output: { score: 0.9 } }, { asType: 'evaluator' }).end();
        agent.update({ output: 'It is 21 degrees in Paris.' });
      },
      { asType: 'agent' },
    );

    root.update({ output: 'It is 21 degrees in Paris.' });
    return root.traceId;
  });
}

describe('Langfuse @langfuse/tracing v4 on a plain OTel SDK', () => {
  it('a trace with an observation of every type becomes one session of steps by observation type', async () => {
    const traceId = await runWeatherChat();
    await app.provider.forceFlush();

    const { sessions } = await getJson<{ sessions: ProcessingSession[] }>('/api/monitoring/sessions/recent?limit=100');
    expect(sessions.map((listed) => listed.session_id)).toEqual([traceId]);
    const session = await getJson<ProcessingSession>(`/api/monitoring/sessions/${traceId}`);

    expect(stepTree(session.steps)).toEqual(
      tree([
        'chain handle-request',
        '  agent weather-agent',
        '    embedding embed-query',
        '    retrieval doc-search',
        '    llm_call llm-call',
        '    tool_call weather',
        '    other pii-check',
        '    other cache-miss',
        '    chain format-answer',
        '    other quality-eval',
      ]),
    );
    expect(session.steps.every((step) => step.convention === 'langfuse')).toBe(true);
    expect(session).toMatchObject({
      source: 'gen_ai',
      status: 'completed',
      service_name: 'langfuse-app',
      // The trace's name, session and user, set on the root only, are the whole session's.
      task: 'weather-chat',
      conversation_id: 'lf-session-1',
      user_id: 'lf-user-1',
      model: 'gpt-4o-mini',
      // The generation (12 in, 5 out) and the embedding (4 in).
      token_counts: { input: 16, output: 5, total: 21, streamed: 0 },
      error: null,
    });

    expect(
      session.llm_calls.map((call) => [call.operation, call.request_model, call.response_model, call.input_tokens, call.output_tokens]),
    ).toEqual([
      ['embeddings', 'text-embedding-3-small', 'text-embedding-3-small', 4, null],
      ['chat', 'gpt-4o-mini', 'gpt-4o-mini', 12, 5],
    ]);
    expect(session.llm_calls[1]!.total_tokens).toBe(17);
    // The embedding's usage has input tokens only: its total is those, as the session's
    // `token_counts.total` takes whichever is known.
    expect(session.llm_calls[0]!.total_tokens).toBe(4);
    const call = session.llm_calls[1]!;
    expect(call.span_id).toBe(stepNamed(session, 'llm-call').span_id);
    expect(call.prompt_preview).toBe('[{"role":"user","content":"What is the weather in Paris?"}]');
    expect(call.response_preview).toContain('"tool_calls"');
    // The generation's `completionStartTime` (`langfuse.observation.completion_start_time`) is its
    // time to first token: 2 ms or more after it started, before it ended.
    expect(call.time_to_first_token_ms, 'time_to_first_token_ms: completion_start_time − start').toSatisfy(
      (ms: number | null) => ms !== null && ms >= 1 && ms <= call.duration_ms!,
    );

    const root = stepNamed(session, 'handle-request');
    const agent = stepNamed(session, 'weather-agent');
    expect(root).toMatchObject({
      parent_span_id: null,
      input_preview: '{"question":"What is the weather in Paris?"}',
      output_preview: 'It is 21 degrees in Paris.',
    });
    expect(agent).toMatchObject({
      parent_span_id: root.span_id,
      facts: { agent_name: 'weather-agent' },
      output_preview: 'It is 21 degrees in Paris.',
    });
    expectStartOrder([
      root,
      agent,
      ...['embed-query', 'doc-search', 'llm-call', 'weather', 'pii-check', 'cache-miss', 'format-answer', 'quality-eval'].map((name) =>
        stepNamed(session, name),
      ),
    ]);
    expect(stepNamed(session, 'llm-call').facts).toEqual({ model: 'gpt-4o-mini', input_tokens: 12, output_tokens: 5 });
    expect(stepNamed(session, 'embed-query')).toMatchObject({
      facts: { model: 'text-embedding-3-small', input_tokens: 4 },
      input_preview: 'paris weather',
    });
    expect(stepNamed(session, 'weather')).toMatchObject({
      facts: { tool_name: 'weather' },
      input_preview: '{"city":"Paris"}',
      output_preview: '{"city":"Paris","temperature":21}',
    });
    expect(stepNamed(session, 'doc-search')).toMatchObject({
      input_preview: 'paris weather',
      output_preview: '[{"id":"doc1","text":"Paris is mild."}]',
    });
    // A warning is no failure (only level ERROR is).
    expect(stepNamed(session, 'cache-miss')).toMatchObject({ status: 'ok', error: null, input_preview: '{"key":"paris"}' });
    expect(session.steps.every((step) => step.status === 'ok' && step.end_time !== null)).toBe(true);
  });
});
