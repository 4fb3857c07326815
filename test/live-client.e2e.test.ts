/** The typed client's live subscription over a real WebSocket, including reconnecting. */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeLive } from '@llm-monitor/client';
import type { LiveStage, LiveSubscriptionHandle, WebSocketLike } from '@llm-monitor/client';
import { setupLlmMonitor } from '@llm-monitor/instrumentation/setup';
import type { LlmMonitorSetup } from '@llm-monitor/instrumentation/setup';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const server = useReceiver();

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
    expect(stages.filter((stage) => stage.session_id === session.sessionId).map((stage) => stage.stage)).toEqual(['initializing', 'sending_request', 'streaming_response']);
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
});
