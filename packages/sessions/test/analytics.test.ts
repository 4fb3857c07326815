import { describe, expect, it } from 'vitest';
import { computeAnalytics } from '../src/index.js';
import type { AnalyticsDimension, LlmCallRow, UsageFigures } from '../src/index.js';

let next = 0;

/** A finished, unpriced call of session `s1` with 10 + 5 tokens; `overrides` say what differs. */
function row(overrides: Partial<LlmCallRow> = {}): LlmCallRow {
  next += 1;
  const spanId = next.toString(16).padStart(16, '0');
  return {
    call_id: `t:${spanId}`,
    session_id: 's1',
    trace_id: 't',
    span_id: spanId,
    conversation_id: null,
    user_id: 'alice',
    service_name: 'api',
    task: 'summarize',
    model: 'gpt-a',
    request_model: 'gpt-a',
    response_model: 'gpt-a',
    provider: 'openai',
    operation: 'chat',
    prompt_preview: null,
    response_preview: null,
    input_tokens: 10,
    output_tokens: 5,
    total_tokens: 15,
    cached_tokens: null,
    finish_reasons: null,
    time_to_first_token_ms: null,
    duration_ms: null,
    status: 'ok',
    error: null,
    cost_usd: null,
    metadata: {},
    start_time: '2026-03-02T10:00:00.000Z',
    end_time: null,
    ...overrides,
  };
}

// Two calls either side of midnight UTC, a running call, a user-less call and one without a model.
const rows: LlmCallRow[] = [
  row({
    session_id: 's1',
    user_id: 'alice',
    model: 'gpt-a',
    start_time: '2026-03-01T23:59:59.999Z',
    input_tokens: 100,
    output_tokens: 50,
    total_tokens: 150,
    cost_usd: 0.5,
    status: 'ok',
    duration_ms: 100,
    time_to_first_token_ms: 20,
  }),
  row({
    session_id: 's1',
    user_id: 'alice',
    model: 'gpt-b',
    start_time: '2026-03-02T00:00:00.000Z',
    input_tokens: 200,
    output_tokens: 100,
    total_tokens: null,
    cost_usd: 1,
    status: 'error',
    duration_ms: 300,
    time_to_first_token_ms: 40,
  }),
  row({
    session_id: 's2',
    user_id: 'bob',
    model: 'gpt-a',
    start_time: '2026-03-02T08:00:00.000Z',
    input_tokens: 10,
    output_tokens: null,
    total_tokens: null,
    cost_usd: null,
    status: 'running',
  }),
  row({
    session_id: 's3',
    user_id: null,
    model: 'gpt-a',
    start_time: '2026-03-02T09:00:00.000Z',
    input_tokens: 1000,
    output_tokens: 1000,
    total_tokens: 2000,
    cost_usd: 0.25,
    status: 'ok',
    duration_ms: 200,
    time_to_first_token_ms: 30,
  }),
  row({
    session_id: 's4',
    user_id: 'bob',
    model: null,
    start_time: '2026-03-01T12:00:00.000Z',
    input_tokens: null,
    output_tokens: null,
    total_tokens: null,
    cost_usd: null,
    status: 'error',
    duration_ms: 50,
  }),
];

const EMPTY: UsageFigures = {
  sessions: 0,
  calls: 0,
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  cost_usd: null,
  error_rate: null,
  avg_tokens_per_session: null,
  duration_ms: { p50: null, p95: null },
  time_to_first_token_ms: { p50: null, p95: null },
};

const keysOf = (groupBy: AnalyticsDimension[], input: Iterable<LlmCallRow> = rows) =>
  computeAnalytics(input, { groupBy }).groups.map((group) => group.key);

describe('computeAnalytics', () => {
  it('sums every call into the totals', () => {
    const report = computeAnalytics(rows, { groupBy: ['model'] });
    expect(report.totals).toEqual({
      sessions: 4,
      calls: 5,
      input_tokens: 1310,
      output_tokens: 1150,
      // 150 + (200 + 100) + 10 + 2000 + 0: a missing total is input + output.
      total_tokens: 2460,
      cost_usd: 1.75,
      // 2 failed of 4 ended; the running call does not count.
      error_rate: 0.5,
      avg_tokens_per_session: 615,
      duration_ms: { p50: 100, p95: 300 },
      time_to_first_token_ms: { p50: 30, p95: 40 },
    });
    expect(report).toMatchObject({ group_by: ['model'], since: null, until: null });
  });

  it('groups by model, the model-less calls in a group of their own, most cost first', () => {
    const { groups } = computeAnalytics(rows, { groupBy: ['model'] });
    expect(groups).toEqual([
      {
        key: { model: 'gpt-b' },
        sessions: 1,
        calls: 1,
        input_tokens: 200,
        output_tokens: 100,
        total_tokens: 300,
        cost_usd: 1,
        error_rate: 1,
        avg_tokens_per_session: 300,
        duration_ms: { p50: 300, p95: 300 },
        time_to_first_token_ms: { p50: 40, p95: 40 },
      },
      {
        key: { model: 'gpt-a' },
        sessions: 3,
        calls: 3,
        input_tokens: 1110,
        output_tokens: 1050,
        total_tokens: 2160,
        cost_usd: 0.75,
        error_rate: 0,
        avg_tokens_per_session: 720,
        duration_ms: { p50: 100, p95: 200 },
        time_to_first_token_ms: { p50: 20, p95: 30 },
      },
      {
        key: { model: null },
        sessions: 1,
        calls: 1,
        input_tokens: 0,
        output_tokens: 0,
        total_tokens: 0,
        cost_usd: null,
        error_rate: 1,
        avg_tokens_per_session: 0,
        duration_ms: { p50: 50, p95: 50 },
        time_to_first_token_ms: { p50: null, p95: null },
      },
    ]);
  });

  it('groups by user, calls without a user together, unpriced groups last', () => {
    const { groups } = computeAnalytics(rows, { groupBy: ['user'] });
    expect(groups.map((group) => [group.key, group.cost_usd, group.total_tokens, group.sessions])).toEqual([
      [{ user: 'alice' }, 1.5, 450, 1],
      [{ user: null }, 0.25, 2000, 1],
      [{ user: 'bob' }, null, 10, 2],
    ]);
  });

  it('groups by task and service', () => {
    const input = [
      row({ task: 'a', service_name: 'x' }),
      row({ task: 'b', service_name: 'x', cost_usd: 0.1 }),
      row({ task: null, service_name: null, cost_usd: 0.2 }),
    ];
    expect(keysOf(['task'], input)).toEqual([{ task: null }, { task: 'b' }, { task: 'a' }]);
    expect(computeAnalytics(input, { groupBy: ['service'] }).groups.map((group) => [group.key, group.calls])).toEqual([
      [{ service: null }, 1],
      [{ service: 'x' }, 2],
    ]);
  });

  it('groups by UTC day, a call at 23:59:59.999 on the day before one at midnight', () => {
    const { groups } = computeAnalytics(rows, { groupBy: ['day'] });
    expect(groups.map((group) => [group.key, group.calls, group.cost_usd, group.total_tokens])).toEqual([
      [{ day: '2026-03-02' }, 3, 1.25, 2310],
      [{ day: '2026-03-01' }, 2, 0.5, 150],
    ]);
    // 01:30 at UTC+2 is still the 1st in UTC.
    expect(keysOf(['day'], [row({ start_time: '2026-03-02T01:30:00+02:00' })])).toEqual([{ day: '2026-03-01' }]);
  });

  it('groups by two dimensions, keyed in the order asked', () => {
    const { groups, group_by } = computeAnalytics(rows, { groupBy: ['user', 'day'] });
    expect(group_by).toEqual(['user', 'day']);
    expect(groups.map((group) => [group.key, group.cost_usd, group.total_tokens])).toEqual([
      [{ user: 'alice', day: '2026-03-02' }, 1, 300],
      [{ user: 'alice', day: '2026-03-01' }, 0.5, 150],
      [{ user: null, day: '2026-03-02' }, 0.25, 2000],
      [{ user: 'bob', day: '2026-03-02' }, null, 10],
      [{ user: 'bob', day: '2026-03-01' }, null, 0],
    ]);
    expect(Object.keys(groups[0]!.key)).toEqual(['user', 'day']);
  });

  it('breaks ties of cost and tokens by key: code-unit order, null last, first dimension first', () => {
    const input = ['b', 'a', null, 'B'].map((task) => row({ task }));
    expect(keysOf(['task'], input)).toEqual([{ task: 'B' }, { task: 'a' }, { task: 'b' }, { task: null }]);
    const pairs = [
      row({ task: 'b', model: 'x' }),
      row({ task: 'a', model: 'y' }),
      row({ task: 'a', model: null }),
      row({ task: 'a', model: 'x' }),
    ];
    expect(keysOf(['task', 'model'], pairs)).toEqual([
      { task: 'a', model: 'x' },
      { task: 'a', model: 'y' },
      { task: 'a', model: null },
      { task: 'b', model: 'x' },
    ]);
    // The order is total: reversing the input changes nothing.
    expect(keysOf(['task', 'model'], [...pairs].reverse())).toEqual(keysOf(['task', 'model'], pairs));
  });

  it('without dimensions, has one group of every call, and none without calls', () => {
    const report = computeAnalytics(rows, { groupBy: [] });
    expect(report.groups).toEqual([{ key: {}, ...report.totals }]);
    expect(report.group_by).toEqual([]);
    const empty = computeAnalytics([], { groupBy: [] });
    expect(empty).toEqual({ group_by: [], since: null, until: null, groups: [], totals: EMPTY, top_sessions: [], top_users: [] });
    expect(computeAnalytics([], { groupBy: ['model', 'day'] }).groups).toEqual([]);
  });

  it('tells a zero cost from no price, and has no error rate before a call ends', () => {
    const free = computeAnalytics([row({ cost_usd: 0 }), row({ cost_usd: null })], { groupBy: [] });
    expect(free.totals.cost_usd).toBe(0);
    expect(free.top_sessions).toEqual([
      {
        session_id: 's1',
        user_id: 'alice',
        model: 'gpt-a',
        start_time: '2026-03-02T10:00:00.000Z',
        calls: 2,
        total_tokens: 30,
        cost_usd: 0,
      },
    ]);
    const unpriced = computeAnalytics([row({ status: 'running' }), row({ status: 'running' })], { groupBy: [] });
    expect(unpriced.totals).toMatchObject({ cost_usd: null, error_rate: null, calls: 2 });
    expect(unpriced.top_sessions).toEqual([]);
    expect(unpriced.top_users).toEqual([]);
    const rate = computeAnalytics([row({ status: 'error' }), row(), row(), row(), row({ status: 'running' })], { groupBy: [] });
    expect(rate.totals.error_rate).toBe(0.25);
  });

  it('takes nearest-rank percentiles over the calls that have the value, whatever their order', () => {
    const durations = [7, 13, 1, 20, 4, 16, 10, 2, 19, 5, 11, 8, 14, 3, 17, 6, 12, 9, 18, 15];
    const input = durations.map((duration_ms, i) => row({ duration_ms, time_to_first_token_ms: i === 3 ? 5 : null }));
    input.push(row({ duration_ms: null }));
    const { totals } = computeAnalytics(input, { groupBy: [] });
    // 20 values: p50 is the 10th, p95 the 19th.
    expect(totals.duration_ms).toEqual({ p50: 10, p95: 19 });
    expect(totals.time_to_first_token_ms).toEqual({ p50: 5, p95: 5 });
  });

  it('keeps to [since, until) by start time, and says so', () => {
    const report = computeAnalytics(rows, {
      groupBy: ['model'],
      sinceMs: Date.parse('2026-03-02T00:00:00Z'),
      untilMs: Date.parse('2026-03-02T09:00:00Z'),
    });
    expect(report.since).toBe('2026-03-02T00:00:00.000Z');
    expect(report.until).toBe('2026-03-02T09:00:00.000Z');
    // The call at midnight is in; the one at 09:00 and the one a millisecond before midnight are out.
    expect(report.totals).toMatchObject({ calls: 2, sessions: 2, total_tokens: 310, cost_usd: 1 });
    expect(report.groups.map((group) => group.key)).toEqual([{ model: 'gpt-b' }, { model: 'gpt-a' }]);
    expect(report.top_sessions.map((session) => [session.session_id, session.calls, session.cost_usd])).toEqual([['s1', 1, 1]]);
    expect(computeAnalytics(rows, { groupBy: [], sinceMs: Date.parse('2026-03-02T09:00:00Z') }).totals.calls).toBe(1);
    expect(computeAnalytics(rows, { groupBy: [], untilMs: Date.parse('2026-03-02T00:00:00Z') }).totals.calls).toBe(2);
  });

  it('leaves out calls whose start time is no time when bounded, and files them under no day otherwise', () => {
    const input = [row({ start_time: 'not a time' }), row()];
    expect(computeAnalytics(input, { groupBy: [], sinceMs: 0 }).totals.calls).toBe(1);
    expect(keysOf(['day'], input)).toEqual([{ day: '2026-03-02' }, { day: null }]);
  });

  it('finds the most expensive sessions: model of the dearest call, user and start of the earliest', () => {
    const { top_sessions } = computeAnalytics(rows, { groupBy: [] });
    expect(top_sessions).toEqual([
      {
        session_id: 's1',
        user_id: 'alice',
        model: 'gpt-b',
        start_time: '2026-03-01T23:59:59.999Z',
        calls: 2,
        total_tokens: 450,
        cost_usd: 1.5,
      },
      {
        session_id: 's3',
        user_id: null,
        model: 'gpt-a',
        start_time: '2026-03-02T09:00:00.000Z',
        calls: 1,
        total_tokens: 2000,
        cost_usd: 0.25,
      },
    ]);
  });

  it('picks a session model and start the same whatever the row order', () => {
    const input = [
      row({ session_id: 'x', call_id: 'c2', user_id: 'late', model: 'late-model', start_time: '2026-03-02T10:00:01.000Z', cost_usd: 0.3 }),
      row({
        session_id: 'x',
        call_id: 'c3',
        user_id: 'late',
        model: 'same-start-model',
        start_time: '2026-03-02T10:00:00.000Z',
        cost_usd: 0.3,
      }),
      row({
        session_id: 'x',
        call_id: 'c1',
        user_id: 'early',
        model: 'early-model',
        start_time: '2026-03-02T10:00:00.000Z',
        cost_usd: 0.3,
      }),
      row({
        session_id: 'x',
        call_id: 'c0',
        user_id: 'later',
        model: 'cheap-model',
        start_time: '2026-03-02T10:00:02.000Z',
        cost_usd: 0.1,
      }),
    ];
    for (const order of [input, [...input].reverse()]) {
      const [session, ...others] = computeAnalytics(order, { groupBy: [] }).top_sessions;
      expect(others).toEqual([]);
      expect(session).toMatchObject({
        session_id: 'x',
        user_id: 'early',
        model: 'early-model',
        start_time: '2026-03-02T10:00:00.000Z',
        calls: 4,
        total_tokens: 60,
      });
      expect(session!.cost_usd).toBeCloseTo(1, 12);
    }
  });

  it('orders top sessions by cost then id, only priced ones, at most `top`', () => {
    const input = [
      row({ session_id: 'sA', cost_usd: 2 }),
      row({ session_id: 'sC', cost_usd: 1 }),
      row({ session_id: 'sB', cost_usd: 1 }),
      row({ session_id: 'sD', cost_usd: 3 }),
      row({ session_id: 'sE', cost_usd: null }),
      row({ session_id: 'sF', cost_usd: 0 }),
    ];
    const ids = (top?: number) =>
      computeAnalytics(input, top === undefined ? { groupBy: [] } : { groupBy: [], top }).top_sessions.map((session) => session.session_id);
    expect(ids()).toEqual(['sD', 'sA', 'sB', 'sC', 'sF']);
    expect(ids(3)).toEqual(['sD', 'sA', 'sB']);
    expect(ids(0)).toEqual([]);
    const many = Array.from({ length: 12 }, (_, i) => row({ session_id: `s${String(i).padStart(2, '0')}`, cost_usd: i }));
    expect(computeAnalytics(many, { groupBy: [] }).top_sessions.map((session) => session.session_id)).toEqual([
      's11',
      's10',
      's09',
      's08',
      's07',
      's06',
      's05',
      's04',
      's03',
      's02',
    ]);
  });

  it('orders top users by cost then id, users with an id and a price only, at most `top`', () => {
    const input = [
      row({ session_id: 'a', user_id: 'zoe', cost_usd: 2, total_tokens: 100 }),
      row({ session_id: 'b', user_id: 'zoe', cost_usd: 3, total_tokens: 200 }),
      row({ session_id: 'b', user_id: 'zoe', cost_usd: null, total_tokens: 300 }),
      row({ session_id: 'c', user_id: 'yan', cost_usd: 1 }),
      row({ session_id: 'd', user_id: 'xia', cost_usd: 1 }),
      row({ session_id: 'e', user_id: 'wes', cost_usd: null }),
      row({ session_id: 'f', user_id: null, cost_usd: 100 }),
    ];
    expect(computeAnalytics(input, { groupBy: [] }).top_users).toEqual([
      { user_id: 'zoe', sessions: 2, calls: 3, total_tokens: 600, cost_usd: 5 },
      { user_id: 'xia', sessions: 1, calls: 1, total_tokens: 15, cost_usd: 1 },
      { user_id: 'yan', sessions: 1, calls: 1, total_tokens: 15, cost_usd: 1 },
    ]);
    expect(computeAnalytics(input, { groupBy: [], top: 2 }).top_users.map((user) => user.user_id)).toEqual(['zoe', 'xia']);
    expect(computeAnalytics(rows, { groupBy: [] }).top_users).toEqual([
      { user_id: 'alice', sessions: 1, calls: 2, total_tokens: 450, cost_usd: 1.5 },
    ]);
  });

  it('keeps huge token counts finite, at the largest safe integer', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const input = [
      row({ input_tokens: max, output_tokens: max, total_tokens: null, cost_usd: 1 }),
      row({ input_tokens: max, output_tokens: max, total_tokens: max, cost_usd: 1 }),
      row({ session_id: 's2', input_tokens: max, output_tokens: 0, total_tokens: max }),
    ];
    const report = computeAnalytics(input, { groupBy: ['model'] });
    for (const figures of [report.totals, report.groups[0]!]) {
      expect(figures).toMatchObject({ input_tokens: max, output_tokens: max, total_tokens: max, avg_tokens_per_session: max / 2 });
    }
    expect(report.top_sessions[0]!.total_tokens).toBe(max);
    expect(report.top_users[0]!.total_tokens).toBe(max);
  });

  it('refuses more than two dimensions, one twice, an unknown one, a bad top or a bound that is no time', () => {
    expect(() => computeAnalytics(rows, { groupBy: ['model', 'user', 'day'] })).toThrow(RangeError);
    expect(() => computeAnalytics(rows, { groupBy: ['day', 'day'] })).toThrow(RangeError);
    expect(() => computeAnalytics(rows, { groupBy: ['region' as AnalyticsDimension] })).toThrow(RangeError);
    expect(() => computeAnalytics(rows, { groupBy: [], top: -1 })).toThrow(RangeError);
    expect(() => computeAnalytics(rows, { groupBy: [], top: 1.5 })).toThrow(RangeError);
    expect(() => computeAnalytics(rows, { groupBy: [], sinceMs: Number.NaN })).toThrow(RangeError);
  });

  it('reads rows from any iterable, once', () => {
    let reads = 0;
    function* generate(): Generator<LlmCallRow> {
      reads += 1;
      yield* rows;
    }
    expect(computeAnalytics(generate(), { groupBy: ['model'] }).totals.calls).toBe(5);
    expect(reads).toBe(1);
  });
});
