/** The monitor REST API over a real socket, fed by real sessions over OTLP. */
import { beforeAll, describe, expect, it } from 'vitest';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { createMonitorClient, MonitorApiError } from '@llm-monitor/client';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { useReceiver } from './support/receiver.js';

const server = useReceiver();

const SESSIONS = [
  { task: 'summarize', model: 'gpt-4o-mini', conversationId: 'conv-1', content: 'Quarterly report for ACME', fail: false },
  { task: 'summarize', model: 'gpt-4o-mini', conversationId: 'conv-1', content: '=HYPERLINK("http://evil")', fail: false },
  { task: 'translate', model: 'claude-sonnet-4', conversationId: 'conv-2', content: 'Bonjour, "le monde"', fail: true },
  {
    task: 'classify',
    model: 'llama3.1:8b',
    conversationId: 'conv-3',
    content: 'Invoice charged twice',
    fail: false,
    processorType: 'batch',
  },
  {
    task: 'classify',
    model: 'llama3.1:8b',
    conversationId: 'conv-3',
    content: 'App crashes on rotate',
    fail: false,
    processorType: 'batch',
  },
];

beforeAll(async () => {
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: server.otlpTracesUrl }), { scheduledDelayMillis: 10 })],
  });
  const monitor = createLlmMonitor({ tracerProvider: provider });
  for (const [index, spec] of SESSIONS.entries()) {
    const session = monitor.startSession({
      task: spec.task,
      model: spec.model,
      conversationId: spec.conversationId,
      content: spec.content,
      sessionId: `s-${index}`,
      processorType: spec.processorType,
    });
    session.stage('initializing');
    session.stage('streaming_response');
    session.tokens(10);
    if (spec.fail) session.fail(new Error('rate limited'));
    else session.complete({ inputTokens: 20, outputTokens: 10 });
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  // One still running.
  monitor.startSession({ task: 'summarize', model: 'gpt-4o-mini', sessionId: 's-running' }).stage('connecting_to_model');
  await provider.forceFlush();
});

const client = () => createMonitorClient({ baseUrl: server.apiUrl });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.apiUrl}${path}`, { headers });

describe('GET /api/monitoring/statistics', () => {
  it('counts sessions, rates and tokens, overall and by model, task and processor type', async () => {
    const report = await client().getStatistics();
    expect(report).toMatchObject({
      sessions_total: 6,
      active: 1,
      completed: 4,
      failed: 1,
      success_rate: 0.8,
      tokens_in: 80,
      tokens_out: 50,
    });
    expect(report.processing_time_ms.count).toBe(5);
    expect(report.by_model['gpt-4o-mini']).toMatchObject({ sessions_total: 3, active: 1, completed: 2 });
    expect(report.by_task.classify).toMatchObject({ completed: 2, success_rate: 1 });
    expect(Object.keys(report.by_processor_type).sort()).toEqual(['batch', 'unknown']);
    expect(report.by_processor_type.batch).toMatchObject({ sessions_total: 2, completed: 2 });
  });

  it('takes a window, and names a bad one', async () => {
    expect((await client().getStatistics({ window: '1h' })).sessions_total).toBe(6);
    expect((await client().getStatistics({ until: 1 })).sessions_total).toBe(0);
    const bad = await get('/api/monitoring/statistics?window=soon');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'LLMMON_ERR_BAD_PARAMETER', message: expect.stringContaining('window') });
  });
});

describe('GET /api/monitoring/sessions/recent', () => {
  it('pages newest first with a cursor until the end', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client().getRecentSessions({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.sessions.map((session) => session.session_id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['s-running', 's-4', 's-3', 's-2', 's-1', 's-0']);
  });

  it('filters by status, model, task, conversation and text', async () => {
    const ids = async (query: Parameters<ReturnType<typeof client>['getRecentSessions']>[0]) =>
      (await client().getRecentSessions(query)).sessions.map((session) => session.session_id);
    expect(await ids({ status: ['failed'] })).toEqual(['s-2']);
    expect(await ids({ model: 'llama3.1:8b' })).toEqual(['s-4', 's-3']);
    expect(await ids({ task: 'summarize', status: ['completed'] })).toEqual(['s-1', 's-0']);
    expect(await ids({ conversation: 'conv-1' })).toEqual(['s-1', 's-0']);
    expect(await ids({ q: 'acme' })).toEqual(['s-0']);
    expect(await ids({ processor_type: 'batch' })).toEqual(['s-4', 's-3']);
  });

  it('takes the old spelling processorType from a client, as processor_type', async () => {
    expect((await client().getRecentSessions({ processorType: 'batch' })).sessions.map((session) => session.session_id)).toEqual([
      's-4',
      's-3',
    ]);
    expect((await client().getRecentSessions({ processorType: 'stream' })).sessions).toEqual([]);
    const exported = (await (await fetch(client().exportUrl('json', { processorType: 'batch' }))).json()) as ProcessingSession[];
    expect(exported.map((session) => session.session_id)).toEqual(['s-4', 's-3']);
  });

  it('names bad parameters', async () => {
    for (const [query, name] of [
      ['status=done', 'status'],
      ['cursor=nonsense', 'cursor'],
      ['limit=0', 'limit'],
      ['since=yesterday', 'since'],
      ['format=xml', 'format'],
      ['since=99999999999999999', 'since'],
      ['window=99999999999d', 'window'],
    ]) {
      const response = await get(`/api/monitoring/sessions/recent?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { message: string }).message, query).toContain(name!);
    }
  });

  it('exports CSV as a download, escaped and safe to open in a spreadsheet', async () => {
    const response = await get(`/api/monitoring/sessions/recent?format=csv&conversation=conv-1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="llm-monitor-sessions-.*\.csv"$/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['session_id', 'trace_id', 'status']);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
  });

  it('exports CSV by Accept header, and JSON by format', async () => {
    const preferJson = await get('/api/monitoring/sessions/recent?status=failed', { accept: 'application/json, text/csv;q=0.1' });
    expect(preferJson.headers.get('content-type')).toMatch(/^application\/json/);
    const cut = await get('/api/monitoring/sessions/recent?format=json&limit=2');
    expect(cut.headers.get('x-next-cursor')).toBeTruthy();
    const csv = await get('/api/monitoring/sessions/recent?status=failed', { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toContain('"Bonjour, ""le monde"""');
    const json = await fetch(client().exportUrl('json', { status: ['completed'] }));
    expect(json.headers.get('content-disposition')).toMatch(/\.json"$/);
    const sessions = (await json.json()) as ProcessingSession[];
    expect(sessions.map((session) => session.session_id)).toEqual(['s-4', 's-3', 's-1', 's-0']);
  });
});

describe('GET /api/monitoring/model-prices', () => {
  it('gives the client the price table the receiver prices with', async () => {
    const { prices } = await client().getModelPrices();
    expect(prices['gpt-4o-mini']).toEqual({ input_per_million: expect.any(Number), output_per_million: expect.any(Number) });
    expect(Object.keys(prices).length).toBeGreaterThan(10);
  });
});

describe('GET /api/monitoring/conversations/{id}', () => {
  it('lists the sessions of a conversation oldest first, and answers 404 for an unknown one', async () => {
    const conversation = await client().getConversation('conv-3');
    expect(conversation.sessions.map((session) => session.session_id)).toEqual(['s-3', 's-4']);
    await expect(client().getConversation('nope')).rejects.toMatchObject({ status: 404, code: 'LLMMON_ERR_CONVERSATION_NOT_FOUND' });
    await expect(client().getConversation('nope')).rejects.toBeInstanceOf(MonitorApiError);
  });
});

describe('health and documentation', () => {
  it('reports readiness per component', async () => {
    const response = await get('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'healthy',
      components: { ingest: { status: 'healthy', details: { listening: true } }, store: { status: 'healthy', details: { sessions: 6 } } },
    });
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
  });

  it('serves the OpenAPI document and its UI at /docs, without a CDN', async () => {
    const spec = (await (await get('/docs/json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of [
      '/api/monitoring/statistics',
      '/api/monitoring/sessions/recent',
      '/api/monitoring/sessions/{session_id}',
      '/api/monitoring/conversations/{conversation_id}',
      '/readyz',
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    const ui = await get('/docs/');
    expect(ui.status).toBe(200);
    const html = await ui.text();
    expect(html).toContain('swagger');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\/[^"']*\.(js|css)/i);
  });
});
