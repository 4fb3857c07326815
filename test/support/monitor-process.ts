/**
 * The `llm-monitor` command as a real child process, as a user runs it: tests that must see the
 * process itself survive (or exit) use this rather than an in-process receiver.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** The command's entry point in this checkout. */
export const MONITOR_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
/** Flags for a monitor on free ports (API, OTLP/HTTP, OTLP/gRPC) that logs only warnings. */
export const FREE_PORTS_QUIET = ['--port', '0', '--otlp-port', '0', '--otlp-grpc-port', '0', '--log-level', 'warn'] as const;
const BANNER = /web monitor on (http:\/\/[^\s]+?)\/ .*OTLP\/HTTP on (http:\/\/[^\s]+)/;

/** A running `llm-monitor`. */
export interface MonitorProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly apiUrl: string;
  readonly otlpUrl: string;
  /** Everything it printed so far. */
  output(): string;
  /** True while the process runs. */
  alive(): boolean;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Stops every process started by this file's tests after each test. */
export function stopMonitorsAfterEach(): void {
  afterEach(async () => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    running.clear();
  });
}

/**
 * Starts `llm-monitor` with `args` (and `nodeArgs` for node itself); resolves once it serves. `bin` is
 * the command's entry point: this checkout's by default, or one installed from the packed tarball.
 */
export function startMonitor(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
  bin = MONITOR_BIN,
): Promise<MonitorProcess> {
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { env: { ...process.env, ...env } });
  running.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = BANNER.exec(output);
      if (match) {
        resolve({
          child,
          apiUrl: match[1]!,
          otlpUrl: match[2]!,
          output: () => output,
          alive: () => child.exitCode === null && child.signalCode === null,
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`llm-monitor exited with ${code ?? signal}:\n${output}`)));
  });
}
