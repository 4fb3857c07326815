/**
 * "Did you mean …?" for a mistyped name (a flag, a config file key): the known name closest to it,
 * when it is close enough that the suggestion helps rather than puzzles.
 */
import { distance } from 'fastest-levenshtein';

/**
 * Most edits a suggestion may be away from what was typed: two for any name (a swapped pair of
 * letters, `--prot` for `--port`, is already two), more for long names, a third of their length
 * (`otlp-max-body-size` for `otlp-max-body-bytes`).
 */
function editsAllowed(known: string): number {
  return Math.max(2, Math.floor(known.length / 3));
}

/**
 * The name of `known` closest to `typed` (case-insensitive Levenshtein distance), or `undefined`
 * when none is close: within {@link editsAllowed} edits, and fewer edits than `typed` has
 * characters, so a one-letter typo of nothing is not matched to some one-letter name. Ties go to
 * the name listed first.
 */
export function closestName(typed: string, known: Iterable<string>): string | undefined {
  const lower = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const edits = distance(lower, name.toLowerCase());
    if (edits < bestDistance && edits <= editsAllowed(name) && edits < typed.length) {
      best = name;
      bestDistance = edits;
    }
  }
  return best;
}
