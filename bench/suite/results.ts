/**
 * How the scenarios of the benchmark suite report: each figure is one row — its value, the baseline
 * measured in the same run and their ratio, and the target it is held to — appended as a JSON line
 * to the file `bench/run.mjs` names (`LLMMON_BENCH_RESULTS`), which prints them as one table.
 */
import { appendFileSync } from 'node:fs';
import { percentile as percentileOfSorted } from '../support/receiver-process.js';

/** One figure of the suite. */
export interface BenchRow {
  /** The scenario it belongs to, e.g. `live latency`. */
  readonly scenario: string;
  /** What was measured, e.g. `stage start → WebSocket, 100 sessions, p99`. */
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** What the same run measured to compare with, and its value (same unit). */
  readonly baseline?: { readonly label: string; readonly value: number };
  /** The target, in words (`≤ 50 ms`), and whether the value meets it. */
  readonly target?: { readonly text: string; readonly met: boolean };
}

/** True for a smoke run (`pnpm bench --quick`): every scenario runs, briefly; figures mean little. */
export const QUICK = process.env.LLMMON_BENCH_QUICK === '1';

/** Records a row for the runner's table (and prints it, for a scenario run on its own). */
export function report(row: BenchRow): void {
  const file = process.env.LLMMON_BENCH_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
  else console.log(JSON.stringify(row));
}

/** The `p`-th percentile (0–100) of `values` in any order, by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}
