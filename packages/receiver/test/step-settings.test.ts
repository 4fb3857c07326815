/**
 * The step settings through the receiver: `max_steps_per_session` keeps the earliest steps and counts
 * the rest (on the session and in `llm_monitor_receiver_steps_dropped_total`), `0` keeps none, and
 * `step_preview_length` cuts what a step's previews hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { nanos } from './otlp-wire.js';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const NOW = Date.now();
const TRACE_ID = 'cafe'.repeat(8);

/** An agent span (the session of another instrumentation) and `tools` tool calls under it, as OTLP/JSON. */
function agentRequest(tools: number): string {
  const text = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const root = {
    traceId: TRACE_ID,
    spanId: '1'.repeat(16),
    name: 'invoke_agent helper',
    kind: 1,
    startTimeUnixNano: String(nanos(NOW)),
    endTimeUnixNano: String(nanos(NOW + 1000)),
    attributes: [text('gen_ai.operation.name', 'invoke_agent'), text('gen_ai.request.model', 'm')],
  };
  const calls = Array.from({ length: tools }, (_, i) => ({
    traceId: TRACE_ID,
    spanId: (i + 2).toString(16).padStart(16, '0'),
    parentSpanId: root.spanId,
    name: `execute_tool t${i}`,
    kind: 1,
    startTimeUnixNano: String(nanos(NOW + 10 + i)),
    endTimeUnixNano: String(nanos(NOW + 11 + i)),
    attributes: [
      text('gen_ai.operation.name', 'execute_tool'),
      text('gen_ai.tool.name', `t${i}`),
      text('gen_ai.tool.call.result', `result ${i} `.repeat(20)),
    ],
  }));
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [root, ...calls] }] }] });
}

async function sessionAfterIngest(config: Parameters<typeof buildReceiver>[0]): Promise<{ session: ProcessingSession; metrics: string }> {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', ...config });
  const answer = await receiver.otlpServer.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json' },
    payload: agentRequest(12),
  });
  expect(answer.statusCode).toBe(200);
  const session = (await receiver.apiServer.inject({ url: `/api/monitoring/sessions/${TRACE_ID}` })).json<ProcessingSession>();
  const metrics = (await receiver.apiServer.inject({ url: '/metrics', headers: { accept: 'text/plain' } })).body;
  return { session, metrics };
}

describe('step settings', () => {
  it('max_steps_per_session keeps the earliest steps and counts the rest; step_preview_length cuts previews', async () => {
    const { session, metrics } = await sessionAfterIngest({ maxStepsPerSession: 5, stepPreviewLength: 12 });
    expect(session.steps.map((step) => step.name)).toEqual(['invoke_agent helper', 't0', 't1', 't2', 't3']);
    expect(session.steps_dropped).toBe(8);
    expect(session.steps[1]!.output_preview).toBe('result 0 res');
    expect(metrics).toMatch(/^llm_monitor_receiver_steps_dropped_total 8$/m);
  });

  it('max_steps_per_session 0 keeps no steps and counts none', async () => {
    const { session, metrics } = await sessionAfterIngest({ maxStepsPerSession: 0 });
    expect(session).toMatchObject({ steps: [], steps_dropped: 0 });
    expect(metrics).toMatch(/^llm_monitor_receiver_steps_dropped_total 0$/m);
  });
});
