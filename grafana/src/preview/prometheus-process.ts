/** Runs a real Prometheus for the end-to-end tests and the preview pictures of the dashboards. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real Prometheus server (the `prometheus` binary, e.g. Debian's package) on a free loopback port. */
export interface RunningPrometheus {
  readonly url: string;
  /** Runs an instant query; returns the result vector. */
  query(expression: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * Resolves once `url` answers 2xx; throws after `seconds`, or as soon as `gone` names a reason (the
 * process that should answer has exited).
 */
export async function waitUntilOk(url: string, seconds: number, gone: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const reason = gone();
    if (reason) throw new Error(reason);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A TCP port free on loopback at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts Prometheus with `config` (YAML text; `rule_files` may name absolute paths), its data in a
 * temporary directory, and waits until it is ready.
 */
export async function startPrometheus(config: string, flags: readonly string[] = []): Promise<RunningPrometheus> {
  const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-prometheus-'));
  writeFileSync(join(directory, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(directory, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    await waitUntilOk(`${url}/-/ready`, 20, () => (child.exitCode === null ? undefined : `prometheus exited with ${child.exitCode}`));
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}:\n${output}`, { cause: error });
  }
  return {
    url,
    async query(expression) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query ${expression} failed: ${body.error}`);
      return body.data.result;
    },
    stop,
  };
}
