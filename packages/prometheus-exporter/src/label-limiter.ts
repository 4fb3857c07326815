/**
 * Bounded label cardinality: each label keeps at most a configured number of distinct values; later
 * new values are reported as `other`, and every such fold is counted, so dashboards stay fast and the
 * overflow is visible instead of silent.
 */

/** The value new label values fold into past the limit. */
export const OTHER = 'other';

/** Keeps the distinct values of each label within a limit. */
export class LabelLimiter {
  readonly #maxValues: number;
  readonly #seen = new Map<string, Set<string>>();
  readonly #onOverflow: (label: string) => void;

  constructor(maxValues: number, onOverflow: (label: string) => void) {
    this.#maxValues = maxValues;
    this.#onOverflow = onOverflow;
  }

  /** `value` if `label` has room for it (or has it already), else {@link OTHER}. */
  value(label: string, value: string): string {
    let seen = this.#seen.get(label);
    if (!seen) this.#seen.set(label, (seen = new Set()));
    if (seen.has(value)) return value;
    if (seen.size < this.#maxValues) {
      seen.add(value);
      return value;
    }
    this.#onOverflow(label);
    return OTHER;
  }
}
