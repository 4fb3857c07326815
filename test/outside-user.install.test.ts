/**
 * The outside user: everything a newcomer does with llm-monitor outside this repository, for real.
 * Every public package is packed (`scripts/pack-all.mjs`, as `pnpm pack:all` does), the tarballs are
 * installed with plain npm into an empty application together with the `openai` client, the receiver is
 * started from the installed tarball (with its embedded SQLite store and the demo workload), and the
 * README's example runs exactly as written, against a local stand-in for the OpenAI API. The session
 * it made must then be on the receiver's REST API.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import { startOpenAiStandIn } from './support/openai-stand-in.js';
import { until, waitFor } from './support/wait.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The README's example: the first js block after the marker the README puts above it. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const marker = readme.indexOf('<!-- readme-example');
  if (marker < 0) throw new Error('README.md has no <!-- readme-example --> marker');
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(marker));
  if (!block) throw new Error('no ```js block after the readme-example marker in README.md');
  return block[1]!;
}

/** The `openai` version the workspace tests with (its catalogue entry), so npm installs a known one. */
function catalogueVersion(name: string): string {
  const workspace = parseYaml(readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')) as { catalog: Record<string, string> };
  const range = workspace.catalog[name];
  if (!range) throw new Error(`${name} is not in the pnpm-workspace.yaml catalogue`);
  return range;
}

/** Public workspace packages, by name, from their package.json files. */
async function publicPackages(): Promise<Map<string, { path: string; private: boolean }>> {
  const { stdout } = await run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: ROOT });
  const listed = JSON.parse(stdout) as { name: string; path: string; private?: boolean }[];
  return new Map(listed.map((entry) => [entry.name, { path: entry.path, private: entry.private === true }]));
}

let work: string;
let app: string;
let tarballs: string[];
const installedBin = (): string => join(app, 'node_modules', '@llm-monitor', 'receiver', 'bin', 'llm-monitor.js');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'llm-monitor-outside-'));
  app = join(work, 'my-app');
  const packed = await run(process.execPath, [join(ROOT, 'scripts', 'pack-all.mjs'), join(work, 'packs')], { cwd: ROOT });
  tarballs = packed.stdout.trim().split('\n');
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'my-app', private: true, type: 'module' }, null, 2)}\n`);
  // Plain npm, as a user runs it. JOBS=max only lets node-gyp compile better-sqlite3 on every core.
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, `openai@${catalogueVersion('openai')}`], {
    cwd: app,
    env: { ...process.env, JOBS: 'max' },
    maxBuffer: 64 * 1024 * 1024,
  });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

stopMonitorsAfterEach();

describe('an application outside the repository', () => {
  it('gets a tarball of every public package, none depending on a private package or a workspace range', async () => {
    const workspace = await publicPackages();
    const expected = [...workspace]
      .filter(([, entry]) => !entry.private)
      .map(([name]) => name)
      .sort();
    const manifests = await Promise.all(
      tarballs.map(
        async (tarball) => JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as Record<string, unknown>,
      ),
    );
    expect(manifests.map((manifest) => manifest.name).sort()).toEqual(expected);
    for (const manifest of manifests) {
      for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
        for (const [dependency, range] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
          expect(range, `${String(manifest.name)} ${field} ${dependency}`).not.toMatch(/^(workspace|catalog):/);
          if (workspace.has(dependency))
            expect(workspace.get(dependency)!.private, `${String(manifest.name)} depends on the private ${dependency}`).toBe(false);
        }
      }
    }
  });

  it('runs the receiver from npm: `llm-monitor --version` and `npx @llm-monitor/receiver --version` print the version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'packages', 'receiver', 'package.json'), 'utf8')) as { version: string };
    const direct = await run(join(app, 'node_modules', '.bin', 'llm-monitor'), ['--version'], { cwd: app });
    expect(direct.stdout.trim()).toBe(version);
    const npx = await run('npx', ['@llm-monitor/receiver', '--version'], { cwd: app });
    expect(npx.stdout.trim()).toBe(version);
  });

  it('runs the README example as written against the installed receiver, and finds its session over REST', async () => {
    const answer =
      'OpenTelemetry collects traces, metrics and logs without tying you to a vendor, and llm-monitor shows its LLM sessions as they run.';
    const openai = await startOpenAiStandIn({ streamedReply: answer });
    try {
      const monitor = await startMonitor(
        [
          '--port',
          '0',
          '--otlp-port',
          '0',
          '--otlp-grpc-port',
          '0',
          '--storage-url',
          `sqlite:${join(work, 'history.db')}`,
          '--demo',
          '--demo-rate',
          '2',
        ],
        {},
        [],
        installedBin(),
      );
      await until('the history line of the start banner', () => monitor.output().includes(`history in sqlite ${join(work, 'history.db')}`));

      // The page comes from the installed @llm-monitor/web, with its hashed assets.
      const page = await fetch(`${monitor.apiUrl}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="\.?(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect((await fetch(`${monitor.apiUrl}${script}`)).status).toBe(200);

      writeFileSync(join(app, 'example.mjs'), readmeExample());
      const example = await run(process.execPath, ['example.mjs'], {
        cwd: app,
        env: {
          ...process.env,
          OPENAI_API_KEY: 'sk-outside-user-test',
          OPENAI_BASE_URL: openai.baseUrl,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: monitor.otlpUrl,
        },
        timeout: 60_000,
      });
      expect(example.stdout.trim()).toBe(answer);
      expect(openai.requests.map((request) => request.path)).toEqual(['/v1/chat/completions']);

      const recent = async (): Promise<ProcessingSession[]> =>
        ((await (await fetch(`${monitor.apiUrl}/api/monitoring/sessions/recent?limit=200`)).json()) as { sessions: ProcessingSession[] })
          .sessions;
      const mine = await waitFor('the example session, completed', async () =>
        (await recent()).find((summary) => summary.service_name === 'my-app' && summary.status === 'completed'),
      );
      const session = (await (await fetch(`${monitor.apiUrl}/api/monitoring/sessions/${mine.session_id}`)).json()) as ProcessingSession;
      expect(session).toMatchObject({
        task: 'summarize',
        model: 'gpt-4o-mini',
        status: 'completed',
        progress: 100,
        result_preview: answer,
      });
      expect(session.content_preview).toContain('OpenTelemetry is a vendor-neutral framework');
      expect(session.token_counts.output).toBeGreaterThan(0);
      expect(session.stages.map((stage) => stage.stage)).toContain('sending_request');
      // The demo workload, from the optional @llm-monitor/demo installed beside the receiver.
      await waitFor('a demo session', async () => (await recent()).find((summary) => summary.service_name !== 'my-app'));
    } finally {
      await openai.close();
    }
  });
});
