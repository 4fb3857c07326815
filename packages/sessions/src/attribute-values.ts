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
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(ATTR_METADATA_PREFIX)) continue;
    // defineProperty, not assignment: a key `__proto__` must stay data, not become the prototype.
    Object.defineProperty(metadata, key.slice(ATTR_METADATA_PREFIX.length), {
      value: decodeJsonString(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return metadata;
}

function decodeJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const first = value.charCodeAt(0);
  // '{' or '[': only then is it worth trying to parse.
  if (first !== 0x7b && first !== 0x5b) return value;
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
  const date = new Date(unixMs);
  return Number.isNaN(date.getTime()) ? EPOCH : date.toISOString();
}

const EPOCH = new Date(0).toISOString();
