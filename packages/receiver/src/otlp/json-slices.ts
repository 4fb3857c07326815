/**
 * `JSON.parse` of an OTLP/JSON export request, in slices.
 *
 * `JSON.parse` cannot yield: a 20 MiB body holds the event loop for about 100 ms, during which no
 * health check or live event is answered. A large body is therefore walked here instead, down to
 * its spans (`resourceSpans[].scopeSpans[].spans[]`): each span, resource and scope, and any other
 * member, is handed to `JSON.parse` on its own, and the walk yields between slices. The result is
 * what `JSON.parse` of the whole body gives, and the same errors (`SyntaxError`, `RangeError`) for a
 * body that is not JSON. Written here because no library does this and stays close to `JSON.parse`'s
 * speed; the measurement that asked for it is in docs/architecture.md.
 */
import type { Steps } from './sliced-work.js';

/** Bodies shorter than this (in characters) are parsed whole: at most a few milliseconds. */
export const SLICED_JSON_THRESHOLD = 1024 * 1024;
/** Characters parsed between two yields (about a millisecond of `JSON.parse`). */
const CHARACTERS_PER_STEP = 256 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Members whose values the walk descends into, by the level they are found at. */
const RESOURCE_SPANS_KEYS = new Set(['resourceSpans', 'resource_spans']);
const SCOPE_SPANS_KEYS = new Set(['scopeSpans', 'scope_spans']);
const SPANS_KEYS = new Set(['spans']);

/** Sets a member as `JSON.parse` would: `__proto__` included, as an own property. */
function setMember(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A position in the text, with the means to step over JSON without building it. */
class Walker {
  readonly #text: string;
  position = 0;
  /** Characters handed to `JSON.parse` since the last yield. */
  parsedSinceYield = 0;

  constructor(text: string) {
    this.#text = text;
  }

  fail(what: string): never {
    throw new SyntaxError(`${what} in JSON at position ${this.position}`);
  }

  skipWhitespace(): void {
    const text = this.#text;
    while (this.position < text.length && isWhitespace(text.charCodeAt(this.position))) this.position += 1;
  }

  peek(): number {
    return this.#text.charCodeAt(this.position);
  }

  atEnd(): boolean {
    return this.position >= this.#text.length;
  }

  expect(code: number, what: string): void {
    this.skipWhitespace();
    if (this.peek() !== code) this.fail(`Expected ${what}`);
    this.position += 1;
  }

  /** Steps over a string starting at the current quote; returns where it ends (after the quote). */
  #stringEnd(start: number): number {
    const text = this.#text;
    let at = start + 1;
    for (;;) {
      const quote = text.indexOf('"', at);
      if (quote === -1) {
        this.position = text.length;
        this.fail('Unterminated string');
      }
      // A quote preceded by an odd number of backslashes is escaped.
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
      if (backslashes % 2 === 0) return quote + 1;
      at = quote + 1;
    }
  }

  /** Steps over one value (without checking it); returns its text's end. */
  #valueEnd(): number {
    const text = this.#text;
    let at = this.position;
    const first = text.charCodeAt(at);
    if (first === QUOTE) return this.#stringEnd(at);
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      let depth = 0;
      while (at < text.length) {
        const code = text.charCodeAt(at);
        if (code === QUOTE) {
          at = this.#stringEnd(at);
          continue;
        }
        if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth += 1;
        else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
          depth -= 1;
          if (depth === 0) return at + 1;
        }
        at += 1;
      }
      this.position = text.length;
      this.fail('Unexpected end');
    }
    // A number or a literal: up to the next delimiter; JSON.parse judges it.
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === COMMA || code === CLOSE_OBJECT || code === CLOSE_ARRAY || isWhitespace(code)) break;
      at += 1;
    }
    if (at === this.position) this.fail('Unexpected token');
    return at;
  }

  /** Parses the next value whole with `JSON.parse`. */
  parseValue(): unknown {
    this.skipWhitespace();
    const start = this.position;
    const end = this.#valueEnd();
    this.position = end;
    this.parsedSinceYield += end - start;
    return JSON.parse(this.#text.slice(start, end)) as unknown;
  }

  /** Reads an object member's key and the colon after it. */
  key(): string {
    this.skipWhitespace();
    if (this.peek() !== QUOTE) this.fail('Expected a property name');
    const start = this.position;
    this.position = this.#stringEnd(start);
    const key = JSON.parse(this.#text.slice(start, this.position)) as string;
    this.expect(COLON, "':' after a property name");
    return key;
  }

  /** After a member or element: true when another follows (a comma), false at the closing `close`. */
  next(close: number, what: string): boolean {
    this.skipWhitespace();
    const code = this.peek();
    this.position += 1;
    if (code === COMMA) return true;
    if (code === close) return false;
    this.position -= 1;
    return this.fail(`Expected ',' or '${what}'`);
  }

  /** True when the value at the current position is an empty container closed by `close` (and steps over it). */
  emptyContainer(close: number): boolean {
    this.skipWhitespace();
    if (this.peek() !== close) return false;
    this.position += 1;
    return true;
  }
}

type ElementSteps = (walker: Walker) => Steps<unknown>;

/** Whether the next value opens an object or an array, without stepping over it. */
function opens(walker: Walker, code: number): boolean {
  walker.skipWhitespace();
  return walker.peek() === code;
}

/** Parses an object, descending into the members `descend` names; other members are parsed whole. */
function* objectSteps(walker: Walker, descend: ReadonlyMap<ReadonlySet<string>, ElementSteps>): Steps<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  walker.expect(OPEN_OBJECT, "'{'");
  if (walker.emptyContainer(CLOSE_OBJECT)) return result;
  do {
    const key = walker.key();
    let elementSteps: ElementSteps | undefined;
    for (const [keys, steps] of descend) if (keys.has(key)) elementSteps = steps;
    if (elementSteps && opens(walker, OPEN_ARRAY)) setMember(result, key, yield* arraySteps(walker, elementSteps));
    else setMember(result, key, walker.parseValue());
    if (walker.parsedSinceYield >= CHARACTERS_PER_STEP) {
      walker.parsedSinceYield = 0;
      yield;
    }
  } while (walker.next(CLOSE_OBJECT, '}'));
  return result;
}

/** Parses an array whose elements `elementSteps` parses (elements that are no object are parsed whole). */
function* arraySteps(walker: Walker, elementSteps: ElementSteps): Steps<unknown[]> {
  const result: unknown[] = [];
  walker.expect(OPEN_ARRAY, "'['");
  if (walker.emptyContainer(CLOSE_ARRAY)) return result;
  do {
    result.push(opens(walker, OPEN_OBJECT) ? yield* elementSteps(walker) : walker.parseValue());
    if (walker.parsedSinceYield >= CHARACTERS_PER_STEP) {
      walker.parsedSinceYield = 0;
      yield;
    }
  } while (walker.next(CLOSE_ARRAY, ']'));
  return result;
}

/** A span is parsed whole: the smallest piece the walk hands to JSON.parse. */
// eslint-disable-next-line require-yield -- an element parser must be a generator; a span needs no steps of its own
function* spanSteps(walker: Walker): Steps<unknown> {
  return walker.parseValue();
}
const SCOPE_SPANS: ReadonlyMap<ReadonlySet<string>, ElementSteps> = new Map([[SPANS_KEYS, spanSteps]]);
const scopeSpansSteps: ElementSteps = (walker) => objectSteps(walker, SCOPE_SPANS);
const RESOURCE_SPANS: ReadonlyMap<ReadonlySet<string>, ElementSteps> = new Map([[SCOPE_SPANS_KEYS, scopeSpansSteps]]);
const resourceSpansSteps: ElementSteps = (walker) => objectSteps(walker, RESOURCE_SPANS);
const REQUEST: ReadonlyMap<ReadonlySet<string>, ElementSteps> = new Map([[RESOURCE_SPANS_KEYS, resourceSpansSteps]]);

/**
 * `JSON.parse(text)` in steps: the same value, or the same kind of error. Bodies shorter than
 * `threshold` characters, and bodies that are not an object, are parsed whole.
 */
export function* parseJsonRequestSteps(text: string, threshold = SLICED_JSON_THRESHOLD): Steps<unknown> {
  if (text.length < threshold) return JSON.parse(text) as unknown;
  const walker = new Walker(text);
  walker.skipWhitespace();
  if (walker.peek() !== OPEN_OBJECT) return JSON.parse(text) as unknown;
  const request = yield* objectSteps(walker, REQUEST);
  walker.skipWhitespace();
  if (!walker.atEnd()) walker.fail('Unexpected non-whitespace character after JSON');
  return request;
}
