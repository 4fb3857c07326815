import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { subscriptionOf } from '../src/live/subscriptions.js';
import { session } from './session-fixture.js';

let receiver: Receiver;
beforeAll(async () => {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', maxSessions: 2, liveTickMs: 5 });
});
afterAll(async () => {
  await receiver.close();
});

async function metrics(): Promise<string> {
  return (await receiver.apiServer.inject('/metrics')).body;
}

describe("the receiver's self-metrics", () => {
  it('show the store: sessions held, capacity, and evictions beyond it', async () => {
    for (const id of ['a', 'b', 'c']) receiver.pipeline.store.upsert(session({ session_id: id, status: 'completed' }), 0);
    const text = await metrics();
    expect(text).toMatch(/^llm_monitor_store_sessions 2$/m);
    expect(text).toMatch(/^llm_monitor_store_max_sessions 2$/m);
    expect(text).toMatch(/^llm_monitor_store_sessions_evicted_total 1$/m);
  });

  it('show live clients by transport, the events sent to them, and drops', async () => {
    const received: unknown[] = [];
    const disconnect = receiver.hub.connect({
      subscription: subscriptionOf(undefined, {}),
      transport: 'sse',
      deliver: (events) => received.push(...events),
      close: () => undefined,
    });
    receiver.pipeline.store.upsert(session({ session_id: 'live', status: 'active' }), 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    receiver.hub.droppedTooSlow('websocket', 3);
    let text = await metrics();
    expect(text).toMatch(/^llm_monitor_live_clients\{transport="sse"\} 1$/m);
    expect(text).toMatch(/^llm_monitor_live_clients\{transport="websocket"\} 0$/m);
    expect(received.length).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`^llm_monitor_live_events_total ${receiver.hub.stats().events}$`, 'm'));
    expect(text).toMatch(/^llm_monitor_live_clients_dropped_total\{transport="websocket"\} 1$/m);
    expect(text).toMatch(/^llm_monitor_live_events_dropped_total\{transport="websocket"\} 3$/m);
    disconnect();
    text = await metrics();
    expect(text).toMatch(/^llm_monitor_live_clients\{transport="sse"\} 0$/m);
    // A counter keeps its total across scrapes.
    expect(text).toMatch(/^llm_monitor_live_clients_dropped_total\{transport="websocket"\} 1$/m);
  });

  it('show request sizes of what the OTLP endpoint read', async () => {
    const body = JSON.stringify({ resourceSpans: [] });
    const response = await receiver.otlpServer.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    const text = await metrics();
    expect(text).toMatch(/^llm_monitor_receiver_request_size_bytes_count\{encoding="json"\} 1$/m);
    expect(text).toMatch(new RegExp(`^llm_monitor_receiver_request_size_bytes_sum\\{encoding="json"\\} ${Buffer.byteLength(body)}$`, 'm'));
  });
});
