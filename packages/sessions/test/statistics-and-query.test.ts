import { describe, expect, it } from 'vitest';
import { computeStatistics, parseCursor, querySessions, SessionBuilder } from '../src/index.js';
import type { ProcessingSession } from '../src/index.js';
import { completedSession } from './span-fixtures.js';

const base = new SessionBuilder().ingest(completedSession().all)[0]!;

function session(id: string, overrides: Partial<ProcessingSession>): ProcessingSession {
  return { ...base, session_id: id, ...overrides };
}

const sessions = [
  session('a', {
    status: 'completed',
    model: 'm1',
    task: 'summarize',
    duration_ms: 100,
    start_time: '2026-11-22T10:00:00.000Z',
    time_to_first_token_ms: 50,
    token_counts: { input: 10, output: 20, total: 30, streamed: 20 },
    content_preview: 'Quarterly REPORT',
  }),
  session('b', {
    status: 'completed',
    model: 'm1',
    task: 'translate',
    duration_ms: 300,
    start_time: '2026-11-22T10:01:00.000Z',
    time_to_first_token_ms: 150,
    token_counts: { input: 5, output: 5, total: 10, streamed: 5 },
  }),
  session('c', {
    status: 'failed',
    model: 'm2',
    task: 'summarize',
    duration_ms: 200,
    start_time: '2026-11-22T10:02:00.000Z',
    time_to_first_token_ms: null,
    token_counts: { input: null, output: null, total: null, streamed: 0 },
  }),
  session('d', {
    status: 'active',
    model: null,
    task: 'summarize',
    duration_ms: null,
    start_time: '2026-11-22T10:03:00.000Z',
    time_to_first_token_ms: null,
  }),
];

describe('computeStatistics', () => {
  it('counts, rates, percentiles and tokens, overall and by dimension', () => {
    const report = computeStatistics(sessions);
    expect(report).toMatchObject({
      sessions_total: 4,
      active: 1,
      completed: 2,
      failed: 1,
      abandoned: 0,
      success_rate: 2 / 3,
      processing_time_ms: { count: 3, mean: 200, p50: 200, p95: 300, p99: 300 },
      time_to_first_token_ms: { count: 2, mean: 100, p50: 50, p95: 150 },
      tokens_in: 15 + (base.token_counts.input ?? 0),
      since: null,
    });
    expect(Object.keys(report.by_model)).toEqual(['m1', 'm2', 'unknown']);
    expect(report.by_model.m1).toMatchObject({ sessions_total: 2, success_rate: 1 });
    expect(report.by_task.summarize).toMatchObject({ sessions_total: 3, completed: 1, failed: 1, active: 1 });
  });

  it('keeps to a window of start times, and says so', () => {
    const report = computeStatistics(sessions, {
      sinceMs: Date.parse('2026-11-22T10:01:00Z'),
      untilMs: Date.parse('2026-11-22T10:03:00Z'),
    });
    expect(report).toMatchObject({
      sessions_total: 2,
      completed: 1,
      failed: 1,
      since: '2026-11-22T10:01:00.000Z',
      until: '2026-11-22T10:03:00.000Z',
    });
  });

  it('has no rates or percentiles without data', () => {
    expect(computeStatistics([])).toMatchObject({ success_rate: null, processing_time_ms: { count: 0, mean: null, p50: null } });
  });
});

describe('querySessions', () => {
  it('filters by every field and searches the previews case-insensitively', () => {
    const ids = (filter: Parameters<typeof querySessions>[1]) => querySessions(sessions, filter, 10).sessions.map((s) => s.session_id);
    expect(ids({})).toEqual(['d', 'c', 'b', 'a']);
    expect(ids({ status: ['completed', 'failed'] })).toEqual(['c', 'b', 'a']);
    expect(ids({ model: 'm1', task: 'summarize' })).toEqual(['a']);
    expect(ids({ text: 'quarterly report' })).toEqual(['a']);
    expect(ids({ sinceMs: Date.parse('2026-11-22T10:01:00Z'), untilMs: Date.parse('2026-11-22T10:03:00Z') })).toEqual(['c', 'b']);
    expect(ids({ conversationId: 'none' })).toEqual([]);
  });

  it('pages newest first with a cursor, to the end', () => {
    const first = querySessions(sessions, {}, 3);
    expect(first.sessions.map((s) => s.session_id)).toEqual(['d', 'c', 'b']);
    const second = querySessions(sessions, {}, 3, parseCursor(first.nextCursor!));
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.sessions.map((s) => s.session_id)).toEqual(['a']);
    expect(parseCursor('not a cursor')).toBeUndefined();
  });
});

describe('paging with equal start times', () => {
  it('neither skips nor repeats sessions, whatever their ids', () => {
    const same = ['B', 'a', 'A_1', 'a-2', 'b', 'Z', 'c_', 'C-'].map((id) => session(id, { start_time: '2026-11-22T11:00:00.000Z' }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = querySessions(same, {}, 3, cursor ? parseCursor(cursor) : undefined);
      seen.push(...page.sessions.map((s) => s.session_id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
  });
});
