/** The typed client's live subscription over a real WebSocket, including reconnecting. */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeLive } from '@llm-monitor/client';
import type { LiveBudgetExceeded, LiveError, LiveStage, LiveSubscriptionHandle, SessionStatus, WebSocketLike } from '@llm-monitor/client';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const server = useReceiver();
const budgeted = useReceiver({ budgetSessionTokens: 1000 });

let app: LlmMonitorSetup | undefined;
let live: LiveSubscriptionHandle | undefined;
afterEach(async () => {
  live?.close();
  await app?.shutdown();
  live = undefined;
  app = undefined;
});

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

describe('subscribeLive', () => {
  it('calls the handlers as a session runs, stage by stage, and when sessions end', async () => {
    const seen: string[] = [];
    const stages: LiveStage[] = [];
    let snapshot = false;
    live = subscribeLive({
      baseUrl: server.apiUrl,
      WebSocket: Ws,
      onSnapshot: () => (snapshot = true),
      onSessionStarted: (session, metadata) => seen.push(`started ${session.task} ${JSON.stringify(metadata)}`),
      onStage: (stage) => stages.push(stage),
      onTokens: (tokens) => seen.push(`tokens ${tokens.total}`),
      onCompleted: (session) => seen.push(`completed ${session.task} ${session.result_preview}`),
      onFailed: (session) => seen.push(`failed ${session.task} ${session.error}`),
    });
    await until('the snapshot', () => snapshot);
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl, progressIntervalMs: 0 });
    const session = app.monitor.startSession({ task: 'client', metadata: { tenant: 'acme' } });
    session.stage('initializing');
    session.stage('sending_request');
    await until('the running stage', () => stages.some((stage) => stage.stage === 'sending_request'));
    session.stage('streaming_response');
    session.tokens(4);
    await until('the tokens', () => seen.includes('tokens 4'));
    session.complete({ result: 'the answer' });
    app.monitor.startSession({ task: 'broken' }).fail(new Error('boom'));
    await until('both ends', () => seen.includes('completed client the answer') && seen.includes('failed broken boom'));
    // A session starts with its metadata, and completes with its result.
    expect(seen[0]).toBe('started client {"tenant":"acme"}');
    expect(stages.filter((stage) => stage.session_id === session.sessionId).map((stage) => stage.stage)).toEqual([
      'initializing',
      'sending_request',
      'streaming_response',
    ]);
  });

  it('reconnects after the connection drops, with backoff, and restores its subscription', async () => {
    const states: string[] = [];
    const started: string[] = [];
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const watched = app.monitor.startSession({ task: 'watched' });
    live = subscribeLive({
      baseUrl: server.apiUrl,
      WebSocket: Ws,
      filter: { sessions: [watched.sessionId] },
      backoffMs: 50,
      onConnectionChange: (state) => states.push(state),
      onStage: (stage) => started.push(`${stage.session_id === watched.sessionId ? 'watched' : 'other'} ${stage.stage}`),
    });
    await until('open', () => states.includes('open'));
    // The server drops every live client (as a restart or a proxy would).
    server.receiver.hub.close();
    await until('reconnected', () => states.filter((state) => state === 'open').length === 2);
    expect(states).toContain('reconnecting');
    watched.stage('initializing');
    const other = app.monitor.startSession({ task: 'other' });
    other.stage('initializing');
    watched.complete();
    other.complete();
    await until('the watched stage', () => started.includes('watched initializing'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toEqual(['watched initializing']);
    live.close();
    await until('closed', () => states.at(-1) === 'closed');
    live = undefined;
  });

  it('subscribes by the wire names, and hands on what the server refuses with its code', async () => {
    const started: string[] = [];
    const errors: LiveError[] = [];
    let snapshots = 0;
    live = subscribeLive({
      baseUrl: server.apiUrl,
      WebSocket: Ws,
      filter: { processor_type: 'batch', task: 'named' },
      onSnapshot: () => (snapshots += 1),
      onSessionStarted: (session) => started.push(`${session.processor_type} ${session.session_id}`),
      onError: (error) => errors.push(error),
    });
    await until('the snapshot', () => snapshots === 1);
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const batch = app.monitor.startSession({ task: 'named', processorType: 'batch' });
    app.monitor.startSession({ task: 'named', processorType: 'stream' }).complete();
    batch.complete();
    await until('the batch session', () => started.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toEqual([`batch ${batch.sessionId}`]);
    live.setFilter({ status: ['done' as SessionStatus] });
    await until('the refusal', () => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'LLMMON_ERR_BAD_PARAMETER', message: expect.stringContaining('status') });
  });

  it('tells a budget crossing', async () => {
    const crossings: LiveBudgetExceeded[] = [];
    let open = false;
    live = subscribeLive({
      baseUrl: budgeted.apiUrl,
      WebSocket: Ws,
      onSnapshot: () => (open = true),
      onBudgetExceeded: (crossing) => crossings.push(crossing),
    });
    await until('the snapshot', () => open);
    app = setupLlmMonitor({ endpoint: budgeted.otlpTracesUrl });
    const session = app.monitor.startSession({ task: 'expensive' });
    session.complete({ inputTokens: 900, outputTokens: 300 });
    await until('the crossing', () => crossings.length === 1);
    expect(crossings[0]).toMatchObject({ session_id: session.sessionId, budget: 'session_tokens', limit: 1000, value: 1200 });
  });
});
