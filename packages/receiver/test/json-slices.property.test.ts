/**
 * The sliced JSON parser of large OTLP/JSON bodies gives what `JSON.parse` gives — the same value, or
 * an error of the same class — for request-shaped JSON, for any JSON, and for JSON cut or altered
 * anywhere; and it does yield while it works.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonRequestSteps } from '../src/otlp/json-slices.js';
import { runToEnd } from '../src/otlp/sliced-work.js';
import { asJson, sdkSpans } from './otlp-fixtures.js';

const RUNS = Number(process.env.LLMMON_FUZZ_RUNS ?? 300);

/** The outcome of parsing: the value, or the error's class. */
function outcome(parse: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: parse() };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

/** Both parsers agree on `text` (the sliced one forced to walk even a short text). */
function expectSameAsJsonParse(text: string): void {
  const expected = outcome(() => JSON.parse(text) as unknown);
  const actual = outcome(() => runToEnd(parseJsonRequestSteps(text, 0)));
  expect(actual).toEqual(expected);
  if ('value' in expected && 'value' in actual) expect(JSON.stringify(actual.value)).toBe(JSON.stringify(expected.value));
}

/** JSON text of a value, with whitespace of every allowed kind between tokens now and then. */
const spaced = (value: unknown, indent: number): string =>
  JSON.stringify(value, null, indent === 0 ? undefined : '\t \r\n'.slice(0, indent));

const requestShaped = fc
  .record({
    resource: fc.jsonValue(),
    spans: fc.array(fc.jsonValue(), { maxLength: 6 }),
    scope: fc.jsonValue(),
    extra: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
    snake: fc.boolean(),
  })
  .map(({ resource, spans, scope, extra, snake }) => ({
    ...extra,
    [snake ? 'resource_spans' : 'resourceSpans']: [
      { resource, [snake ? 'scope_spans' : 'scopeSpans']: [{ scope, spans }, { spans: [] }] },
      7,
      null,
    ],
  }));

describe('parseJsonRequestSteps', () => {
  it("gives JSON.parse's value for request-shaped JSON, however spaced", () => {
    fc.assert(
      fc.property(requestShaped, fc.integer({ min: 0, max: 4 }), (request, indent) => expectSameAsJsonParse(spaced(request, indent))),
      { numRuns: RUNS },
    );
  });

  it("gives JSON.parse's value or error for any JSON and any text", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectSameAsJsonParse(JSON.stringify(value))),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.string(), (text) => expectSameAsJsonParse(text)),
      { numRuns: RUNS },
    );
  });

  it('fails where JSON.parse fails on request-shaped JSON cut, altered or extended anywhere', () => {
    fc.assert(
      fc.property(
        requestShaped,
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', '\\', ':', '{', '[', 'x', ' ', '\u0000'),
        fc.constantFrom('cut', 'insert', 'replace'),
        (request, at, piece, how) => {
          const text = JSON.stringify(request);
          const position = at % (text.length + 1);
          const altered =
            how === 'cut'
              ? text.slice(0, position)
              : how === 'insert'
                ? text.slice(0, position) + piece + text.slice(position)
                : text.slice(0, position) + piece + text.slice(position + 1);
          expectSameAsJsonParse(altered);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('parses a real exporter body in slices, yielding between them', async () => {
    const one = JSON.parse(asJson(await sdkSpans()).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    // The same spans many times over: a body of several MiB.
    const spans = Array.from({ length: 6000 }, () => one.resourceSpans[0]!.scopeSpans[0]!.spans).flat();
    const text = JSON.stringify({
      resourceSpans: [{ ...one.resourceSpans[0], scopeSpans: [{ ...one.resourceSpans[0]!.scopeSpans[0], spans }] }],
    });
    expect(text.length).toBeGreaterThan(4 * 1024 * 1024);
    const steps = parseJsonRequestSteps(text);
    let yields = 0;
    let step = steps.next();
    while (!step.done) {
      yields += 1;
      step = steps.next();
    }
    expect(yields).toBeGreaterThan(10);
    expect(step.value).toEqual(JSON.parse(text));
  });
});
