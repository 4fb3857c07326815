import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '@llm-monitor/sessions';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { prometheusExporterPlugin } from '../src/index.js';
import { sessionWith } from './session-fixture.js';

function session(id: string, status: ProcessingSession['status']): ProcessingSession {
  return sessionWith({ session_id: id, status });
}

describe('prometheusExporterPlugin', () => {
  it('counts sessions from store change events and serves them at /metrics', async () => {
    const store = new MemorySessionStore();
    const app = Fastify();
    await app.register(prometheusExporterPlugin, { sessions: store, processMetrics: false });
    store.upsert(session('a', 'active'), 0);
    store.upsert(session('b', 'active'), 0);
    store.upsert(session('a', 'completed'), 1);
    store.upsert(session('a', 'completed'), 2);

    const response = await app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const labels = 'task="summarize",model="gpt-4o-mini",processor_type="openai"';
    expect(response.body).toContain(`llm_monitor_sessions_started_total{${labels}} 2`);
    expect(response.body).toContain(`llm_monitor_sessions_ended_total{status="completed",${labels}} 1`);
    expect(response.body).toContain('llm_monitor_sessions_active 1');
    expect(response.body).not.toContain('process_cpu');
    await app.close();
  });

  it('exports process metrics by default, each instance in its own registry', async () => {
    const first = Fastify();
    const second = Fastify();
    await first.register(prometheusExporterPlugin, { sessions: new MemorySessionStore() });
    await second.register(prometheusExporterPlugin, { sessions: new MemorySessionStore() });
    expect((await first.inject('/metrics')).body).toContain('process_cpu_user_seconds_total');
    expect((await second.inject('/metrics')).statusCode).toBe(200);
    await first.close();
    await second.close();
  });
});

describe('ended sessions', () => {
  it('are counted once, even when an abandoned session completes after all', async () => {
    const store = new MemorySessionStore();
    const app = Fastify();
    await app.register(prometheusExporterPlugin, { sessions: store, processMetrics: false });
    store.upsert(session('a', 'active'), 0);
    store.upsert(session('a', 'abandoned'), 1);
    store.upsert(session('a', 'completed'), 2);
    const body = (await app.inject('/metrics')).body;
    expect(body).toMatch(/llm_monitor_sessions_ended_total\{status="abandoned",[^}]*\} 1/);
    expect(body).not.toContain('status="completed"');
    await app.close();
  });
});

describe('a session abandoned twice', () => {
  it('is still counted as ended once', async () => {
    const store = new MemorySessionStore();
    const app = Fastify();
    await app.register(prometheusExporterPlugin, { sessions: store, processMetrics: false });
    for (const status of ['active', 'abandoned', 'active', 'abandoned', 'completed'] as const) store.upsert(session('a', status), 0);
    const body = (await app.inject('/metrics')).body;
    expect(body).toMatch(/llm_monitor_sessions_ended_total\{status="abandoned",[^}]*\} 1\n/);
    expect(body).toMatch(/llm_monitor_sessions_started_total\{[^}]*\} 1\n/);
    await app.close();
  });
});
