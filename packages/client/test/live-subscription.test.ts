/**
 * The dispatch of a live subscription, driven through the WebSocket interface it accepts (the real
 * server is exercised in test/live-client.e2e.test.ts; here the server's messages are written by hand).
 */
import { describe, expect, it } from 'vitest';
import { LIVE_ERROR_CODES, subscribeLive } from '../src/index.js';
import type { LiveEvent, LiveServerMessage, LiveSessionSummary, StatisticsReport, WebSocketLike } from '../src/index.js';

class ScriptedSocket implements WebSocketLike {
  static last: ScriptedSocket | undefined;
  readyState = 0;
  readonly url: string;
  readonly sent: unknown[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(url: string) {
    this.url = url;
    ScriptedSocket.last = this;
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: LiveServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

const summary = (session_id: string, status: LiveSessionSummary['status']): LiveSessionSummary => ({
  session_id,
  status,
  task: 't',
  model: 'm',
  provider: null,
  processor_type: 'batch',
  conversation_id: null,
  current_stage: null,
  progress: 0,
  start_time: '2026-11-30T10:00:00.000Z',
  end_time: null,
  duration_ms: null,
  token_counts: { input: 0, output: 0, total: 0, streamed: 0 },
  time_to_first_token_ms: null,
  content_preview: null,
  result_preview: null,
  error: null,
});

describe('subscribeLive', () => {
  it('reports renamed and removed sessions', () => {
    const seen: string[] = [];
    const handle = subscribeLive({
      baseUrl: 'http://monitor.test:8000',
      WebSocket: ScriptedSocket,
      onRenamed: ({ previous_session_id, session_id }) => seen.push(`renamed ${previous_session_id} → ${session_id}`),
      onRemoved: ({ session_id }) => seen.push(`removed ${session_id}`),
    });
    const socket = ScriptedSocket.last!;
    expect(socket.url).toBe('ws://monitor.test:8000/ws/monitoring');
    socket.receive({
      type: 'batch',
      events: [
        { type: 'session_renamed', session_id: 's-1', previous_session_id: 'trace-1' },
        { type: 'session_removed', session_id: 's-0' },
      ],
    });
    expect(seen).toEqual(['renamed trace-1 → s-1', 'removed s-0']);
    handle.close();
  });

  it('hands every kind of live event to its handler, as the shared LiveEvent type describes it', () => {
    const seen: string[] = [];
    const handle = subscribeLive({
      baseUrl: 'http://monitor.test:8000',
      WebSocket: ScriptedSocket,
      onSnapshot: (snapshot) =>
        seen.push(`snapshot ${snapshot.active_sessions.map((session) => session.session_id).join()} of ${snapshot.active_total}`),
      onSessionStarted: (session, metadata) => seen.push(`started ${session.session_id} ${JSON.stringify(metadata)}`),
      onStage: (stage) => seen.push(`stage ${stage.session_id} ${stage.stage} ${stage.progress}`),
      onStepStarted: (step) => seen.push(`step started ${step.step.span_id}`),
      onStepCompleted: (step) => seen.push(`step completed ${step.step.span_id}`),
      onTokens: (tokens) => seen.push(`tokens ${tokens.count}/${tokens.total} ${tokens.text ?? ''}`),
      onBudgetExceeded: (crossing) => seen.push(`budget ${crossing.session_id} ${crossing.budget} ${crossing.value}>${crossing.limit}`),
      onCompleted: (session) => seen.push(`completed ${session.session_id}`),
      onFailed: (session) => seen.push(`failed ${session.session_id}`),
      onAbandoned: (session) => seen.push(`abandoned ${session.session_id}`),
      onStatistics: (statistics) => seen.push(`statistics ${statistics.sessions_total}`),
      onError: (error) => seen.push(`error ${error.code}`),
    });
    const socket = ScriptedSocket.last!;
    const statistics = { sessions_total: 3 } as StatisticsReport;
    socket.receive({ type: 'snapshot', statistics, active_sessions: [summary('s-0', 'active')], active_total: 2 });
    const step = { span_id: 'span-1' } as Extract<LiveEvent, { type: 'step_started' }>['step'];
    const events: LiveEvent[] = [
      { type: 'session_started', session: summary('s-1', 'active'), metadata: { team: 'search' } },
      {
        type: 'stage_changed',
        session_id: 's-1',
        stage: 'initializing',
        progress: 5,
        message: 'go',
        timestamp: '2026-11-30T10:00:00.000Z',
      },
      { type: 'step_started', session_id: 's-1', step },
      { type: 'step_completed', session_id: 's-1', step },
      { type: 'tokens', session_id: 's-1', count: 2, total: 2, text: 'Hi' },
      {
        type: 'budget_exceeded',
        session_id: 's-1',
        user_id: null,
        budget: 'session_tokens',
        limit: 1,
        value: 2,
        at: '2026-11-30T10:00:01.000Z',
      },
      { type: 'session_completed', session: summary('s-1', 'completed') },
      { type: 'session_failed', session: summary('s-2', 'failed') },
      { type: 'session_abandoned', session: summary('s-3', 'abandoned') },
    ];
    socket.receive({ type: 'batch', events, statistics });
    // A newer server's event this client does not know is skipped, and the rest still arrive.
    socket.receive({
      type: 'batch',
      events: [{ type: 'from_the_future' } as unknown as LiveEvent, { type: 'session_removed', session_id: 's-1' }],
    });
    socket.receive({ type: 'error', code: LIVE_ERROR_CODES.BAD_PARAMETER, message: 'status: "done" is not one of …' });
    expect(seen).toEqual([
      'snapshot s-0 of 2',
      'started s-1 {"team":"search"}',
      'stage s-1 initializing 5',
      'step started span-1',
      'step completed span-1',
      'tokens 2/2 Hi',
      'budget s-1 session_tokens 2>1',
      'completed s-1',
      'failed s-2',
      'abandoned s-3',
      'statistics 3',
      'error LLMMON_ERR_BAD_PARAMETER',
    ]);
    handle.close();
  });

  it('sends its filter by the wire names: in the URL, in subscribe messages, and after an unsubscribe', () => {
    const handle = subscribeLive({
      baseUrl: 'https://monitor.test/',
      WebSocket: ScriptedSocket,
      filter: { sessions: ['a', 'b'], status: ['active', 'failed'], processor_type: 'batch', conversation: 'c-1' },
    });
    const socket = ScriptedSocket.last!;
    const url = new URL(socket.url);
    expect(url.origin + url.pathname).toBe('wss://monitor.test/ws/monitoring');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      sessions: 'a,b',
      status: 'active,failed',
      processor_type: 'batch',
      conversation: 'c-1',
    });
    socket.open();
    handle.setFilter({ model: 'gpt-4o-mini', task: 'summarize' });
    handle.unsubscribe();
    handle.setFilter(undefined);
    expect(socket.sent).toEqual([
      { type: 'subscribe', model: 'gpt-4o-mini', task: 'summarize' },
      { type: 'unsubscribe' },
      { type: 'subscribe' },
    ]);
    handle.close();
  });
});
