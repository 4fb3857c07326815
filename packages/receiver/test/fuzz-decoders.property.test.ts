/**
 * The OTLP decoders under fuzzing, in-process: whatever bytes or JSON arrive, decoding either gives
 * spans whose ids are valid (32 and 16 lowercase hex digits, not all zeros) or throws one of the
 * four error classes `otlp-ingest.ts` turns into a 400 `LLMMON_ERR_MALFORMED_OTLP`. Any other
 * exception would be a 500, and an input that takes seconds would hold the receiver.
 *
 * Inputs: export requests built field by field with every `AnyValue` case and the worst values
 * (structure-aware, both encodings), the same requests with parts of their JSON replaced by any
 * JSON, and byte-level mutations of what the OpenTelemetry SDK's exporters really send: bit flips,
 * truncation, insertion, deletion, duplicated fields, corrupted length prefixes, invalid UTF-8,
 * huge strings, values nested past the decoders' depth limit, and random bytes and text.
 *
 * Runs per property: env LLMMON_FUZZ_RUNS (a small default keeps `pnpm test` quick; `pnpm fuzz`
 * raises it). Figures are printed at the end.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMERIC_ATTRIBUTES } from '@llm-monitor/sessions';
import type { AttributeValue } from '@llm-monitor/sessions';
import { decodeTraceRequestJson, decodeTraceRequestProtobuf, OtlpJsonError, ProtobufError } from '../src/index.js';
import type { DecodedTraces } from '../src/index.js';
import { asJson, asProtobuf, deeplyNestedJson, deeplyNestedProtobuf, sdkSpans } from './otlp-fixtures.js';
import { encodeTraceRequest } from './otlp-wire.js';
import type { WireAttribute, WireEvent, WireResourceSpans, WireSpan, WireValue } from './otlp-wire.js';

const RUNS = Number(process.env.LLMMON_FUZZ_RUNS ?? '') || 200;
/** One input taking this long is a hang, not noise (the machine is shared: no tighter bound). */
const HANG_MS = 2000;
/** Scales with the runs; the per-input hang check above is the real bound. */
const TEST_TIMEOUT_MS = Math.max(30_000, RUNS * 20);

// ---------------------------------------------------------------------------------------------
// Figures

interface TargetFigures {
  inputs: number;
  bytes: number;
  outcomes: Map<string, number>;
  slowestMs: number;
  totalMs: number;
}

const figures = new Map<string, TargetFigures>();

function record(target: string, outcome: string, elapsedMs: number, bytes: number): void {
  let entry = figures.get(target);
  if (!entry) figures.set(target, (entry = { inputs: 0, bytes: 0, outcomes: new Map(), slowestMs: 0, totalMs: 0 }));
  entry.inputs += 1;
  entry.bytes += bytes;
  entry.totalMs += elapsedMs;
  entry.slowestMs = Math.max(entry.slowestMs, elapsedMs);
  entry.outcomes.set(outcome, (entry.outcomes.get(outcome) ?? 0) + 1);
}

afterAll(() => {
  const lines = ['', 'fuzz figures — OTLP decoders (in-process)'];
  let inputs = 0;
  for (const [target, entry] of figures) {
    inputs += entry.inputs;
    const perSecond = entry.totalMs > 0 ? Math.round((entry.inputs * 1000) / entry.totalMs) : 0;
    const outcomes = [...entry.outcomes]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    lines.push(
      `  ${target}: ${entry.inputs} inputs (${(entry.bytes / 1e6).toFixed(1)} MB), ${perSecond} inputs/s of decoding, slowest ${entry.slowestMs.toFixed(1)} ms`,
    );
    lines.push(`    ${outcomes}`);
  }
  lines.push(`  total: ${inputs} inputs`, '');
  process.stdout.write(lines.join('\n'));
});

// ---------------------------------------------------------------------------------------------
// The property every input must satisfy

/** What `otlp-ingest.ts` answers with a 400; anything else thrown is a 500. */
const CODED_REFUSALS = [ProtobufError, OtlpJsonError, SyntaxError, RangeError] as const;

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** Every object in a decoded value is plain data: a `__proto__` key never became a prototype. */
function expectPlainData(value: AttributeValue, path: string): void {
  if (value === null || typeof value !== 'object') return;
  const prototype = Object.getPrototypeOf(value) as unknown;
  expect(prototype === Object.prototype || prototype === Array.prototype, `${path} has a foreign prototype`).toBe(true);
  for (const [key, item] of Object.entries(value)) expectPlainData(item, `${path}.${key}`);
}

function expectUsableSpans(decoded: DecodedTraces): void {
  expect(Number.isSafeInteger(decoded.rejected) && decoded.rejected >= 0, `rejected ${decoded.rejected}`).toBe(true);
  for (const span of decoded.spans) {
    expect(TRACE_ID.test(span.traceId) && span.traceId !== '0'.repeat(32), `trace id ${JSON.stringify(span.traceId)}`).toBe(true);
    expect(SPAN_ID.test(span.spanId) && span.spanId !== '0'.repeat(16), `span id ${JSON.stringify(span.spanId)}`).toBe(true);
    expect(span.parentSpanId === '' || SPAN_ID.test(span.parentSpanId), `parent span id ${JSON.stringify(span.parentSpanId)}`).toBe(true);
    expectPlainData(span.attributes, 'attributes');
    expectPlainData(span.resource, 'resource');
    for (const event of span.events) expectPlainData(event.attributes, 'event attributes');
  }
}

/**
 * Decodes one input as the OTLP endpoint would, records the outcome, and fails on anything the
 * endpoint could not turn into a 400, on spans with unusable ids, and on a hang. Returns the
 * decoded traces, or `undefined` when the input was refused.
 */
function decodeChecked(target: string, encoding: 'protobuf' | 'json', body: Buffer): DecodedTraces | undefined {
  const started = performance.now();
  let decoded: DecodedTraces | undefined;
  let outcome: string;
  try {
    // The same two steps as otlp-ingest.ts: JSON.parse of the UTF-8 text, then the decoder.
    decoded =
      encoding === 'protobuf' ? decodeTraceRequestProtobuf(body) : decodeTraceRequestJson(JSON.parse(body.toString('utf8')) as unknown);
    outcome = decoded.rejected > 0 ? 'decoded (some spans rejected)' : 'decoded';
  } catch (error) {
    const refusal = CODED_REFUSALS.find((kind) => error instanceof kind);
    if (!refusal) throw new Error(`${target}: ${String(error)} is no coded refusal: the endpoint would answer 500`, { cause: error });
    outcome = `refused ${refusal.name}`;
  }
  const elapsedMs = performance.now() - started;
  record(target, outcome, elapsedMs, body.length);
  expect(elapsedMs, `${target}: one input of ${body.length} bytes took long enough to be a hang`).toBeLessThan(HANG_MS);
  if (decoded) expectUsableSpans(decoded);
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// Structure-aware generation: export requests with every AnyValue case and the worst values

const HUGE_STRING_LENGTHS = [70_000, 500_000];

const adversarialString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '__proto__',
      'constructor',
      'toString',
      '\ud800',
      '\udfff',
      'a\u0000b',
      '{"a":1}',
      'NaN',
      '9223372036854775807',
      'é✓😀',
    ),
  },
);

/** A huge string: one per span at most, so a request stays a few MB. */
const hugeString = fc
  .tuple(fc.constantFrom(...HUGE_STRING_LENGTHS), fc.constantFrom('x', 'é', '\ud83d\ude00'))
  .map(([length, unit]) => unit.repeat(length));

const INT64_EXTREMES = [
  0n,
  1n,
  -1n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 64n - 1n,
];
const DOUBLE_EXTREMES = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e308,
  -1e308,
  2 ** 53 + 1,
];

/** Keys the session mapping reads, and keys that are hostile as property names. */
const attributeKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    '',
    'llm_monitor.span_type',
    'llm_monitor.session.id',
    'gen_ai.request.model',
    'llm_monitor.metadata.x',
    ...Object.keys(NUMERIC_ATTRIBUTES),
  ),
  fc.string({ maxLength: 12 }),
);

const { attribute: wireAttribute } = fc.letrec<{ value: WireValue; attribute: WireAttribute }>((tie) => ({
  value: fc.oneof(
    // Nests a few levels only: past 32 the decoders refuse on purpose (the deep-nesting inputs test that).
    { depthSize: 'small', maxDepth: 5 },
    adversarialString.map((text): WireValue => ({ string: text })),
    fc.boolean().map((flag): WireValue => ({ bool: flag })),
    fc.oneof(fc.constantFrom(...INT64_EXTREMES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((int): WireValue => ({ int })),
    fc.oneof(fc.constantFrom(...DOUBLE_EXTREMES), fc.double()).map((double): WireValue => ({ double })),
    fc.uint8Array({ maxLength: 32 }).map((bytes): WireValue => ({ bytes })),
    fc.constant<WireValue>({ empty: true }),
    fc.array(tie('value'), { maxLength: 4 }).map((array): WireValue => ({ array })),
    fc.array(tie('attribute'), { maxLength: 4 }).map((kvlist): WireValue => ({ kvlist: kvlist as WireAttribute[] })),
  ),
  attribute: fc.record({ key: attributeKey, value: tie('value') as fc.Arbitrary<WireValue> }),
}));

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** Ids of the right size mostly, and the wrong ones a sender can make: all zeros, too short, too long, empty. */
const idOf = (size: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: size, maxLength: size }).map(hex) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('00'.repeat(size), '', '00'.repeat(size - 1) + '01', 'ff'.repeat(size - 1), 'ab'.repeat(size + 1)),
    },
  );

const nanosTime: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, 1_763_812_800_000_000_000n, 2n ** 63n - 1n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

const wireEvent: fc.Arbitrary<WireEvent> = fc.record({
  timeUnixNano: nanosTime,
  name: fc.oneof(fc.constantFrom('llm_monitor.tokens', 'exception', 'ai.stream.firstChunk'), adversarialString),
  attributes: fc.array(wireAttribute, { maxLength: 3 }),
});

const wireSpan: fc.Arbitrary<WireSpan> = fc
  .tuple(
    fc.record(
      {
        traceId: idOf(16),
        spanId: idOf(8),
        parentSpanId: fc.oneof(fc.constant(''), idOf(8)),
        name: adversarialString,
        kind: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 2 ** 31, 2 ** 53),
        startTimeUnixNano: nanosTime,
        endTimeUnixNano: nanosTime,
        attributes: fc.array(wireAttribute, { maxLength: 6 }),
        events: fc.array(wireEvent, { maxLength: 3 }),
        droppedEventsCount: fc.constantFrom(0, 1, 2 ** 32, 2 ** 53),
        status: fc.record({ code: fc.constantFrom(0, 1, 2, 3, 2 ** 31), message: adversarialString }),
      },
      { requiredKeys: ['traceId', 'spanId', 'name', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes'] },
    ),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(attributeKey, hugeString) }),
  )
  .map(([span, huge]) => (huge ? { ...span, attributes: [...span.attributes, { key: huge[0], value: { string: huge[1] } }] } : span));

const exportRequest: fc.Arbitrary<WireResourceSpans[]> = fc.array(
  fc.record(
    {
      resource: fc.array(wireAttribute, { maxLength: 3 }),
      scope: fc.record({ name: adversarialString, version: adversarialString }),
      spans: fc.array(wireSpan, { maxLength: 5 }),
    },
    { requiredKeys: ['resource', 'spans'] },
  ),
  { maxLength: 3 },
);

/** The OTLP rule for ids, written out independently of the decoders. */
function hasUsableIds(span: WireSpan): boolean {
  const parent = span.parentSpanId ?? '';
  return (
    span.traceId.length === 32 &&
    !/^0+$/.test(span.traceId) &&
    span.spanId.length === 16 &&
    !/^0+$/.test(span.spanId) &&
    (parent === '' || parent.length === 16)
  );
}

function spansOf(request: readonly WireResourceSpans[]): WireSpan[] {
  return request.flatMap((group) => group.spans);
}

// ---------------------------------------------------------------------------------------------
// The same requests in OTLP/JSON, written the many ways a JSON exporter may write them

interface JsonStyle {
  /** The original proto field names instead of lowerCamelCase. */
  readonly snakeCase: boolean;
  readonly int64AsNumber: boolean;
  readonly timesAsNumbers: boolean;
  /** Enums by name (`SPAN_KIND_SERVER`) instead of number. */
  readonly enumNames: boolean;
  readonly upperCaseIds: boolean;
}

const jsonStyle: fc.Arbitrary<JsonStyle> = fc.record({
  snakeCase: fc.boolean(),
  int64AsNumber: fc.boolean(),
  timesAsNumbers: fc.boolean(),
  enumNames: fc.boolean(),
  upperCaseIds: fc.boolean(),
});

const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function toJsonRequest(request: readonly WireResourceSpans[], style: JsonStyle): unknown {
  const key = (camel: string, snake: string): string => (style.snakeCase ? snake : camel);
  const int64 = (value: bigint): string | number => (style.int64AsNumber ? Number(value) : value.toString());
  const time = (value: bigint): string | number => (style.timesAsNumbers ? Number(value) : value.toString());
  const id = (value: string): string => (style.upperCaseIds ? value.toUpperCase() : value);
  const enumOf = (value: number, names: readonly string[]): string | number =>
    style.enumNames && names[value] !== undefined ? names[value] : value;
  const anyValue = (value: WireValue): Record<string, unknown> => {
    if ('string' in value) return { [key('stringValue', 'string_value')]: value.string };
    if ('bool' in value) return { [key('boolValue', 'bool_value')]: value.bool };
    if ('int' in value) return { [key('intValue', 'int_value')]: int64(value.int) };
    // proto3 JSON writes NaN and the infinities as strings.
    if ('double' in value)
      return { [key('doubleValue', 'double_value')]: Number.isFinite(value.double) ? value.double : String(value.double) };
    if ('bytes' in value) return { [key('bytesValue', 'bytes_value')]: Buffer.from(value.bytes).toString('base64') };
    if ('array' in value) return { [key('arrayValue', 'array_value')]: { values: value.array.map(anyValue) } };
    if ('kvlist' in value) return { [key('kvlistValue', 'kvlist_value')]: { values: attributes(value.kvlist) } };
    return {};
  };
  const attributes = (list: readonly WireAttribute[]): unknown[] =>
    list.map((attribute) => ({ key: attribute.key, value: anyValue(attribute.value) }));
  return {
    [key('resourceSpans', 'resource_spans')]: request.map((group) => ({
      resource: { attributes: attributes(group.resource) },
      [key('scopeSpans', 'scope_spans')]: [
        {
          ...(group.scope ? { scope: group.scope } : {}),
          spans: group.spans.map((span) => ({
            [key('traceId', 'trace_id')]: id(span.traceId),
            [key('spanId', 'span_id')]: id(span.spanId),
            ...(span.parentSpanId ? { [key('parentSpanId', 'parent_span_id')]: id(span.parentSpanId) } : {}),
            name: span.name,
            kind: enumOf(span.kind ?? 1, SPAN_KIND_NAMES),
            [key('startTimeUnixNano', 'start_time_unix_nano')]: time(span.startTimeUnixNano),
            [key('endTimeUnixNano', 'end_time_unix_nano')]: time(span.endTimeUnixNano),
            attributes: attributes(span.attributes),
            events: (span.events ?? []).map((event) => ({
              [key('timeUnixNano', 'time_unix_nano')]: time(event.timeUnixNano),
              name: event.name,
              attributes: attributes(event.attributes),
            })),
            ...(span.droppedEventsCount ? { [key('droppedEventsCount', 'dropped_events_count')]: span.droppedEventsCount } : {}),
            ...(span.status ? { status: { code: enumOf(span.status.code, STATUS_CODE_NAMES), message: span.status.message } } : {}),
          })),
        },
      ],
    })),
  };
}

/** Every place in a JSON value, so a generated replacement can land anywhere. */
function jsonPlaces(value: unknown, places: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = []): typeof places {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      places.push({ parent: value, key: index });
      jsonPlaces(item, places);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      places.push({ parent: value as Record<string, unknown>, key });
      jsonPlaces(item, places);
    }
  }
  return places;
}

// ---------------------------------------------------------------------------------------------
// Protobuf as a tree of fields, to mutate real payloads with their framing kept or broken on purpose

interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** The value's bytes (for length-delimited fields without parsed children: the payload). */
  readonly bytes: Uint8Array;
  /** A length-delimited payload that itself parses as a message. */
  readonly children?: WireField[];
}

function readVarint(bytes: Uint8Array, at: number): [bigint, number] | undefined {
  let value = 0n;
  for (let shift = 0n, i = at; i < bytes.length && shift < 70n; i += 1, shift += 7n) {
    value |= BigInt(bytes[i]! & 0x7f) << shift;
    if ((bytes[i]! & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

function writeVarint(value: bigint): Uint8Array {
  let rest = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Uint8Array.from(out);
}

/** The fields of a message, or `undefined` when the bytes are not one (then they are a leaf). */
function parseFields(bytes: Uint8Array, depth = 0): WireField[] | undefined {
  const fields: WireField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    if (!tag || tag[0] < 8n || tag[0] > 0xffffffffn) return undefined;
    at = tag[1];
    const field = Number(tag[0] >> 3n);
    const wireType = Number(tag[0] & 7n);
    let end: number;
    if (wireType === 0) {
      const value = readVarint(bytes, at);
      if (!value) return undefined;
      end = value[1];
    } else if (wireType === 1) end = at + 8;
    else if (wireType === 5) end = at + 4;
    else if (wireType === 2) {
      const length = readVarint(bytes, at);
      if (!length || length[1] + Number(length[0]) > bytes.length) return undefined;
      at = length[1];
      end = at + Number(length[0]);
    } else return undefined;
    if (end > bytes.length) return undefined;
    const payload = bytes.subarray(at, end);
    const children = wireType === 2 && payload.length > 0 && depth < 64 ? parseFields(payload, depth + 1) : undefined;
    fields.push({ field, wireType, bytes: payload, ...(children ? { children } : {}) });
    at = end;
  }
  return fields;
}

/** How a serialisation breaks one length prefix: the `index`-th length-delimited field's, in document order. */
interface LengthCorruption {
  readonly index: number;
  readonly length: (actual: number) => Uint8Array;
}

function serialize(fields: readonly WireField[], corruption?: LengthCorruption, counter = { index: 0 }): Buffer {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    parts.push(writeVarint((BigInt(field.field) << 3n) | BigInt(field.wireType)));
    if (field.wireType !== 2) {
      parts.push(field.bytes);
      continue;
    }
    const index = counter.index++;
    const payload = field.children ? serialize(field.children, corruption, counter) : field.bytes;
    parts.push(corruption?.index === index ? corruption.length(payload.length) : writeVarint(BigInt(payload.length)), payload);
  }
  return Buffer.concat(parts);
}

/** Every field of the tree, depth first, with the list that holds it. */
function allFields(fields: WireField[], found: { list: WireField[]; index: number }[] = []): typeof found {
  fields.forEach((field, index) => {
    found.push({ list: fields, index });
    if (field.children) allFields(field.children, found);
  });
  return found;
}

function cloneFields(fields: readonly WireField[]): WireField[] {
  return fields.map((field) => ({ ...field, ...(field.children ? { children: cloneFields(field.children) } : {}) }));
}

const INVALID_UTF8 = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xc3],
];

/** A change to a field that keeps the framing consistent (lengths are recomputed when serialised). */
type FieldMutation =
  | { readonly kind: 'replace-payload'; readonly target: number; readonly payload: Uint8Array }
  | { readonly kind: 'invalid-utf8'; readonly target: number; readonly at: number; readonly sequence: readonly number[] }
  | { readonly kind: 'duplicate'; readonly target: number; readonly times: number }
  | { readonly kind: 'delete'; readonly target: number }
  | { readonly kind: 'retag'; readonly target: number; readonly field: number; readonly wireType: number };

const hugePayload = fc.constantFrom(...HUGE_STRING_LENGTHS).map((length) => new Uint8Array(Buffer.from('y'.repeat(length))));

const fieldMutation: fc.Arbitrary<FieldMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('replace-payload' as const),
    target: fc.nat(),
    payload: fc.oneof({ weight: 9, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: hugePayload }),
  }),
  fc.record({ kind: fc.constant('invalid-utf8' as const), target: fc.nat(), at: fc.nat(), sequence: fc.constantFrom(...INVALID_UTF8) }),
  fc.record({ kind: fc.constant('duplicate' as const), target: fc.nat(), times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant('delete' as const), target: fc.nat() }),
  fc.record({
    kind: fc.constant('retag' as const),
    target: fc.nat(),
    field: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 2 ** 29 - 1),
    wireType: fc.integer({ min: 0, max: 7 }),
  }),
);

function applyFieldMutation(fields: WireField[], mutation: FieldMutation): void {
  const all = allFields(fields);
  if (all.length === 0) return;
  const { list, index } = all[mutation.target % all.length]!;
  const field = list[index]!;
  switch (mutation.kind) {
    case 'replace-payload':
      if (field.wireType === 2) list[index] = { field: field.field, wireType: 2, bytes: mutation.payload };
      return;
    case 'invalid-utf8': {
      if (field.wireType !== 2 || field.children) return;
      const at = field.bytes.length === 0 ? 0 : mutation.at % field.bytes.length;
      list[index] = {
        ...field,
        bytes: Buffer.concat([field.bytes.subarray(0, at), Uint8Array.from(mutation.sequence), field.bytes.subarray(at)]),
      };
      return;
    }
    case 'duplicate':
      list.splice(index, 0, ...Array.from({ length: mutation.times }, () => field));
      return;
    case 'delete':
      list.splice(index, 1);
      return;
    case 'retag':
      // A field number of 0 is invalid on the wire: the tag then reads as garbage, as it should.
      list[index] = { ...field, field: mutation.field, wireType: mutation.wireType };
  }
}

/** A change to the bytes themselves: framing is not kept. */
type ByteMutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'splice'; readonly from: number; readonly length: number; readonly to: number };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        fc.constantFrom(...INVALID_UTF8).map((sequence) => Uint8Array.from(sequence)),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
  },
);

function applyByteMutation(bytes: Buffer, mutation: ByteMutation): Buffer {
  const position = (at: number): number => (bytes.length === 0 ? 0 : at % (bytes.length + 1));
  switch (mutation.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[mutation.at % copy.length]! ^= 1 << mutation.bit;
      return copy;
    }
    case 'truncate':
      return bytes.subarray(0, position(mutation.at));
    case 'insert': {
      const at = position(mutation.at);
      return Buffer.concat([bytes.subarray(0, at), mutation.bytes, bytes.subarray(at)]);
    }
    case 'delete': {
      const at = position(mutation.at);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + mutation.length)]);
    }
    case 'overwrite': {
      const copy = Buffer.from(bytes);
      copy.set(mutation.bytes.subarray(0, Math.max(0, copy.length - position(mutation.at))), Math.min(position(mutation.at), copy.length));
      return copy;
    }
    case 'splice': {
      const from = position(mutation.from);
      const chunk = bytes.subarray(from, from + mutation.length);
      const to = position(mutation.to);
      return Buffer.concat([bytes.subarray(0, to), chunk, bytes.subarray(to)]);
    }
  }
}

/** Lengths a corrupted prefix may claim: off by a little, zero, huge, and varints no decoder should accept. */
const lengthCorruption: fc.Arbitrary<LengthCorruption> = fc.record({
  index: fc.nat(),
  length: fc.oneof(
    fc.integer({ min: -3, max: 3 }).map((delta) => (actual: number) => writeVarint(BigInt(Math.max(0, actual + delta)))),
    fc
      .constantFrom(0n, 1n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n)
      .map((value) => () => writeVarint(value)),
    // Unterminated, and longer than the ten bytes a varint may take.
    fc
      .constantFrom(
        Uint8Array.from([0x80]),
        Uint8Array.from(Array.from({ length: 11 }, () => 0xff)),
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
      )
      .map((raw) => () => raw),
  ),
});

// ---------------------------------------------------------------------------------------------
// Real payloads to mutate

interface Corpus {
  readonly protobuf: Buffer[];
  readonly json: Buffer[];
}

let corpus: Corpus;

/** A request with every AnyValue case, for mutations to find every branch of the decoders. */
function richRequest(): WireResourceSpans[] {
  const everyValue: WireAttribute[] = [
    { key: 'text', value: { string: 'héllo ✓' } },
    { key: 'flag', value: { bool: true } },
    { key: 'big', value: { int: 2n ** 63n - 1n } },
    { key: 'negative', value: { int: -(2n ** 63n) } },
    { key: 'nan', value: { double: NaN } },
    { key: 'raw', value: { bytes: Uint8Array.from([0, 1, 255]) } },
    { key: 'list', value: { array: [{ string: 'a' }, { int: 1n }, { array: [{ double: 0.5 }] }] } },
    { key: 'map', value: { kvlist: [{ key: '__proto__', value: { kvlist: [{ key: 'polluted', value: { bool: true } }] } }] } },
    { key: 'nothing', value: { empty: true } },
    { key: 'llm_monitor.span_type', value: { string: 'session' } },
    { key: 'gen_ai.usage.input_tokens', value: { int: 12n } },
  ];
  return [
    {
      resource: [{ key: 'service.name', value: { string: 'fuzz' } }],
      scope: { name: 'fuzz-scope', version: '1' },
      spans: [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          parentSpanId: '00f067aa0ba902b7',
          name: 'llm_monitor.session fuzz',
          kind: 2,
          startTimeUnixNano: 1_763_812_800_000_000_000n,
          endTimeUnixNano: 1_763_812_800_100_000_000n,
          attributes: everyValue,
          events: [
            {
              timeUnixNano: 1_763_812_800_050_000_000n,
              name: 'llm_monitor.tokens',
              attributes: [{ key: 'llm_monitor.tokens.count', value: { int: 3n } }],
            },
          ],
          droppedEventsCount: 2,
          status: { code: 2, message: 'boom' },
        },
      ],
    },
  ];
}

/** Values nested `depth` levels, alternating arrays and key-value lists. */
function nestedValue(depth: number): WireValue {
  let value: WireValue = { string: 'leaf' };
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? { array: [value] } : { kvlist: [{ key: 'k', value }] };
  return value;
}

beforeAll(async () => {
  const spans = await sdkSpans();
  const rich = richRequest();
  const nested = (depth: number): WireResourceSpans[] => [
    { resource: [], spans: [{ ...rich[0]!.spans[0]!, attributes: [{ key: 'deep', value: nestedValue(depth) }] }] },
  ];
  corpus = {
    protobuf: [
      asProtobuf(spans),
      encodeTraceRequest(rich),
      // Around the decoders' depth limit (32), and far past it.
      ...[31, 32, 33, 34, 2000].map((depth) => deeplyNestedProtobuf(depth)),
      ...[31, 33, 40].map((depth) => encodeTraceRequest(nested(depth))),
    ],
    json: [
      asJson(spans),
      Buffer.from(
        JSON.stringify(
          toJsonRequest(rich, { snakeCase: false, int64AsNumber: false, timesAsNumbers: false, enumNames: false, upperCaseIds: false }),
        ),
      ),
      ...[31, 32, 33, 34, 2000, 100_000].map((depth) => Buffer.from(deeplyNestedJson(depth))),
    ],
  };
});

/** One payload of the corpus, the exporters' own (the first two) as often as all the deep ones together. */
function realPayload(payloads: readonly Buffer[], pick: number): Buffer {
  const index = pick % (payloads.length * 2);
  return payloads[index < payloads.length ? index : index % 2]!;
}

// ---------------------------------------------------------------------------------------------

/**
 * A well-formed request (nested within the limit) is decoded, never refused — refusing it would lose
 * an application's spans — and every span in it is either kept or counted as rejected.
 */
function expectEverySpanAccounted(decoded: ReturnType<typeof decodeChecked>, request: Parameters<typeof spansOf>[0]): void {
  expect(decoded, 'a well-formed request was refused').toBeDefined();
  const sent = spansOf(request);
  expect(decoded!.spans.length + decoded!.rejected).toBe(sent.length);
  expect(decoded!.spans.length).toBe(sent.filter(hasUsableIds).length);
}

describe('OTLP decoders under fuzzing (property)', () => {
  it(
    'decode every well-formed protobuf request, whatever its values, accounting for every span',
    () => {
      fc.assert(
        fc.property(exportRequest, (request) => {
          expectEverySpanAccounted(decodeChecked('protobuf, structure-aware', 'protobuf', encodeTraceRequest(request)), request);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'decode every well-formed OTLP/JSON request, in any of the styles exporters write, accounting for every span',
    () => {
      fc.assert(
        fc.property(exportRequest, jsonStyle, (request, style) => {
          expectEverySpanAccounted(
            decodeChecked('json, structure-aware', 'json', Buffer.from(JSON.stringify(toJsonRequest(request, style)))),
            request,
          );
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'decode or refuse OTLP/JSON whose parts are replaced by any JSON value',
    () => {
      fc.assert(
        fc.property(
          exportRequest,
          jsonStyle,
          fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 4 }),
          (request, style, replacements) => {
            const json = toJsonRequest(request, style);
            for (const [pick, replacement] of replacements) {
              const places = jsonPlaces(json);
              if (places.length === 0) break;
              const { parent, key } = places[pick % places.length]!;
              (parent as Record<string | number, unknown>)[key] = replacement;
            }
            decodeChecked('json, parts replaced', 'json', Buffer.from(JSON.stringify(json)));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'decode or refuse mutations of real exporter payloads in protobuf: fields changed, duplicated, deleted, lengths corrupted, bytes flipped',
    () => {
      fc.assert(
        fc.property(
          fc.nat(),
          fc.array(fieldMutation, { maxLength: 3 }),
          // Most inputs keep their framing, so the decoder gets past it into the values.
          fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: lengthCorruption }),
          fc.oneof(
            { weight: 1, arbitrary: fc.constant([]) },
            { weight: 1, arbitrary: fc.array(byteMutation, { minLength: 1, maxLength: 3 }) },
          ),
          (pick, fieldMutations, corruption, byteMutations) => {
            const original = realPayload(corpus.protobuf, pick);
            const fields = cloneFields(parseFields(original) ?? []);
            for (const mutation of fieldMutations) applyFieldMutation(fields, mutation);
            let body = serialize(fields, corruption);
            for (const mutation of byteMutations) body = applyByteMutation(body, mutation);
            decodeChecked('protobuf, mutated SDK payloads', 'protobuf', body);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'decode or refuse mutations of real exporter payloads in JSON: bytes flipped, inserted, deleted, invalid UTF-8, truncation',
    () => {
      fc.assert(
        fc.property(fc.nat(), fc.array(byteMutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
          let body = realPayload(corpus.json, pick);
          for (const mutation of mutations) body = applyByteMutation(body, mutation);
          decodeChecked('json, mutated SDK payloads', 'json', body);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuse or decode random bytes, random protobuf fields and random text',
    () => {
      /** Fields with any number and wire type, nested: reaches deeper into the decoder than plain noise. */
      const { fields: randomFields } = fc.letrec<{ fields: WireField[]; field: WireField }>((tie) => ({
        fields: fc.array(tie('field'), { maxLength: 5 }),
        field: fc.oneof(
          { depthSize: 'small', maxDepth: 6 },
          fc
            .record({ field: fc.integer({ min: 1, max: 20 }), wireType: fc.constantFrom(0, 1, 5), bytes: fc.constant(new Uint8Array()) })
            .map((field): WireField => ({
              ...field,
              bytes:
                field.wireType === 0
                  ? writeVarint(BigInt(field.field) * 0x123456789n)
                  : new Uint8Array(field.wireType === 1 ? 8 : 4).fill(field.field),
            })),
          fc.record({ field: fc.integer({ min: 1, max: 20 }), wireType: fc.constant(2), bytes: fc.uint8Array({ maxLength: 24 }) }),
          fc.record({
            field: fc.integer({ min: 1, max: 20 }),
            wireType: fc.constant(2),
            bytes: fc.constant(new Uint8Array()),
            children: tie('fields') as fc.Arbitrary<WireField[]>,
          }),
        ),
      }));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ encoding: 'protobuf' as const, body: Buffer.from(bytes) })),
            randomFields.map((fields) => ({ encoding: 'protobuf' as const, body: serialize(fields) })),
            fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ encoding: 'json' as const, body: Buffer.from(bytes) })),
            fc.string({ unit: 'binary', maxLength: 256 }).map((text) => ({ encoding: 'json' as const, body: Buffer.from(text) })),
            fc.json({ maxDepth: 4 }).map((text) => ({ encoding: 'json' as const, body: Buffer.from(text) })),
          ),
          ({ encoding, body }) => {
            decodeChecked(`${encoding}, random`, encoding, body);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it('refuse values nested past the depth limit with a coded error, in both encodings', () => {
    // Not fuzzed, but the boundary the deep-nesting inputs above rely on: past 32 levels is refused.
    for (const body of corpus.protobuf.slice(4, 7)) expect(decodeChecked('protobuf, deep nesting', 'protobuf', body)).toBeUndefined();
    for (const body of corpus.json.slice(4)) expect(decodeChecked('json, deep nesting', 'json', body)).toBeUndefined();
    expect(decodeChecked('protobuf, deep nesting', 'protobuf', corpus.protobuf[2]!)).toBeDefined();
  });
});
