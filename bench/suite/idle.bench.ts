/**
 * An idle receiver: how long `llm-monitor` takes from its process starting to serving (the banner,
 * printed once every server listens), and its resident memory after a few idle seconds — default
 * settings, history in a fresh SQLite file. Baseline: a minimal Fastify server (one route) started
 * and measured the same way, in the same run (bench/suite/minimal-fastify.mjs). Medians of a few
 * starts each.
 *
 *   pnpm exec vitest bench --run bench/suite/idle.bench.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { residentMemoryOf } from '../../test/support/process-figures.js';
import { percentile, QUICK, report } from './results.js';

const RECEIVER_BIN = fileURLToPath(new URL('../../packages/receiver/bin/llm-monitor.js', import.meta.url));
const MINIMAL = fileURLToPath(new URL('./minimal-fastify.mjs', import.meta.url));
const STARTS = QUICK ? 1 : 5;
const IDLE_MS = QUICK ? 500 : 3000;
const MIB = 1024 * 1024;

/** Starts `args`, resolves with ms until `ready` matched its output and its RSS after IDLE_MS idle. */
function startAndMeasure(args: string[], ready: RegExp): Promise<{ readyMs: number; rss: number }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, LLM_MONITOR_LOG_LEVEL: 'warn' } });
    let output = '';
    let readyMs: number | undefined;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (readyMs !== undefined || !ready.test(output)) return;
      readyMs = performance.now() - startedAt;
      setTimeout(() => {
        const rss = residentMemoryOf(child.pid!).current;
        child.kill('SIGKILL');
        resolve({ readyMs: readyMs!, rss });
      }, IDLE_MS);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      if (readyMs === undefined) reject(new Error(`${args.join(' ')} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

describe('idle receiver', () => {
  bench(
    'start and idle memory against a minimal Fastify server',
    async () => {
      const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-idle-'));
      try {
        const receiver: { readyMs: number; rss: number }[] = [];
        const minimal: { readyMs: number; rss: number }[] = [];
        for (let i = 0; i < STARTS; i += 1) {
          minimal.push(await startAndMeasure([MINIMAL], /^ready /m));
          receiver.push(
            await startAndMeasure(
              [
                RECEIVER_BIN,
                '--port',
                '0',
                '--otlp-port',
                '0',
                '--otlp-grpc-port',
                '0',
                '--storage-url',
                `sqlite:${join(directory, `h${i}.db`)}`,
              ],
              /web monitor on http/,
            ),
          );
        }
        const median = (runs: { readyMs: number; rss: number }[], key: 'readyMs' | 'rss'): number =>
          percentile(
            runs.map((run) => run[key]),
            50,
          );
        const rss = median(receiver, 'rss') / MIB;
        const rssBaseline = median(minimal, 'rss') / MIB;
        const ready = median(receiver, 'readyMs');
        const readyBaseline = median(minimal, 'readyMs');
        console.log(
          `idle: receiver ready in ${ready.toFixed(0)} ms, RSS ${rss.toFixed(1)} MiB; minimal Fastify ${readyBaseline.toFixed(0)} ms, ${rssBaseline.toFixed(1)} MiB`,
        );
        report({
          scenario: 'idle receiver',
          figure: 'RSS after idling, default settings',
          value: Math.round(rss * 10) / 10,
          unit: 'MiB',
          baseline: { label: 'minimal Fastify server', value: Math.round(rssBaseline * 10) / 10 },
          target: { text: '≤ 1.2× baseline', met: rss <= rssBaseline * 1.2 },
        });
        report({
          scenario: 'idle receiver',
          figure: 'process start → serving',
          value: Math.round(ready),
          unit: 'ms',
          baseline: { label: 'minimal Fastify server', value: Math.round(readyBaseline) },
          target: { text: '≤ 2× baseline', met: ready <= readyBaseline * 2 },
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
