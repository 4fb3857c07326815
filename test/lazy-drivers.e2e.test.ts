/**
 * The receiver loads a store driver or the Redis client only when its configuration names one: a
 * receiver on the memory store loads none of `better-sqlite3`, `pg` and `ioredis`, and one on SQLite
 * loads `better-sqlite3` alone. This is what keeps the idle footprint down (about 20 MB, see
 * docs/benchmarks.md). Each receiver runs in a fresh Node process, so nothing another test loaded
 * counts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const RECEIVER = fileURLToPath(new URL('../packages/receiver/dist/index.js', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'llm-monitor-lazy-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The optional packages a receiver on `storageUrl` has loaded once it listens. */
async function driversLoadedWith(storageUrl: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const { buildReceiver } = await import(${JSON.stringify(RECEIVER)});
    const receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: ${JSON.stringify(storageUrl)}, logLevel: 'silent' });
    await receiver.listen();
    const loaded = new Set();
    for (const path of Object.keys(createRequire(import.meta.url).cache)) {
      const match = /node_modules\\/(better-sqlite3|pg|ioredis)\\//.exec(path);
      if (match) loaded.add(match[1]);
    }
    await receiver.close();
    process.stdout.write(JSON.stringify([...loaded].sort()));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  return JSON.parse(stdout) as string[];
}

describe('optional drivers', () => {
  it('are not loaded by a receiver on the memory store', async () => {
    expect(await driversLoadedWith('memory:')).toEqual([]);
  });

  it('load only the SQLite driver for a receiver on SQLite', async () => {
    expect(await driversLoadedWith(`sqlite:${join(directory, 'history.db')}`)).toEqual(['better-sqlite3']);
  });
});
