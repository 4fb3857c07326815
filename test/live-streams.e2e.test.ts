/** The live WebSocket and SSE streams over real sockets, fed by an instrumented application. */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { useReceiver } from './support/receiver.js';
import { until } from './support/wait.js';

const server = useReceiver({ liveTickMs: 50 });

async function metricsText(apiUrl: string): Promise<string> {
  return (await fetch(`${apiUrl}/metrics`)).text();
}
const slowServer = useReceiver({ liveTickMs: 20, liveMaxBufferedBytes: 64 * 1024 });
const pingingServer = useReceiver({ livePingSeconds: 0.2 });

interface Message {
  type: string;
  events?: {
    type: string;
    session_id?: string;
    session?: { session_id: string };
    stage?: string;
    count?: number;
    total?: number;
    text?: string;
  }[];
  [key: string]: unknown;
}

/** A WebSocket client that records every message; `query` is the URL's query (a subscription). */
async function connect(apiUrl: string, query = ''): Promise<{ socket: WebSocket; messages: Message[]; closed: Promise<[number, string]> }> {
  const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring${query}`);
  const messages: Message[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  const closed = new Promise<[number, string]>((resolve) => socket.on('close', (code, reason) => resolve([code, reason.toString()])));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages, closed };
}

const eventsOf = (messages: Message[]) => messages.flatMap((message) => message.events ?? []);
const sessionOfEvent = (event: NonNullable<Message['events']>[number]) => event.session_id ?? event.session?.session_id;

/** An SSE stream read as curl would: its text so far, until closed. */
async function openStream(url: string): Promise<{ contentType: string | null; text(): string; close(): Promise<void> }> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.status, url).toBe(200);
  const reader = response.body!.getReader();
  let text = '';
  const read = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += new TextDecoder().decode(value);
    }
  })().catch(() => undefined);
  return {
    contentType: response.headers.get('content-type'),
    text: () => text,
    close: async () => {
      controller.abort();
      await read;
    },
  };
}

/** The ids of the sessions an SSE text's session events are about. */
function sessionsOfStream(text: string): Set<string> {
  const ids = new Set<string>();
  for (const block of text.split('\n\n')) {
    if (!block.startsWith('event: ') || /^event: (snapshot|statistics)\n/.test(block)) continue;
    const event = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as NonNullable<Message['events']>[number];
    ids.add(sessionOfEvent(event)!);
  }
  return ids;
}

let app: LlmMonitorSetup | undefined;
afterEach(async () => {
  await app?.shutdown();
  app = undefined;
});

describe('WebSocket /ws/monitoring', () => {
  it('sends a snapshot, then the stages of a session while it is still running, then its end', async () => {
    const client = await connect(server.apiUrl);
    await until('snapshot', () => client.messages.length > 0);
    expect(client.messages[0]).toMatchObject({ type: 'snapshot', statistics: expect.any(Object), active_sessions: expect.any(Array) });

    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl, captureTokenText: true, progressIntervalMs: 0 });
    const session = app.monitor.startSession({ task: 'live-ws', model: 'm' });
    session.stage('initializing');
    session.stage('connecting_to_model');
    await until('the running stage', () =>
      eventsOf(client.messages).some((event) => event.type === 'stage_changed' && event.stage === 'connecting_to_model'),
    );
    expect(eventsOf(client.messages).some((event) => event.type === 'session_started' && sessionOfEvent(event) === session.sessionId)).toBe(
      true,
    );

    session.stage('streaming_response');
    session.tokens(3, 'Hi ');
    await until('tokens', () => eventsOf(client.messages).some((event) => event.type === 'tokens' && event.text?.includes('Hi')));
    session.complete();
    await until('the end', () =>
      eventsOf(client.messages).some((event) => event.type === 'session_completed' && sessionOfEvent(event) === session.sessionId),
    );
    client.socket.close();
  });

  it('coalesces the token events of a tick into one', async () => {
    const client = await connect(server.apiUrl);
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl, progressIntervalMs: 0 });
    const session = app.monitor.startSession({ task: 'coalesce' });
    session.stage('streaming_response');
    for (let i = 0; i < 40; i += 1) session.tokens(1);
    await until('all tokens', () =>
      eventsOf(client.messages).some(
        (event) => event.type === 'tokens' && sessionOfEvent(event) === session.sessionId && event.total === 40,
      ),
    );
    const tokenEvents = eventsOf(client.messages).filter((event) => event.type === 'tokens' && sessionOfEvent(event) === session.sessionId);
    expect(tokenEvents.reduce((sum, event) => sum + (event.count ?? 0), 0)).toBe(40);
    expect(tokenEvents.length).toBeLessThan(40);
    for (const message of client.messages) {
      const perSession = (message.events ?? []).filter((event) => event.type === 'tokens' && sessionOfEvent(event) === session.sessionId);
      expect(perSession.length).toBeLessThanOrEqual(1);
    }
    session.complete();
    client.socket.close();
  });

  it('follows a subscription: one session, a filter, nothing; and answers bad messages', async () => {
    const client = await connect(server.apiUrl);
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const watched = app.monitor.startSession({ task: 'watched', model: 'm-watched' });
    const other = app.monitor.startSession({ task: 'other', model: 'm-other' });
    client.socket.send(JSON.stringify({ type: 'subscribe', sessions: [watched.sessionId] }));
    await until('subscribed', () => client.messages.some((message) => message.type === 'subscribed'));
    const from = client.messages.length;
    watched.stage('initializing');
    other.stage('initializing');
    watched.complete();
    other.complete();
    await until('the watched session ends', () =>
      eventsOf(client.messages.slice(from)).some((event) => event.type === 'session_completed'),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(new Set(eventsOf(client.messages.slice(from)).map(sessionOfEvent))).toEqual(new Set([watched.sessionId]));

    client.socket.send(JSON.stringify({ type: 'subscribe', model: 'm-other' }));
    await until('subscribed again', () => client.messages.filter((message) => message.type === 'subscribed').length === 2);
    const fromFilter = client.messages.length;
    const again = app.monitor.startSession({ task: 'other', model: 'm-other' });
    const ignored = app.monitor.startSession({ task: 'watched', model: 'm-watched' });
    again.complete();
    ignored.complete();
    await until('the filtered session ends', () =>
      eventsOf(client.messages.slice(fromFilter)).some((event) => event.type === 'session_completed'),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(new Set(eventsOf(client.messages.slice(fromFilter)).map(sessionOfEvent))).toEqual(new Set([again.sessionId]));

    client.socket.send(JSON.stringify({ type: 'unsubscribe' }));
    await until('unsubscribed', () => client.messages.some((message) => message.type === 'unsubscribed'));
    const fromNone = client.messages.length;
    app.monitor.startSession({ task: 'unseen' }).complete();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(eventsOf(client.messages.slice(fromNone))).toEqual([]);

    client.socket.send('not json');
    client.socket.send(JSON.stringify({ type: 'subscribe', status: 'done' }));
    await until('two errors', () => client.messages.filter((message) => message.type === 'error').length === 2);
    expect(client.messages.filter((message) => message.type === 'error').map((message) => message.code)).toEqual([
      'LLMMON_ERR_BAD_PARAMETER',
      'LLMMON_ERR_BAD_PARAMETER',
    ]);
    client.socket.close();
  });

  it('takes the same names in its URL as in a subscribe message, and the deprecated session for sessions', async () => {
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const batch = app.monitor.startSession({ task: 'names', processorType: 'batch' });
    const other = app.monitor.startSession({ task: 'names', processorType: 'stream' });
    const byName = await connect(server.apiUrl, '?processor_type=batch');
    const byAlias = await connect(server.apiUrl, `?session=${encodeURIComponent(other.sessionId)}`);
    const byMessage = await connect(server.apiUrl);
    byMessage.socket.send(JSON.stringify({ type: 'subscribe', session: [batch.sessionId] }));
    await until('subscribed', () => byMessage.messages.some((message) => message.type === 'subscribed'));
    // The reply names the subscription by its one name.
    expect(byMessage.messages.find((message) => message.type === 'subscribed')!.subscription).toEqual({
      active: true,
      sessions: [batch.sessionId],
    });
    const from = byMessage.messages.length;
    batch.stage('initializing');
    other.stage('initializing');
    batch.complete();
    other.complete();
    const ended = (client: { messages: Message[] }, id: string) =>
      eventsOf(client.messages).some((event) => event.type === 'session_completed' && sessionOfEvent(event) === id);
    await until(
      'every client saw its session end',
      () =>
        ended(byName, batch.sessionId) &&
        ended(byAlias, other.sessionId) &&
        ended({ messages: byMessage.messages.slice(from) }, batch.sessionId),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(new Set(eventsOf(byName.messages).map(sessionOfEvent))).toEqual(new Set([batch.sessionId]));
    expect(new Set(eventsOf(byAlias.messages).map(sessionOfEvent))).toEqual(new Set([other.sessionId]));
    expect(new Set(eventsOf(byMessage.messages.slice(from)).map(sessionOfEvent))).toEqual(new Set([batch.sessionId]));
    for (const client of [byName, byAlias, byMessage]) client.socket.close();

    // A name and its alias at once: which was meant cannot be told.
    const both = await connect(server.apiUrl, '?session=a&sessions=b');
    expect(await both.closed).toEqual([1008, 'bad subscription']);
    expect(both.messages).toEqual([
      {
        type: 'error',
        code: 'LLMMON_ERR_BAD_PARAMETER',
        message: 'sessions and its deprecated alias session were both given: give sessions only',
      },
    ]);
  });

  it('closes a client that cannot keep up, with code 1013 and a reason', async () => {
    const client = await connect(slowServer.apiUrl);
    // Stop reading: what the server sends piles up in its buffers.
    (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    app = setupLlmMonitor({
      endpoint: slowServer.otlpTracesUrl,
      captureTokenText: true,
      progressIntervalMs: 0,
      tokenBatching: { maxTokens: 1 },
    });
    const chunk = 'x'.repeat(16 * 1024);
    const closed = Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000))]);
    // A session per round: one session's text is bounded by max_trace_bytes, the traffic is not.
    let session = app.monitor.startSession({ task: 'flood' });
    for (let round = 0; round < 400 && slowServer.receiver.hub.stats().clients > 0; round += 1) {
      session.complete();
      session = app.monitor.startSession({ task: 'flood' });
      session.stage('streaming_response');
      for (let i = 0; i < 10; i += 1) session.tokens(1, chunk);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    (client.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const result = await closed;
    expect(result).toBeDefined();
    expect(result![0]).toBe(1013);
    expect(result![1]).toMatch(/^client too slow/);
    const metrics = await metricsText(slowServer.apiUrl);
    expect(metrics).toMatch(/^llm_monitor_live_clients_dropped_total\{transport="websocket"\} 1$/m);
    expect(metrics).toMatch(/^llm_monitor_live_events_dropped_total\{transport="websocket"\} [1-9]\d*$/m);
    session.complete();
  }, 60_000);
});

describe('WebSocket pings', () => {
  it('drop a client that stopped answering, and keep one that answers', async () => {
    const dead = await connect(pingingServer.apiUrl);
    const alive = await connect(pingingServer.apiUrl);
    // A client that reads nothing answers no ping: as if its machine had gone away.
    (dead.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await until('the dead client dropped', () => pingingServer.receiver.hub.stats().clients === 1, 5000);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    dead.socket.terminate();
  });
});

describe('SSE /api/monitoring/stream', () => {
  it('streams named events, filtered by the query, as curl would read them', async () => {
    const stream = await openStream(`${server.apiUrl}/api/monitoring/stream?model=m-sse`);
    expect(stream.contentType).toMatch(/^text\/event-stream/);

    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const session = app.monitor.startSession({ task: 'sse', model: 'm-sse' });
    app.monitor.startSession({ task: 'sse', model: 'not-this-one' }).complete();
    session.stage('initializing');
    session.complete();
    await until('the session to end on the stream', () => stream.text().includes('event: session_completed'));
    await stream.close();
    const text = stream.text();
    expect(text.startsWith('retry: 3000\n\nevent: snapshot\ndata: {')).toBe(true);
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event: ') && !block.startsWith('event: snapshot') && !block.startsWith('event: statistics'));
    expect(events.map((block) => block.split('\n')[0])).toEqual([
      'event: session_started',
      'event: stage_changed',
      'event: session_completed',
    ]);
    // Statistics cover everything; session events only what the filter asks for.
    expect(events.join('\n')).not.toContain('not-this-one');
  });

  it('ends a stream that cannot keep up, saying why', async () => {
    const { request } = await import('node:http');
    let received = '';
    let ended = false;
    await new Promise<void>((resolve) => {
      const outgoing = request(`${slowServer.apiUrl}/api/monitoring/stream`, (response) => {
        response.setEncoding('utf8');
        response.pause();
        response.on('data', (chunk: string) => (received += chunk));
        response.on('end', () => {
          ended = true;
          resolve();
        });
        void (async () => {
          app = setupLlmMonitor({
            endpoint: slowServer.otlpTracesUrl,
            captureTokenText: true,
            progressIntervalMs: 0,
            tokenBatching: { maxTokens: 1 },
          });
          const chunk = 'y'.repeat(16 * 1024);
          // A session per round: one session's text is bounded by max_trace_bytes, the traffic is not.
          let session = app.monitor.startSession({ task: 'sse-flood' });
          for (let round = 0; round < 400 && slowServer.receiver.hub.stats().clients > 0; round += 1) {
            session.complete();
            session = app.monitor.startSession({ task: 'sse-flood' });
            session.stage('streaming_response');
            for (let i = 0; i < 10; i += 1) session.tokens(1, chunk);
            await new Promise((wait) => setTimeout(wait, 25));
          }
          session.complete();
          response.resume();
        })();
      });
      outgoing.end();
    });
    expect(ended).toBe(true);
    expect(received).toContain('event: error');
    expect(received).toContain('LLMMON_ERR_CLIENT_TOO_SLOW');
    expect(await metricsText(slowServer.apiUrl)).toMatch(/^llm_monitor_live_clients_dropped_total\{transport="sse"\} 1$/m);
  }, 60_000);

  it('follows the session ids of sessions, or of the deprecated session, and refuses both at once', async () => {
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    const watched = app.monitor.startSession({ task: 'sse-ids' });
    const other = app.monitor.startSession({ task: 'sse-ids' });
    const streams = await Promise.all(
      ['sessions', 'session'].map((name) =>
        openStream(`${server.apiUrl}/api/monitoring/stream?${name}=${encodeURIComponent(watched.sessionId)}`),
      ),
    );
    watched.stage('initializing');
    other.stage('initializing');
    watched.complete();
    other.complete();
    await until('both streams saw the end', () => streams.every((stream) => stream.text().includes('event: session_completed')));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const stream of streams) {
      await stream.close();
      expect(sessionsOfStream(stream.text())).toEqual(new Set([watched.sessionId]));
    }
    const both = await fetch(`${server.apiUrl}/api/monitoring/stream?session=a&sessions=b`);
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({
      code: 'LLMMON_ERR_BAD_PARAMETER',
      message: expect.stringContaining('deprecated alias session'),
    });
  });

  it('names a bad filter', async () => {
    const response = await fetch(`${server.apiUrl}/api/monitoring/stream?status=done`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'LLMMON_ERR_BAD_PARAMETER', message: expect.stringContaining('status') });
  });
});

describe('fan-out without clients', () => {
  it('does no work while nobody is connected', async () => {
    await until('clients gone', () => server.receiver.hub.stats().clients === 0);
    // Not even listening to the store.
    expect(server.receiver.hub.listening).toBe(false);
    const before = server.receiver.hub.stats();
    app = setupLlmMonitor({ endpoint: server.otlpTracesUrl });
    app.monitor.startSession({ task: 'nobody' }).complete();
    await app.processor.forceFlush();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.receiver.hub.stats()).toEqual(before);
  });
});
