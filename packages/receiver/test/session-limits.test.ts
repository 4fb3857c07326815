/**
 * What the receiver's limits cut of a session, through the receiver: the REST answer carries the
 * session's `limits_hit` (its response schema lets it through), the history keeps it across a
 * restart, a request whose spans are all refused still moves the count; and attribute values nested
 * ten thousand levels deep are refused as malformed and counted, in both encodings and through the
 * sliced JSON parser, without a stack overflow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { deeplyNestedJson, deeplyNestedProtobuf } from './otlp-fixtures.js';
import { nanos } from './otlp-wire.js';

let receiver: Receiver | undefined;
const folders: string[] = [];
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const NOW = Date.now();
const TRACE_ID = 'beef'.repeat(8);
const text = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** An agent span with an over-long name, and tool calls under it (span ids from `first`), as OTLP/JSON. */
function agentRequest(tools: number, first = 2): string {
  const root = {
    traceId: TRACE_ID,
    spanId: '1'.repeat(16),
    name: `invoke_agent ${'n'.repeat(300)}`,
    kind: 1,
    startTimeUnixNano: String(nanos(NOW)),
    endTimeUnixNano: String(nanos(NOW + 1000)),
    attributes: [text('gen_ai.operation.name', 'invoke_agent'), text('gen_ai.request.model', 'm')],
  };
  const calls = Array.from({ length: tools }, (_, i) => ({
    traceId: TRACE_ID,
    spanId: (i + first).toString(16).padStart(16, '0'),
    parentSpanId: root.spanId,
    name: `execute_tool t${i}`,
    kind: 1,
    startTimeUnixNano: String(nanos(NOW + 10 + i)),
    endTimeUnixNano: String(nanos(NOW + 11 + i)),
    attributes: [text('gen_ai.operation.name', 'execute_tool'), text('gen_ai.tool.name', `t${i}`)],
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: first === 2 ? [root, ...calls] : calls }] }] });
}

async function post(payload: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return receiver!.otlpServer.inject({ method: 'POST', url: '/v1/traces', headers, payload });
}

async function sessionOverRest(): Promise<ProcessingSession> {
  const answer = await receiver!.apiServer.inject({ url: `/api/monitoring/sessions/${TRACE_ID}` });
  expect(answer.statusCode).toBe(200);
  return answer.json<ProcessingSession>();
}

describe('limits_hit through the receiver', () => {
  it('is in the REST answer, and in the history after a restart', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'llm-monitor-limits-'));
    folders.push(folder);
    const config = {
      storageUrl: `sqlite:${join(folder, 'history.db')}`,
      logLevel: 'silent',
      maxAttributeValueLength: 100,
      maxStepsPerSession: 5,
    } as const;
    receiver = await buildReceiver(config);
    expect((await post(agentRequest(12))).statusCode).toBe(200);
    const expected = [
      { limit: 'max_steps_per_session', item: 'step', count: 8 },
      { limit: 'max_attribute_value_length', item: 'string', count: 1 },
    ];
    const live = await sessionOverRest();
    expect(live.status).toBe('completed');
    expect(live.limits_hit).toEqual(expected);
    const listed = (await receiver.apiServer.inject({ url: '/api/monitoring/sessions/recent' })).json<{ sessions: ProcessingSession[] }>();
    expect(listed.sessions[0]!.limits_hit).toEqual(expected);
    await receiver.close();

    // Read back from the stored session's JSON by a new process.
    receiver = await buildReceiver(config);
    expect(await sessionOverRest()).toEqual(live);
  });

  it('is absent from a session no limit cut', async () => {
    receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
    expect((await post(agentRequest(2))).statusCode).toBe(200);
    expect(await sessionOverRest()).not.toHaveProperty('limits_hit');
  });

  it('counts spans refused by a full trace, also from a request of refused spans only', async () => {
    receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', maxSpansPerTrace: 3 });
    const first = await post(agentRequest(12));
    expect(first.json()).toMatchObject({ partialSuccess: { rejectedSpans: '10' } });
    expect((await sessionOverRest()).limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 10 }]);
    await post(agentRequest(2, 100));
    expect((await sessionOverRest()).limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 12 }]);
  });
});

describe('attribute values nested ten thousand levels deep', () => {
  it('are refused as malformed and counted, in protobuf, JSON, JSON parsed in slices and gzip, and the receiver carries on', async () => {
    receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent' });
    const deepJson = deeplyNestedJson(10_000);
    // Over 1 MiB: parsed in slices (json-slices.ts) rather than by one JSON.parse.
    const deeperJson = deeplyNestedJson(60_000);
    expect(deeperJson.length).toBeGreaterThan(1024 * 1024);
    const bodies: [Buffer | string, Record<string, string>][] = [
      [deeplyNestedProtobuf(10_000), { 'content-type': 'application/x-protobuf' }],
      [gzipSync(deeplyNestedProtobuf(10_000)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }],
      [deepJson, { 'content-type': 'application/json' }],
      [deeperJson, { 'content-type': 'application/json' }],
      [gzipSync(deeperJson), { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
    ];
    for (const [body, headers] of bodies) {
      const answer = await post(body, headers);
      expect(answer.statusCode, JSON.stringify(headers)).toBe(400);
      expect(answer.body).toMatch(/LLMMON_ERR_MALFORMED_OTLP.*nest deeper than 32 levels/);
    }
    const metrics = (await receiver.apiServer.inject({ url: '/metrics', headers: { accept: 'text/plain' } })).body;
    expect(metrics).toMatch(/^llm_monitor_receiver_requests_refused_total\{code="LLMMON_ERR_MALFORMED_OTLP"\} 5$/m);
    expect(metrics).toMatch(/^llm_monitor_receiver_decode_errors_total\{encoding="protobuf"\} 2$/m);
    expect(metrics).toMatch(/^llm_monitor_receiver_decode_errors_total\{encoding="json"\} 3$/m);
    // Nothing of them was kept, and the next request is served.
    expect(receiver.pipeline.store.size).toBe(0);
    expect((await post(agentRequest(1))).statusCode).toBe(200);
  });
});
