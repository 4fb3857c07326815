/**
 * A session says which limits cut it (`limits_hit`): each cap — spans per trace, trace and span
 * bytes, value length and depth, steps per session — marks the session it cut, with counts of its
 * own trace only; a session nothing cut has no marker at all. Values nested ten thousand levels
 * deep are cut and counted, never walked to the bottom.
 */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  EVENT_TOKENS,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import { processingSessionSchema, SessionBuilder, SessionPipeline, summaryOf, upgradeStoredSession } from '../src/index.js';
import type { AttributeValue, LimitHit, ProcessingSession, SessionBuilderOptions, SpanEventRecord, SpanRecord } from '../src/index.js';
import { completedSession, shuffled, span, T0, TRACE_ID } from './span-fixtures.js';

const ajv = new Ajv({
  strict: true,
  allowUnionTypes: true,
  formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/ },
});
const validate = ajv.compile(processingSessionSchema);

function expectValid(session: ProcessingSession): void {
  expect(validate(session), JSON.stringify(validate.errors)).toBe(true);
}

const root = (attributes: SpanRecord['attributes'] = {}, overrides: Partial<SpanRecord> = {}): SpanRecord =>
  span({
    name: 'llm_monitor.session t',
    endTimeUnixMs: T0 + 100,
    attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.session, 'llm_monitor.session.id': 's', ...attributes },
    ...overrides,
  });

const stage = (
  parent: SpanRecord,
  id: string,
  overrides: Partial<SpanRecord> = {},
  attributes: SpanRecord['attributes'] = {},
): SpanRecord =>
  span({
    traceId: parent.traceId,
    parentSpanId: parent.spanId,
    name: `llm_monitor.stage ${id}`,
    attributes: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, [ATTR_STAGE]: id, ...attributes },
    ...overrides,
  });

const tokens = (count: number, text: (i: number) => string): SpanEventRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    name: EVENT_TOKENS,
    timeUnixMs: T0 + i,
    attributes: { [ATTR_TOKENS_COUNT]: 1, [ATTR_TOKENS_TEXT]: text(i) },
  }));

function build(spans: SpanRecord[], options: SessionBuilderOptions = {}): { session: ProcessingSession; builder: SessionBuilder } {
  const builder = new SessionBuilder(options);
  builder.ingest(spans);
  const session = builder.sessionOf(spans[0]!.traceId)!;
  expectValid(session);
  return { session, builder };
}

/** The global count of one kind of cut, as the receiver's `llm_monitor_receiver_content_cut_total` reports it. */
const globalCut = (builder: SessionBuilder, item: string, reason: string): number =>
  builder.stats().cut.find(([i, r]) => i === item && r === reason)![2];

/** An array nested `depth` levels deep (built bottom up: no recursion anywhere). */
function nestedArray(depth: number): AttributeValue {
  let value: AttributeValue = 'leaf';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/** A key-value list nested `depth` levels deep, as the decoders make a `kvlistValue`. */
function nestedObject(depth: number): AttributeValue {
  let value: AttributeValue = 'leaf';
  for (let i = 0; i < depth; i += 1) value = { inner: value };
  return value;
}

describe('a session that hit no limit', () => {
  it('has no limits_hit at all, and neither has its summary', () => {
    const { session } = build(completedSession().all);
    expect('limits_hit' in session).toBe(false);
    expect('limits_hit' in summaryOf(session)).toBe(false);
    // Round trip through JSON, as the history stores keep it.
    expect('limits_hit' in upgradeStoredSession(JSON.parse(JSON.stringify(session)) as ProcessingSession)).toBe(false);
  });
});

describe('each cap marks the session it cut', () => {
  it('max_attribute_value_length: strings and token texts shortened', () => {
    const top = root({ 'llm_monitor.content_preview': 'p'.repeat(500) }, { name: 'n'.repeat(300) });
    const streaming = stage(top, 'streaming_response', { events: tokens(4, (i) => (i % 2 === 0 ? 't'.repeat(200) : 'ok ')) });
    const { session, builder } = build([top, streaming], { maxAttributeValueLength: 100 });
    expect(session.limits_hit).toEqual([
      { limit: 'max_attribute_value_length', item: 'token_text', count: 2 },
      { limit: 'max_attribute_value_length', item: 'string', count: 2 },
    ]);
    expect(session.content_preview).toHaveLength(100);
    // The totals count the same cuts (a token text is a string there).
    expect(globalCut(builder, 'string', 'value_length')).toBe(4);
  });

  it('max_attribute_value_length: a structured value too large is not kept', () => {
    const top = root({ 'llm_monitor.metadata.big': Array.from({ length: 500 }, (_, i) => `value ${i}`) });
    const { session } = build([top], { maxAttributeValueLength: 1000 });
    expect(session.metadata).not.toHaveProperty('big');
    expect(session.limits_hit).toEqual([{ limit: 'max_attribute_value_length', item: 'attribute', count: 1 }]);
  });

  it('max_span_bytes: attributes, events and token texts over the span budget', () => {
    const metadata: Record<string, string> = {};
    for (let i = 0; i < 20; i += 1) metadata[`llm_monitor.metadata.m${i}`] = 'x'.repeat(1000);
    const top = root(metadata);
    const streaming = stage(top, 'streaming_response', { events: tokens(100, () => 'y'.repeat(100)) });
    const { session, builder } = build([top, streaming], { maxSpanBytes: 4000 });
    const hits = new Map(session.limits_hit!.map((hit) => [`${hit.limit} ${hit.item}`, hit.count]));
    expect(hits.get('max_span_bytes attribute')).toBe(
      globalCut(builder, 'attribute', 'span_bytes') - (hits.get('max_span_bytes token_text') ?? 0),
    );
    expect(hits.get('max_span_bytes event')).toBe(globalCut(builder, 'event', 'span_bytes'));
    expect(hits.get('max_span_bytes attribute')).toBeGreaterThan(15);
    // Every token event is accounted for: kept with its text, kept without it, or not kept.
    const kept = session.streamed_tokens.length;
    expect(kept + (hits.get('max_span_bytes token_text') ?? 0) + (hits.get('max_span_bytes event') ?? 0)).toBe(100);
    expect(kept).toBeLessThan(100);
    // An attribute cut to fit what was left is a string shortened by the span budget (the totals,
    // as always, count it as too long a string).
    expect(hits.get('max_span_bytes string')).toBe(globalCut(builder, 'string', 'value_length'));
    expect([...hits.keys()].every((key) => key.startsWith('max_span_bytes '))).toBe(true);
  });

  it('max_trace_bytes: token texts of spans that arrive once the trace is at its budget', () => {
    const top = root({ 'llm_monitor.content_preview': 'p'.repeat(16_000) });
    const streaming = stage(top, 'streaming_response', { events: tokens(50, (i) => `token-${i} `.padEnd(100, '.')) });
    const { session, builder } = build([top, streaming], { maxTraceBytes: 10_000 });
    const hits = new Map(session.limits_hit!.map((hit) => [`${hit.limit} ${hit.item}`, hit.count]));
    expect(hits.get('max_trace_bytes token_text')).toBe(globalCut(builder, 'attribute', 'trace_bytes'));
    expect(hits.get('max_trace_bytes token_text')).toBeGreaterThan(0);
    expect(hits.get('max_trace_bytes event') ?? 0).toBe(globalCut(builder, 'event', 'trace_bytes'));
    expect(session.streamed_tokens.length + hits.get('max_trace_bytes token_text')! + (hits.get('max_trace_bytes event') ?? 0)).toBe(50);
    // The token counts still count.
    expect(session.token_counts.streamed).toBe(50 - (hits.get('max_trace_bytes event') ?? 0));
  });

  it('max_spans_per_trace: spans refused, also those refused in a later request (without a rebuild)', () => {
    const top = root();
    const stages = Array.from({ length: 10 }, (_, i) => stage(top, `s${i}`));
    const builder = new SessionBuilder({ maxSpansPerTrace: 5 });
    const [first] = builder.ingest([top, ...stages]);
    expect(first!.limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 6 }]);
    // A request of refused spans only: nothing to rebuild, the count still moves.
    const [later] = builder.ingest([stage(top, 'late-1'), stage(top, 'late-2')]);
    expect(later!.limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 8 }]);
    expect(builder.sessionOf(TRACE_ID)).toBe(later);
    expect(builder.droppedSpans).toBe(8);
    expectValid(later!);
  });

  it('max_spans_per_trace: live markers refused and their events let go for a span', () => {
    const top = root({}, { endTimeUnixMs: 0 });
    const running = stage(top, 'streaming_response', { endTimeUnixMs: 0 });
    const marker = (i: number): SpanRecord =>
      span({
        parentSpanId: running.spanId,
        startTimeUnixMs: T0,
        endTimeUnixMs: T0 + i,
        attributes: {
          [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
          [ATTR_PENDING_SPAN_TYPE]: SPAN_TYPE.stage,
          [ATTR_PENDING_PARENT_ID]: top.spanId,
          [ATTR_STAGE]: 'streaming_response',
          'llm_monitor.tokens.total': i,
        },
        events: [{ name: EVENT_TOKENS, timeUnixMs: T0 + i, attributes: { [ATTR_TOKENS_COUNT]: 1, [ATTR_TOKENS_TEXT]: 't' } }],
      });
    const builder = new SessionBuilder({ maxSpansPerTrace: 10 });
    for (let i = 1; i <= 20; i += 1) builder.add(marker(i), 0);
    // The session's own span arrives into a full trace: a marker's events make room for it.
    builder.add(top, 0);
    const session = builder.rebuild(TRACE_ID)!;
    expect(session.limits_hit).toEqual([
      { limit: 'max_spans_per_trace', item: 'span', count: builder.droppedSpans },
      { limit: 'max_spans_per_trace', item: 'event', count: 1 },
    ]);
    expect(builder.droppedSpans).toBeGreaterThan(0);
    expectValid(session);
  });

  it('max_steps_per_session: steps left out, as steps_dropped says', () => {
    const top = root();
    const steps = Array.from({ length: 5 }, (_, i) =>
      span({ parentSpanId: top.spanId, name: `GET /${i}`, startTimeUnixMs: T0 + i, attributes: { 'http.request.method': 'GET' } }),
    );
    const { session } = build([top, ...steps], { maxStepsPerSession: 2 });
    expect(session.steps_dropped).toBe(3);
    expect(session.limits_hit).toEqual([{ limit: 'max_steps_per_session', item: 'step', count: 3 }]);
  });

  it('lists several limits in one fixed order, whatever order they were hit in', () => {
    const top = root({ 'llm_monitor.content_preview': 'p'.repeat(500) });
    const steps = Array.from({ length: 3 }, (_, i) =>
      span({ parentSpanId: top.spanId, name: `GET /${i}`, startTimeUnixMs: T0 + i, attributes: { 'http.request.method': 'GET' } }),
    );
    const { session } = build([top, ...steps, stage(top, 'a'), stage(top, 'b')], {
      maxAttributeValueLength: 100,
      maxStepsPerSession: 1,
      maxSpansPerTrace: 5,
    });
    expect(session.limits_hit!.map((hit) => hit.limit)).toEqual([
      'max_spans_per_trace',
      'max_steps_per_session',
      'max_attribute_value_length',
    ]);
  });
});

describe('values nested absurdly deep', () => {
  it('are cut and counted under max_value_depth, ten thousand levels deep, without overflowing the stack', () => {
    const top = root({
      'llm_monitor.metadata.deep_array': nestedArray(10_000),
      'llm_monitor.metadata.deep_list': nestedObject(10_000),
      'llm_monitor.metadata.shallow': nestedArray(3),
    });
    const tool = span({
      parentSpanId: top.spanId,
      name: 'execute_tool search',
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'search',
        // A preview's source is kept as text: the levels past the depth are written as `…`.
        'gen_ai.tool.call.arguments': nestedArray(10_000),
      },
      events: [{ name: 'exception', timeUnixMs: T0, attributes: { 'exception.message': nestedObject(10_000), 'exception.type': 'E' } }],
    });
    const { session, builder } = build([top, tool]);
    expect(session.metadata).toEqual({ shallow: [[['leaf']]] });
    expect(session.steps[0]!.input_preview).toContain('…');
    expect(session.limits_hit).toEqual([
      { limit: 'max_value_depth', item: 'attribute', count: 3 },
      { limit: 'max_value_depth', item: 'string', count: 1 },
    ]);
    // The totals count what was not kept (a value too deep is too large to keep).
    expect(globalCut(builder, 'attribute', 'value_length')).toBe(3);
    expect(() => JSON.stringify(session)).not.toThrow();
  });
});

describe('counts belong to the trace they were cut from', () => {
  it('marks the session whose spans were cut, not the others of the same batch', () => {
    const cut = root({ 'llm_monitor.content_preview': 'p'.repeat(500) }, { traceId: 'a'.repeat(32) });
    const whole = root({ 'llm_monitor.content_preview': 'short' }, { traceId: 'b'.repeat(32) });
    const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
    builder.ingest([cut, whole, stage(cut, 'x'), stage(whole, 'y')]);
    expect(builder.sessionOf('a'.repeat(32))!.limits_hit).toEqual([{ limit: 'max_attribute_value_length', item: 'string', count: 1 }]);
    expect(builder.sessionOf('b'.repeat(32))).not.toHaveProperty('limits_hit');
  });

  it('gives the same counts for any order, batching and duplication of the spans', () => {
    const top = root({ 'llm_monitor.content_preview': 'p'.repeat(500) });
    const streaming = stage(
      top,
      'streaming_response',
      { events: tokens(6, (i) => `${i}`.repeat(150)) },
      { 'llm_monitor.stage.message': 'm'.repeat(300) },
    );
    const spans = [top, streaming, stage(top, 'a', {}, { 'llm_monitor.stage.message': 'n'.repeat(101) })];
    const expected = build(spans, { maxAttributeValueLength: 100 }).session.limits_hit;
    expect(expected).toEqual([
      { limit: 'max_attribute_value_length', item: 'token_text', count: 6 },
      { limit: 'max_attribute_value_length', item: 'string', count: 3 },
    ]);
    for (let seed = 1; seed <= 20; seed += 1) {
      const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
      const order = shuffled([...spans, ...spans], seed);
      for (const piece of [order.slice(0, seed % 6), order.slice(seed % 6)]) builder.ingest(piece);
      expect(builder.sessionOf(TRACE_ID)!.limits_hit, `seed ${seed}`).toEqual(expected);
    }
  });

  it('counts a span once when a later version of it replaces the first', () => {
    const top = root({}, { name: 'n'.repeat(300), endTimeUnixMs: 0 });
    const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
    builder.ingest([top]);
    const [ended] = builder.ingest([{ ...top, endTimeUnixMs: T0 + 50 }]);
    expect(ended!.status).toBe('completed');
    expect(ended!.limits_hit).toEqual([{ limit: 'max_attribute_value_length', item: 'string', count: 1 }]);
  });

  it("adds up a running span's markers' token texts, but its attributes only as the latest marker has them", () => {
    const top = root({}, { endTimeUnixMs: 0 });
    const running = stage(top, 'streaming_response', { endTimeUnixMs: 0 });
    const markers = [1, 2, 3].map((i) =>
      span({
        parentSpanId: running.spanId,
        startTimeUnixMs: T0,
        endTimeUnixMs: T0 + i,
        attributes: {
          [ATTR_SPAN_TYPE]: SPAN_TYPE.pending,
          [ATTR_PENDING_SPAN_TYPE]: SPAN_TYPE.stage,
          [ATTR_PENDING_PARENT_ID]: top.spanId,
          [ATTR_STAGE]: 'streaming_response',
          'llm_monitor.stage.message': 'm'.repeat(300),
        },
        events: [{ name: EVENT_TOKENS, timeUnixMs: T0 + i, attributes: { [ATTR_TOKENS_COUNT]: 1, [ATTR_TOKENS_TEXT]: 't'.repeat(200) } }],
      }),
    );
    const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
    const [live] = builder.ingest([top, ...markers]);
    expect(live!.limits_hit).toEqual([
      { limit: 'max_attribute_value_length', item: 'token_text', count: 3 },
      { limit: 'max_attribute_value_length', item: 'string', count: 1 },
    ]);
    // The span itself arrives: its own cuts replace its markers'.
    const [ended] = builder.ingest([
      {
        ...running,
        endTimeUnixMs: T0 + 10,
        attributes: { ...running.attributes, 'llm_monitor.stage.message': 'short' },
        events: tokens(2, () => 't'.repeat(200)),
      },
    ]);
    expect(ended!.limits_hit).toEqual([{ limit: 'max_attribute_value_length', item: 'token_text', count: 2 }]);
  });
});

describe('stored sessions and records', () => {
  const cutSpans = (): SpanRecord[] => {
    const top = root({ 'llm_monitor.content_preview': 'p'.repeat(500) }, { endTimeUnixMs: 0 });
    return [top, stage(top, 'streaming_response', { events: tokens(3, () => 't'.repeat(200)) })];
  };

  it('a session read back from its JSON keeps its limits_hit; one stored before the field reads back without', () => {
    const { session } = build(cutSpans(), { maxAttributeValueLength: 100 });
    const stored = upgradeStoredSession(JSON.parse(JSON.stringify(session)) as ProcessingSession);
    expect(stored).toEqual(session);
    expectValid(stored);
    const { limits_hit: _hits, ...older } = session;
    const olderStored = upgradeStoredSession(JSON.parse(JSON.stringify(older)) as ProcessingSession);
    expect(olderStored).not.toHaveProperty('limits_hit');
    expectValid(olderStored);
  });

  it('a running trace restored from its stored records (after a restart) still says what was cut', () => {
    const builder = new SessionBuilder({ maxAttributeValueLength: 100 });
    const [live] = builder.ingest(cutSpans());
    const records = JSON.parse(JSON.stringify(builder.takeUnsaved(TRACE_ID))) as Parameters<SessionBuilder['restore']>[0];
    const restored = new SessionBuilder({ maxAttributeValueLength: 100 }).restore(records);
    expect(restored!.limits_hit).toEqual(live!.limits_hit);
    expect(restored!.limits_hit).toEqual([
      { limit: 'max_attribute_value_length', item: 'token_text', count: 3 },
      { limit: 'max_attribute_value_length', item: 'string', count: 1 },
    ]);
  });

  it('ignores hits in a stored record that are no hits', () => {
    const top = root();
    const bogus = [
      { limit: 'max_spans_per_trace', item: 'span', count: -4 },
      { limit: 'no_such_limit', item: 'span', count: 2 },
      { limit: 'max_span_bytes', item: 'event', count: 1.5 },
      { limit: 'max_span_bytes', item: 'event', count: 2 },
    ] as unknown as LimitHit[];
    const restored = new SessionBuilder().restore({ traceId: TRACE_ID, lastSeenMs: 0, spans: [{ ...top, limitsHit: bogus }] });
    expect(restored!.limits_hit).toEqual([{ limit: 'max_span_bytes', item: 'event', count: 2 }]);
  });
});

describe('the pipeline', () => {
  it('stores the marked session, and updates it when a later request is only refused', () => {
    const pipeline = new SessionPipeline({ maxSpansPerTrace: 3 });
    const top = root();
    pipeline.ingest([top, stage(top, 'a'), stage(top, 'b'), stage(top, 'c')], 1000);
    expect(pipeline.store.get('s')!.limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 1 }]);
    const result = pipeline.ingest([stage(top, 'd'), stage(top, 'e')], 2000);
    expect(result.refusedTraceFull).toBe(2);
    expect(pipeline.store.get('s')!.limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 3 }]);
    expect(summaryOf(pipeline.store.get('s')!).limits_hit).toEqual([{ limit: 'max_spans_per_trace', item: 'span', count: 3 }]);
  });
});
