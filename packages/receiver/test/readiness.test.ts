/**
 * `/readyz` per component — ingest, store, fan-out, memory, event loop, auth — each healthy,
 * degraded or unhealthy with the reason and when it was checked; every state driven for real:
 * slots held, the live window filled, memory over the guard's limits (and ingest refused with
 * Retry-After, counted), the event loop blocked, shutdown begun.
 * (The store's unhealthy state, with a database down, is in history-ingest.test.ts and
 * history-postgres-outage.test.ts; the fan-out's degraded state, Redis unreachable, in
 * replication.test.ts; auth's degraded state, open beyond loopback, in auth.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Receiver } from '../src/index.js';
import { asProtobuf, sdkSpans } from './otlp-fixtures.js';
import { buildQuietReceiver } from './quiet-receiver.js';

interface Component {
  status: 'healthy' | 'degraded' | 'unhealthy';
  reason: string | null;
  checked_at: string;
  details: Record<string, unknown>;
}
interface Readiness {
  status: Component['status'];
  components: Record<string, Component>;
}

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function readyz(target: Receiver): Promise<{ statusCode: number; body: Readiness }> {
  const response = await target.apiServer.inject({ method: 'GET', url: '/readyz' });
  return { statusCode: response.statusCode, body: response.json<Readiness>() };
}

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy on purpose: the loop must not turn.
  }
}

const MIB = 1024 * 1024;

describe('/readyz', () => {
  it('reports every component healthy, with no reason and the time it was checked', async () => {
    receiver = await buildQuietReceiver();
    await receiver.listen();
    const before = Date.now();
    const { statusCode, body } = await readyz(receiver);
    expect(statusCode).toBe(200);
    expect(body.status).toBe('healthy');
    expect(Object.keys(body.components).sort()).toEqual(['auth', 'event_loop', 'fanout', 'ingest', 'memory', 'store']);
    for (const [name, component] of Object.entries(body.components)) {
      expect(component.status, name).toBe('healthy');
      expect(component.reason, name).toBeNull();
      // The event loop is judged per closed window: its time may be a little older.
      expect(Date.parse(component.checked_at), name).toBeGreaterThan(before - 10_000);
    }
  });

  it('says ingest is degraded at its admission limits and unhealthy when not listening', async () => {
    receiver = await buildQuietReceiver({ otlpMaxConcurrentRequests: 2 });
    // Built, not listening yet.
    let ingest = (await readyz(receiver)).body.components.ingest!;
    expect(ingest).toMatchObject({ status: 'unhealthy', reason: expect.stringMatching(/^not listening \(OTLP\/HTTP, OTLP\/gRPC\)/) });
    await receiver.listen();
    const held = [receiver.admission.enter(), receiver.admission.enter()];
    const { statusCode, body } = await readyz(receiver);
    ingest = body.components.ingest!;
    expect(statusCode).toBe(200);
    expect(body.status).toBe('degraded');
    expect(ingest).toMatchObject({
      status: 'degraded',
      reason: expect.stringContaining('2/2 requests processed'),
      details: { requests_in_flight: 2 },
    });
    for (const release of held) release();
    expect((await readyz(receiver)).body.components.ingest!.status).toBe('healthy');
  });

  it('says the store is degraded when the live window is nearly full', async () => {
    receiver = await buildQuietReceiver({ maxSessions: 1 });
    const { otlpTracesUrl } = await receiver.listen();
    const answer = await fetch(otlpTracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: asProtobuf(await sdkSpans()),
    });
    expect(answer.status).toBe(200);
    const store = (await readyz(receiver)).body.components.store!;
    expect(store).toMatchObject({ status: 'degraded', reason: expect.stringContaining('holds 1 of max_sessions 1') });
  });

  it('refuses ingest above the memory limits — 429 over the soft one, 503 over the hard one, with Retry-After — and says so', async () => {
    let used = 10 * MIB;
    receiver = await buildQuietReceiver({ memoryLimitMib: 100, memorySoftLimitMib: 80 }, { measureMemory: () => used });
    const { otlpTracesUrl, apiUrl } = await receiver.listen();
    const body = asProtobuf(await sdkSpans());
    const post = () => fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    const wait = () => new Promise((resolve) => setTimeout(resolve, 30));

    expect((await post()).status).toBe(200);
    expect((await readyz(receiver)).body.components.memory).toMatchObject({ status: 'healthy', reason: null });

    used = 85 * MIB;
    await wait();
    const soft = await post();
    expect(soft.status).toBe(429);
    expect(soft.headers.get('retry-after')).toBe('1');
    expect(await soft.text()).toContain('LLMMON_ERR_MEMORY_SOFT_LIMIT: memory in use 85 MiB is above memory_soft_limit_mib (80 MiB)');
    let ready = await readyz(receiver);
    expect(ready.statusCode).toBe(200);
    expect(ready.body.components.memory).toMatchObject({
      status: 'degraded',
      reason: expect.stringContaining('above memory_soft_limit_mib'),
    });

    used = 120 * MIB;
    await wait();
    const hard = await post();
    expect(hard.status).toBe(503);
    expect(hard.headers.get('retry-after')).toBe('5');
    expect(await hard.text()).toContain('LLMMON_ERR_MEMORY_LIMIT');
    ready = await readyz(receiver);
    expect(ready.statusCode).toBe(503);
    expect(ready.body.components.memory).toMatchObject({
      status: 'unhealthy',
      reason: expect.stringContaining('above memory_limit_mib (100 MiB): ingest answers 503'),
      details: { refused: { soft: 1, hard: 1 } },
    });
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(metrics).toContain('llm_monitor_receiver_memory_refusals_total{limit="soft"} 1');
    expect(metrics).toContain('llm_monitor_receiver_memory_refusals_total{limit="hard"} 1');
    expect(metrics).toContain(`llm_monitor_receiver_memory_limit_bytes{limit="hard"} ${100 * MIB}`);
    expect(metrics).toContain(`llm_monitor_receiver_memory_used_bytes ${120 * MIB}`);

    // Memory falls: ingest and readiness come back by themselves.
    used = 20 * MIB;
    await wait();
    expect((await post()).status).toBe(200);
    expect((await readyz(receiver)).body.components.memory!.status).toBe('healthy');
  });

  it('says the event loop is degraded, then unhealthy, as it lags, and healthy again once it turns', async () => {
    receiver = await buildQuietReceiver({}, { eventLoop: { windowMs: 150, degradedMs: 60, unhealthyMs: 400 } });
    await receiver.listen();
    const eventLoop = async (): Promise<Component> => (await readyz(receiver!)).body.components.event_loop!;
    const settle = { timeout: 5000, interval: 20 };
    // Starting up lags too: from a quiet loop on.
    await expect.poll(async () => (await eventLoop()).status, settle).toBe('healthy');
    blockEventLoop(150);
    // The lag is judged when its window closes: the next one or two.
    await expect.poll(async () => (await eventLoop()).status, settle).not.toBe('healthy');
    expect(await eventLoop()).toMatchObject({
      status: 'degraded',
      reason: expect.stringMatching(/^the event loop ran \d+(\.\d)? ms late/),
    });
    blockEventLoop(600);
    await expect.poll(async () => (await eventLoop()).status, settle).toBe('unhealthy');
    expect((await eventLoop()).details.lag_max_ms).toBeGreaterThanOrEqual(400);
    expect((await readyz(receiver)).statusCode).toBe(503);
    await expect.poll(async () => (await eventLoop()).status, settle).toBe('healthy');
  });

  it('says ingest and the live streams are unhealthy once shutting down', async () => {
    receiver = await buildQuietReceiver();
    await receiver.listen();
    const closing = receiver.close();
    const { statusCode, body } = await readyz(receiver);
    receiver = undefined;
    expect(statusCode).toBe(503);
    expect(body.components.ingest).toMatchObject({ status: 'unhealthy', reason: expect.stringContaining('shutting down') });
    expect(body.components.fanout).toMatchObject({ status: 'unhealthy', reason: expect.stringContaining('shutting down') });
    await closing;
  });
});
