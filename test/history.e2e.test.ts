/**
 * History as a user meets it: `llm-monitor --demo` on its default kind of store (a SQLite file), with
 * a live window of one second, so sessions leave memory almost as soon as they end. The REST API must
 * still list, show, export and analyse them — from the file — and a restarted receiver must answer the
 * same, with cost for the demo's models out of the box.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalyticsReport, LlmCallRow, ProcessingSession, StatisticsReport } from '@llm-monitor/sessions';
import { startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import type { MonitorProcess } from './support/monitor-process.js';
import { until } from './support/wait.js';

stopMonitorsAfterEach();

const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-history-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function get<T>(monitor: MonitorProcess, path: string): Promise<T> {
  const response = await fetch(`${monitor.apiUrl}${path}`);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface Readiness {
  components: { store: { status: string; details: { sessions: number; history: { kind: string; commits: number } } } };
}

async function stop(monitor: MonitorProcess): Promise<void> {
  const exited = new Promise((resolve) => monitor.child.once('exit', resolve));
  monitor.child.kill('SIGTERM');
  await exited;
}

describe('history beyond the live window', () => {
  it('answers lists, details, the call log, analytics and statistics from the store, across a restart', { timeout: 90_000 }, async () => {
    const storage = `sqlite:${join(directory, 'data', 'llm-monitor.db')}`;
    const common = [
      '--port',
      '0',
      '--otlp-port',
      '0',
      '--storage-url',
      storage,
      '--retention-seconds',
      '1',
      '--sweep-interval-seconds',
      '1',
    ];
    const first = await startMonitor([...common, '--demo', '--demo-rate', '8']);
    // The start banner's second line says where history goes (it may come a moment after the first).
    await until(
      'the history line of the banner',
      () => first.output().includes(`history in sqlite ${join(directory, 'data', 'llm-monitor.db')}`),
      5000,
    );

    // Enough ended sessions, and the live window has let most of them go.
    let ended: ProcessingSession[] = [];
    await until(
      'ended sessions that left the live window',
      async () => {
        const page = await get<{ sessions: ProcessingSession[] }>(
          first,
          '/api/monitoring/sessions/recent?status=completed,failed&limit=1000',
        );
        ended = page.sessions;
        const ready = await get<Readiness>(first, '/readyz');
        return ended.length >= 12 && ready.components.store.details.sessions < ended.length;
      },
      60_000,
      200,
    );
    const ready = await get<Readiness>(first, '/readyz');
    expect(ready.components.store).toMatchObject({ status: 'healthy', details: { history: { kind: 'sqlite' } } });
    expect(ready.components.store.details.history.commits).toBeGreaterThan(0);
    const sample = ended.at(-1)!;
    const detail = await get<ProcessingSession>(first, `/api/monitoring/sessions/${encodeURIComponent(sample.session_id)}`);
    expect(detail).toEqual(sample);
    await stop(first);

    // A new process on the same file, without the demo: the history is all there.
    const second = await startMonitor(common);
    const again = await get<{ sessions: ProcessingSession[] }>(
      second,
      '/api/monitoring/sessions/recent?status=completed,failed&limit=1000',
    );
    const ids = new Set(again.sessions.map((session) => session.session_id));
    for (const session of ended) expect(ids.has(session.session_id), session.session_id).toBe(true);
    expect(await get<ProcessingSession>(second, `/api/monitoring/sessions/${encodeURIComponent(sample.session_id)}`)).toEqual(sample);

    // Paging visits each session once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { sessions: ProcessingSession[]; next_cursor: string | null } = await get(
        second,
        `/api/monitoring/sessions/recent?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.sessions.map((session) => session.session_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(ended.length);

    // The call log: the demo's calls, priced by the built-in table.
    const calls = await get<{ calls: LlmCallRow[] }>(second, `/api/monitoring/llm-calls?session=${encodeURIComponent(sample.session_id)}`);
    expect(calls.calls.map((call) => call.span_id).sort()).toEqual(sample.llm_calls.map((call) => call.span_id).sort());
    const chat = (await get<{ calls: LlmCallRow[] }>(second, '/api/monitoring/llm-calls?model=gpt-4o-mini&status=ok&limit=1000')).calls;
    expect(chat.length).toBeGreaterThan(0);
    for (const call of chat) {
      expect(call.cost_usd).toBeCloseTo(((call.input_tokens ?? 0) * 0.15 + (call.output_tokens ?? 0) * 0.6) / 1e6, 12);
      expect(call.user_id).toMatch(/^user-\d+$/);
      // Complete records: the instrumentation's finish reason and total, and the call's time to first token.
      expect(call.finish_reasons).toEqual(['stop']);
      expect(call.total_tokens).toBe((call.input_tokens ?? 0) + (call.output_tokens ?? 0));
      expect(call.time_to_first_token_ms).toBeGreaterThan(0);
    }
    const csv = await fetch(`${second.apiUrl}/api/monitoring/llm-calls?format=csv&limit=5`);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="llm-monitor-llm-calls-.*\.csv"/);
    expect((await csv.text()).split('\r\n')[0]).toBe(
      'call_id,session_id,trace_id,span_id,conversation_id,user_id,service_name,task,model,request_model,response_model,provider,operation,prompt_preview,response_preview,input_tokens,output_tokens,total_tokens,cached_tokens,finish_reasons,time_to_first_token_ms,duration_ms,status,error,cost_usd,metadata,start_time,end_time',
    );

    // Analytics and statistics over the history.
    const byModel = await get<AnalyticsReport>(second, '/api/monitoring/analytics?group_by=model&window=1h');
    const gpt = byModel.groups.find((group) => group.key.model === 'gpt-4o-mini');
    expect(gpt?.cost_usd).toBeGreaterThan(0);
    expect(byModel.totals.calls).toBeGreaterThanOrEqual(chat.length);
    expect(byModel.top_users.length).toBeGreaterThan(0);
    const statistics = await get<StatisticsReport>(second, '/api/monitoring/statistics?window=1h');
    expect(statistics.completed + statistics.failed).toBeGreaterThanOrEqual(ended.length);

    // A conversation of the demo reads back whole, oldest first.
    const conversationId = sample.conversation_id!;
    const conversation = await get<{ sessions: ProcessingSession[]; sessions_total: number }>(
      second,
      `/api/monitoring/conversations/${encodeURIComponent(conversationId)}`,
    );
    expect(conversation.sessions.some((session) => session.session_id === sample.session_id)).toBe(true);
    expect(conversation.sessions_total).toBe(conversation.sessions.length);
  });
});
