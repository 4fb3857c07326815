import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPRECATED_PARAMETER_ALIASES, LIVE_FILTER_PARAMETERS, SESSION_FILTER_PARAMETERS } from '@llm-monitor/sessions';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { oneSpanRequest } from './otlp-fixtures.js';

let receiver: Receiver;

beforeAll(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
  // One running GenAI span: a session still active, known by its trace id.
  await receiver.otlpServer.inject(
    oneSpanRequest({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), name: 'chat m', attributes: { 'gen_ai.request.model': 'm' } }),
  );
});

afterAll(async () => {
  await receiver.close();
});

describe('monitor API', () => {
  it('serves a session by id', async () => {
    const response = await receiver.apiServer.inject('/api/monitoring/sessions/11111111111111111111111111111111');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ session_id: '11111111111111111111111111111111', status: 'active', model: 'm' });
  });

  it('answers an unknown session id with 404 and a catalogue code', async () => {
    const response = await receiver.apiServer.inject('/api/monitoring/sessions/nope');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      code: 'LLMMON_ERR_SESSION_NOT_FOUND',
      error: 'Not Found',
      message: 'no session with id "nope"',
    });
  });

  it('lists active and recent sessions', async () => {
    const active = await receiver.apiServer.inject('/api/monitoring/sessions/active');
    expect(active.json()).toHaveLength(1);
    const recent = await receiver.apiServer.inject('/api/monitoring/sessions/recent?limit=1');
    expect(recent.json()).toEqual({ sessions: [expect.objectContaining({ model: 'm' })], next_cursor: null });
  });

  it('filters the recent sessions by the filter names', async () => {
    const ids = async (query: string) =>
      ((await receiver.apiServer.inject(`/api/monitoring/sessions/recent?${query}`)).json() as { sessions: { session_id: string }[] })
        .sessions.length;
    expect(await ids('model=m&status=active')).toBe(1);
    expect(await ids('model=other')).toBe(0);
    // The running session has no processor type, task or conversation.
    expect(await ids('processor_type=batch')).toBe(0);
    expect(await ids('task=t')).toBe(0);
    expect(await ids('conversation=c-1')).toBe(0);
  });

  it('declares the same filter names on the REST list and the SSE stream, the alias as deprecated', async () => {
    // OpenAPI marks the alias deprecated on its schema.
    type Parameter = { name: string; in: string; schema: { deprecated?: boolean } };
    const spec = (await receiver.apiServer.inject('/docs/json')).json() as { paths: Record<string, { get: { parameters: Parameter[] } }> };
    const query = (path: string): Parameter[] => spec.paths[path]!.get.parameters.filter((parameter) => parameter.in === 'query');
    expect(query('/api/monitoring/sessions/recent').map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining([...SESSION_FILTER_PARAMETERS]),
    );
    const stream = query('/api/monitoring/stream');
    expect(
      stream
        .filter((parameter) => !parameter.schema.deprecated)
        .map((parameter) => parameter.name)
        .sort(),
    ).toEqual([...LIVE_FILTER_PARAMETERS].sort());
    expect(stream.filter((parameter) => parameter.schema.deprecated).map((parameter) => parameter.name)).toEqual(
      Object.keys(DEPRECATED_PARAMETER_ALIASES),
    );
  });

  it('answers a bad parameter with 400 naming it', async () => {
    const response = await receiver.apiServer.inject('/api/monitoring/sessions/recent?limit=zero');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'LLMMON_ERR_BAD_PARAMETER', message: expect.stringContaining('limit') });
  });

  it('answers unknown routes with 404 and a catalogue code', async () => {
    const response = await receiver.apiServer.inject('/api/nothing');
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('LLMMON_ERR_ROUTE_NOT_FOUND');
  });

  it('serves health and metrics', async () => {
    expect((await receiver.apiServer.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const metrics = await receiver.apiServer.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('llm_monitor_sessions_started_total{task="unknown",model="m",processor_type="unknown"} 1');
    expect(metrics.body).toContain('llm_monitor_sessions_active 1');
  });
});

describe('requests fastify refuses before routing', () => {
  it('answer with a catalogue code too', async () => {
    const api = await receiver.apiServer.inject('/api/monitoring/sessions/%E0%A4%A');
    expect(api.statusCode).toBe(400);
    expect(api.json()).toMatchObject({ code: 'LLMMON_ERR_BAD_PARAMETER' });
    const otlp = await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces/%E0%A4%A',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(otlp.statusCode).toBe(400);
    expect(otlp.json().message).toMatch(/^LLMMON_ERR_MALFORMED_OTLP/);
  });
});
