/**
 * Fuzzing a real `llm-monitor` process over its sockets, as a hostile or broken exporter would:
 * mutated protobuf and JSON exports, well-formed exports carrying the worst values on every key the
 * session mapping reads, gzip of garbage and of mutated bodies, gzip bombs, oversized bodies, wrong
 * content types and encodings. Every answer must be a 200 or a 400/413/415 carrying a
 * `google.rpc.Status` whose message starts with a catalogue code — never a 5xx, never a hang. And
 * nothing may be poisoned: afterwards the process is alive, every REST endpoint answers 200 with
 * JSON that parses, /metrics holds no NaN or infinite sample, and nothing was caught at a wall.
 *
 * Runs per property: env LLMMON_FUZZ_RUNS (a small default keeps `pnpm test` quick; `pnpm fuzz`
 * raises it). Figures are printed at the end.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_METADATA_PREFIX,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROCESSOR_TYPE,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_TOKENS_COUNT,
  ATTR_TOKENS_TEXT,
  ATTR_TOKENS_TOTAL,
  EVENT_TOKENS,
  GEN_AI,
  OTEL,
} from '@llm-monitor/semconv';
import { FOREIGN_ATTRIBUTE_KEYS, NUMERIC_ATTRIBUTES } from '@llm-monitor/sessions';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { asJson, asProtobuf, sdkSpans } from '../packages/receiver/test/otlp-fixtures.js';
import { encodeTraceRequest } from '../packages/receiver/test/otlp-wire.js';
import type { WireAttribute, WireEvent, WireResourceSpans, WireSpan, WireValue } from '../packages/receiver/test/otlp-wire.js';
import { startMonitor } from './support/monitor-process.js';
import type { MonitorProcess } from './support/monitor-process.js';
import { until } from './support/wait.js';

const RUNS = Number(process.env.LLMMON_FUZZ_RUNS ?? '') || 40;
/** An answer that takes this long is a hang (generous: the machine is shared and the bodies reach 1 MB). */
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_BODY_BYTES = 1_000_000;
const TEST_TIMEOUT_MS = Math.max(30_000, RUNS * 200);

// ---------------------------------------------------------------------------------------------
// Figures

interface TargetFigures {
  inputs: number;
  outcomes: Map<string, number>;
  slowestMs: number;
  totalMs: number;
}

const figures = new Map<string, TargetFigures>();

function record(target: string, outcome: string, elapsedMs: number): void {
  let entry = figures.get(target);
  if (!entry) figures.set(target, (entry = { inputs: 0, outcomes: new Map(), slowestMs: 0, totalMs: 0 }));
  entry.inputs += 1;
  entry.totalMs += elapsedMs;
  entry.slowestMs = Math.max(entry.slowestMs, elapsedMs);
  entry.outcomes.set(outcome, (entry.outcomes.get(outcome) ?? 0) + 1);
}

function printFigures(extra: string[]): void {
  const lines = ['', 'fuzz figures — OTLP over HTTP (llm-monitor process)'];
  let inputs = 0;
  for (const [target, entry] of figures) {
    inputs += entry.inputs;
    const perSecond = entry.totalMs > 0 ? Math.round((entry.inputs * 1000) / entry.totalMs) : 0;
    const outcomes = [...entry.outcomes]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    lines.push(`  ${target}: ${entry.inputs} requests, ${perSecond} requests/s, slowest ${entry.slowestMs.toFixed(1)} ms`);
    lines.push(`    ${outcomes}`);
  }
  lines.push(`  total: ${inputs} requests`, ...extra.map((line) => `  ${line}`), '');
  process.stdout.write(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// The monitor, and live clients listening while it is fuzzed

let monitor: MonitorProcess;
let socket: WebSocket;
const liveMessages: string[] = [];
const afterwards: string[] = [];

beforeAll(async () => {
  monitor = await startMonitor([
    '--port',
    '0',
    '--otlp-port',
    '0',
    '--log-level',
    'warn',
    '--settle-after-seconds',
    '0.2',
    '--sweep-interval-seconds',
    '0.1',
    // Small bounds, so the fuzz also drives abandoning and eviction; ended sessions are kept past the
    // run (eviction by count removes them meanwhile), so the checks afterwards have sessions to read.
    '--abandon-after-seconds',
    '1',
    '--retention-seconds',
    '3600',
    '--max-sessions',
    '150',
    '--otlp-max-body-bytes',
    String(MAX_BODY_BYTES),
    '--max-spans-per-trace',
    '40',
    '--model-prices',
    'priced-model=2.5/10,gpt-4o=1000000/1000000',
  ]);
  socket = new WebSocket(`${monitor.apiUrl.replace('http', 'ws')}/ws/monitoring`);
  socket.on('message', (data: Buffer) => liveMessages.push(data.toString('utf8')));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
}, 30_000);

afterAll(async () => {
  printFigures(afterwards);
  socket?.close();
  if (monitor && monitor.alive()) {
    const exited = new Promise((resolve) => monitor.child.once('exit', resolve));
    monitor.child.kill('SIGTERM');
    await exited;
  }
});

// ---------------------------------------------------------------------------------------------
// One request and what its answer must be

type Encoding = 'protobuf' | 'json';

/** Content types a request may carry, with the encoding the receiver reads them as (or none). */
const CONTENT_TYPES: readonly (readonly [string | undefined, Encoding | undefined])[] = [
  ['application/x-protobuf', 'protobuf'],
  ['application/protobuf', 'protobuf'],
  ['application/x-protobuf; proto=opentelemetry', 'protobuf'],
  ['application/json', 'json'],
  ['application/json; charset=utf-8', 'json'],
  ['APPLICATION/JSON', 'json'],
  ['text/plain', undefined],
  ['application/octet-stream', undefined],
  ['application/jsonx', undefined],
  ['multipart/form-data; boundary=x', undefined],
  [undefined, undefined],
];

interface Delivery {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly contentEncoding?: string;
}

/**
 * Posts one body and checks the answer: 200 (with an export response, JSON for JSON), or
 * 400/413/415 with a `google.rpc.Status` whose message starts with a catalogue code, in the
 * request's encoding (JSON when the receiver could not tell it).
 */
async function postChecked(target: string, delivery: Delivery): Promise<void> {
  const headers: Record<string, string> = {};
  if (delivery.contentType !== undefined) headers['content-type'] = delivery.contentType;
  if (delivery.contentEncoding !== undefined) headers['content-encoding'] = delivery.contentEncoding;
  const requestEncoding = CONTENT_TYPES.find(([type]) => type === delivery.contentType)?.[1];
  const started = performance.now();
  let response: Response;
  let answer: Buffer;
  try {
    response = await fetch(monitor.otlpUrl, {
      method: 'POST',
      headers,
      body: delivery.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    answer = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    throw new Error(
      `${target}: no answer within ${REQUEST_TIMEOUT_MS} ms or the connection failed (${String(error)}); process alive: ${monitor.alive()}`,
      { cause: error },
    );
  }
  const elapsedMs = performance.now() - started;
  const status = response.status;
  const what = `${target}: ${status} to ${delivery.body.length} bytes of ${delivery.contentType ?? 'no content type'}${delivery.contentEncoding ? ` (${delivery.contentEncoding})` : ''}: ${answer.subarray(0, 300).toString('utf8')}`;
  expect(status < 500, what).toBe(true);
  let outcome = '200';
  if (status === 200) {
    if (requestEncoding === 'json') expect(typeof JSON.parse(answer.toString('utf8')), what).toBe('object');
  } else {
    expect([400, 413, 415], what).toContain(status);
    const responseType = response.headers.get('content-type') ?? '';
    let code: string;
    if (requestEncoding === 'protobuf') {
      expect(responseType, what).toMatch(/^application\/(x-)?protobuf/);
      code = /LLMMON_ERR_[A-Z_]+/.exec(answer.toString('latin1'))?.[0] ?? '';
      expect(code, what).not.toBe('');
    } else {
      expect(responseType, what).toMatch(/^application\/json/);
      const rpcStatus = JSON.parse(answer.toString('utf8')) as { code: unknown; message: unknown; details: unknown };
      expect(typeof rpcStatus.code, what).toBe('number');
      expect(Array.isArray(rpcStatus.details), what).toBe(true);
      expect(typeof rpcStatus.message === 'string' && rpcStatus.message.startsWith('LLMMON_ERR_'), what).toBe(true);
      code = (rpcStatus.message as string).split(':', 1)[0]!;
    }
    outcome = `${status} ${code}`;
  }
  record(target, outcome, elapsedMs);
}

// ---------------------------------------------------------------------------------------------
// Well-formed exports carrying the worst values on every key the mapping reads

const NOW_NS = BigInt(Date.now()) * 1_000_000n;

const EXTREME_DOUBLES = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  2 ** 53 + 1,
  0.5,
  100.5,
  101,
  -1,
];
const EXTREME_INTS = [0n, 1n, -1n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 100n, 101n];
const SPECIAL_STRINGS = [
  '',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'session',
  'stage',
  'pending',
  'streaming_response',
  'LLM',
  'EMBEDDING',
  'ai.streamText.doStream',
  'priced-model',
  'gpt-4o',
  'NaN',
  'Infinity',
  '-Infinity',
  '9223372036854775807',
  '1e309',
  ' 7 ',
  '{"__proto__":{"x":1}}',
  `${'['.repeat(40)}${']'.repeat(40)}`,
  '\ud800',
  'a\u0000b',
  'é✓😀',
  'line\nbreak,"quoted"',
  '=SUM(A1)',
  '# HELP fake',
  'x{le="+Inf"} NaN',
];

const stringValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(20_000, 300_000).map((length) => 'x'.repeat(length)) },
);

const { value: wireValue } = fc.letrec<{ value: WireValue; attribute: WireAttribute }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 4, arbitrary: fc.oneof(fc.constantFrom(...EXTREME_DOUBLES), fc.double()).map((double): WireValue => ({ double })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(fc.constantFrom(...EXTREME_INTS), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))
        .map((int): WireValue => ({ int })),
    },
    { weight: 4, arbitrary: stringValue.map((text): WireValue => ({ string: text })) },
    { weight: 1, arbitrary: fc.boolean().map((bool): WireValue => ({ bool })) },
    { weight: 1, arbitrary: fc.constant<WireValue>({ empty: true }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((bytes): WireValue => ({ bytes })) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }).map((array): WireValue => ({ array })) },
    {
      weight: 1,
      arbitrary: fc.array(tie('attribute'), { maxLength: 3 }).map((kvlist): WireValue => ({ kvlist: kvlist as WireAttribute[] })),
    },
  ),
  attribute: fc.record({ key: fc.constantFrom('__proto__', 'constructor', 'a', ''), value: tie('value') as fc.Arbitrary<WireValue> }),
}));

const READ_KEYS = [
  ...Object.keys(NUMERIC_ATTRIBUTES),
  ...Object.values(GEN_AI),
  ...FOREIGN_ATTRIBUTE_KEYS,
  OTEL.errorType,
  ATTR_SPAN_TYPE,
  ATTR_SESSION_ID,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_PROCESSOR_TYPE,
  ATTR_CONTENT_PREVIEW,
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ...['template', '__proto__', 'constructor'].map((key) => `${ATTR_METADATA_PREFIX}${key}`),
];

/** Attributes that make a span one the builder maps; hostile values are added on top. */
const ROLES: Record<string, WireAttribute[]> = {
  session: [
    { key: ATTR_SPAN_TYPE, value: { string: 'session' } },
    { key: GEN_AI.requestModel, value: { string: 'priced-model' } },
  ],
  stage: [
    { key: ATTR_SPAN_TYPE, value: { string: 'stage' } },
    { key: ATTR_STAGE, value: { string: 'streaming_response' } },
  ],
  pending: [
    { key: ATTR_SPAN_TYPE, value: { string: 'pending' } },
    { key: ATTR_PENDING_SPAN_TYPE, value: { string: 'session' } },
  ],
  genAi: [
    { key: GEN_AI.operationName, value: { string: 'chat' } },
    { key: GEN_AI.requestModel, value: { string: 'priced-model' } },
  ],
  vercel: [
    { key: 'ai.operationId', value: { string: 'ai.streamText.doStream' } },
    { key: 'ai.model.id', value: { string: 'gpt-4o' } },
  ],
  openInference: [
    { key: 'openinference.span.kind', value: { string: 'LLM' } },
    { key: 'llm.model_name', value: { string: 'gpt-4o' } },
  ],
  plain: [],
};

const nanosTime = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -5000, max: 5000 }).map((offsetMs) => NOW_NS + BigInt(offsetMs) * 1_000_000n) },
  { weight: 2, arbitrary: fc.constantFrom(0n, 1n, 2n ** 63n - 1n, 2n ** 64n - 1n, 253402300800000000000n % 2n ** 64n) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);

const attributes = fc.array(fc.record({ key: fc.constantFrom(...READ_KEYS), value: wireValue }), { maxLength: 6 });

const event: fc.Arbitrary<WireEvent> = fc.oneof(
  fc.record({
    timeUnixNano: nanosTime,
    name: fc.constant(EVENT_TOKENS),
    attributes: fc.array(fc.record({ key: fc.constantFrom(ATTR_TOKENS_COUNT, ATTR_TOKENS_TOTAL, ATTR_TOKENS_TEXT), value: wireValue }), {
      maxLength: 3,
    }),
  }),
  fc.record({
    timeUnixNano: nanosTime,
    name: fc.constantFrom(OTEL.exceptionEvent, 'ai.stream.firstChunk'),
    attributes: fc.array(
      fc.record({
        key: fc.constantFrom(OTEL.exceptionMessage, OTEL.exceptionType, 'ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk'),
        value: wireValue,
      }),
      { maxLength: 3 },
    ),
  }),
);

/** Ids from small numbers: spans of a request share traces, parents and duplicates. */
const id = (n: number, size: number): string => (n + 1).toString(16).padStart(size * 2, '0');

const hostileSpanSpec = fc.record({
  trace: fc.integer({ min: 0, max: 2 }),
  span: fc.integer({ min: 0, max: 5 }),
  parent: fc.integer({ min: -1, max: 6 }),
  role: fc.constantFrom(...Object.keys(ROLES)),
  sessionId: fc.oneof(fc.constantFrom('fuzz-a', 'fuzz-b', '__proto__', 'constructor', ''), stringValue),
  name: fc.oneof(fc.constantFrom('llm_monitor.session fuzz', 'chat priced-model', 'ai.streamText.doStream'), stringValue),
  kind: fc.constantFrom(0, 1, 2, 3, 5, 9),
  start: nanosTime,
  end: fc.oneof(nanosTime, fc.constant(0n)),
  attributes,
  events: fc.array(event, { maxLength: 3 }),
  status: fc.record({ code: fc.constantFrom(0, 1, 2, 7), message: fc.oneof(fc.constant(''), stringValue) }),
});

/**
 * A request of up to three traces, mostly new ones (the base is drawn from a wide range), so sessions
 * pile up, settle, are abandoned and leave as they would; the session ids repeat across requests.
 */
const hostileRequest: fc.Arbitrary<WireResourceSpans[]> = fc
  .record({
    traceBase: fc.integer({ min: 0, max: 2 ** 40 }),
    serviceName: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: wireValue }),
    spans: fc.array(hostileSpanSpec, { minLength: 1, maxLength: 8 }),
  })
  .map(({ traceBase, serviceName, spans }): WireResourceSpans[] => [
    {
      resource: serviceName ? [{ key: OTEL.serviceName, value: serviceName }] : [],
      scope: { name: 'fuzz', version: '1' },
      spans: spans.map((spec): WireSpan => ({
        traceId: id(traceBase + spec.trace, 16),
        spanId: id(spec.span, 8),
        parentSpanId: spec.parent < 0 ? '' : id(spec.parent, 8),
        name: spec.name,
        kind: spec.kind,
        startTimeUnixNano: spec.start,
        endTimeUnixNano: spec.end,
        attributes: [...ROLES[spec.role]!, { key: ATTR_SESSION_ID, value: { string: spec.sessionId } }, ...spec.attributes],
        events: spec.events,
        status: spec.status,
      })),
    },
  ]);

/** The same request in OTLP/JSON (int64 as strings, NaN and the infinities as strings, as proto3 JSON has them). */
function toJson(request: readonly WireResourceSpans[]): string {
  const anyValue = (value: WireValue): unknown => {
    if ('string' in value) return { stringValue: value.string };
    if ('bool' in value) return { boolValue: value.bool };
    if ('int' in value) return { intValue: value.int.toString() };
    if ('double' in value) return { doubleValue: Number.isFinite(value.double) ? value.double : String(value.double) };
    if ('bytes' in value) return { bytesValue: Buffer.from(value.bytes).toString('base64') };
    if ('array' in value) return { arrayValue: { values: value.array.map(anyValue) } };
    if ('kvlist' in value) return { kvlistValue: { values: keyValues(value.kvlist) } };
    return {};
  };
  const keyValues = (list: readonly WireAttribute[]): unknown[] =>
    list.map((attribute) => ({ key: attribute.key, value: anyValue(attribute.value) }));
  return JSON.stringify({
    resourceSpans: request.map((group) => ({
      resource: { attributes: keyValues(group.resource) },
      scopeSpans: [
        {
          scope: group.scope,
          spans: group.spans.map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            startTimeUnixNano: span.startTimeUnixNano.toString(),
            endTimeUnixNano: span.endTimeUnixNano.toString(),
            attributes: keyValues(span.attributes),
            events: (span.events ?? []).map((item) => ({
              timeUnixNano: item.timeUnixNano.toString(),
              name: item.name,
              attributes: keyValues(item.attributes),
            })),
            status: span.status,
          })),
        },
      ],
    })),
  });
}

// ---------------------------------------------------------------------------------------------
// Byte-level mutation of real exporter payloads

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]];

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  // A run of 0xff bytes read as a varint: a length or tag far too large, or never terminated.
  | { readonly kind: 'varint'; readonly at: number; readonly length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 12 }),
      fc.constantFrom(...INVALID_UTF8).map((bytes) => Uint8Array.from(bytes)),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('varint' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 11 }) }),
);

function mutate(bytes: Buffer, change: Mutation): Buffer {
  const at = bytes.length === 0 ? 0 : change.at % (bytes.length + 1);
  switch (change.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[change.at % copy.length]! ^= 1 << change.bit;
      return copy;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.length)]);
    case 'varint': {
      const copy = Buffer.from(bytes);
      copy.fill(0xff, at, Math.min(copy.length, at + change.length));
      return copy;
    }
  }
}

let realProtobuf: Buffer;
let realJson: Buffer;
let gzipBombs: Buffer[];

beforeAll(async () => {
  const spans = await sdkSpans();
  realProtobuf = asProtobuf(spans);
  realJson = asJson(spans);
  gzipBombs = [MAX_BODY_BYTES + 1, 50 * MAX_BODY_BYTES].map((size) => gzipSync(Buffer.alloc(size, 0x20)));
});

/** A real payload or a generated well-formed one, mutated one to four times. */
const mutatedBody = (encoding: Encoding): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.oneof(fc.constant(undefined), hostileRequest), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([request, changes]) => {
      let body = request
        ? encoding === 'protobuf'
          ? encodeTraceRequest(request)
          : Buffer.from(toJson(request))
        : encoding === 'protobuf'
          ? realProtobuf
          : realJson;
      for (const change of changes) body = mutate(body, change);
      return body;
    });

const contentTypeOf = (encoding: Encoding): fc.Arbitrary<string> =>
  fc.constantFrom(...CONTENT_TYPES.filter(([, readAs]) => readAs === encoding).map(([type]) => type!));

// ---------------------------------------------------------------------------------------------

describe('OTLP over HTTP under fuzzing (property)', () => {
  it(
    'answers mutated protobuf exports with 200 or a coded 400',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedBody('protobuf'), contentTypeOf('protobuf'), async (body, contentType) => {
          await postChecked('protobuf, mutated', { body, contentType });
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers mutated JSON exports with 200 or a coded 400',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedBody('json'), contentTypeOf('json'), async (body, contentType) => {
          await postChecked('json, mutated', { body, contentType });
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'accepts well-formed exports carrying the worst values on every key the mapping reads',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequest, fc.constantFrom<Encoding>('protobuf', 'json'), async (request, encoding) => {
          const body = encoding === 'protobuf' ? encodeTraceRequest(request) : Buffer.from(toJson(request));
          const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
          await postChecked(`${encoding}, hostile values`, { body, contentType });
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TEST_TIMEOUT_MS * 2,
  );

  it(
    'answers gzip of garbage, of valid and of mutated bodies, bombs, oversized bodies and unknown encodings with 200 or a coded 4xx',
    async () => {
      const gzipBody = fc.oneof(
        fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'garbage, not gzip', body: Buffer.from(bytes) })),
        fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'gzip of garbage', body: gzipSync(bytes) })),
        fc.constant({ kind: 'gzip of a real export', body: gzipSync(realJson) }),
        fc
          .array(mutation, { minLength: 1, maxLength: 3 })
          .map((changes) => ({ kind: 'gzip of a mutated export', body: gzipSync(changes.reduce(mutate, realJson)) })),
        fc
          .array(mutation, { minLength: 1, maxLength: 3 })
          .map((changes) => ({ kind: 'mutated gzip', body: changes.reduce(mutate, gzipSync(realJson)) })),
        // Inflate to just past the limit, and to fifty times it.
        fc.constantFrom(...gzipBombs).map((body) => ({ kind: 'gzip bomb', body })),
      );
      const contentEncoding = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('gzip', 'GZIP', ' gzip ') },
        { weight: 1, arbitrary: fc.constantFrom('identity', 'br', 'deflate', 'gzip, gzip', 'x-gzip') },
      );
      await fc.assert(
        fc.asyncProperty(
          gzipBody,
          contentEncoding,
          fc.constantFrom<Encoding>('json', 'protobuf'),
          async ({ kind, body }, contentEncoding, encoding) => {
            await postChecked(`gzip: ${kind}`, {
              body,
              contentType: encoding === 'json' ? 'application/json' : 'application/x-protobuf',
              contentEncoding,
            });
          },
        ),
        { numRuns: RUNS },
      );
      // Too large before any decompression: refused from its length alone.
      await postChecked('oversized body', { body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), contentType: 'application/json' });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers any content type: the OTLP ones are decoded, the others refused with a coded 415',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...CONTENT_TYPES.map(([type]) => type)),
          fc.oneof(
            fc.constant(null).map(() => realJson),
            fc.constant(null).map(() => realProtobuf),
            fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
          ),
          async (contentType, body) => {
            await postChecked('content types', { body, contentType });
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is still alive afterwards, every REST endpoint answers 200 with JSON that parses, and /metrics holds only finite samples',
    async () => {
      // Past the settle and abandon intervals, and several sweeps.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(monitor.alive(), monitor.output()).toBe(true);
      const { apiUrl } = monitor;
      const getJson = async (path: string): Promise<unknown> => {
        const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await response.text();
        expect(response.status, `${path}: ${text.slice(0, 300)}`).toBe(200);
        return JSON.parse(text) as unknown;
      };

      expect(Array.isArray(await getJson('/api/monitoring/sessions/active'))).toBe(true);
      const recent = (await getJson('/api/monitoring/sessions/recent?limit=1000')) as { sessions: ProcessingSession[] };
      // The hostile values made sessions: reading them back is the point, so none would be a broken check.
      expect(recent.sessions.length).toBeGreaterThan(0);
      await getJson('/api/monitoring/statistics');
      await getJson('/api/monitoring/sessions/recent?format=json');
      await getJson('/healthz');
      await getJson('/readyz');
      const csv = await fetch(`${apiUrl}/api/monitoring/sessions/recent?format=csv`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      expect(csv.status).toBe(200);
      await csv.text();

      for (const accept of ['text/plain', 'application/openmetrics-text']) {
        const response = await fetch(`${apiUrl}/metrics`, { headers: { accept }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await response.text();
        expect(response.status, accept).toBe(200);
        // A bucket bound le="+Inf" is fine; a sample value (after the labels) may not be NaN or infinite.
        const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
        const nonFinite = samples.filter((line) => / (NaN|[+-]Inf)( |$)/.test(line));
        expect(nonFinite, accept).toEqual([]);
        // Nothing was caught at a wall (a store listener, a timer, live delivery): nothing was poisoned quietly.
        const walls = samples.filter((line) => line.startsWith('llm_monitor_receiver_internal_errors_total') && !line.endsWith(' 0'));
        expect(walls, accept).toEqual([]);
      }

      // The live stream delivered JSON all along, and no error but a slow client's.
      await until('the live stream to catch up', () => liveMessages.length > 0, 5000, 20);
      for (const message of liveMessages) {
        const parsed = JSON.parse(message) as { type: string; code?: string };
        expect(typeof parsed.type).toBe('string');
        if (parsed.type === 'error') expect(parsed.code, message.slice(0, 300)).toBe('LLMMON_ERR_CLIENT_TOO_SLOW');
      }
      expect(monitor.output()).not.toMatch(/LLMMON_ERR_INTERNAL|LLMMON_ERR_LISTENER_FAILED|LLMMON_ERR_TIMER_FAILED/);

      // Every session listed can be read by its id; one that no URL can name, or only a URL too long
      // to send, is unreachable. All of them are listed, not only the first.
      const unreachable: string[] = [];
      for (const session of recent.sessions) {
        const shownId =
          JSON.stringify(session.session_id.slice(0, 40)) +
          (session.session_id.length > 40 ? `… (${session.session_id.length} characters)` : '');
        let path: string;
        try {
          path = `/api/monitoring/sessions/${encodeURIComponent(session.session_id)}`;
        } catch (error) {
          unreachable.push(`${shownId}: cannot be put in a URL (${String(error)})`);
          continue;
        }
        const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await response.text();
        if (response.status !== 200) unreachable.push(`${shownId}: ${response.status} ${text.slice(0, 160)}`);
        else expect((JSON.parse(text) as ProcessingSession).session_id).toBe(session.session_id);
      }
      afterwards.push(
        `afterwards: process alive, every endpoint 200, /metrics finite, ${liveMessages.length} live messages parsed; ` +
          `${recent.sessions.length - unreachable.length} of ${recent.sessions.length} recent sessions readable by id`,
      );
      expect(unreachable, `${unreachable.length} of ${recent.sessions.length} sessions cannot be read by id`).toEqual([]);
      expect(monitor.alive()).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
