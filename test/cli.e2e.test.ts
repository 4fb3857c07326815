/**
 * The `llm-monitor` command as a newcomer runs it: a real process with the demo workload, read over
 * HTTP like `curl localhost:8000/api/monitoring/sessions/<id>`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    const completed = await waitFor(
      'a completed demo session',
      async () => {
        const recent = (await (await fetch(`${apiUrl}/api/monitoring/sessions/recent?limit=200&status=completed`)).json()) as {
          sessions: ProcessingSession[];
        };
        return recent.sessions[0];
      },
      20_000,
      200,
    );
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

  it('with --demo and ingest tokens, the demo sends one of them: its sessions arrive, and readers need a read token', async () => {
    const { apiUrl } = await start(['--demo', '--demo-rate', '4', '--port', '0', '--otlp-port', '0', '--log-level', 'warn'], {
      LLM_MONITOR_INGEST_TOKENS: 'demo-ingest-token',
      LLM_MONITOR_READ_TOKENS: 'demo-read-token',
    });
    expect((await fetch(`${apiUrl}/api/monitoring/sessions/recent`)).status).toBe(401);
    await waitFor(
      'a completed demo session, read with the read token',
      async () => {
        const response = await fetch(`${apiUrl}/api/monitoring/sessions/recent?limit=20&status=completed`, {
          headers: { authorization: 'Bearer demo-read-token' },
        });
        const recent = (await response.json()) as { sessions: ProcessingSession[] };
        return recent.sessions[0];
      },
      20_000,
      200,
    );
  });

  it('reads settings from LLM_MONITOR_* variables, with flags winning', async () => {
    const { apiUrl } = await start(['--otlp-port', '0'], {
      LLM_MONITOR_PORT: '0',
      LLM_MONITOR_OTLP_PORT: 'not-a-port',
      LLM_MONITOR_LOG_LEVEL: 'warn',
    });
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

  it('says where the web monitor, the API docs and the OTLP endpoint are', async () => {
    const { apiUrl, otlpUrl, output } = await start(['--port', '0', '--otlp-port', '0', '--log-level', 'warn']);
    expect(output()).toMatch(
      new RegExp(
        `llm-monitor: web monitor on ${apiUrl}/ \\(API docs: ${apiUrl}/docs\\), OTLP/HTTP on ${otlpUrl} and OTLP/gRPC on http://127\\.0\\.0\\.1:\\d+\\n`,
      ),
    );
    expect((await fetch(`${apiUrl}/docs/json`)).status).toBe(200);
  });

  it('says which port is taken and how to change it, and exits 2', async () => {
    const { apiUrl, otlpUrl } = await start(['--port', '0', '--otlp-port', '0', '--log-level', 'warn']);
    const apiPort = new URL(apiUrl).port;
    const otlpPort = new URL(otlpUrl).port;
    const api = spawnSync(process.execPath, [BIN, '--port', apiPort, '--otlp-port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(api.status).toBe(2);
    expect(api.stderr).toContain(
      `llm-monitor: cannot start: LLMMON_ERR_PORT_IN_USE: the API server (web monitor, REST API, /metrics) cannot listen on 127.0.0.1:${apiPort}: the port is already in use (another llm-monitor?). Stop what holds it, or choose another port with --port or LLM_MONITOR_PORT (port in the config file); 0 picks any free port\n`,
    );
    const otlp = spawnSync(process.execPath, [BIN, '--port', '0', '--otlp-port', otlpPort], { encoding: 'utf8', timeout: 20_000 });
    expect(otlp.status).toBe(2);
    expect(otlp.stderr).toContain(
      `llm-monitor: cannot start: LLMMON_ERR_PORT_IN_USE: the OTLP/HTTP server cannot listen on 127.0.0.1:${otlpPort}: the port is already in use`,
    );
    expect(otlp.stderr).toContain('--otlp-port or LLM_MONITOR_OTLP_PORT');
  });

  // A port below 1024 is refused to an unprivileged process (Linux: below ip_unprivileged_port_start).
  // As root the command runs as nobody (uid 65534) to meet that refusal; elsewhere the test is skipped.
  const unprivilegedStart = (() => {
    try {
      return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    } catch {
      return 0;
    }
  })();
  it.skipIf(!(unprivilegedStart > 80))('says when a port needs privileges, and exits 2', () => {
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534, cwd: '/tmp' } : {};
    const result = spawnSync(process.execPath, [BIN, '--port', '80', '--otlp-port', '0', '--storage-url', 'memory:'], {
      encoding: 'utf8',
      timeout: 20_000,
      ...asNobody,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'llm-monitor: cannot start: LLMMON_ERR_PORT_NOT_PERMITTED: the API server (web monitor, REST API, /metrics) cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need privileges). Choose a port from 1024 up with --port or LLM_MONITOR_PORT (port in the config file)\n',
    );
  });

  it('refuses one port for both servers before listening, naming both settings', () => {
    const result = spawnSync(process.execPath, [BIN, '--otlp-port', '8000'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'llm-monitor: LLMMON_ERR_CONFIG: port (default) and otlp_port (flag --otlp-port) are both 8000: the API server and the OTLP/HTTP server need a port each; change one (--port or LLM_MONITOR_PORT, --otlp-port or LLM_MONITOR_OTLP_PORT), or set both to 0 for any free ports\n',
    );
  });

  it('prints the version of the receiver package with --version and -v', () => {
    const { version } = JSON.parse(readFileSync(new URL('../packages/receiver/package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-v']) {
      // A broken setting does not stand in the way of asking for the version.
      const result = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8', env: { ...process.env, LLM_MONITOR_PORT: 'broken' } });
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it('prints --help and exits 0', () => {
    const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    for (const flag of ['--host', '--port', '--otlp-port', '--config FILE', '--[no-]demo', '--version', '--help'])
      expect(result.stdout).toContain(flag);
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
    const far = spawnSync(process.execPath, [BIN, '--colour'], { encoding: 'utf8' });
    expect(far.status).toBe(2);
    expect(far.stderr).toBe('llm-monitor: LLMMON_ERR_CONFIG: unknown option --colour (see --help)\n');
    const invalid = spawnSync(process.execPath, [BIN, '--port', 'eighty'], { encoding: 'utf8' });
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain('flag --port: "eighty" is not a valid port');
  });

  it('suggests the closest option for a mistyped one, negated booleans included', () => {
    const cases: [string[], string][] = [
      [['--prot', '9000'], 'unknown option --prot; did you mean --port? (see --help)'],
      [['--otlp_port=4319'], 'unknown option --otlp_port; did you mean --otlp-port? (see --help)'],
      [['--no-dmeo'], 'unknown option --no-dmeo; did you mean --no-demo? (see --help)'],
      [['--no-port'], '--no-port is not an option: only on/off options have a --no- form, and --port takes a value (see --help)'],
    ];
    for (const [args, message] of cases) {
      const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`llm-monitor: LLMMON_ERR_CONFIG: ${message}\n`);
    }
  });
});
