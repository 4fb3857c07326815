/**
 * Numbers no instrumentation should send, sent to a real `llm-monitor` process over OTLP/HTTP: a
 * token count of 1e308 used to end the process when its session settled (prom-client threw
 * `Infinity` inside the sweep timer); NaN-producing times and progress used to turn every REST list
 * into a 500 for as long as the session was kept. Each example of the issue is here, and the process
 * must still be alive, with every output readable, after the settle interval.
 */
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import { until } from './support/wait.js';

stopMonitorsAfterEach();

type OtlpValue = { stringValue: string } | { doubleValue: number | string } | { intValue: string | number } | { boolValue: boolean };

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const ns = (offsetMs: number): string => String(NOW_NS + BigInt(offsetMs) * 1_000_000n);
const attrs = (values: Record<string, OtlpValue>) => Object.entries(values).map(([key, value]) => ({ key, value }));
const text = (value: string): OtlpValue => ({ stringValue: value });
const double = (value: number | string): OtlpValue => ({ doubleValue: value });
const int = (value: string | number): OtlpValue => ({ intValue: value });

interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  start?: string | number;
  end?: string | number;
  attributes: Record<string, OtlpValue>;
  events?: { name: string; time: string | number; attributes: Record<string, OtlpValue> }[];
}

function request(spans: SpanSpec[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': text('hostile-app') }) },
        scopeSpans: [
          {
            scope: { name: 'hostile' },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind ?? 1,
              startTimeUnixNano: span.start ?? ns(0),
              endTimeUnixNano: span.end ?? ns(10),
              attributes: attrs(span.attributes),
              events: (span.events ?? []).map((event) => ({
                name: event.name,
                timeUnixNano: event.time,
                attributes: attrs(event.attributes),
              })),
            })),
          },
        ],
      },
    ],
  });
}

const trace = (n: number): string => n.toString(16).padStart(32, 'a');
const span = (n: number): string => n.toString(16).padStart(16, 'b');

/** One request per example of the issue, each a session that used to break something. */
const EXAMPLES: [string, SpanSpec[]][] = [
  [
    'GenAI calls with 1e308 tokens and no root (settled from its calls)',
    [1, 2].map((n) => ({
      traceId: trace(1),
      spanId: span(n),
      parentSpanId: span(99),
      name: 'chat gpt-4o',
      kind: 3,
      attributes: {
        'gen_ai.operation.name': text('chat'),
        'gen_ai.request.model': text('gpt-4o'),
        'gen_ai.usage.input_tokens': double(1e308),
        'gen_ai.usage.output_tokens': double(1.7976931348623157e308),
      },
    })),
  ],
  [
    'a session with extreme times to first token and per token, NaN rates, progress 1e300 and an int64 token count',
    [
      {
        traceId: trace(2),
        spanId: span(10),
        name: 'llm_monitor.session summarize',
        attributes: {
          'llm_monitor.span_type': text('session'),
          'llm_monitor.session.id': text('hostile-session'),
          'gen_ai.request.model': text('gpt-4o'),
          'llm_monitor.time_to_first_token': double(-1e308),
          'llm_monitor.time_per_output_token': double(1.7976931348623157e308),
          'llm_monitor.tokens_per_second': double('NaN'),
          'llm_monitor.progress': double(1e300),
          'llm_monitor.usage.input_tokens': int('9223372036854775807'),
          'llm_monitor.usage.output_tokens': double('Infinity'),
          'llm_monitor.metadata.score': double('-Infinity'),
        },
      },
      {
        traceId: trace(2),
        spanId: span(11),
        parentSpanId: span(10),
        name: 'streaming_response',
        attributes: {
          'llm_monitor.span_type': text('stage'),
          'llm_monitor.stage': text('streaming_response'),
          'llm_monitor.progress': double(-1e300),
        },
        events: [
          {
            name: 'llm_monitor.tokens',
            time: ns(5),
            attributes: { 'llm_monitor.tokens.count': int('9223372036854775807'), 'llm_monitor.tokens.total': double('NaN') },
          },
          {
            name: 'llm_monitor.tokens',
            time: '9'.repeat(30),
            attributes: { 'llm_monitor.tokens.count': double(-5), 'llm_monitor.tokens.text': text('x') },
          },
        ],
      },
    ],
  ],
  [
    'a running session whose marker carries times no date can hold',
    [
      {
        traceId: trace(3),
        spanId: span(20),
        parentSpanId: span(21),
        name: 'llm_monitor.session',
        start: 1e300,
        end: '9'.repeat(40),
        attributes: {
          'llm_monitor.span_type': text('pending'),
          'llm_monitor.pending.span_type': text('session'),
          'llm_monitor.session.id': text('far-future'),
          'llm_monitor.progress': double(1e300),
        },
      },
    ],
  ],
  [
    'a Vercel AI SDK call with an infinite time to first chunk and negative usage',
    [
      {
        traceId: trace(4),
        spanId: span(30),
        name: 'ai.streamText.doStream',
        start: ns(0),
        end: ns(-5000),
        attributes: {
          'ai.operationId': text('ai.streamText.doStream'),
          'ai.model.id': text('gpt-4o'),
          'ai.response.msToFirstChunk': double('Infinity'),
          'ai.usage.promptTokens': int(-3),
          'ai.usage.completionTokens': double(2.5),
        },
      },
    ],
  ],
];

/** Every number in a session is finite and within its range. */
function expectSane(session: ProcessingSession): void {
  const tokens = [
    session.token_counts.input,
    session.token_counts.output,
    session.token_counts.total,
    session.token_counts.streamed,
    ...session.llm_calls.flatMap((call) => [call.input_tokens, call.output_tokens]),
  ];
  for (const count of tokens) if (count !== null) expect(Number.isSafeInteger(count) && count >= 0, `token count ${count}`).toBe(true);
  expect(session.progress).toBeGreaterThanOrEqual(0);
  expect(session.progress).toBeLessThanOrEqual(100);
  for (const stage of session.stages) expect(stage.progress >= 0 && stage.progress <= 100).toBe(true);
  const durations = [
    session.duration_ms,
    session.time_to_first_token_ms,
    session.time_per_output_token_ms,
    session.tokens_per_second,
    ...session.stages.map((stage) => stage.duration_ms),
    ...session.llm_calls.map((call) => call.duration_ms),
  ];
  for (const value of durations) if (value !== null) expect(Number.isFinite(value) && value >= 0, `value ${value}`).toBe(true);
  for (const time of [session.start_time, session.end_time, ...session.stages.map((stage) => stage.start_time)])
    if (time !== null) expect(Number.isNaN(Date.parse(time))).toBe(false);
}

describe('numbers out of range, through a real llm-monitor process', () => {
  it('keeps the process alive past the settle interval, every output readable, and counts what it rejected', async () => {
    const monitor = await startMonitor([
      '--port',
      '0',
      '--otlp-port',
      '0',
      '--log-level',
      'warn',
      '--settle-after-seconds',
      '0.3',
      '--sweep-interval-seconds',
      '0.1',
      '--abandon-after-seconds',
      '60',
      '--model-prices',
      'gpt-4o=2.5/10',
    ]);
    const { apiUrl, otlpUrl } = monitor;

    // Live clients connected before anything arrives get every event these sessions cause.
    const wsMessages: string[] = [];
    const socket = new WebSocket(`${apiUrl.replace('http', 'ws')}/ws/monitoring`);
    socket.on('message', (data: Buffer) => wsMessages.push(data.toString('utf8')));
    await new Promise((resolve) => socket.once('open', resolve));
    const sse = await fetch(`${apiUrl}/api/monitoring/stream`);
    const sseReader = sse.body!.getReader();
    let sseText = '';
    const readSse = (async () => {
      for (;;) {
        const { value, done } = await sseReader.read();
        if (done) return;
        sseText += Buffer.from(value).toString('utf8');
      }
    })();

    for (const [what, spans] of EXAMPLES) {
      const response = await fetch(otlpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(spans) });
      expect(response.status, what).toBe(200);
      await response.text();
    }
    await until(
      'the foreign session to settle',
      async () => {
        const session = (await (await fetch(`${apiUrl}/api/monitoring/sessions/${trace(1)}`)).json()) as ProcessingSession;
        return session.status === 'completed';
      },
      10_000,
      50,
    );
    // Several sweeps later, the process is still here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(monitor.alive()).toBe(true);

    const recent = (await (await fetch(`${apiUrl}/api/monitoring/sessions/recent?limit=100`)).json()) as { sessions: ProcessingSession[] };
    expect(recent.sessions).toHaveLength(EXAMPLES.length);
    for (const session of recent.sessions) {
      expectSane(session);
      const one = await fetch(`${apiUrl}/api/monitoring/sessions/${encodeURIComponent(session.session_id)}`);
      expect(one.status).toBe(200);
      expectSane((await one.json()) as ProcessingSession);
    }
    const settled = recent.sessions.find((session) => session.trace_id === trace(1))!;
    // The impossible counts were dropped, not summed into Infinity.
    expect(settled.token_counts).toMatchObject({ input: null, output: null, total: null });
    const ours = recent.sessions.find((session) => session.session_id === 'hostile-session')!;
    expect(ours).toMatchObject({ time_to_first_token_ms: null, time_per_output_token_ms: null, tokens_per_second: null, progress: 100 });
    expect(ours.token_counts.input).toBeNull();

    for (const path of [
      '/api/monitoring/sessions/active',
      '/api/monitoring/sessions/recent',
      '/api/monitoring/statistics',
      '/api/monitoring/statistics?window=1h',
      '/api/monitoring/sessions/recent?format=csv',
      '/api/monitoring/sessions/recent?format=json',
      '/api/monitoring/model-prices',
      '/healthz',
      '/readyz',
    ]) {
      const response = await fetch(`${apiUrl}${path}`);
      expect(response.status, path).toBe(200);
      const body = await response.text();
      expect(body, path).not.toMatch(/NaN|Infinity/);
    }
    for (const accept of ['text/plain', 'application/openmetrics-text']) {
      const metrics = await fetch(`${apiUrl}/metrics`, { headers: { accept } });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      // +Inf is a bucket bound; no sample may be NaN or infinite.
      const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      for (const line of samples) expect(line, line).not.toMatch(/ (NaN|[+-]Inf)( |$)/);
      expect(text).toMatch(/llm_monitor_receiver_values_rejected_total\{field="input_tokens"\} [1-9]/);
      expect(text).toMatch(/llm_monitor_receiver_values_rejected_total\{field="progress"\} [1-9]/);
      expect(text).toMatch(/llm_monitor_receiver_values_rejected_total\{field="start_time"\} [1-9]/);
      expect(text).toMatch(/llm_monitor_receiver_internal_errors_total\{component="metrics"\} 0/);
    }

    // The live streams delivered the sessions as JSON that parses, and never an error.
    await until(
      'live events of every session',
      () => wsMessages.some((message) => message.includes('hostile-session')) && sseText.includes('hostile-session'),
      5000,
      20,
    );
    for (const message of wsMessages) expect(JSON.parse(message)).toHaveProperty('type');
    expect(wsMessages.map((message) => (JSON.parse(message) as { type: string }).type)).not.toContain('error');
    for (const data of sseText.split('\n').filter((line) => line.startsWith('data: '))) JSON.parse(data.slice(6));
    expect(sseText).not.toContain('event: error');
    socket.close();
    await sseReader.cancel();
    await readSse.catch(() => undefined);
    expect(monitor.alive()).toBe(true);
  });
});
