/**
 * The live promise, end to end: an application set up with `setupLlmMonitor` exports to a real
 * receiver over OTLP/HTTP, and the receiver shows the session, its current stage and its streaming
 * progress while they are still running.
 */
import { describe, expect, it } from 'vitest';
import { setupLlmMonitor } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import WebSocket from 'ws';
import { createMonitorClient, subscribeLive } from '@llm-monitor/client';
import type { ProcessingSession } from '@llm-monitor/sessions';

const server = useReceiver();

async function waitForSession(id: string, check: (session: ProcessingSession) => boolean): Promise<ProcessingSession> {
  const client = createMonitorClient({ baseUrl: server.apiUrl });
  const deadline = Date.now() + 10_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const session = await client.getSession(id);
      if (check(session)) return session;
      last = session;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`session ${id} never matched; last seen: ${JSON.stringify(last)}`);
}

describe('a session instrumented with setupLlmMonitor', () => {
  it('is visible at the receiver with its running stage and streaming progress before anything ends', async () => {
    const setup = setupLlmMonitor({
      endpoint: server.otlpTracesUrl,
      serviceName: 'live-e2e',
      captureTokenText: true,
      progressIntervalMs: 0,
    });
    try {
      const session = setup.monitor.startSession({ task: 'answer', model: 'gpt-4o-mini' });
      session.stage('initializing');
      session.stage('connecting_to_model', { message: 'opening a connection' });

      const connecting = await waitForSession(session.sessionId, (s) => s.current_stage === 'connecting_to_model');
      expect(connecting).toMatchObject({ status: 'active', progress: 50, service_name: 'live-e2e', end_time: null });
      expect(connecting.stages.at(-1)).toMatchObject({ stage: 'connecting_to_model', status: 'running', message: 'opening a connection' });

      session.stage('streaming_response');
      session.tokens(2, 'Hello ');
      const streaming = await waitForSession(session.sessionId, (s) => s.token_counts.streamed === 2);
      expect(streaming).toMatchObject({ status: 'active', current_stage: 'streaming_response', streamed_tokens: ['Hello '] });

      session.tokens(1, 'world');
      await waitForSession(session.sessionId, (s) => s.token_counts.streamed === 3 && s.streamed_tokens.join('') === 'Hello world');

      session.complete({ result: 'Hello world' });
      const done = await waitForSession(session.sessionId, (s) => s.status === 'completed');
      expect(done).toMatchObject({ progress: 100, token_counts: { output: 3, streamed: 3 }, streamed_tokens: ['Hello world'] });
      expect(done.stages.every((stage) => stage.status === 'ok')).toBe(true);
      expect(done.time_to_first_token_ms).toBeGreaterThan(0);
      expect(done.tokens_per_second).toBeGreaterThan(0);
      expect(done.time_per_output_token_ms).toBeCloseTo(1000 / done.tokens_per_second!, 6);
    } finally {
      await setup.shutdown();
    }
    expect(setup.processor.stats()).toMatchObject({ failedExports: 0, droppedSpans: 0 });
  });

  it('shows a running step, live, over the WebSocket: step_started while it runs, step_completed with its result', async () => {
    const setup = setupLlmMonitor({ endpoint: server.otlpTracesUrl, serviceName: 'live-steps' });
    const events: { type: string; step: { name: string; status: string; output_preview: string | null; parent_span_id: string | null } }[] =
      [];
    const subscription = subscribeLive({
      baseUrl: server.apiUrl,
      WebSocket: WebSocket as unknown as NonNullable<Parameters<typeof subscribeLive>[0]['WebSocket']>,
      onStepStarted: (event) => events.push({ type: 'started', step: event.step }),
      onStepCompleted: (event) => events.push({ type: 'completed', step: event.step }),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const session = setup.monitor.startSession({ task: 'answer' });
      session.stage('resolving_template');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const running = session.chainStep(
        'retrieve_context',
        async (step) => {
          await step.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 2 }, () => [{ score: 0.9 }]);
          await released;
          return ['doc-1'];
        },
        { kind: 'retrieval' },
      );
      // While the chain still runs, the receiver shows it running, its finished search beneath it.
      const deadline = Date.now() + 10_000;
      while (!events.some((event) => event.type === 'started' && event.step.name === 'retrieve_context') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const started = events.find((event) => event.type === 'started' && event.step.name === 'retrieve_context');
      expect(started?.step.status).toBe('running');
      const during = await waitForSession(session.sessionId, (s) =>
        s.steps.some((step) => step.name === 'qdrant docs' && step.status === 'ok'),
      );
      const chain = during.steps.find((step) => step.name === 'retrieve_context')!;
      expect(chain).toMatchObject({ kind: 'retrieval', status: 'running', stage: 'resolving_template' });
      expect(during.steps.find((step) => step.name === 'qdrant docs')!.parent_span_id).toBe(chain.span_id);

      release();
      await running;
      session.complete();
      await waitForSession(session.sessionId, (s) => s.status === 'completed');
      while (!events.some((event) => event.type === 'completed' && event.step.name === 'retrieve_context') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(events.find((event) => event.type === 'completed' && event.step.name === 'retrieve_context')?.step).toMatchObject({
        status: 'ok',
        output_preview: '["doc-1"]',
      });
    } finally {
      subscription.close();
      await setup.shutdown();
    }
  });
});
