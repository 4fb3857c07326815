/**
 * Budgets through the receiver: a session crossing its token budget and a user crossing their daily
 * cost are marked on the session (REST), told to live clients (`budget_exceeded` over WebSocket),
 * and counted in `llm_monitor_budget_exceeded_total{budget}`.
 */
import WebSocket from 'ws';
import { ATTR_SESSION_ID, ATTR_SPAN_TYPE, GEN_AI, SPAN_TYPE } from '@llm-monitor/semconv';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/support/wait.js';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { nanos } from './otlp-wire.js';

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const NOW = Date.now();

/** A completed session of `user` with one gpt-4o-mini call of `input` + `output` tokens, as OTLP/JSON. */
function sessionRequest(n: number, user: string, input: number, output: number): string {
  const traceId = `be${n.toString(16).padStart(30, '0')}`;
  const root = `${n.toString(16).padStart(8, '0')}00000001`;
  const text = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [text('service.name', 'budget-test')] },
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: root,
                name: 'llm_monitor.session answer',
                kind: 1,
                startTimeUnixNano: String(nanos(NOW)),
                endTimeUnixNano: String(nanos(NOW + 500)),
                attributes: [text(ATTR_SPAN_TYPE, SPAN_TYPE.session), text(ATTR_SESSION_ID, `budget-${n}`), text('user.id', user)],
                status: { code: 1 },
              },
              {
                traceId,
                spanId: `${n.toString(16).padStart(8, '0')}00000002`,
                parentSpanId: root,
                name: 'chat gpt-4o-mini',
                kind: 3,
                startTimeUnixNano: String(nanos(NOW + 10)),
                endTimeUnixNano: String(nanos(NOW + 400)),
                attributes: [
                  text(GEN_AI.operationName, 'chat'),
                  text(GEN_AI.requestModel, 'gpt-4o-mini'),
                  int(GEN_AI.usageInputTokens, input),
                  int(GEN_AI.usageOutputTokens, output),
                ],
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('budgets', () => {
  it('mark the session, tell live clients and count each crossing once', async () => {
    receiver = await buildReceiver({
      storageUrl: 'memory:',
      logLevel: 'silent',
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
      liveTickMs: 5,
      budgetSessionTokens: 1000,
      // gpt-4o-mini: 0.15 / 0.6 USD per million tokens (built-in prices).
      budgetUserDailyCostUsd: 0.0005,
    });
    const { apiUrl, otlpTracesUrl } = await receiver.listen();
    const client = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
    const events: { type: string; [key: string]: unknown }[] = [];
    client.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { type: string; events?: { type: string }[] };
      if (message.type === 'batch') events.push(...(message.events ?? []));
    });
    await new Promise((resolve) => client.once('open', resolve));

    const post = (body: string) => fetch(otlpTracesUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    // 1: within both budgets (900 tokens, 0.00018 USD). 2: over the session's tokens (1,500), and with
    // 1 the user's day reaches 0.00063 USD: over the daily cost. 3: another user, within both.
    expect((await post(sessionRequest(1, 'ann', 800, 100))).status).toBe(200);
    expect((await post(sessionRequest(2, 'ann', 1000, 500))).status).toBe(200);
    expect((await post(sessionRequest(3, 'ben', 100, 100))).status).toBe(200);

    await until('the crossings over the WebSocket', () => events.filter((event) => event.type === 'budget_exceeded').length === 2, 10_000);
    client.close();
    const crossings = events.filter((event) => event.type === 'budget_exceeded');
    expect(crossings).toEqual([
      expect.objectContaining({ session_id: 'budget-2', user_id: 'ann', budget: 'session_tokens', limit: 1000, value: 1500 }),
      expect.objectContaining({ session_id: 'budget-2', user_id: 'ann', budget: 'user_daily_cost', limit: 0.0005 }),
    ]);
    expect(crossings[1]!.value as number).toBeCloseTo((1800 * 0.15 + 600 * 0.6) / 1e6, 12);

    const second = (await (await fetch(`${apiUrl}/api/monitoring/sessions/budget-2`)).json()) as ProcessingSession;
    expect(second.budget_exceeded.map((crossing) => crossing.budget)).toEqual(['session_tokens', 'user_daily_cost']);
    const first = (await (await fetch(`${apiUrl}/api/monitoring/sessions/budget-1`)).json()) as ProcessingSession;
    expect(first.budget_exceeded).toEqual([]);

    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(metrics).toContain('llm_monitor_budget_exceeded_total{budget="session_tokens"} 1');
    expect(metrics).toContain('llm_monitor_budget_exceeded_total{budget="user_daily_cost"} 1');
    expect(metrics).toContain('llm_monitor_budget_exceeded_total{budget="session_cost"} 0');
  });
});
