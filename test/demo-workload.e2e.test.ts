/** The demo workload exports over OTLP to a real receiver, like any application. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEMO_FAILURES, DEMO_TASKS, answerTokens, runDemoWorkload } from '@llm-monitor/demo';
import type { DemoExample } from '@llm-monitor/demo';
import { useReceiver } from './support/receiver.js';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import type { ProcessingSession, StepRecord } from '@llm-monitor/sessions';

const server = useReceiver();

/** A seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

describe('runDemoWorkload', () => {
  it('runs many sessions at once without Node warning about listeners on its abort signal', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      // 40 sessions started within 0.2 s, each waiting on the shared signal for most of its run.
      const workload = runDemoWorkload({
        endpoint: server.otlpTracesUrl,
        serviceName: 'demo-many-at-once',
        rate: 200,
        timeScale: 0.2,
        failureRate: 0,
        maxSessions: 40,
        random: seeded(3),
      });
      await workload.finished;
      await workload.stop();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.includes('MaxListenersExceeded'))).toEqual([]);
  });

  it('runs overlapping sessions through all ten stages, with tokens, several models and some failures', async () => {
    const workload = runDemoWorkload({
      endpoint: server.otlpTracesUrl,
      rate: 20,
      timeScale: 0.03,
      failureRate: 0.3,
      maxSessions: 16,
      random: seeded(7),
    });
    await workload.finished;
    await workload.stop();
    expect(workload.counts.started).toBe(16);
    expect(workload.counts.completed + workload.counts.failed).toBe(16);

    const sessions = [...server.receiver.pipeline.store.values()].filter((s) => s.service_name === 'llm-monitor-demo');
    expect(sessions).toHaveLength(16);
    const completed = sessions.filter((s) => s.status === 'completed');
    const failed = sessions.filter((s) => s.status === 'failed');
    expect(completed).toHaveLength(workload.counts.completed);
    expect(failed).toHaveLength(workload.counts.failed);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(sessions.map((s) => s.model)).size).toBeGreaterThan(1);
    for (const session of completed) {
      expect(session.stages.map((stage) => stage.stage)).toEqual(BUILTIN_STAGE_IDS);
      expect(session.progress).toBe(100);
      expect(session.token_counts.streamed).toBeGreaterThan(0);
      expect(session.streamed_tokens.length).toBeGreaterThan(0);
      // The embeddings call of the retrieval step and the chat call, both GenAI spans.
      expect(session.llm_calls.map((call) => call.operation).sort()).toEqual(['chat', 'embeddings']);
      const chat = session.llm_calls.find((call) => call.operation === 'chat')!;
      expect(chat.prompt_preview).toMatch(/^system: You are a careful assistant\.\nuser: /);
      expect(chat.response_preview?.length).toBeGreaterThan(0);
      expect(session.tokens_per_second).toBeGreaterThan(0);
    }
    const failureStages = new Set<string>(DEMO_FAILURES.map((f) => f.stage));
    for (const session of failed) {
      expect(failureStages).toContain(session.stages.at(-1)!.stage);
      expect(session.error).toBeTruthy();
    }
  });

  it('streams, in every session, the canned answer to the input it shows, with token counts that match the text', async () => {
    const workload = runDemoWorkload({
      endpoint: server.otlpTracesUrl,
      serviceName: 'demo-answers',
      rate: 40,
      timeScale: 0.03,
      failureRate: 0.3,
      maxSessions: 30,
      random: seeded(11),
    });
    await workload.finished;
    await workload.stop();
    const sessions = [...server.receiver.pipeline.store.values()].filter((s) => s.service_name === 'demo-answers');
    expect(sessions).toHaveLength(30);
    // A preview is the text itself, or its start followed by an ellipsis.
    const previews = (full: string, preview: string | null): boolean =>
      preview === full || (preview !== null && preview.endsWith('…') && full.startsWith(preview.slice(0, -1)));
    const answers = new Set<string>();
    let brokenStreams = 0;
    for (const session of sessions) {
      const task = DEMO_TASKS.find((candidate) => candidate.task === session.task);
      expect(task, String(session.task)).toBeDefined();
      const example: DemoExample | undefined = task!.examples.find((candidate) => previews(candidate.input, session.content_preview));
      expect(example, `an input of ${task!.task} that starts "${session.content_preview}"`).toBeDefined();
      const { answer } = example!;
      const streamed = session.streamed_tokens.join('');
      const chat = session.llm_calls.find((call) => call.operation === 'chat');
      if (session.status === 'completed') {
        expect(streamed).toBe(answer);
        const tokens = answerTokens(answer).length;
        expect(session.token_counts).toMatchObject({ output: tokens, streamed: tokens });
        expect(chat).toMatchObject({ output_tokens: tokens, finish_reasons: ['stop'] });
        expect(previews(answer, chat!.response_preview), String(chat!.response_preview)).toBe(true);
        expect(previews(answer, session.result_preview), String(session.result_preview)).toBe(true);
        answers.add(answer);
      } else {
        // Failed before the stream, or broken off halfway through it: what arrived is the answer's start.
        expect(answer.startsWith(streamed), streamed).toBe(true);
        expect(session.token_counts.streamed).toBe(answerTokens(streamed).length);
        if (session.stages.at(-1)!.stage === 'streaming_response') {
          brokenStreams += 1;
          expect(streamed.length).toBeGreaterThan(0);
          expect(streamed.length).toBeLessThan(answer.length);
          expect(chat?.output_tokens).toBe(session.token_counts.streamed);
        } else {
          expect(streamed).toBe('');
        }
      }
    }
    // Different tasks and inputs, not one text over and over.
    expect(answers.size).toBeGreaterThan(5);
    expect(brokenStreams).toBeGreaterThan(0);
  });

  it("shows each demo session's processing story over REST: the retrieval chain, its nested rerank, both searches, the model fallback and the tool call", async () => {
    // Sessions run at once and draw from one random source in whatever order they get to it, so a
    // seed does not fix which of them fall back; a source below the demo's 20 % makes every one do so.
    const workload = runDemoWorkload({
      endpoint: server.otlpTracesUrl,
      serviceName: 'demo-tree',
      rate: 20,
      timeScale: 0.03,
      failureRate: 0,
      maxSessions: 12,
      random: () => 0.1,
    });
    await workload.finished;
    await workload.stop();
    const ids = [...server.receiver.pipeline.store.values()].filter((s) => s.service_name === 'demo-tree').map((s) => s.session_id);
    expect(ids).toHaveLength(12);
    let fallbacks = 0;
    for (const id of ids) {
      const response = await fetch(`${server.apiUrl}/api/monitoring/sessions/${id}`);
      expect(response.status).toBe(200);
      const session = (await response.json()) as ProcessingSession;
      const step = (name: string): StepRecord => {
        const found = session.steps.find((candidate) => candidate.name === name);
        expect(found, `${name} in ${session.steps.map((s) => s.name).join(', ')}`).toBeDefined();
        return found!;
      };
      const chain = step('retrieve_context');
      expect(chain).toMatchObject({ kind: 'retrieval', stage: 'resolving_template', parent_span_id: null, status: 'ok' });
      expect(chain.input_preview).toBe(session.content_preview);
      expect(step('rerank')).toMatchObject({ kind: 'rerank', parent_span_id: chain.span_id });
      expect(step('rerank').output_preview).toMatch(/^\[\{"id":"(doc|faq)-/);
      const searches = session.steps.filter((candidate) => candidate.kind === 'vector_search');
      const byCollection = searches
        .map((search) => [search.facts.collection, search.facts.top_k, search.parent_span_id])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(byCollection).toEqual([
        ['docs', 4, chain.span_id],
        ['faq', 2, chain.span_id],
      ]);
      expect(step('embeddings text-embedding-3-small')).toMatchObject({ kind: 'embedding', parent_span_id: chain.span_id });
      const selection = step('model_selection');
      expect(selection).toMatchObject({
        kind: 'model_selection',
        stage: 'selecting_model',
        facts: { chosen_model: session.model, selection_reason: 'lowest latency for the task' },
      });
      expect(selection.facts.candidates?.[0]).toBe(session.model);
      for (const fallback of selection.facts.fallbacks ?? [])
        expect(fallback).toEqual({ model: expect.any(String), error: '503 model overloaded' });
      fallbacks += selection.facts.fallbacks?.length ?? 0;
      expect(step('cite_sources')).toMatchObject({ kind: 'tool_call', stage: 'processing_response', facts: { tool_name: 'cite_sources' } });
      expect(step(`chat ${session.model!}`)).toMatchObject({ kind: 'llm_call', stage: 'sending_request' });
    }
    expect(fallbacks).toBe(12);
  });

  it('ends running sessions as failed when stopped', async () => {
    const workload = runDemoWorkload({ endpoint: server.otlpTracesUrl, rate: 5, serviceName: 'stopped-demo', failureRate: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await workload.stop();
    const sessions = [...server.receiver.pipeline.store.values()].filter((s) => s.service_name === 'stopped-demo');
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.every((s) => s.status === 'failed' && s.error === 'demo workload stopped')).toBe(true);
  });
});

describe('llm-monitor-demo command', () => {
  it('exports the asked number of sessions to the given endpoint and exits 0', async () => {
    const bin = fileURLToPath(new URL('../examples/demo/bin/llm-monitor-demo.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      '--endpoint',
      server.otlpTracesUrl,
      '--rate',
      '10',
      '--sessions',
      '3',
    ]);
    expect(stdout).toMatch(/3 started, \d completed, \d failed/);
    const demoSessions = [...server.receiver.pipeline.store.values()].filter((s) => s.service_name === 'llm-monitor-demo');
    expect(demoSessions.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a bad --rate with exit code 2', async () => {
    const bin = fileURLToPath(new URL('../examples/demo/bin/llm-monitor-demo.js', import.meta.url));
    await expect(promisify(execFile)(process.execPath, [bin, '--rate', 'fast'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--rate must be a positive number'),
    });
  });
});
