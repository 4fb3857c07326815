/**
 * The semantic layer under hostile values, as a property: well-formed spans whose attributes carry
 * values of every type and magnitude — on every key the mapping reads, in token, exception and
 * first-chunk events, with impossible times and statuses — go through a real `SessionPipeline`
 * with small limits, are swept until their sessions settle, are abandoned and leave, and every
 * session stored on the way still fits its schema, holds only finite numbers within their ranges,
 * serialises, summarises and feeds statistics and costs that stay finite. A receiver that broke any
 * of this would answer 500 on REST or put NaN into /metrics for as long as it kept the session.
 *
 * Runs per property: env LLMMON_FUZZ_RUNS (a small default keeps `pnpm test` quick; `pnpm fuzz`
 * raises it). Figures are printed at the end.
 */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_METADATA_PREFIX,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROCESSOR_TYPE,
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_STREAM_OUTCOME,
  ATTR_TASK,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  BUILTIN_STAGE_IDS,
  EVENT_TOKENS,
  GEN_AI,
  OTEL,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import {
  computeStatistics,
  costUsd,
  NUMERIC_ATTRIBUTES,
  processingSessionSchema,
  SessionPipeline,
  statisticsReportSchema,
  summaryOf,
} from '../src/index.js';
import type {
  AttributeValue,
  Attributes,
  ModelPrices,
  ProcessingSession,
  SpanEventRecord,
  SpanRecord,
  SpanStatusCode,
} from '../src/index.js';
import { CONVERSATION_KEYS, FOREIGN_ATTRIBUTE_KEYS, FOREIGN_EVENT_NAMES, TASK_KEYS, USER_KEYS } from '../src/genai-mapping.js';
import { T0 } from './span-fixtures.js';

const RUNS = Number(process.env.LLMMON_FUZZ_RUNS ?? '') || 150;
/** One scenario taking this long is a hang, not noise (the machine is shared: no tighter bound). */
const HANG_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Figures

interface Figures {
  inputs: number;
  spans: number;
  outcomes: Map<string, number>;
  slowestMs: number;
  totalMs: number;
}

const figures: Figures = { inputs: 0, spans: 0, outcomes: new Map(), slowestMs: 0, totalMs: 0 };

function count(outcome: string, n = 1): void {
  if (n > 0) figures.outcomes.set(outcome, (figures.outcomes.get(outcome) ?? 0) + n);
}

afterAll(() => {
  const perSecond = figures.totalMs > 0 ? Math.round((figures.inputs * 1000) / figures.totalMs) : 0;
  const outcomes = [...figures.outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([outcome, n]) => `    ${outcome}: ${n}`);
  process.stdout.write(
    [
      '',
      'fuzz figures — semantic layer (SessionPipeline)',
      `  scenarios: ${figures.inputs} (${figures.spans} spans), ${perSecond} scenarios/s, slowest ${figures.slowestMs.toFixed(1)} ms`,
      '  outcomes:',
      ...outcomes,
      '',
    ].join('\n'),
  );
});

// ---------------------------------------------------------------------------------------------
// Adversarial values

/** Every magnitude a number can take that a range check could get wrong. */
const EXTREME_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e-300,
  -1e-300,
  Number.MIN_VALUE,
  Number.EPSILON,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  NaN,
  Infinity,
  -Infinity,
  // int64's extremes as a double holds them (2^63), as a JSON exporter sends them as numbers.
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 1,
  -(2 ** 53),
  Number('9223372036854775807'),
  Number('-9223372036854775808'),
  2 ** 64,
  99.9999,
  100,
  100.0001,
  101,
  1e300,
  -1e300,
  // Around the duration bound (31 days in ms) and the rate bound (a million tokens a second).
  31 * 24 * 3600 * 1000,
  31 * 24 * 3600 * 1000 + 1,
  31 * 24 * 3600,
  1_000_000,
  1_000_001,
];

/** Numbers as int64-as-text senders write them, and text that only looks like a number. */
const NUMERIC_STRINGS = [
  '9223372036854775807',
  '-9223372036854775808',
  '18446744073709551615',
  '9007199254740993',
  '1e308',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '0',
  ' 12 ',
  '\t7\n',
  '0x10',
  '0b11',
  '1_000',
  '',
  '   ',
  '12abc',
  '1.5',
  '.5',
  '5.',
  '+3',
];

/** Strings that name things the mapping treats specially, or that a plain object inherits. */
const SPECIAL_STRINGS = [
  '',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  SPAN_TYPE.session,
  SPAN_TYPE.stage,
  SPAN_TYPE.pending,
  ...BUILTIN_STAGE_IDS,
  'completed',
  'failed',
  'abandoned',
  'LLM',
  'llm',
  'EMBEDDING',
  'ai.streamText.doStream',
  'ai.generateText.doGenerate',
  'ai.embed.doEmbed',
  'chat',
  'embeddings',
  'gpt-4o',
  'priced-model',
  '{"a":1}',
  '[1,2,3]',
  '{"__proto__":{"polluted":true}}',
  '{',
  '[',
  '{"a":',
  `${'['.repeat(40)}${']'.repeat(40)}`,
  '\ud800',
  '\udfff',
  '\u0000',
  'é✓',
  '\u202e',
  '<script>alert(1)</script>',
  'a,b\n"c"',
  '=cmd|calc',
];

const HUGE_STRING_LENGTHS = [513, 4096, 70_000, 300_000];

const hugeString = fc
  .tuple(fc.constantFrom(...HUGE_STRING_LENGTHS), fc.constantFrom('x', '{', '[', 'é', '\ud83d\ude00'))
  .map(([length, unit]) => unit.repeat(length));

const numberValue: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EXTREME_NUMBERS) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 100 }) },
);

const stringValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMERIC_STRINGS) },
  { weight: 1, arbitrary: numberValue.map(String) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);

/** An object with own properties only: `__proto__` stays data, as the decoders store it. */
function objectOf(entries: readonly (readonly [string, AttributeValue])[]): Record<string, AttributeValue> {
  const object: Record<string, AttributeValue> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** Any attribute value the decoders can produce, nested a few levels, plus the worst leaves. */
const attributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ value: AttributeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: numberValue },
    { weight: 4, arbitrary: stringValue },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'a', ''), fc.string({ maxLength: 8 })), tie('value')), {
          maxLength: 4,
        })
        .map(objectOf),
    },
  ),
})).value;

// ---------------------------------------------------------------------------------------------
// Keys the mapping reads

const NUMERIC_KEYS = Object.keys(NUMERIC_ATTRIBUTES);
/** Our own string attributes (every `llm_monitor.` key is read). */
const OUR_STRING_KEYS = [
  ATTR_SPAN_TYPE,
  ATTR_SESSION_ID,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_PROCESSOR_TYPE,
  ATTR_CONTENT_PREVIEW,
  ATTR_RESULT_PREVIEW,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_STREAM_OUTCOME,
  ATTR_TOKENS_TEXT,
  'llm_monitor.unknown_future_key',
];
const METADATA_KEYS = ['template', 'options', '__proto__', 'constructor', '', 'a.b'].map((key) => `${ATTR_METADATA_PREFIX}${key}`);
const READ_STRING_KEYS = [
  ...Object.values(GEN_AI),
  ...FOREIGN_ATTRIBUTE_KEYS,
  ...CONVERSATION_KEYS,
  ...USER_KEYS,
  ...TASK_KEYS,
  OTEL.errorType,
  OTEL.userId,
  OTEL.sessionId,
  ...OUR_STRING_KEYS,
  ...METADATA_KEYS,
];
/** Keys nothing reads (admission drops them) and keys that are hostile as property names. */
const OTHER_KEYS = ['http.method', '__proto__', 'constructor', 'toString', ''];
const ALL_KEYS = [...new Set([...NUMERIC_KEYS, ...READ_STRING_KEYS, ...OTHER_KEYS])];

const attributeKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMERIC_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...READ_STRING_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...ALL_KEYS) },
);

/** Attributes that make a span one of the kinds the builder maps, before hostile values are added. */
const ROLE_ATTRIBUTES: Record<string, Attributes> = {
  session: { [ATTR_SPAN_TYPE]: SPAN_TYPE.session, [ATTR_SESSION_ID]: 'fuzz-session', [GEN_AI.requestModel]: 'priced-model' },
  stage: { [ATTR_SPAN_TYPE]: SPAN_TYPE.stage, [ATTR_SESSION_ID]: 'fuzz-session', [ATTR_STAGE]: 'streaming_response' },
  pending: { [ATTR_SPAN_TYPE]: SPAN_TYPE.pending, [ATTR_PENDING_SPAN_TYPE]: SPAN_TYPE.stage, [ATTR_STAGE]: 'sending_request' },
  genAi: { [GEN_AI.operationName]: 'chat', [GEN_AI.requestModel]: 'priced-model', [GEN_AI.usageInputTokens]: 10 },
  vercel: { 'ai.operationId': 'ai.streamText.doStream', 'ai.model.id': 'gpt-4o', 'ai.usage.promptTokens': 3 },
  openInference: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 4 },
  plain: { 'http.method': 'POST' },
};

// ---------------------------------------------------------------------------------------------
// Spans

const TRACE_IDS = ['a1'.repeat(16), 'b2'.repeat(16), 'c3'.repeat(16), 'd4'.repeat(16)];
const SPAN_IDS = Array.from({ length: 8 }, (_, i) => (i + 1).toString(16).padStart(16, '0'));
const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Span and event times: sane ones near T0 and every kind of impossible one. */
const timeMs: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -60_000, max: 60_000 }).map((offset) => T0 + offset) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0,
      -0,
      NaN,
      -1,
      1,
      0.5,
      1e300,
      -1e300,
      Infinity,
      -Infinity,
      8.64e15,
      8.64e15 + 1,
      LATEST_TIME_MS,
      LATEST_TIME_MS + 1,
      Number.MAX_VALUE,
      2 ** 64 / 1e6,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
);

/** Values at the edges of every numeric range (tokens, durations, rates, progress), as numbers and as text. */
const numericEdge = fc.constantFrom(
  0,
  1,
  2 ** 53 - 1,
  2 ** 53,
  100,
  101,
  -1,
  1e308,
  '9007199254740991',
  '9223372036854775807',
  ' 5 ',
  'NaN',
);

const attributeEntries = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...NUMERIC_KEYS), fc.oneof(numericEdge, attributeValue)) },
    { weight: 3, arbitrary: fc.tuple(attributeKey, attributeValue) },
  ),
  { maxLength: 6 },
);

const tokenEvent: fc.Arbitrary<SpanEventRecord> = fc
  .record({
    time: timeMs,
    count: fc.option(fc.oneof(numericEdge, attributeValue), { nil: undefined }),
    total: fc.option(fc.oneof(numericEdge, attributeValue), { nil: undefined }),
    text: fc.option(attributeValue, { nil: undefined }),
  })
  .map(({ time, count, total, text }) => ({
    name: EVENT_TOKENS,
    timeUnixMs: time,
    attributes: objectOf([
      ...(count === undefined ? [] : [[ATTR_TOKENS_COUNT, count] as const]),
      ...(total === undefined ? [] : [[ATTR_TOKENS_TOTAL, total] as const]),
      ...(text === undefined ? [] : [[ATTR_TOKENS_TEXT, text] as const]),
    ]),
  }));

const FIRST_CHUNK_KEYS = FOREIGN_EVENT_NAMES.flatMap(([, keys]) => keys);

const otherEvent: fc.Arbitrary<SpanEventRecord> = fc
  .record({
    name: fc.constantFrom(OTEL.exceptionEvent, ...FOREIGN_EVENT_NAMES.map(([name]) => name), 'unread.event', '__proto__'),
    time: timeMs,
    entries: fc.array(
      fc.tuple(
        fc.constantFrom(OTEL.exceptionMessage, OTEL.exceptionType, ...FIRST_CHUNK_KEYS, ...NUMERIC_KEYS, '__proto__'),
        attributeValue,
      ),
      { maxLength: 4 },
    ),
  })
  .map(({ name, time, entries }) => ({ name, timeUnixMs: time, attributes: objectOf(entries) }));

const statusOf: fc.Arbitrary<SpanRecord['status']> = fc.record({
  code: fc.constantFrom<SpanStatusCode>(0, 1, 2),
  message: fc.oneof(fc.constant(''), stringValue),
});

const spanRecord: fc.Arbitrary<SpanRecord> = fc
  .record({
    traceId: fc.constantFrom(...TRACE_IDS),
    spanId: fc.constantFrom(...SPAN_IDS),
    // Parents from the same small pool: cycles and self-parents are possible, as a hostile sender can make them.
    parentSpanId: fc.oneof(fc.constant(''), fc.constantFrom(...SPAN_IDS), fc.constant('f'.repeat(16))),
    name: fc.oneof(
      fc.constantFrom(
        'llm_monitor.session fuzz',
        'llm_monitor.stage streaming_response',
        'chat priced-model',
        'ai.streamText.doStream',
        'ai.streamText',
      ),
      stringValue,
    ),
    kind: fc.constantFrom(0, 1, 2, 3, 4, 5, -1, 99),
    start: timeMs,
    end: fc.oneof(timeMs, fc.constant(0)),
    role: fc.constantFrom(...Object.keys(ROLE_ATTRIBUTES)),
    entries: attributeEntries,
    events: fc.array(fc.oneof(tokenEvent, otherEvent), { maxLength: 5 }),
    droppedEventsCount: fc.option(fc.constantFrom(1, 128, 2 ** 53, 2 ** 64), { nil: undefined }),
    status: statusOf,
    serviceName: fc.option(attributeValue, { nil: undefined }),
  })
  .map((spec): SpanRecord => ({
    traceId: spec.traceId,
    spanId: spec.spanId,
    parentSpanId: spec.parentSpanId === spec.spanId && spec.role === 'pending' ? '' : spec.parentSpanId,
    name: spec.name,
    kind: spec.kind,
    startTimeUnixMs: spec.start,
    endTimeUnixMs: spec.end,
    attributes: objectOf([...Object.entries(ROLE_ATTRIBUTES[spec.role]!), ...spec.entries]),
    events: spec.events,
    ...(spec.droppedEventsCount === undefined ? {} : { droppedEventsCount: spec.droppedEventsCount }),
    status: spec.status,
    resource: spec.serviceName === undefined ? {} : objectOf([[OTEL.serviceName, spec.serviceName]]),
    scope: { name: 'fuzz', version: '1' },
  }));

/** Batches of spans, each arriving some time after the one before (receiver clock). */
const scenario = fc.array(
  fc.record({ afterMs: fc.integer({ min: 0, max: 1500 }), spans: fc.array(spanRecord, { minLength: 1, maxLength: 6 }) }),
  { minLength: 1, maxLength: 4 },
);

// ---------------------------------------------------------------------------------------------
// Invariants

const ajv = new Ajv({ strict: true, allowUnionTypes: true, formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/ } });
const validateSession = ajv.compile(processingSessionSchema);
const validateStatistics = ajv.compile(statisticsReportSchema);

/** A price table as a plain object: a model named after one of Object's own properties must still find no price there. */
const PRICES: ModelPrices = {
  'priced-model': { input_per_million: 2.5, output_per_million: 10 },
  'gpt-4o': { input_per_million: 1_000_000, output_per_million: 1_000_000 },
};

/** Paths of numbers that are not finite, skipping `metadata` (the sender's own values, passed through). */
function nonFiniteNumbers(value: unknown, path: string, found: string[] = []): string[] {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) found.push(`${path} = ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => nonFiniteNumbers(item, `${path}[${index}]`, found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) if (key !== 'metadata') nonFiniteNumbers(item, `${path}.${key}`, found);
  }
  return found;
}

function expectTokenCount(value: number | null, what: string): void {
  if (value !== null) expect(Number.isSafeInteger(value) && value >= 0, `${what} = ${value} is no token count`).toBe(true);
}

function expectDuration(value: number | null, what: string): void {
  if (value !== null) expect(Number.isFinite(value) && value >= 0, `${what} = ${value} is no duration`).toBe(true);
}

function expectTime(value: string | null, what: string): void {
  if (value !== null) expect(Number.isNaN(Date.parse(value)), `${what} = ${value} does not parse`).toBe(false);
}

function expectProgress(value: number, what: string): void {
  expect(value >= 0 && value <= 100, `${what} = ${value} is no percentage`).toBe(true);
}

function expectCost(cost: number | null, what: string): void {
  if (cost !== null) expect(Number.isFinite(cost) && cost >= 0, `${what} cost ${cost}`).toBe(true);
}

/** Everything REST, live streams and /metrics rely on, for one stored session. */
function expectSaneSession(session: ProcessingSession): void {
  expect(validateSession(session), JSON.stringify(validateSession.errors)).toBe(true);
  expect(nonFiniteNumbers(session, 'session')).toEqual([]);
  const { token_counts: tokens } = session;
  expectTokenCount(tokens.input, 'token_counts.input');
  expectTokenCount(tokens.output, 'token_counts.output');
  expectTokenCount(tokens.total, 'token_counts.total');
  expectTokenCount(tokens.streamed, 'token_counts.streamed');
  expectProgress(session.progress, 'progress');
  expectDuration(session.duration_ms, 'duration_ms');
  expectDuration(session.time_to_first_token_ms, 'time_to_first_token_ms');
  expectDuration(session.time_per_output_token_ms, 'time_per_output_token_ms');
  expectDuration(session.tokens_per_second, 'tokens_per_second');
  expectTime(session.start_time, 'start_time');
  expectTime(session.end_time, 'end_time');
  for (const [index, stage] of session.stages.entries()) {
    expectProgress(stage.progress, `stages[${index}].progress`);
    expectDuration(stage.duration_ms, `stages[${index}].duration_ms`);
    expectTime(stage.start_time, `stages[${index}].start_time`);
    expectTime(stage.end_time, `stages[${index}].end_time`);
  }
  for (const [index, event] of session.events.entries()) {
    expectProgress(event.progress, `events[${index}].progress`);
    expectTime(event.timestamp, `events[${index}].timestamp`);
  }
  for (const [index, call] of session.llm_calls.entries()) {
    expectTokenCount(call.input_tokens, `llm_calls[${index}].input_tokens`);
    expectTokenCount(call.output_tokens, `llm_calls[${index}].output_tokens`);
    expectDuration(call.duration_ms, `llm_calls[${index}].duration_ms`);
    expectTime(call.start_time, `llm_calls[${index}].start_time`);
    expectTime(call.end_time, `llm_calls[${index}].end_time`);
    expectCost(costUsd(PRICES, call.response_model ?? call.request_model, call.input_tokens, call.output_tokens), `llm_calls[${index}]`);
  }
  // As the metrics exporter asks for it: unknown counts as none.
  expectCost(costUsd(PRICES, session.model, tokens.input ?? 0, tokens.output ?? 0), 'session');
  expectCost(costUsd({}, session.model, tokens.input ?? 0, tokens.output ?? 0), 'session without prices');
  const text = JSON.stringify(session);
  expect(JSON.parse(text)).toHaveProperty('session_id', session.session_id);
  expect(nonFiniteNumbers(summaryOf(session), 'summary')).toEqual([]);
  JSON.stringify(summaryOf(session));
}

function expectSaneStore(pipeline: SessionPipeline): void {
  for (const session of pipeline.store.values()) expectSaneSession(session);
  const statistics = computeStatistics(pipeline.store.values());
  expect(validateStatistics(statistics), JSON.stringify(validateStatistics.errors)).toBe(true);
  expect(nonFiniteNumbers(statistics, 'statistics')).toEqual([]);
  const stats = pipeline.stats();
  expect(nonFiniteNumbers(stats, 'stats')).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

describe('the semantic layer under hostile attribute values (property)', () => {
  it(
    'stores only sessions that validate, hold finite numbers in range and serialise, through ingest, settling, abandoning and retention',
    () => {
      fc.assert(
        fc.property(scenario, (batches) => {
          const problems: string[] = [];
          const pipeline = new SessionPipeline({
            maxSessions: 3,
            retentionMs: 4000,
            abandonAfterMs: 1000,
            settleAfterMs: 300,
            maxSpansPerTrace: 6,
            maxAttributeValueLength: 512,
            maxSpanBytes: 8192,
            maxTraceBytes: 24_576,
            maxOrphanTraces: 2,
            orphanTraceIdleMs: 2000,
            removedTraceMemoryMs: 3000,
            maxRemovedTraces: 3,
            maxHeldBytes: 65_536,
            onSweepError: (error, step) => problems.push(`sweep step ${step} threw: ${String(error)}`),
            onListenerError: (error, listener) => problems.push(`listener ${listener} threw: ${String(error)}`),
          });
          // Every change is what the live streams and the metrics see: each must be sane too.
          pipeline.store.subscribe((change) => {
            if (change.type !== 'removed') expectSaneSession(change.session);
            count(`change ${change.type}`);
          }, 'fuzz-check');

          const started = performance.now();
          let nowMs = T0;
          for (const batch of batches) {
            nowMs += batch.afterMs;
            const result = pipeline.ingest(batch.spans, nowMs);
            count('spans ignored (session removed)', result.ignored);
            count('spans refused (trace full)', result.refusedTraceFull);
            figures.spans += batch.spans.length;
            expectSaneStore(pipeline);
          }
          // Later sweeps: foreign sessions settle, idle ones are abandoned, ended ones leave.
          for (const laterMs of [100, 400, 1200, 5000, 20_000]) {
            pipeline.sweep(nowMs + laterMs);
            expectSaneStore(pipeline);
          }
          const elapsedMs = performance.now() - started;
          expect(problems).toEqual([]);
          const stats = pipeline.stats();
          for (const [field, n] of Object.entries(stats.valuesRejected)) count(`values rejected: ${field}`, n);
          for (const [item, reason, n] of stats.cut) count(`cut ${item}/${reason}`, n);
          for (const [reason, n] of Object.entries(stats.tracesEvicted)) count(`traces evicted: ${reason}`, n);
          figures.inputs += 1;
          figures.totalMs += elapsedMs;
          figures.slowestMs = Math.max(figures.slowestMs, elapsedMs);
          expect(elapsedMs, 'one scenario took long enough to be a hang').toBeLessThan(HANG_MS);
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(30_000, RUNS * 50),
  );

  it('keeps costs finite for any model name and any token counts a session can hold', () => {
    fc.assert(
      fc.property(
        fc.option(stringValue, { nil: null }),
        fc.option(fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat()), { nil: null }),
        fc.option(fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat()), { nil: null }),
        (model, input, output) => {
          expectCost(costUsd(PRICES, model, input, output), `model ${JSON.stringify(model)}`);
          expectCost(costUsd({}, model, input, output), `model ${JSON.stringify(model)} without prices`);
          count('cost inputs');
        },
      ),
      { numRuns: RUNS * 10 },
    );
  });
});
