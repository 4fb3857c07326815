import { ATTR_METADATA_PREFIX } from '@llm-monitor/semconv';
import type { Attributes } from './span-record.js';
import type { Metadata } from './model.js';

/**
 * Collects `llm_monitor.metadata.<key>` attributes into a metadata object. The instrumentation
 * JSON-encodes object values (OpenTelemetry attributes are flat), so strings that hold a JSON object
 * or array are decoded again.
 */
export function metadataFromAttributes(attributes: Attributes): Metadata {
  const metadata: Metadata = {};
  // One prefix, checked inline: this runs for the root and every stage on each rebuild.
  for (const key in attributes) {
    if (key.startsWith(ATTR_METADATA_PREFIX)) putMetadata(metadata, key.slice(ATTR_METADATA_PREFIX.length), attributes[key]);
  }
  return metadata;
}

/**
 * Collects the attributes under any of `prefixes` into a metadata object, keyed without the prefix
 * (JSON strings decoded as {@link metadataFromAttributes} does).
 */
export function metadataWithPrefixes(attributes: Attributes, prefixes: readonly string[]): Metadata {
  const metadata: Metadata = {};
  for (const key in attributes) {
    for (const prefix of prefixes) {
      if (!key.startsWith(prefix)) continue;
      putMetadata(metadata, key.slice(prefix.length), attributes[key]);
      break;
    }
  }
  return metadata;
}

/** Sets one metadata entry, its JSON text decoded. */
function putMetadata(metadata: Metadata, key: string, value: unknown): void {
  // defineProperty, not assignment: a key `__proto__` must stay data, not become the prototype.
  Object.defineProperty(metadata, key, { value: decodeJsonString(value), enumerable: true, writable: true, configurable: true });
}

/** Longest JSON metadata string decoded; longer ones stay strings. */
const MAX_JSON_LENGTH = 64 * 1024;
/** Deepest JSON metadata decoded; deeper ones stay strings (so serialising them back cannot overflow). */
const MAX_JSON_DEPTH = 32;

/** How deeply brackets nest in `text`, ignoring those inside strings; stops counting past the limit. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
      if (deepest > MAX_JSON_DEPTH) return deepest;
    } else if (code === 0x7d || code === 0x5d) depth -= 1;
  }
  return deepest;
}

function decodeJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const first = value.charCodeAt(0);
  // '{' or '[': only then is it worth trying to parse; too long or too deep stays text.
  if (first !== 0x7b && first !== 0x5b) return value;
  if (value.length > MAX_JSON_LENGTH || nestingDepth(value) > MAX_JSON_DEPTH) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * ISO 8601 text of a time given in milliseconds since the epoch. A time no date can hold becomes the
 * epoch rather than an exception: one bad span must not stop its session from being rebuilt.
 */
export function isoTime(unixMs: number): string {
  // The times of one session fall within a few seconds: the text up to the second is made once per
  // second and reused (every stage, step and call of every rebuild is formatted; measured on the demo
  // workload, `toISOString` was the largest single cost of deriving a session).
  // A Date keeps whole milliseconds, cut toward zero.
  const whole = Math.trunc(unixMs);
  const second = Math.floor(whole / 1000);
  if (second === lastSecond && Number.isFinite(unixMs)) return `${lastSecondText}.${String(whole - second * 1000).padStart(3, '0')}Z`;
  const date = new Date(unixMs);
  if (Number.isNaN(date.getTime())) return EPOCH;
  const text = date.toISOString();
  lastSecond = second;
  lastSecondText = text.slice(0, -5);
  return text;
}

/** The second {@link isoTime} formatted last, and its text without milliseconds. */
let lastSecond = NaN;
let lastSecondText = '';

const EPOCH = new Date(0).toISOString();
