import { describe, expect, it } from 'vitest';
import type { LiveSessionSummary, StatisticsReport } from '@llm-monitor/client';
import { LiveState } from '../src/live-state.js';
import type { LiveChange } from '../src/live-state.js';

function summary(id: string, overrides: Partial<LiveSessionSummary> = {}): LiveSessionSummary {
  return {
    session_id: id,
    status: 'active',
    task: 'answer',
    model: 'gpt-4o-mini',
    provider: null,
    processor_type: null,
    conversation_id: null,
    current_stage: 'initializing',
    progress: 0,
    start_time: '2026-11-22T10:00:00.000Z',
    end_time: null,
    duration_ms: null,
    token_counts: { input: null, output: null, total: null, streamed: 0 },
    time_to_first_token_ms: null,
    content_preview: null,
    result_preview: null,
    error: null,
    ...overrides,
  };
}

const statistics = { sessions_total: 1 } as StatisticsReport;

describe('LiveState', () => {
  it('follows a session from start through stages and tokens to its end', () => {
    const state = new LiveState();
    const changes: LiveChange[] = [];
    state.subscribe((change) => changes.push(change));
    state.sessionStarted(summary('a'), 1000);
    state.stage({ session_id: 'a', stage: 'streaming_response', progress: 70, message: 'Receiving', timestamp: '' }, 1100);
    state.tokens({ session_id: 'a', count: 2, total: 2, text: 'Hello ' }, 1200);
    state.tokens({ session_id: 'a', count: 1, total: 3, text: 'world' }, 1300);
    expect(state.active.get('a')).toMatchObject({
      message: 'Receiving',
      streamed: 3,
      text: 'Hello world',
      summary: { current_stage: 'streaming_response', progress: 70 },
    });
    // A stale stage event never moves the progress back.
    state.stage({ session_id: 'a', stage: 'sending_request', progress: 60, message: '', timestamp: '' }, 1350);
    expect(state.active.get('a')!.summary.progress).toBe(70);
    state.tokens({ session_id: 'a', count: 0, total: 3, text: 'Hi', text_reset: true }, 1400);
    expect(state.active.get('a')!.text).toBe('Hi');
    state.ended(summary('a', { status: 'completed', duration_ms: 900 }), 2000);
    expect(state.active.size).toBe(0);
    expect(changes).toContain('sessions');
    expect(state.log.map((line) => line.kind)).toEqual(['started', 'stage', 'tokens', 'tokens', 'stage', 'tokens', 'completed']);
  });

  it('replaces running sessions with a snapshot, keeping what it knew of the ones still running', () => {
    const state = new LiveState();
    state.sessionStarted(summary('a'), 0);
    state.sessionStarted(summary('gone'), 0);
    state.tokens({ session_id: 'a', count: 1, total: 1, text: 'kept' }, 10);
    state.snapshot({ statistics, active_sessions: [summary('a'), summary('b')] }, 20);
    expect([...state.active.keys()].sort()).toEqual(['a', 'b']);
    expect(state.active.get('a')!.text).toBe('kept');
    expect(state.statistics).toBe(statistics);
  });

  it('moves a renamed session to its own id and drops removed ones', () => {
    const state = new LiveState();
    state.sessionStarted(summary('trace-1'), 0);
    state.renamed('trace-1', 'session-1', 5);
    expect([...state.active.keys()]).toEqual(['session-1']);
    // A link to the first id still finds the session, and the log says what happened.
    expect(state.resolveId('trace-1')).toBe('session-1');
    expect(state.resolveId('unrelated')).toBe('unrelated');
    expect(state.log.at(-1)).toMatchObject({ sessionId: 'session-1', kind: 'renamed', text: 'was trace-1' });
    expect(state.active.get('session-1')!.summary.session_id).toBe('session-1');
    state.removed('session-1');
    expect(state.active.size).toBe(0);
  });

  it('keeps the text of a running session bounded, and the log too', () => {
    const state = new LiveState({ maxTextPerSession: 10, maxLogLines: 3 });
    state.sessionStarted(summary('a'), 0);
    state.tokens({ session_id: 'a', count: 20, total: 20, text: '0123456789abcdefghij' }, 1);
    expect(state.active.get('a')!.text).toBe('abcdefghij');
    for (let index = 0; index < 5; index += 1) state.connection(`line ${index}`, index);
    expect(state.log.map((line) => line.text)).toEqual(['line 2', 'line 3', 'line 4']);
  });

  it('forgets token arrivals older than ten seconds even while nobody reads the rate', () => {
    const state = new LiveState();
    for (let second = 0; second < 100; second += 1) state.tokens({ session_id: 'x', count: 1, total: second + 1 }, second * 1000);
    // Only the arrivals of the last ten seconds (89 s to 99 s, both ends) are held.
    expect(state.tokenArrivalsHeld).toBe(11);
  });

  it('counts tokens per second over the last ten seconds', () => {
    const state = new LiveState();
    state.tokens({ session_id: 'x', count: 50, total: 50 }, 1_000);
    state.tokens({ session_id: 'x', count: 50, total: 100 }, 9_000);
    expect(state.tokensPerSecond(10_000)).toBe(10);
    expect(state.tokensPerSecond(15_000)).toBe(5);
    expect(state.tokensPerSecond(30_000)).toBe(0);
  });

  it('puts endings into chart buckets with their median duration', () => {
    const state = new LiveState({ chartSpanMs: 30_000 });
    const now = 99_000;
    state.ended(summary('a', { status: 'completed', duration_ms: 100 }), 95_000);
    state.ended(summary('b', { status: 'completed', duration_ms: 300 }), 96_000);
    state.ended(summary('c', { status: 'failed', duration_ms: 200 }), 97_000);
    state.ended(summary('d', { status: 'completed', duration_ms: 999 }), 60_000);
    const buckets = state.chartBuckets(now, 10_000);
    expect(buckets).toHaveLength(3);
    expect(buckets.at(-1)).toMatchObject({ completed: 2, failed: 1, p50Ms: 200 });
    expect(buckets.slice(0, 2).every((bucket) => bucket.completed + bucket.failed === 0 && bucket.p50Ms === null)).toBe(true);
  });

  it('fills the charts from history, counting a session seen both ways once', () => {
    const state = new LiveState({ chartSpanMs: 60_000 });
    const now = Date.parse('2026-11-22T10:01:00.000Z');
    const ended = (id: string, status: string, end: string) => ({ session_id: id, status, end_time: end, duration_ms: 400 });
    state.seedEndings(
      [
        ended('a', 'completed', '2026-11-22T10:00:30.000Z'),
        ended('b', 'failed', '2026-11-22T10:00:31.000Z'),
        ended('old', 'completed', '2026-11-22T09:00:00.000Z'),
        ended('c', 'abandoned', '2026-11-22T10:00:32.000Z'),
      ],
      now,
    );
    state.ended(summary('a', { status: 'completed', duration_ms: 400 }), now);
    const totals = state
      .chartBuckets(now, 10_000)
      .reduce((sum, bucket) => ({ completed: sum.completed + bucket.completed, failed: sum.failed + bucket.failed }), {
        completed: 0,
        failed: 0,
      });
    expect(totals).toEqual({ completed: 1, failed: 1 });
  });

  it('tells views which session a step event was about, without filling the log', () => {
    const state = new LiveState();
    const changes: LiveChange[] = [];
    state.sessionStarted(summary('a'), 0);
    state.subscribe((change) => changes.push(change));
    state.step('a', 500);
    expect(changes).toEqual(['steps']);
    expect(state.lastStepSessionId).toBe('a');
    expect(state.active.get('a')!.updatedAt).toBe(500);
    expect(state.log.map((line) => line.kind)).toEqual(['started']);
  });
});
