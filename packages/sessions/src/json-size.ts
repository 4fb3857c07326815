/**
 * What a value will cost as JSON, estimated without serialising it: the REST lists and the live
 * snapshot stop adding sessions before an answer grows past a bound, instead of failing to serialise
 * (a string longer than V8 allows) or costing a slow client hundreds of megabytes.
 */

/** Deepest nesting walked; a session nests about six levels, metadata at most 32 more. */
const MAX_DEPTH = 64;

/**
 * Estimated length of `JSON.stringify(value)` in characters: exact for text without escapes and for
 * integers, a little under for text that needs escaping. Stops counting once past `limit`.
 */
export function approximateJsonLength(value: unknown, limit = Infinity): number {
  return measure(value, limit, 0);
}

function measure(value: unknown, limit: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object':
      break;
    default:
      return 4;
  }
  if (value === null) return 4;
  if (depth > MAX_DEPTH) return limit;
  // Brackets, plus a comma before every entry but the first.
  let total = 1;
  if (Array.isArray(value)) {
    for (const item of value) {
      total += measure(item, limit, depth + 1) + 1;
      if (total > limit) return total;
    }
    return Math.max(2, total);
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    total += key.length + 4 + measure((value as Record<string, unknown>)[key], limit, depth + 1);
    if (total > limit) return total;
  }
  return Math.max(2, total);
}

/**
 * The longest prefix of `items` whose JSON stays within `maxLength` characters (at least one item, so
 * a caller always makes progress), and whether items were left out.
 */
export function withinJsonLength<T>(items: readonly T[], maxLength: number): { items: T[]; cut: boolean } {
  const kept: T[] = [];
  // Brackets, plus a comma before every item but the first.
  let total = 1;
  for (const item of items) {
    total += approximateJsonLength(item, maxLength) + 1;
    if (total > maxLength && kept.length > 0) return { items: kept, cut: true };
    kept.push(item);
  }
  return { items: kept, cut: false };
}
