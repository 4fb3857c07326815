import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { ATTR_METADATA_PREFIX } from '@llm-monitor/semconv';

/** Metadata an application attaches to a session or stage: JSON-serialisable values by key. */
export type MonitorMetadata = Readonly<Record<string, unknown>>;

/** OpenTelemetry accepts arrays whose items are all of one primitive type. */
function isPrimitiveArray(value: unknown[]): boolean {
  const kinds = new Set(value.map((item) => typeof item));
  return kinds.size <= 1 && !kinds.has('object') && !kinds.has('function') && !kinds.has('symbol') && !kinds.has('bigint');
}

/**
 * Flattens metadata into `llm_monitor.metadata.<key>` attributes. OpenTelemetry attributes hold only
 * primitives and arrays of one primitive type, so anything else travels as a JSON string.
 */
export function metadataAttributes(metadata: MonitorMetadata | undefined): Attributes {
  const attributes: Attributes = {};
  if (!metadata) return attributes;
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined || value === null) continue;
    const name = ATTR_METADATA_PREFIX + key;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[name] = value;
    } else if (Array.isArray(value) && isPrimitiveArray(value)) {
      attributes[name] = value as AttributeValue;
    } else {
      attributes[name] = safeJson(value);
    }
  }
  return attributes;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Cycles or BigInt: a readable string beats losing the key.
    return String(value);
  }
}

/**
 * The first `maxLength` characters of `value` (never splitting a surrogate pair), or `undefined` when
 * off or absent. Callers in plain JavaScript may pass anything: non-strings are shown as text.
 */
export function preview(value: unknown, maxLength: number): string | undefined {
  if (value === undefined || value === null || maxLength <= 0) return undefined;
  const text = typeof value === 'string' ? value : typeof value === 'object' ? safeJson(value) : String(value);
  if (text.length <= maxLength) return text;
  let end = maxLength;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Message and type of anything thrown, for span status and `error.type`. */
export function errorDetails(error: unknown): { message: string; type: string } {
  if (error instanceof Error) return { message: error.message || error.name, type: error.name };
  return { message: String(error), type: typeof error };
}
