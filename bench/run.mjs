#!/usr/bin/env node
/**
 * The benchmark suite: runs every scenario of bench/suite (vitest bench, each load from a process
 * of its own), then prints one table — every figure with the baseline measured in the same run, the
 * ratio, and the target — and writes the rows as JSON with the machine they came from.
 *
 *   pnpm bench                       the suite (builds first)
 *   pnpm bench --quick               a smoke run: every scenario, briefly — proves the suite works;
 *                                    its figures mean little and nothing is asserted on them (CI runs it)
 *   pnpm bench --out results.json    where the JSON goes (default bench/results/<date>.json)
 *
 * Exit code: the vitest run's (a scenario that fails to run fails the suite); never a missed target.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  process.stdout.write('Usage: pnpm bench [--quick] [--out FILE]\n');
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), 'llm-monitor-bench-'));
const rowsFile = join(scratch, 'rows.jsonl');
const startedAt = new Date();
const machine = {
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? 'unknown',
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  load_average_at_start: loadavg().map((load) => Math.round(load * 100) / 100),
};

const run = spawnSync('pnpm', ['exec', 'vitest', 'bench', '--run', '--no-file-parallelism', 'bench/suite'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, LLMMON_BENCH_RESULTS: rowsFile, LLMMON_BENCH_QUICK: values.quick ? '1' : '0' },
});
const rows = existsSync(rowsFile)
  ? readFileSync(rowsFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line))
  : [];
rmSync(scratch, { recursive: true, force: true });

/** A number as the table shows it. */
function shown(value, unit) {
  const text = Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 10) / 10);
  return `${text} ${unit}`;
}

const table = rows.map((row) => ({
  scenario: row.scenario,
  figure: row.figure,
  value: shown(row.value, row.unit),
  baseline: row.baseline ? `${shown(row.baseline.value, row.unit)} (${row.baseline.label})` : '',
  ratio: row.baseline && row.baseline.value !== 0 ? `${(row.value / row.baseline.value).toFixed(2)}×` : '',
  target: row.target ? `${row.target.text} ${row.target.met ? 'met' : 'NOT met'}` : '',
}));
const columns = ['scenario', 'figure', 'value', 'baseline', 'ratio', 'target'];
const widths = columns.map((column) => Math.max(column.length, ...table.map((row) => row[column].length)));
const line = (cells) => `| ${cells.map((cell, index) => cell.padEnd(widths[index])).join(' | ')} |`;
process.stdout.write(
  `\nllm-monitor benchmark suite${values.quick ? ' (quick: a smoke run, figures not meaningful)' : ''} — ${machine.cpus} × ${machine.cpu_model}, ${machine.memory_gib} GiB, Node ${machine.node}, load ${machine.load_average_at_start.join(' ')}\n\n`,
);
process.stdout.write(`${line(columns)}\n${line(widths.map((width) => '-'.repeat(width)))}\n`);
for (const row of table) process.stdout.write(`${line(columns.map((column) => row[column]))}\n`);

const out =
  values.out ??
  join(ROOT, 'bench', 'results', `${startedAt.toISOString().slice(0, 19).replaceAll(':', '-')}${values.quick ? '-quick' : ''}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ started_at: startedAt.toISOString(), quick: values.quick, machine, rows }, null, 2)}\n`);
process.stdout.write(`\n${rows.length} figures; results in ${out}\n`);
if (run.status !== 0) process.stderr.write(`the suite's vitest run failed (exit ${run.status ?? run.signal})\n`);
if (rows.length === 0) process.stderr.write('no figure was reported\n');
process.exit(run.status === 0 && rows.length > 0 ? 0 : 1);
