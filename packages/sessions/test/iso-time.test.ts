/** `isoTime` reuses the text of the last second it formatted: it must still say what `toISOString` says. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/attribute-values.js';

const reference = (ms: number): string => (Number.isNaN(new Date(ms).getTime()) ? new Date(0).toISOString() : new Date(ms).toISOString());

describe('isoTime', () => {
  it('formats any time as toISOString does, whatever it formatted before', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.double({ min: -1e13, max: 2.6e14, noNaN: true }),
            fc.integer({ min: 1_700_000_000_000, max: 1_700_000_005_000 }).map((ms) => ms + 0.5),
            fc.constantFrom(NaN, Infinity, -Infinity, 0, 999.999, 1000),
          ),
          { maxLength: 50 },
        ),
        (times) => {
          for (const ms of times) expect(isoTime(ms)).toBe(reference(ms));
        },
      ),
      { numRuns: 500 },
    );
  });
});
