import { describe, expect, it } from 'vitest';
import { callRowsOf, eventsBetween, seenStateOf, SessionBuilder, SessionPipeline } from '../src/index.js';
import type { ProcessingSession, SpanRecord } from '../src/index.js';
import { completedSession, pendingMarker, shuffled, span, T0, TRACE_ID } from './span-fixtures.js';

const PRICES = { 'gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 } };

/** A completed session of `user` (12 input + 5 output tokens, priced at gpt-4o-mini). */
function sessionOf(user: string, sessionId: string, traceId: string): SpanRecord[] {
  const spans = completedSession({ sessionId, traceId });
  return [{ ...spans.root, attributes: { ...spans.root.attributes, 'user.id': user } }, ...spans.stages, spans.llmCall];
}

describe('budgets', () => {
  it('mark a session that crosses its token budget once, with the limit and the value', () => {
    const builder = new SessionBuilder({ prices: PRICES, budgets: { sessionTokens: 10 } });
    const [session] = builder.ingest(sessionOf('u1', 's1', 'a'.repeat(32)), 5000);
    expect(session!.token_counts.total).toBe(17);
    expect(session!.budget_exceeded).toEqual([{ budget: 'session_tokens', limit: 10, value: 17, at: new Date(5000).toISOString() }]);
    // Rebuilt again (a duplicate export): still one crossing, counted once.
    builder.ingest(sessionOf('u1', 's1', 'a'.repeat(32)), 6000);
    expect(builder.sessionOf('a'.repeat(32))!.budget_exceeded).toHaveLength(1);
    expect(builder.stats().budgetsExceeded).toEqual({ session_tokens: 1, session_cost: 0, user_daily_tokens: 0, user_daily_cost: 0 });
  });

  it('price sessions and calls from the price table, dated model names included', () => {
    const builder = new SessionBuilder({ prices: PRICES, budgets: { sessionCostUsd: 0.000001 } });
    const [session] = builder.ingest(sessionOf('u1', 's1', 'a'.repeat(32)));
    const cost = (12 * 0.15 + 5 * 0.6) / 1e6;
    expect(session!.llm_calls[0]!.cost_usd).toBeCloseTo(cost, 15);
    expect(session!.cost_usd).toBeCloseTo(cost, 15);
    expect(session!.budget_exceeded.map((crossing) => crossing.budget)).toEqual(['session_cost']);
  });

  it("count a user's sessions of one UTC day together and mark the session that crosses the daily budget", () => {
    const builder = new SessionBuilder({ budgets: { userDailyTokens: 30 } });
    const [first] = builder.ingest(sessionOf('u1', 's1', 'a'.repeat(32)));
    const [other] = builder.ingest(sessionOf('u2', 's2', 'b'.repeat(32)));
    const [second] = builder.ingest(sessionOf('u1', 's3', 'c'.repeat(32)));
    expect(first!.budget_exceeded).toEqual([]);
    expect(other!.budget_exceeded).toEqual([]);
    expect(second!.budget_exceeded).toMatchObject([{ budget: 'user_daily_tokens', limit: 30, value: 34 }]);
    // The user's day stays crossed: a third session does not cross it again.
    const [third] = builder.ingest(sessionOf('u1', 's4', 'd'.repeat(32)));
    expect(third!.budget_exceeded).toEqual([]);
  });

  it('counts usage from history after a restart without telling it again', () => {
    const before = new SessionBuilder({ budgets: { userDailyTokens: 30 } });
    const [spent] = before.ingest(sessionOf('u1', 's1', 'a'.repeat(32)));
    const after = new SessionBuilder({ budgets: { userDailyTokens: 30 } });
    after.seedBudgets([spent!]);
    const [next] = after.ingest(sessionOf('u1', 's2', 'b'.repeat(32)));
    expect(next!.budget_exceeded).toMatchObject([{ budget: 'user_daily_tokens', value: 34 }]);
  });

  it('are told live once, as budget_exceeded events', () => {
    const builder = new SessionBuilder({ budgets: { sessionTokens: 10 } });
    const [session] = builder.ingest(sessionOf('u1', 's1', 'a'.repeat(32)));
    const events = eventsBetween(undefined, session!);
    expect(events.filter((event) => event.type === 'budget_exceeded')).toEqual([
      {
        type: 'budget_exceeded',
        session_id: 's1',
        user_id: 'u1',
        budget: 'session_tokens',
        limit: 10,
        value: 17,
        at: session!.budget_exceeded[0]!.at,
      },
    ]);
    expect(eventsBetween(seenStateOf(session!), session!).some((event) => event.type === 'budget_exceeded')).toBe(false);
  });

  it('cost nothing when none is set', () => {
    const [session] = new SessionBuilder().ingest(sessionOf('u1', 's1', 'a'.repeat(32)));
    expect(session!.budget_exceeded).toEqual([]);
    expect(session!.cost_usd).toBeNull();
  });
});

/** A session part-way: its root and first stages announced by markers, some stages ended, tokens streaming. */
function runningSpans(): { sent: SpanRecord[]; rest: SpanRecord[] } {
  const { root, stages, llmCall } = completedSession();
  const streaming = stages[7]!;
  const progress = (id: string, end: number, text: string): SpanRecord => ({
    ...pendingMarker(streaming),
    spanId: id,
    endTimeUnixMs: end,
    events: [
      { name: 'llm_monitor.tokens', timeUnixMs: end, attributes: { 'llm_monitor.tokens.count': 1, 'llm_monitor.tokens.text': text } },
    ],
  });
  const sent = [
    pendingMarker(root),
    ...stages.slice(0, 7),
    pendingMarker(streaming),
    progress('1'.repeat(16), T0 + 72, 'Hel'),
    progress('2'.repeat(16), T0 + 74, 'lo'),
  ];
  return { sent, rest: [root, ...stages.slice(7), llmCall] };
}

describe('stored records of running traces', () => {
  it('give a new builder the same session, through JSON, and it carries on to the same end', () => {
    const { sent, rest } = runningSpans();
    const original = new SessionBuilder();
    // Two batches, each taken as a durable store would after its commit, and appended.
    original.ingest(sent.slice(0, 5), 500);
    const firstRecords = original.takeUnsaved(TRACE_ID)!.spans;
    const [running] = original.ingest([...sent.slice(5), ...sent.slice(0, 2)], 1000);
    expect(running!.status).toBe('active');
    const second = original.takeUnsaved(TRACE_ID)!;
    // A repeated span that changed nothing is not stored again; nothing is taken twice.
    expect(second.spans.some((record) => record.spanId === sent[1]!.spanId)).toBe(false);
    expect(original.takeUnsaved(TRACE_ID)!.spans).toEqual([]);
    const snapshot = JSON.parse(
      JSON.stringify({ traceId: TRACE_ID, lastSeenMs: second.lastSeenMs, spans: [...firstRecords, ...second.spans] }),
    ) as Parameters<SessionBuilder['restore']>[0];
    expect(snapshot.lastSeenMs).toBe(1000);

    const restarted = new SessionBuilder();
    expect(restarted.restore(snapshot)).toEqual(running);
    // The rest arrives after the restart, in any order: the same session as if nothing had happened.
    for (const seed of [1, 2, 3]) {
      const again = new SessionBuilder();
      again.restore(snapshot);
      const [finished] = again.ingest(shuffled(rest, seed), 2000);
      const [reference] = new SessionBuilder().ingest([...sent, ...rest], 2000);
      expect(finished).toEqual(reference);
      expect(finished!.status).toBe('completed');
    }
  });

  it('keep when the last span came, so a restarted receiver abandons on time', () => {
    const { sent } = runningSpans();
    const pipeline = new SessionPipeline({ abandonAfterMs: 10_000 });
    pipeline.ingest(sent, 1000);
    const traceId = pipeline.store.values().next().value!.trace_id;
    const restarted = new SessionPipeline({ abandonAfterMs: 10_000 });
    expect(restarted.restore([pipeline.takeUnsaved(traceId)!], 5000)).toBe(1);
    restarted.sweep(10_999);
    expect(restarted.store.get('session-1')!.status).toBe('active');
    restarted.sweep(11_000);
    const abandoned: ProcessingSession = restarted.store.get('session-1')!;
    expect(abandoned).toMatchObject({ status: 'abandoned', error: 'abandoned: no span for 10 s' });
  });
});

describe('the builder decides time outcomes', () => {
  it('advance() abandons idle running sessions and a kept span brings them back', () => {
    const { sent, rest } = runningSpans();
    const builder = new SessionBuilder({ abandonAfterMs: 1000 });
    builder.ingest(sent, 0);
    expect(builder.advance(999)).toEqual([]);
    const [abandoned] = builder.advance(1000);
    expect(abandoned!.status).toBe('abandoned');
    // Told once.
    expect(builder.advance(5000)).toEqual([]);
    const [back] = builder.ingest([span({ ...rest[1]!, endTimeUnixMs: 0 })], 6000);
    expect(back!.status).toBe('active');
  });
});

describe('time to first token of a call', () => {
  it("is the session's first token event for the call it falls within, in the call log too", () => {
    const [session] = new SessionBuilder().ingest(completedSession().all);
    // The call runs T0+61 … T0+79; the first token event is at T0+72.
    expect(session!.llm_calls[0]!.time_to_first_token_ms).toBe(11);
    expect(callRowsOf(session!)[0]!.time_to_first_token_ms).toBe(11);
  });

  it('is unknown when no token falls within a call', () => {
    const { root, stages, llmCall } = completedSession();
    const [session] = new SessionBuilder().ingest([root, ...stages, { ...llmCall, startTimeUnixMs: T0 + 80, endTimeUnixMs: T0 + 90 }]);
    expect(session!.llm_calls[0]!.time_to_first_token_ms).toBeNull();
  });
});
