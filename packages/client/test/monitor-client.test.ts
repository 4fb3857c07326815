/**
 * The REST client's URLs and answers, against a fetch written by hand (the real server is exercised
 * in test/monitor-api.e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_ERROR_CODES, createMonitorClient, MonitorApiError } from '../src/index.js';
import type { AnalyticsReport, LlmCallPage, ModelPriceTable, SessionPage } from '../src/index.js';

function scripted(answer: { status?: number; body: unknown }): { fetch: typeof globalThis.fetch; urls: string[] } {
  const urls: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    urls.push(String(input));
    return new Response(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof globalThis.fetch;
  return { fetch, urls };
}

const emptyFigures = {
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

describe('the monitor client', () => {
  it('asks for a page of the LLM call log with its filters, and returns it as the server sent it', async () => {
    const page: LlmCallPage = { calls: [], next_cursor: 'c2' };
    const { fetch, urls } = scripted({ body: page });
    const client = createMonitorClient({ baseUrl: 'http://monitor.test:8000/', fetch });
    expect(
      await client.getLlmCalls({
        session: 's 1',
        user: 'u-1',
        status: ['ok', 'error'],
        since: '2026-11-01T00:00:00.000Z',
        q: 'paris',
        limit: 100,
        cursor: 'c1',
      }),
    ).toEqual(page);
    const url = new URL(urls[0]!);
    expect(url.origin + url.pathname).toBe('http://monitor.test:8000/api/monitoring/llm-calls');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      session: 's 1',
      user: 'u-1',
      status: 'ok,error',
      since: '2026-11-01T00:00:00.000Z',
      q: 'paris',
      limit: '100',
      cursor: 'c1',
    });
    await client.getLlmCalls();
    expect(urls[1]).toBe('http://monitor.test:8000/api/monitoring/llm-calls');
  });

  it('asks for analytics grouped by one or two dimensions, or for the totals only', async () => {
    const report: AnalyticsReport = {
      group_by: ['model', 'day'],
      since: null,
      until: null,
      groups: [],
      totals: emptyFigures,
      top_sessions: [],
      top_users: [],
    };
    const { fetch, urls } = scripted({ body: report });
    const client = createMonitorClient({ baseUrl: 'http://monitor.test:8000', fetch });
    expect(await client.getAnalytics({ group_by: ['model', 'day'], window: '7d', top: 5 })).toEqual(report);
    expect(urls[0]).toBe('http://monitor.test:8000/api/monitoring/analytics?group_by=model%2Cday&window=7d&top=5');
    await client.getAnalytics({ group_by: [], since: 1_700_000_000_000, until: 1_700_086_400_000 });
    expect(Object.fromEntries(new URL(urls[1]!).searchParams)).toEqual({ group_by: '', since: '1700000000000', until: '1700086400000' });
  });

  it('builds download URLs of the call log and of the analytics groups', () => {
    const client = createMonitorClient({ baseUrl: 'http://monitor.test:8000' });
    expect(client.llmCallsExportUrl('csv', { model: 'gpt-4o-mini', window: '30d' })).toBe(
      'http://monitor.test:8000/api/monitoring/llm-calls?model=gpt-4o-mini&window=30d&format=csv',
    );
    expect(client.llmCallsExportUrl('json')).toBe('http://monitor.test:8000/api/monitoring/llm-calls?format=json');
    expect(client.analyticsExportUrl({ group_by: ['user'], window: '24h' })).toBe(
      'http://monitor.test:8000/api/monitoring/analytics?group_by=user&window=24h&format=csv',
    );
    expect(client.exportUrl('csv', { processor_type: 'batch' })).toBe(
      'http://monitor.test:8000/api/monitoring/sessions/recent?processor_type=batch&format=csv',
    );
  });

  it('turns an error answer into a MonitorApiError with the server code', async () => {
    const { fetch } = scripted({ status: 400, body: { code: 'LLMMON_ERR_BAD_PARAMETER', message: 'group_by: at most two dimensions' } });
    const client = createMonitorClient({ baseUrl: 'http://monitor.test:8000', fetch });
    const error = await client.getAnalytics({ group_by: ['model', 'user', 'day'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MonitorApiError);
    expect(error).toMatchObject({ status: 400, code: 'LLMMON_ERR_BAD_PARAMETER', message: 'group_by: at most two dimensions' });
    const broken = createMonitorClient({ baseUrl: 'http://monitor.test:8000', fetch: scripted({ body: '<html>' }).fetch });
    await expect(broken.getLlmCalls()).rejects.toMatchObject({ code: CLIENT_ERROR_CODES.BAD_RESPONSE });
  });

  it('turns an error answer without a code, such as a proxy sends, into its own code, keeping the HTTP status', async () => {
    const client = createMonitorClient({
      baseUrl: 'http://monitor.test:8000',
      fetch: scripted({ status: 502, body: { error: 'Bad Gateway' } }).fetch,
    });
    const error = await client.getStatistics().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MonitorApiError);
    expect(error).toMatchObject({
      status: 502,
      code: 'LLMMON_ERR_CLIENT_BAD_RESPONSE',
      message: 'GET /api/monitoring/statistics failed with HTTP 502',
    });
  });

  it('asks for the price table', async () => {
    const table: ModelPriceTable = { prices: { 'gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 } } };
    const { fetch, urls } = scripted({ body: table });
    expect(await createMonitorClient({ baseUrl: 'http://monitor.test:8000', fetch }).getModelPrices()).toEqual(table);
    expect(urls).toEqual(['http://monitor.test:8000/api/monitoring/model-prices']);
  });

  it('sends the old spellings processorType and groupBy by their wire names, and lets the new names win', async () => {
    const page: SessionPage = { sessions: [], next_cursor: null };
    const { fetch, urls } = scripted({ body: page });
    const client = createMonitorClient({ baseUrl: 'http://monitor.test:8000', fetch });
    await client.getRecentSessions({ processor_type: 'batch', status: ['failed'] });
    await client.getRecentSessions({ processorType: 'batch', status: ['failed'] });
    await client.getRecentSessions({ processorType: 'old', processor_type: 'new' });
    expect(urls.map((url) => url.replace('http://monitor.test:8000/api/monitoring/sessions/recent', ''))).toEqual([
      '?processor_type=batch&status=failed',
      '?processor_type=batch&status=failed',
      '?processor_type=new',
    ]);
    expect(client.exportUrl('json', { processorType: 'batch' })).toBe(client.exportUrl('json', { processor_type: 'batch' }));
    expect(client.analyticsExportUrl({ groupBy: ['model', 'day'] })).toBe(
      'http://monitor.test:8000/api/monitoring/analytics?group_by=model%2Cday&format=csv',
    );
    expect(client.analyticsExportUrl({ groupBy: ['user'], group_by: ['model'] })).toBe(
      'http://monitor.test:8000/api/monitoring/analytics?group_by=model&format=csv',
    );
  });
});
