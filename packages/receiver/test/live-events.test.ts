import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '@llm-monitor/sessions';
import type { StageRecord } from '@llm-monitor/sessions';
import { coalesce, eventsBetween, seenStateOf } from '@llm-monitor/sessions';
import type { LiveEvent } from '@llm-monitor/sessions';
import { LiveHub } from '../src/live/live-hub.js';
import type { LiveClient } from '../src/live/live-hub.js';
import { subscriptionOf } from '../src/live/subscriptions.js';
import { session } from './session-fixture.js';

const stage = (name: string, at: string): StageRecord => ({
  stage: name,
  start_time: at,
  end_time: null,
  duration_ms: null,
  message: '',
  progress: 0,
  status: 'running',
  error: null,
  metadata: {},
});

describe('eventsBetween', () => {
  it('sends each stage once, whatever order stages arrive in', () => {
    const b = stage('b', '2026-01-01T00:00:02.000Z');
    const a = stage('a', '2026-01-01T00:00:01.000Z');
    const first = session({ stages: [b] });
    const second = session({ stages: [a, b] });
    const events = eventsBetween(seenStateOf(first), second);
    expect(events).toEqual([expect.objectContaining({ type: 'stage_changed', stage: 'a' })]);
  });

  it('sends token text once, and resets it when the text was re-cut', () => {
    const before = seenStateOf(
      session({ streamed_tokens: ['Hel'], token_counts: { input: null, output: null, total: null, streamed: 1 } }),
    );
    const grown = session({ streamed_tokens: ['Hel', 'lo'], token_counts: { input: null, output: null, total: null, streamed: 2 } });
    expect(eventsBetween(before, grown)).toEqual([{ type: 'tokens', session_id: 's', count: 1, total: 2, text: 'lo' }]);
    // The final span replaced the live markers: same tokens, cut differently.
    const recut = session({ streamed_tokens: ['He', 'llo'], token_counts: { input: null, output: null, total: null, streamed: 2 } });
    expect(eventsBetween(seenStateOf(grown), recut)).toEqual([]);
    const changed = session({ streamed_tokens: ['Hi there'], token_counts: { input: null, output: null, total: null, streamed: 2 } });
    expect(eventsBetween(seenStateOf(grown), changed)).toEqual([
      { type: 'tokens', session_id: 's', count: 0, total: 2, text: 'Hi there', text_reset: true },
    ]);
  });

  it('announces a step running, then its end once with its intermediate result; a step first seen ended only ends', () => {
    const running = session();
    const call = running.steps[0]!;
    expect(eventsBetween(undefined, running).map((event) => event.type)).toEqual(['session_started', 'step_started']);
    expect(eventsBetween(seenStateOf(running), running)).toEqual([]);
    const ended = session({
      steps: [{ ...call, end_time: '2026-01-01T00:00:01.000Z', duration_ms: 5, status: 'ok', output_preview: 'x'.repeat(2000) }],
    });
    const [completed] = eventsBetween(seenStateOf(running), ended);
    expect(completed).toMatchObject({
      type: 'step_completed',
      session_id: 's',
      step: { span_id: call.span_id, status: 'ok', duration_ms: 5 },
    });
    // Previews are cut like a summary's: the whole step is one REST call away.
    expect((completed as Extract<LiveEvent, { type: 'step_completed' }>).step.output_preview).toHaveLength(500);
    expect(eventsBetween(seenStateOf(ended), ended)).toEqual([]);
    expect(eventsBetween(seenStateOf(session({ steps: [] })), ended).map((event) => event.type)).toEqual(['step_completed']);
  });

  it('carries the metadata when a session starts and the result when it completes', () => {
    const started = session({ metadata: { region: 'eu' } });
    expect(eventsBetween(undefined, started)[0]).toMatchObject({ type: 'session_started', metadata: { region: 'eu' } });
    const done = session({ status: 'completed', result_preview: 'the answer' });
    expect(eventsBetween(seenStateOf(started), done).at(-1)).toMatchObject({
      type: 'session_completed',
      session: { result_preview: 'the answer' },
    });
  });

  it('starts a session again when an ended one comes back', () => {
    const abandoned = seenStateOf(session({ status: 'abandoned' }));
    expect(eventsBetween(abandoned, session({ status: 'active' }))[0]).toMatchObject({ type: 'session_started' });
  });
});

describe('coalesce', () => {
  it('merges the token events of a session in a tick, keeping order around other events', () => {
    const events: LiveEvent[] = [
      { type: 'tokens', session_id: 'a', count: 1, total: 1, text: 'x' },
      { type: 'tokens', session_id: 'b', count: 2, total: 2 },
      { type: 'tokens', session_id: 'a', count: 3, total: 4, text: 'yz' },
      { type: 'stage_changed', session_id: 'a', stage: 'processing_response', progress: 85, message: '', timestamp: 't' },
      { type: 'tokens', session_id: 'a', count: 1, total: 5, text: 'RESET', text_reset: true },
      { type: 'tokens', session_id: 'a', count: 1, total: 6, text: '!' },
    ];
    expect(coalesce(events)).toEqual([
      { type: 'tokens', session_id: 'a', count: 4, total: 4, text: 'xyz' },
      { type: 'tokens', session_id: 'b', count: 2, total: 2 },
      events[3],
      { type: 'tokens', session_id: 'a', count: 2, total: 6, text: 'RESET!', text_reset: true },
    ]);
  });

  it('sends a step that started and ended within the tick as ended only', () => {
    const step = session().steps[0]!;
    const other = { ...step, span_id: 'c'.repeat(16) };
    const events: LiveEvent[] = [
      { type: 'step_started', session_id: 's', step },
      { type: 'step_started', session_id: 's', step: other },
      { type: 'step_completed', session_id: 's', step: { ...step, status: 'ok' } },
    ];
    expect(coalesce(events)).toEqual([events[1], events[2]]);
  });
});

describe('LiveHub', () => {
  function client(subscription = subscriptionOf(undefined, {})): LiveClient & { received: LiveEvent[] } {
    const received: LiveEvent[] = [];
    return { subscription, received, deliver: (events) => received.push(...events), close: () => undefined };
  }

  it('lets a status=active subscriber see the end of the sessions it was shown, and renames follow the session', async () => {
    const store = new MemorySessionStore();
    const hub = new LiveHub(store, { tickMs: 5 });
    const watcher = client(subscriptionOf(undefined, { status: 'active' }));
    const disconnect = hub.connect(watcher);
    store.upsert(session({ session_id: 'tmp', status: 'active' }), 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.rename('tmp', 'real');
    store.upsert(session({ session_id: 'real', status: 'failed', error: 'boom' }), 1);
    // Ended before this subscriber could see it running: not its business.
    store.upsert(session({ session_id: 'quick', status: 'completed' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(watcher.received.map((event) => `${event.type} ${'session_id' in event ? event.session_id : event.session.session_id}`)).toEqual(
      [
        'session_started tmp',
        // The fixture's session is one running LLM call: a step, announced as it starts.
        'step_started tmp',
        'session_renamed real',
        'session_failed real',
      ],
    );
    disconnect();
    expect(hub.listening).toBe(false);
  });

  it('sends a change after a quiet spell at once, and gathers the changes that follow it for a tick', async () => {
    const store = new MemorySessionStore();
    // A tick far longer than the test waits: only a change after quiet can arrive in time.
    const hub = new LiveHub(store, { tickMs: 10_000 });
    const batches: LiveEvent[][] = [];
    hub.connect({ subscription: subscriptionOf(undefined, {}), deliver: (events) => batches.push([...events]), close: () => undefined });
    store.upsert(session({ session_id: 'first' }), 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches.map((batch) => batch.map((event) => event.type))).toEqual([['session_started', 'step_started']]);
    // Right after a batch: the next change waits for the tick.
    store.upsert(session({ session_id: 'second' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toHaveLength(1);
    hub.close();
  });

  it('introduces a session that enters a filter late', async () => {
    const store = new MemorySessionStore();
    const hub = new LiveHub(store, { tickMs: 5 });
    const watcher = client(subscriptionOf(undefined, { model: 'late-model' }));
    hub.connect(watcher);
    store.upsert(session({ session_id: 'x', model: null }), 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.upsert(session({ session_id: 'x', model: 'late-model', status: 'completed' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(watcher.received.map((event) => event.type)).toEqual(['session_started', 'session_completed']);
    hub.close();
  });
});
