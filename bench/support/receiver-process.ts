/**
 * What the benchmarks that run a real `llm-monitor` share: starting it as a child process (the banner
 * parsed as test/support does), what /proc says of it, offsets for patching ids into a request
 * template, and percentiles.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const BANNER = /web monitor on (http:\/\/[^\s]+?)\/ .*OTLP\/HTTP on (http:\/\/[^\s]+)/;

/** A running receiver process. */
export interface ReceiverProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly apiUrl: string;
  readonly otlpUrl: string;
  /** What it printed after its banner (the banner's own line about history left out). */
  logged(): string[];
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Node's arguments for a receiver profiled under `--cpu-prof` when `LLMMON_BENCH_CPU_PROF_DIR` names
 * a directory (its profile written there as `<name>.cpuprofile` when it exits); none otherwise.
 */
export function cpuProfileArgs(name: string): string[] {
  const directory = process.env.LLMMON_BENCH_CPU_PROF_DIR;
  if (!directory) return [];
  mkdirSync(directory, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', resolve(directory), '--cpu-prof-name', `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`];
}

/** Starts `node [nodeArgs] bin --port 0 --otlp-port 0 --log-level warn [args]`; resolves once it serves. */
export function startReceiverProcess(
  bin: string,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, [
    ...nodeArgs,
    bin,
    '--port',
    '0',
    '--otlp-port',
    '0',
    '--otlp-grpc-port',
    '0',
    '--log-level',
    'warn',
    ...args,
  ]);
  let output = '';
  let bannerEnd = -1;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (bannerEnd >= 0) return;
      const match = BANNER.exec(output);
      if (!match) return;
      bannerEnd = output.indexOf('\n', match.index) + 1;
      resolve({
        child,
        pid: child.pid!,
        apiUrl: match[1]!,
        otlpUrl: match[2]!,
        logged: () =>
          output
            .slice(bannerEnd)
            .split('\n')
            .filter((line) => line.trim() !== '' && !line.startsWith('llm-monitor: history in')),
        alive,
        stop: async (graceMs = 15_000) => {
          if (!alive()) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`${bin} ${args.join(' ')} exited with ${code ?? signal}:\n${output}`)));
  });
}

/** Resident set size of `pid` in MB, from /proc (undefined where there is none). */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * Time the main thread of `pid` has spent on a CPU and waiting for one, in seconds (Linux
 * schedstat). A slow probe with the main thread waiting for a CPU means a busy machine, one with it
 * on a CPU means a blocked event loop.
 */
export function mainThreadTimes(pid: number): { onCpu: number; waiting: number } | undefined {
  try {
    const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return onCpu === undefined || waiting === undefined ? undefined : { onCpu: onCpu / 1e9, waiting: waiting / 1e9 };
  } catch {
    return undefined;
  }
}

/** Clock ticks per second, the unit of the CPU times in /proc. */
const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, every thread) process `pid` has used, from /proc. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Offsets just past every occurrence of `mark` in `template` (where ids are patched in). */
export function offsetsAfter(template: Buffer, mark: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = template.indexOf(mark); at !== -1; at = template.indexOf(mark, at + mark.length)) offsets.push(at + mark.length);
  return offsets;
}

/** The value at percentile `p` (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Runs a plain-JavaScript load or application script in a process of its own with its one JSON
 * argument, and resolves with the JSON it prints once it exits 0 (else rejects with its stderr).
 */
export function runJsonScript<T>(script: string, argument: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(argument)]);
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(output) as T) : reject(new Error(`${script} exited ${code}: ${errors}`)),
    );
  });
}
