/**
 * What the core holds is bounded and what it derives is finite, whatever a sender writes: numbers are
 * checked once on admission and counted when rejected; spans keep only what the mapping reads, cut to
 * their budgets; markers count against the per-trace cap; orphan traces and held bytes are capped,
 * oldest first; a listener that throws cannot fail a change.
 */
import { describe, expect, it } from 'vitest';
import { ATTR_PENDING_PARENT_ID, ATTR_PENDING_SPAN_TYPE, ATTR_SPAN_TYPE, SPAN_TYPE } from '@llm-monitor/semconv';
import {
  approximateJsonLength,
  computeStatistics,
  MemorySessionStore,
  SessionBuilder,
  SessionPipeline,
  SKELETON_SPAN_BYTES,
  VALUE_LIMITS,
  withinJsonLength,
} from '../src/index.js';
import type { ValueField, SpanRecord } from '../src/index.js';
import { checkNumeric } from '../src/span-values.js';
import { completedSession, span, spanId, T0, TRACE_ID } from './span-fixtures.js';

const session = (attributes: SpanRecord['attributes'], overrides: Partial<SpanRecord> = {}): SpanRecord =>
  span({
    name: 'session',
    attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.session, 'llm_monitor.session.id': 's', ...attributes },
    ...overrides,
  });

function rejectedBy(builder: SessionBuilder): Partial<Record<ValueField, number>> {
  return Object.fromEntries(Object.entries(builder.stats().valuesRejected).filter(([, count]) => count > 0));
}

describe('numeric values', () => {
  it.each([
    ['tokens', 12, 12],
    ['tokens', '12', 12],
    ['tokens', 0, 0],
    ['tokens', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ['tokens', Number.MAX_SAFE_INTEGER + 1, undefined],
    ['tokens', '9223372036854775807', undefined],
    ['tokens', -1, undefined],
    ['tokens', 2.5, undefined],
    ['tokens', 1e308, undefined],
    ['tokens', Number.NaN, undefined],
    ['tokens', 'twelve', undefined],
    ['seconds', 0.25, 0.25],
    ['seconds', -1e308, undefined],
    ['seconds', 1.7976931348623157e308, undefined],
    ['seconds', VALUE_LIMITS.maxDurationMs / 1000, VALUE_LIMITS.maxDurationMs / 1000],
    ['milliseconds', Number.POSITIVE_INFINITY, undefined],
    ['rate', 55.5, 55.5],
    ['rate', VALUE_LIMITS.maxTokensPerSecond * 2, undefined],
    ['progress', 42, 42],
    ['progress', 1e300, 100],
    ['progress', -3, 0],
    ['progress', Number.NaN, undefined],
  ] as const)('%s %s → %s', (kind, raw, expected) => {
    expect(checkNumeric(kind, raw)?.value).toBe(expected);
  });

  it('drops or clamps each out-of-range value once, on admission, and counts it by field', () => {
    const builder = new SessionBuilder();
    const root = session({
      'llm_monitor.usage.input_tokens': '9223372036854775807',
      'llm_monitor.usage.output_tokens': 1e308,
      'llm_monitor.time_to_first_token': -1e308,
      'llm_monitor.time_per_output_token': 1.7976931348623157e308,
      'llm_monitor.tokens_per_second': Number.NaN,
      'llm_monitor.progress': 1e300,
    });
    const [built] = builder.ingest([root]);
    expect(built).toMatchObject({
      token_counts: { input: null, output: null, total: null },
      time_to_first_token_ms: null,
      time_per_output_token_ms: null,
      tokens_per_second: null,
      progress: 100,
    });
    expect(rejectedBy(builder)).toEqual({
      input_tokens: 1,
      output_tokens: 1,
      time_to_first_token: 1,
      time_per_output_token: 1,
      tokens_per_second: 1,
      progress: 1,
    });
    // Rebuilding the session again (more spans of its trace) does not count the same value again.
    builder.ingest([
      span({ parentSpanId: root.spanId, attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': 'initializing' } }),
    ]);
    expect(rejectedBy(builder).input_tokens).toBe(1);
  });

  it('treats times no date can hold as unknown, and an end before the start as a zero duration', () => {
    const builder = new SessionBuilder();
    const [built] = builder.ingest([
      session({}, { startTimeUnixMs: 1e300, endTimeUnixMs: Number.NaN }),
      span({ attributes: { 'gen_ai.request.model': 'm' }, startTimeUnixMs: T0 + 100, endTimeUnixMs: T0 }),
    ]);
    expect(built!.llm_calls[0]).toMatchObject({ duration_ms: 0, end_time: built!.llm_calls[0]!.start_time });
    expect(rejectedBy(builder)).toEqual({ start_time: 1, end_time: 1, duration: 1 });
    expect(() => JSON.stringify(built)).not.toThrow();
  });

  it('sums token counts without leaving the safe integers, and statistics stay finite', () => {
    const calls = [1, 2, 3].map(() =>
      span({
        attributes: {
          'gen_ai.request.model': 'm',
          'gen_ai.usage.input_tokens': Number.MAX_SAFE_INTEGER,
          'gen_ai.usage.output_tokens': Number.MAX_SAFE_INTEGER,
        },
      }),
    );
    const [built] = new SessionBuilder().ingest(calls);
    expect(built!.token_counts).toEqual({
      input: Number.MAX_SAFE_INTEGER,
      output: Number.MAX_SAFE_INTEGER,
      total: Number.MAX_SAFE_INTEGER,
      streamed: 0,
    });
    const statistics = computeStatistics([built!, built!, built!]);
    expect(Number.isFinite(statistics.tokens_in)).toBe(true);
  });
});

describe('admission', () => {
  it('keeps only what the mapping reads, with strings cut to the longest value', () => {
    const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
    const root = session(
      {
        'llm_monitor.content_preview': 'p'.repeat(1000),
        'http.request.header.cookie': 'c'.repeat(1000),
        'gen_ai.system_instructions': 'm'.repeat(1000),
      },
      { resource: { 'service.name': 'app', 'host.name': 'h'.repeat(1000) } },
    );
    const [built] = builder.ingest([root]);
    expect(built!.content_preview).toBe('p'.repeat(100));
    expect(built!.service_name).toBe('app');
    expect(builder.stats().cut).toContainEqual(['string', 'value_length', 1]);
    // Estimated bytes: the preview and the rest of the span, not the unread kilobytes.
    expect(builder.heldBytes).toBeLessThan(2500);
  });

  it('fills a span up to its budget, what places the span first', () => {
    const builder = new SessionBuilder({ maxSpanBytes: 4000 });
    const metadata: Record<string, string> = {};
    for (let i = 0; i < 20; i += 1) metadata[`llm_monitor.metadata.m${i}`] = 'x'.repeat(1000);
    // The essentials come last on the wire here; they are still kept.
    const [built] = builder.ingest([session({ ...metadata, 'gen_ai.request.model': 'gpt', 'llm_monitor.task': 't' })]);
    expect(built!.model).toBe('gpt');
    expect(Object.keys(built!.metadata).length).toBeLessThan(5);
    expect(builder.stats().cut.find(([item, reason]) => item === 'attribute' && reason === 'span_bytes')![2]).toBeGreaterThan(15);
  });

  it('keeps only a skeleton of spans that arrive once their trace is at its byte budget', () => {
    const builder = new SessionBuilder({ maxTraceBytes: 50_000 });
    const root = session({ 'llm_monitor.content_preview': 'p'.repeat(16_000) });
    const stages = Array.from({ length: 10 }, (_, i) =>
      span({
        parentSpanId: root.spanId,
        attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': `s${i}`, 'llm_monitor.stage.message': 'm'.repeat(10_000) },
      }),
    );
    const [built] = builder.ingest([root, ...stages]);
    // Every stage is in the timeline; the late ones with what is left of their messages.
    expect(built!.stages).toHaveLength(10);
    expect(built!.stages[0]!.message).toHaveLength(10_000);
    expect(built!.stages.at(-1)!.message.length).toBeLessThan(SKELETON_SPAN_BYTES);
    expect(builder.stats().cut.find(([item, reason]) => item === 'string' && reason === 'value_length')![2]).toBeGreaterThan(0);
    expect(builder.heldBytes).toBeLessThan(50_000 + 10 * (SKELETON_SPAN_BYTES + 600));
  });

  it('drops a token event whose count is out of range instead of counting it as one token', () => {
    const builder = new SessionBuilder();
    const stage = span({
      attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': 'streaming_response' },
      events: [
        { name: 'llm_monitor.tokens', timeUnixMs: T0, attributes: { 'llm_monitor.tokens.count': -5 } },
        { name: 'llm_monitor.tokens', timeUnixMs: T0 + 1, attributes: { 'llm_monitor.tokens.count': 3 } },
      ],
    });
    const [built] = builder.ingest([session({}), stage]);
    expect(built!.token_counts.streamed).toBe(3);
  });
});

describe('held amounts', () => {
  const marker = (running: SpanRecord, at: number, total: number): SpanRecord =>
    span({
      parentSpanId: running.spanId,
      startTimeUnixMs: running.startTimeUnixMs,
      endTimeUnixMs: at,
      attributes: {
        [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
        [ATTR_PENDING_SPAN_TYPE]: SPAN_TYPE.stage,
        [ATTR_PENDING_PARENT_ID]: running.parentSpanId,
        'llm_monitor.stage': 'streaming_response',
        'llm_monitor.tokens.total': total,
      },
      events: [
        {
          name: 'llm_monitor.tokens',
          timeUnixMs: at,
          attributes: { 'llm_monitor.tokens.count': 1, 'llm_monitor.tokens.total': total, 'llm_monitor.tokens.text': 't' },
        },
      ],
    });

  it('counts markers against the per-trace cap, and still follows the running total once full', () => {
    const builder = new SessionBuilder({ maxSpansPerTrace: 100 });
    const root = session({});
    const running = span({ spanId: spanId(), parentSpanId: root.spanId, endTimeUnixMs: 0 });
    const outcomes = new Map<string, number>();
    for (let i = 1; i <= 1000; i += 1) {
      const outcome = builder.add(marker(running, T0 + i, i), 0);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // The session's own span arrives last, into a full trace: markers' events make room for it.
    expect(builder.add(root, 0)).toBe('kept');
    const built = builder.rebuild(TRACE_ID)!;
    expect(builder.stats().spans).toBeLessThanOrEqual(100);
    expect(outcomes.get('trace_full')).toBeGreaterThan(800);
    expect(builder.droppedSpans).toBe(outcomes.get('trace_full'));
    expect(builder.stats().cut).toContainEqual(['event', 'trace_spans', 1]);
    // The latest marker's running total still counts, though its events were not kept.
    expect(built.token_counts.streamed).toBe(1000);
    expect(built.streamed_tokens.length).toBeLessThan(100);
  });

  it('builds a trace of 150,000 stages without a spread overflowing the stack', () => {
    const builder = new SessionBuilder({ maxSpansPerTrace: 200_000 });
    const root = session({});
    const stages = Array.from({ length: 150_000 }, (_, i) =>
      span({
        parentSpanId: root.spanId,
        startTimeUnixMs: T0 + i,
        attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': 'validating_input', 'llm_monitor.progress': i % 100 },
      }),
    );
    const [built] = builder.ingest([root, ...stages]);
    expect(built!.stages).toHaveLength(150_000);
    expect(built!.progress).toBe(100);
  });

  it('holds at most maxOrphanTraces traces that are no session, letting the oldest go', () => {
    const builder = new SessionBuilder({ maxOrphanTraces: 50 });
    for (let i = 0; i < 500; i += 1)
      builder.add(span({ traceId: i.toString(16).padStart(32, 'f'), kind: 2, attributes: { 'http.route': '/x' } }), i);
    expect(builder.stats()).toMatchObject({ traces: 50, orphanTraces: 50, tracesEvicted: { orphan_cap: 450 } });
    // A session is no orphan: it stays whatever the orphans do.
    builder.ingest(completedSession().all, 500);
    for (let i = 500; i < 600; i += 1) builder.add(span({ traceId: i.toString(16).padStart(32, 'f'), kind: 2 }), i);
    expect(builder.sessionOf(TRACE_ID)).toBeDefined();
    expect(builder.stats().orphanTraces).toBe(50);
  });

  it('keeps the estimated bytes held under maxHeldBytes: orphans go first, then the oldest sessions', () => {
    const pipeline = new SessionPipeline({ maxHeldBytes: 200_000 });
    for (let i = 0; i < 40; i += 1)
      pipeline.ingest(completedSession({ sessionId: `s${i}`, traceId: i.toString(16).padStart(32, 'a') }).all, i);
    const stats = pipeline.stats();
    expect(stats.bytes).toBeLessThanOrEqual(200_000);
    expect(stats.tracesEvicted.held_bytes).toBeGreaterThan(0);
    expect(pipeline.store.get('s39')).toBeDefined();
    expect(pipeline.store.get('s0')).toBeUndefined();
    // The store and the builder agree on what is held.
    expect(stats.traces).toBe(pipeline.store.size);
  });

  it('sheds orphans, then the oldest ended sessions, never a running one, when the memory guard asks', () => {
    const pipeline = new SessionPipeline();
    for (let i = 0; i < 3; i += 1) pipeline.ingest([span({ traceId: i.toString(16).padStart(32, 'f'), kind: 2 })], i);
    for (let i = 0; i < 5; i += 1)
      pipeline.ingest(completedSession({ sessionId: `s${i}`, traceId: i.toString(16).padStart(32, 'a') }).all, 10 + i);
    const running = completedSession({ sessionId: 'running', traceId: 'b'.repeat(32) });
    pipeline.ingest(
      [running.root].map((root) => ({ ...root, endTimeUnixMs: 0 })),
      20,
    );
    expect(pipeline.store.get('running')?.status).toBe('active');

    expect(pipeline.shed(5)).toBe(5);
    expect(pipeline.stats().orphanTraces).toBe(0);
    expect([...pipeline.store.values()].map((session) => session.session_id).sort()).toEqual(['running', 's2', 's3', 's4']);
    expect(pipeline.shed(100)).toBe(3);
    expect([...pipeline.store.values()].map((session) => session.session_id)).toEqual(['running']);
    expect(pipeline.stats().tracesEvicted.memory).toBe(8);
    expect(pipeline.stats().traces).toBe(pipeline.store.size);
  });

  it('remembers at most maxRemovedTraces removed traces', () => {
    const pipeline = new SessionPipeline({ maxSessions: 1, maxRemovedTraces: 10 });
    for (let i = 0; i < 50; i += 1)
      pipeline.ingest(completedSession({ sessionId: `s${i}`, traceId: i.toString(16).padStart(32, 'b') }).all, i);
    expect(pipeline.stats().removedTraces).toBe(10);
  });
});

describe('walls', () => {
  it('a listener that throws fails neither the change nor the other listeners, and is reported by name', () => {
    const reported: [string, string][] = [];
    const store = new MemorySessionStore({ onListenerError: (error, listener) => reported.push([listener, (error as Error).message]) });
    const seen: string[] = [];
    store.subscribe(() => {
      throw new Error('boom');
    }, 'broken');
    store.subscribe((change) => seen.push(change.type), 'fine');
    const [built] = new SessionBuilder().ingest(completedSession().all);
    expect(store.upsert(built!, 0).change.type).toBe('completed');
    expect(seen).toEqual(['completed']);
    expect(reported).toEqual([['broken', 'boom']]);
    expect(store.get(built!.session_id)).toBeDefined();
  });

  it('the pipeline ingests and sweeps through a throwing listener', () => {
    const errors: string[] = [];
    const pipeline = new SessionPipeline({ retentionMs: 10, onListenerError: (_error, listener) => errors.push(listener) });
    pipeline.store.subscribe(() => {
      throw new Error('boom');
    }, 'broken');
    expect(pipeline.ingest(completedSession().all, 0).changed).toBe(1);
    pipeline.sweep(100);
    // Retention still ran, and the builder forgot the trace with it.
    expect(pipeline.store.size).toBe(0);
    expect(pipeline.traceCount).toBe(0);
    expect(errors).toEqual(['broken', 'broken']);
  });
});

describe('ids', () => {
  it('keeps no session or conversation id the API could not be asked for: the session falls back to its trace id', () => {
    const builder = new SessionBuilder();
    for (const [n, id] of [
      ['1', ''],
      ['2', 'x'.repeat(257)],
    ] as const) {
      const traceId = n.repeat(32);
      const [built] = builder.ingest([session({ 'llm_monitor.session.id': id, 'gen_ai.conversation.id': id }, { traceId })]);
      expect(built).toMatchObject({ session_id: traceId, conversation_id: null });
    }
    expect(rejectedBy(builder)).toEqual({ session_id: 2, conversation_id: 2 });
  });

  it('turns lone surrogates into U+FFFD, so every kept string can go into a URL', () => {
    const [built] = new SessionBuilder().ingest([
      session({ 'llm_monitor.session.id': 'a\ud800b', 'gen_ai.request.model': '\udc00m' }, { resource: { 'service.name': 's\ud800' } }),
    ]);
    expect(built).toMatchObject({ session_id: 'a\ufffdb', model: '\ufffdm', service_name: 's\ufffd' });
    expect(() => encodeURIComponent(built!.session_id + built!.model! + built!.service_name!)).not.toThrow();
  });
});

describe('answer sizes', () => {
  it('estimates the JSON length of a session without serialising it, and cuts lists to a length', () => {
    const [built] = new SessionBuilder().ingest(completedSession().all);
    expect(approximateJsonLength(built)).toBe(JSON.stringify(built).length);
    const items = Array.from({ length: 10 }, (_, i) => ({ id: i, text: 'x'.repeat(100) }));
    const one = JSON.stringify(items[0]).length;
    const kept = withinJsonLength(items, 3 * one + 4);
    expect(kept).toEqual({ items: items.slice(0, 3), cut: true });
    // One item always goes, however long, so a caller always moves on.
    expect(withinJsonLength(items, 1).items).toHaveLength(1);
  });
});

describe('marker accounting', () => {
  it('counts a running span and its markers once, and nothing of them after the span arrives', () => {
    const builder = new SessionBuilder();
    const root = session({});
    const running = span({
      spanId: spanId(),
      parentSpanId: root.spanId,
      endTimeUnixMs: 0,
      attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, 'llm_monitor.stage': 'streaming_response' },
    });
    const markers = [1, 2, 3].map((i) =>
      span({
        parentSpanId: running.spanId,
        startTimeUnixMs: T0,
        endTimeUnixMs: T0 + i,
        attributes: {
          [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
          [ATTR_PENDING_SPAN_TYPE]: SPAN_TYPE.stage,
          [ATTR_PENDING_PARENT_ID]: root.spanId,
        },
        events: [
          { name: 'llm_monitor.tokens', timeUnixMs: T0 + i, attributes: { 'llm_monitor.tokens.count': 1, 'llm_monitor.tokens.total': i } },
        ],
      }),
    );
    builder.ingest([root, ...markers]);
    // The root, the fold of the running span, and one entry per marker's events.
    expect(builder.stats().spans).toBe(1 + 1 + 3);
    const ended = { ...running, endTimeUnixMs: T0 + 10 };
    builder.ingest([ended]);
    expect(builder.stats().spans).toBe(2);
    const alone = new SessionBuilder();
    alone.ingest([root, ended, ...markers]);
    // What is held is what the spans cost, plus the markers' ids in the parent map.
    expect(builder.heldBytes).toBe(alone.heldBytes);
  });
});
