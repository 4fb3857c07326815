import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '@llm-monitor/sessions';
import type { ModelPrices, ProcessingSession } from '@llm-monitor/sessions';
import { registerSessionMetrics } from '../src/index.js';
import { endedAs, sessionWith } from './session-fixture.js';

interface Usage {
  readonly user?: string | null;
  readonly model?: string | null;
  readonly input?: number | null;
  readonly output?: number | null;
  readonly cost?: number | null;
}

function ended(id: string, usage: Usage, status: ProcessingSession['status'] = 'completed'): ProcessingSession {
  const input = usage.input ?? null;
  const output = usage.output ?? null;
  return sessionWith({
    session_id: id,
    trace_id: 'b'.repeat(32),
    ...endedAs(status),
    ...(usage.model === undefined ? {} : { model: usage.model }),
    user_id: usage.user ?? null,
    token_counts: { input, output, total: input !== null || output !== null ? (input ?? 0) + (output ?? 0) : null, streamed: 0 },
    cost_usd: usage.cost ?? null,
  });
}

const PRICES: ModelPrices = { 'gpt-4o-mini': { input_per_million: 1, output_per_million: 2 } };

/** A store with the session metrics registered on it; `end` adds an ended session. */
function setUp(maxLabelValues?: number) {
  const registry = new Registry();
  const errors: unknown[] = [];
  const store = new MemorySessionStore({ onListenerError: (error) => errors.push(error) });
  registerSessionMetrics(registry, store, { prices: PRICES, ...(maxLabelValues === undefined ? {} : { maxLabelValues }) });
  let now = 0;
  const end = (id: string, usage: Usage, status?: ProcessingSession['status']): void => {
    store.upsert({ ...ended(id, usage), status: 'active', end_time: null, duration_ms: null }, (now += 1));
    store.upsert(ended(id, usage, status), (now += 1));
  };
  /** The value of one series, `undefined` when it is not there. */
  const sample = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const metric = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const found = metric.find(
      (value) =>
        Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted) &&
        Object.keys(value.labels).length === Object.keys(labels).length,
    );
    return found?.value;
  };
  const series = async (name: string) =>
    ((await registry.getSingleMetric(name)?.get())?.values ?? []).map((value) => ({ ...value.labels }));
  return { end, sample, series, errors };
}

describe('usage by user', () => {
  it('counts tokens and cost of ended sessions by user, with sessions that have no user as unknown', async () => {
    const { end, sample, errors } = setUp();
    end('a', { user: 'alice', input: 1000, output: 500, cost: 0.25 });
    end('b', { user: 'alice', input: 10, output: 0, cost: 0.5 }, 'failed');
    end('c', { user: 'bob', input: 2000, output: 100, cost: 1 });
    end('d', { user: null, input: 3, output: 4, cost: 0.125 });
    end('e', { user: '', input: 5, output: 6, cost: 0.125 });
    expect(await sample('llm_monitor_user_tokens_total', { user: 'alice', direction: 'input' })).toBe(1010);
    expect(await sample('llm_monitor_user_tokens_total', { user: 'alice', direction: 'output' })).toBe(500);
    expect(await sample('llm_monitor_user_tokens_total', { user: 'bob', direction: 'input' })).toBe(2000);
    expect(await sample('llm_monitor_user_tokens_total', { user: 'unknown', direction: 'output' })).toBe(10);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'alice' })).toBe(0.75);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'bob' })).toBe(1);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'unknown' })).toBe(0.25);
    // The per-model figures are unchanged by the per-user ones.
    expect(await sample('llm_monitor_tokens_total', { model: 'gpt-4o-mini', direction: 'input' })).toBe(3018);
    expect(await sample('llm_monitor_cost_usd_total', { model: 'gpt-4o-mini' })).toBe(2);
    expect(errors).toEqual([]);
  });

  it('counts a session once, even when an abandoned session completes after all', async () => {
    const { end, sample } = setUp();
    end('a', { user: 'alice', input: 100, cost: 0.5 }, 'abandoned');
    end('a', { user: 'alice', input: 100, cost: 0.5 });
    expect(await sample('llm_monitor_user_tokens_total', { user: 'alice', direction: 'input' })).toBe(100);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'alice' })).toBe(0.5);
  });

  it('bounds users like every label: past maxLabelValues they are other, and each fold is counted', async () => {
    const { end, sample, series } = setUp(2);
    end('a', { user: 'u1', input: 1, cost: 1 });
    end('b', { user: 'u2', input: 1, cost: 1 });
    end('c', { user: 'u3', input: 1, cost: 1 });
    end('d', { user: 'u4', input: 1, cost: 1 });
    end('e', { user: 'u1', input: 1, cost: 1 });
    expect(new Set((await series('llm_monitor_user_cost_usd_total')).map((labels) => labels['user']))).toEqual(
      new Set(['u1', 'u2', 'other']),
    );
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'other' })).toBe(2);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'u1' })).toBe(2);
    expect(await sample('llm_monitor_user_tokens_total', { user: 'other', direction: 'input' })).toBe(2);
    // One fold per ended session that used a user slot it did not get.
    expect(await sample('llm_monitor_label_overflow_total', { label: 'user' })).toBe(2);
  });

  it('takes no user slot for a session with neither tokens nor cost', async () => {
    const { end, sample, series } = setUp(1);
    end('a', { user: 'idle', model: 'unpriced' });
    end('b', { user: 'busy', input: 1 });
    expect(await series('llm_monitor_user_tokens_total')).toEqual([{ user: 'busy', direction: 'input' }]);
    expect(await sample('llm_monitor_label_overflow_total', { label: 'user' })).toBeUndefined();
  });
});

describe('cost of a session', () => {
  it('is its own cost_usd when it has one, else its model price of its tokens, else nothing', async () => {
    const { end, sample, series } = setUp();
    // 1000 input and 1000 output tokens of gpt-4o-mini cost $0.003 by PRICES; the session says $0.5.
    end('a', { user: 'alice', input: 1000, output: 1000, cost: 0.5 });
    expect(await sample('llm_monitor_cost_usd_total', { model: 'gpt-4o-mini' })).toBe(0.5);
    end('b', { user: 'bob', input: 1000, output: 1000, cost: null });
    expect(await sample('llm_monitor_cost_usd_total', { model: 'gpt-4o-mini' })).toBeCloseTo(0.503, 12);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'bob' })).toBeCloseTo(0.003, 12);
    // A model without a price and a session without a cost: tokens by user, no cost series at all.
    end('c', { user: 'carol', model: 'llama3.1:8b', input: 50, output: 60 });
    expect(await sample('llm_monitor_user_tokens_total', { user: 'carol', direction: 'output' })).toBe(60);
    expect((await series('llm_monitor_user_cost_usd_total')).map((labels) => labels['user'])).not.toContain('carol');
    expect((await series('llm_monitor_cost_usd_total')).map((labels) => labels['model'])).not.toContain('llama3.1:8b');
    // A session of an unpriced model that carries its own cost (priced by the receiver) counts it.
    end('d', { user: 'carol', model: 'llama3.1:8b', input: 50, cost: 0.01 });
    expect(await sample('llm_monitor_cost_usd_total', { model: 'llama3.1:8b' })).toBe(0.01);
    expect(await sample('llm_monitor_user_cost_usd_total', { user: 'carol' })).toBe(0.01);
  });

  it('ignores a cost no counter can take, and goes on with the rest of the session', async () => {
    const { end, sample, series, errors } = setUp();
    end('a', { user: 'alice', input: 10, cost: -1 });
    end('b', { user: 'alice', input: 10, cost: Number.NaN });
    end('c', { user: 'alice', input: 10, cost: Number.POSITIVE_INFINITY });
    expect(errors).toEqual([]);
    expect(await series('llm_monitor_cost_usd_total')).toEqual([]);
    expect(await series('llm_monitor_user_cost_usd_total')).toEqual([]);
    expect(await sample('llm_monitor_user_tokens_total', { user: 'alice', direction: 'input' })).toBe(30);
  });
});
