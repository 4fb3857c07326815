import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { oneSpanRequest } from './otlp-fixtures.js';

let receiver: Receiver;

beforeAll(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
  // One running GenAI span: a session still active, known by its trace id.
  await receiver.otlpServer.inject(oneSpanRequest({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), name: 'chat m', attributes: { 'gen_ai.request.model': 'm' } }));
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
    const otlp = await receiver.otlpServer.inject({ method: 'POST', url: '/v1/traces/%E0%A4%A', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(otlp.statusCode).toBe(400);
    expect(otlp.json().message).toMatch(/^LLMMON_ERR_MALFORMED_OTLP/);
  });
});
