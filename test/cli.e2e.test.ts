/**
 * The `llm-monitor` command as a newcomer runs it: a real process with the demo workload, read over
 * HTTP like `curl localhost:8000/api/monitoring/sessions/<id>`.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { MONITOR_BIN as BIN, startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import type { MonitorProcess } from './support/monitor-process.js';
import { waitFor } from './support/wait.js';

stopMonitorsAfterEach();
let child: MonitorProcess['child'] | undefined;

async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ apiUrl: string; otlpUrl: string; output: () => string }> {
  const monitor = await startMonitor(args, env);
  child = monitor.child;
  return monitor;
}

describe('llm-monitor command', () => {
  it('with --demo serves completed sessions with all ten stages, progress 100 and token counts', async () => {
    const { apiUrl } = await start(['--demo', '--demo-rate', '4', '--port', '0', '--otlp-port', '0', '--log-level', 'warn']);
    const completed = await waitFor('a completed demo session', async () => {
      const recent = (await (await fetch(`${apiUrl}/api/monitoring/sessions/recent?limit=200&status=completed`)).json()) as { sessions: ProcessingSession[] };
      return recent.sessions[0];
    }, 20_000, 200);
    const response = await fetch(`${apiUrl}/api/monitoring/sessions/${completed.session_id}`);
    expect(response.status).toBe(200);
    const session = (await response.json()) as ProcessingSession;
    expect(session.progress).toBe(100);
    expect(session.events.map((event) => event.stage)).toEqual([...BUILTIN_STAGE_IDS, 'completed']);
    expect(session.token_counts.output).toBeGreaterThan(0);
    expect(session.token_counts.input).toBeGreaterThan(0);
    expect(session.token_counts.streamed).toBe(session.token_counts.output);
    expect(session.service_name).toBe('llm-monitor-demo');
  });

  it('reads settings from LLM_MONITOR_* variables, with flags winning', async () => {
    const { apiUrl } = await start(['--otlp-port', '0'], { LLM_MONITOR_PORT: '0', LLM_MONITOR_OTLP_PORT: 'not-a-port', LLM_MONITOR_LOG_LEVEL: 'warn' });
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
  });

  it('accepts --no-demo over LLM_MONITOR_DEMO=true', async () => {
    const { output } = await start(['--no-demo', '--port', '0', '--otlp-port', '0', '--log-level', 'warn'], { LLM_MONITOR_DEMO: 'true' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(output()).not.toContain('demo workload running');
  });

  it('shuts down cleanly on SIGTERM', async () => {
    await start(['--port', '0', '--otlp-port', '0', '--log-level', 'warn']);
    const exited = new Promise<[number | null, string | null]>((resolve) => child!.once('exit', (code, signal) => resolve([code, signal])));
    child!.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });

  it('says why it cannot start when its port is taken, and exits 1', async () => {
    const { apiUrl } = await start(['--port', '0', '--otlp-port', '0', '--log-level', 'warn']);
    const takenPort = new URL(apiUrl).port;
    const second = spawnSync(process.execPath, [BIN, '--port', takenPort, '--otlp-port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/cannot start: .*EADDRINUSE/);
  });

  it('prints --help and exits 0', () => {
    const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    for (const flag of ['--host', '--port', '--otlp-port', '--config FILE', '--[no-]demo', '--help']) expect(result.stdout).toContain(flag);
    // Every description starts in one column, after at least two spaces, however long the flag.
    const optionLines = result.stdout.split('\n').filter((line) => line.startsWith('  --'));
    const columns = new Set(optionLines.map((line) => /^ {2}\S+(?: \S+)? {2,}/.exec(line)?.[0].length));
    expect(columns.size).toBe(1);
    expect(columns.has(undefined)).toBe(false);
  });

  it('refuses unknown flags and invalid values with exit code 2 and a reason', () => {
    const unknown = spawnSync(process.execPath, [BIN, '--prot', '1'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/LLMMON_ERR_CONFIG: .*--prot/);
    const invalid = spawnSync(process.execPath, [BIN, '--port', 'eighty'], { encoding: 'utf8' });
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain('flag --port: "eighty" is not a valid port');
  });
});
