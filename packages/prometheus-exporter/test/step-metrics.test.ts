/**
 * Step metrics from sessions fed through a session store: each step counted once however often its
 * session is re-emitted, running steps not observed, labels bounded; read from the exposition text.
 */
import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { MemorySessionStore } from '@llm-monitor/sessions';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { createOpenMetricsRegistry, prometheusExporterPlugin, registerSessionMetrics, renderPrometheusText } from '../src/index.js';
import { endedAs, sessionWith } from './session-fixture.js';

type Step = ProcessingSession['steps'][number];

const TRACE = 'c'.repeat(32);

function step(
  spanId: string,
  kind: Step['kind'],
  options: { status?: Step['status']; ms?: number | null; name?: string; facts?: Step['facts'] } = {},
): Step {
  const status = options.status ?? 'ok';
  const ms = status === 'running' ? null : (options.ms ?? 20);
  return {
    span_id: spanId,
    parent_span_id: null,
    stage: null,
    kind,
    name: options.name ?? kind,
    convention: 'llm_monitor',
    start_time: '2026-11-22T12:00:00.000Z',
    end_time: ms === null ? null : new Date(Date.parse('2026-11-22T12:00:00.000Z') + ms).toISOString(),
    duration_ms: ms,
    status,
    error: status === 'error' ? 'boom' : null,
    facts: options.facts ?? {},
    input_preview: null,
    output_preview: null,
  };
}

function session(id: string, steps: Step[], status: ProcessingSession['status'] = 'active'): ProcessingSession {
  return sessionWith({ session_id: id, trace_id: TRACE, task: 'answer', steps, ...(status === 'active' ? {} : endedAs(status)) });
}

/** A store with the metrics on an OpenMetrics registry; `text` is the classic exposition. */
function setUp(maxLabelValues?: number) {
  const registry = createOpenMetricsRegistry();
  const errors: unknown[] = [];
  const store = new MemorySessionStore({ onListenerError: (error) => errors.push(error) });
  registerSessionMetrics(registry, store, maxLabelValues === undefined ? {} : { maxLabelValues });
  let now = 0;
  const put = (one: ProcessingSession): void => void store.upsert(one, (now += 1));
  const text = () => renderPrometheusText(registry);
  return { registry, store, put, text, errors };
}

/** The value of the sample `name` with exactly `labels`, from exposition text; `undefined` if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${wanted ? `{${wanted}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The label sets of every sample of `name` in exposition text. */
function series(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => line.slice(name.length + 1, line.indexOf('}')));
}

describe('step metrics', () => {
  it('count each step once, when it ends, however often its session is re-emitted', async () => {
    const { put, text, errors } = setUp();
    const embedding = step('e1', 'embedding', { ms: 30 });
    const running = step('v1', 'vector_search', { status: 'running' });
    put(session('s', [embedding, running]));
    put(session('s', [embedding, running]));
    let body = await text();
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'embedding', status: 'ok' })).toBe(1);
    // The running search is not observed yet: no duration, no count, no retrieval.
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'vector_search', status: 'ok' })).toBe(0);
    expect(sample(body, 'llm_monitor_retrievals_total', { kind: 'vector_search' })).toBe(0);
    expect(sample(body, 'llm_monitor_step_duration_seconds_count', { kind: 'vector_search' })).toBeUndefined();

    const searched = step('v1', 'vector_search', { ms: 40, facts: { top_k: 4, result_count: 3 } });
    for (let update = 0; update < 3; update += 1) put(session('s', [embedding, searched, step('l1', 'llm_call', { status: 'running' })]));
    put(session('s', [embedding, searched, step('l1', 'llm_call', { ms: 900 })], 'completed'));
    // Late spans after the end re-emit the session again.
    put(session('s', [embedding, searched, step('l1', 'llm_call', { ms: 900 })], 'completed'));
    body = await text();
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'embedding', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'vector_search', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'llm_call', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_step_duration_seconds_count', { kind: 'embedding' })).toBe(1);
    expect(sample(body, 'llm_monitor_step_duration_seconds_sum', { kind: 'embedding' })).toBe(0.03);
    expect(sample(body, 'llm_monitor_step_duration_seconds_bucket', { le: '0.025', kind: 'embedding' })).toBe(0);
    expect(sample(body, 'llm_monitor_step_duration_seconds_bucket', { le: '0.05', kind: 'embedding' })).toBe(1);
    expect(sample(body, 'llm_monitor_step_duration_seconds_bucket', { le: '1', kind: 'llm_call' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrievals_total', { kind: 'vector_search' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrieval_results_count', { kind: 'vector_search' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrieval_results_sum', { kind: 'vector_search' })).toBe(3);
    expect(errors).toEqual([]);
  });

  it('observe the steps of a session that ends with them, and never a step still running at its end', async () => {
    const { put, text } = setUp();
    put(session('s', [step('a', 'chain', { status: 'running' }), step('b', 'template', { status: 'running' })]));
    put(session('s', [step('a', 'chain', { ms: 100 }), step('b', 'template', { status: 'running' })], 'abandoned'));
    const body = await text();
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'chain', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'template', status: 'ok' })).toBe(0);
    expect(sample(body, 'llm_monitor_step_duration_seconds_count', { kind: 'template' })).toBeUndefined();
  });

  it('count a failed step as error, with its duration', async () => {
    const { put, text } = setUp();
    put(session('s', [step('a', 'rerank', { status: 'error', ms: 5 })], 'failed'));
    const body = await text();
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'rerank', status: 'error' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'rerank', status: 'ok' })).toBe(0);
    expect(sample(body, 'llm_monitor_step_duration_seconds_count', { kind: 'rerank' })).toBe(1);
  });

  it('start every kind and status at zero, with HELP and TYPE', async () => {
    const { text } = setUp();
    const body = await text();
    const kinds = [
      'chain',
      'retrieval',
      'rerank',
      'template',
      'model_selection',
      'embedding',
      'vector_search',
      'tool_call',
      'llm_call',
      'agent',
      'other',
    ];
    expect(series(body, 'llm_monitor_steps_total').sort()).toEqual(
      kinds.flatMap((kind) => [`kind="${kind}",status="ok"`, `kind="${kind}",status="error"`]).sort(),
    );
    expect(series(body, 'llm_monitor_retrievals_total').sort()).toEqual(['kind="retrieval"', 'kind="vector_search"']);
    for (const [name, type] of [
      ['llm_monitor_step_duration_seconds', 'histogram'],
      ['llm_monitor_steps_total', 'counter'],
      ['llm_monitor_tool_calls_total', 'counter'],
      ['llm_monitor_retrievals_total', 'counter'],
      ['llm_monitor_retrieval_results', 'histogram'],
      ['llm_monitor_model_fallbacks_total', 'counter'],
    ]) {
      expect(body).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(body).toContain(`# TYPE ${name} ${type}\n`);
    }
    // No tool or fallback has a series before one is seen.
    expect(series(body, 'llm_monitor_tool_calls_total')).toEqual([]);
    expect(series(body, 'llm_monitor_model_fallbacks_total')).toEqual([]);
  });

  it('count tool calls by tool and status, both statuses of a tool existing once it does', async () => {
    const { put, text } = setUp();
    put(
      session('s', [
        step('t1', 'tool_call', { name: 'execute_tool search', facts: { tool_name: 'search' } }),
        step('t2', 'tool_call', { name: 'execute_tool search', facts: { tool_name: 'search' } }),
        step('t3', 'tool_call', { status: 'error', facts: { tool_name: 'weather' } }),
        // No tool name: the step's own name stands in.
        step('t4', 'tool_call', { name: 'lookup' }),
      ]),
    );
    const body = await text();
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'search', status: 'ok' })).toBe(2);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'search', status: 'error' })).toBe(0);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'weather', status: 'error' })).toBe(1);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'weather', status: 'ok' })).toBe(0);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'lookup', status: 'ok' })).toBe(1);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'tool_call', status: 'ok' })).toBe(3);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'tool_call', status: 'error' })).toBe(1);
  });

  it('bound tool names with the label limiter: past the limit they are other, and each fold is counted', async () => {
    const { put, text } = setUp(2);
    put(
      session(
        's',
        ['a', 'b', 'c', 'd', 'a'].map((tool, index) => step(`t${index}`, 'tool_call', { facts: { tool_name: tool } })),
      ),
    );
    const body = await text();
    expect(new Set(series(body, 'llm_monitor_tool_calls_total').map((labels) => /tool="([^"]*)"/.exec(labels)![1]))).toEqual(
      new Set(['a', 'b', 'other']),
    );
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'other', status: 'ok' })).toBe(2);
    expect(sample(body, 'llm_monitor_tool_calls_total', { tool: 'a', status: 'ok' })).toBe(2);
    expect(sample(body, 'llm_monitor_label_overflow_total', { label: 'tool' })).toBe(2);
  });

  it('count retrievals of both kinds, and their results when the step says, a miss in the 0 bucket', async () => {
    const { put, text } = setUp();
    put(
      session('s', [
        step('r1', 'retrieval', { facts: { result_count: 12 } }),
        step('v1', 'vector_search', { facts: { top_k: 2, result_count: 0 } }),
        step('v2', 'vector_search', { facts: { top_k: 4 } }),
        // Not a retrieval: an embedding, a rerank.
        step('e1', 'embedding', { facts: { input_count: 1 } }),
        step('k1', 'rerank', { facts: { result_count: 4 } }),
      ]),
    );
    const body = await text();
    expect(sample(body, 'llm_monitor_retrievals_total', { kind: 'retrieval' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrievals_total', { kind: 'vector_search' })).toBe(2);
    expect(sample(body, 'llm_monitor_retrieval_results_count', { kind: 'vector_search' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrieval_results_bucket', { le: '0', kind: 'vector_search' })).toBe(1);
    expect(sample(body, 'llm_monitor_retrieval_results_bucket', { le: '10', kind: 'retrieval' })).toBe(0);
    expect(sample(body, 'llm_monitor_retrieval_results_bucket', { le: '20', kind: 'retrieval' })).toBe(1);
    expect(series(body, 'llm_monitor_retrieval_results_count')).toEqual(['kind="retrieval"', 'kind="vector_search"']);
  });

  it('count every fallback of a model selection by the model that failed, bounded with the other models', async () => {
    const { put, text } = setUp(2);
    const selection = (id: string, models: string[]) =>
      step(id, 'model_selection', {
        facts: {
          candidates: ['gpt-4o-mini', ...models],
          chosen_model: 'gpt-4o-mini',
          fallbacks: models.map((model) => ({ model, error: '503' })),
        },
      });
    // The session's own model takes the first of the two model slots.
    put(
      session(
        's',
        [selection('m1', ['claude-sonnet-4']), selection('m2', []), selection('m3', ['claude-sonnet-4', 'mistral-small', ''])],
        'completed',
      ),
    );
    put(
      session(
        's',
        [selection('m1', ['claude-sonnet-4']), selection('m2', []), selection('m3', ['claude-sonnet-4', 'mistral-small', ''])],
        'completed',
      ),
    );
    const body = await text();
    expect(sample(body, 'llm_monitor_model_fallbacks_total', { model: 'claude-sonnet-4' })).toBe(2);
    expect(sample(body, 'llm_monitor_model_fallbacks_total', { model: 'other' })).toBe(2);
    expect(series(body, 'llm_monitor_model_fallbacks_total')).toHaveLength(2);
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'model_selection', status: 'ok' })).toBe(3);
  });

  it('keep counting a renamed session once, and count a new session under a reused id anew', async () => {
    const { store, put, text } = setUp();
    put(session('pending-1', [step('a', 'agent')]));
    store.rename('pending-1', 'real');
    put(session('real', [step('a', 'agent'), step('b', 'agent')], 'completed'));
    expect(sample(await text(), 'llm_monitor_steps_total', { kind: 'agent', status: 'ok' })).toBe(2);
    expect(store.evictOldest()?.session_id).toBe('real');
    put(session('real', [step('a', 'agent')], 'completed'));
    expect(sample(await text(), 'llm_monitor_steps_total', { kind: 'agent', status: 'ok' })).toBe(3);
  });

  it('fold a kind the exporter does not know into other', async () => {
    const { put, text } = setUp();
    put(session('s', [{ ...step('x', 'other'), kind: 'planner' as Step['kind'] }]));
    const body = await text();
    expect(sample(body, 'llm_monitor_steps_total', { kind: 'other', status: 'ok' })).toBe(1);
    expect(body).not.toContain('planner');
  });

  it('serve OpenMetrics, step durations without exemplars (the session and stage histograms carry the trace id)', async () => {
    const store = new MemorySessionStore();
    const app = Fastify();
    await app.register(prometheusExporterPlugin, { sessions: store, processMetrics: false });
    store.upsert(session('s', [step('a', 'vector_search', { ms: 40, facts: { result_count: 2 } })], 'completed'), 1);
    const response = await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(response.headers['content-type']).toMatch(/^application\/openmetrics-text/);
    expect(response.body).toContain('# TYPE llm_monitor_steps counter');
    expect(response.body).toContain('llm_monitor_steps_total{kind="vector_search",status="ok"} 1');
    expect(response.body).toContain('llm_monitor_step_duration_seconds_bucket{le="0.05",kind="vector_search"} 1\n');
    expect(response.body).toContain('# TYPE llm_monitor_retrieval_results histogram');
    expect(response.body.trimEnd().endsWith('# EOF')).toBe(true);
    await app.close();
  });
});
