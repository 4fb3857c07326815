/**
 * The `llm-monitor` command: resolves the config (flags > environment > file > defaults), starts
 * the receiver, optionally the demo workload, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CONFIG_FILE_ENV, DEFAULT_CONFIG, SETTINGS, resolveConfig } from './config.js';
import type { ReceiverConfig } from './config.js';
import { LlmMonitorError } from './errors.js';
import { buildReceiver } from './receiver.js';

/** What the optional `@llm-monitor/demo` package offers the CLI. */
interface DemoModule {
  runDemoWorkload(options: { endpoint: string; rate: number }): { stop(): Promise<void> };
}

/** `--help` text, generated from the settings table. */
export function helpText(): string {
  const lines = [
    'Usage: llm-monitor [options]',
    '',
    'Receives OpenTelemetry spans over OTLP/HTTP, rebuilds LLM processing sessions live and serves',
    'them over REST, with Prometheus metrics at /metrics.',
    '',
    'Options (each also read from its environment variable; flags win over the environment,',
    'the environment over the config file):',
  ];
  const options: [string, string][] = [['--config FILE', `YAML config file (env ${CONFIG_FILE_ENV})`]];
  for (const setting of SETTINGS) {
    const flag = setting.type === 'boolean' ? `--[no-]${setting.flag}` : `--${setting.flag} VALUE`;
    const fallback = DEFAULT_CONFIG[setting.key];
    const shown = Array.isArray(fallback) ? fallback.join(',') : String(fallback);
    options.push([flag, `${setting.description} (env ${setting.env}, default ${shown === '' ? 'none' : shown})`]);
  }
  options.push(['--help', 'show this help']);
  // The column fits the longest flag, so no flag runs into its description.
  const column = Math.max(...options.map(([flag]) => flag.length)) + 2;
  for (const [flag, description] of options) lines.push(`  ${flag.padEnd(column)}${description}`);
  return lines.join('\n');
}

function parseCommandLine(argv: string[]): { flags: Record<string, string | boolean | undefined>; help: boolean; configFile?: string } {
  const options: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const setting of SETTINGS) options[setting.flag] = { type: setting.type === 'boolean' ? 'boolean' : 'string' };
  try {
    // allowNegative: `--no-demo` overrides LLM_MONITOR_DEMO=true, as flags win over the environment.
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false, allowNegative: true });
    const { config, help, ...flags } = values as Record<string, string | boolean | undefined>;
    return { flags, help: help === true, configFile: typeof config === 'string' ? config : undefined };
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', `${(error as Error).message} (see --help)`);
  }
}

/** Host to reach a server bound to `host` from this machine. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function startDemo(config: ReceiverConfig, otlpPort: number): Promise<{ stop(): Promise<void> }> {
  // Loaded only when asked for, so the receiver runs without the demo (and its OTel SDK) installed.
  const demoPackage = '@llm-monitor/demo';
  let demo: DemoModule;
  try {
    demo = (await import(demoPackage)) as DemoModule;
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', `--demo needs the ${demoPackage} package: ${(error as Error).message}`);
  }
  return demo.runDemoWorkload({
    endpoint: `http://${reachableHost(config.host)}:${otlpPort}/v1/traces`,
    rate: config.demoRate,
  });
}

/** Errors of opening the history store that end the start with exit code 2. */
const STORE_START_ERRORS: ReadonlySet<string> = new Set(['LLMMON_ERR_STORE_CORRUPT', 'LLMMON_ERR_STORE_SCHEMA_NEWER', 'LLMMON_ERR_STORE_CONNECT']);

/** Runs the command; resolves with the process exit code once the receiver has stopped. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: ReceiverConfig;
  try {
    const commandLine = parseCommandLine(argv);
    if (commandLine.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    config = resolveConfig({ configFile: commandLine.configFile, env, flags: commandLine.flags });
  } catch (error) {
    process.stderr.write(`llm-monitor: ${error instanceof LlmMonitorError ? `${error.code}: ` : ''}${(error as Error).message}\n`);
    return 2;
  }

  let receiver: Awaited<ReturnType<typeof buildReceiver>>;
  try {
    receiver = await buildReceiver(config);
  } catch (error) {
    // A store that cannot be used (damaged, foreign, newer, unreachable) is the operator's to fix: exit 2.
    if (error instanceof LlmMonitorError && STORE_START_ERRORS.has(error.code)) {
      process.stderr.write(`llm-monitor: cannot start: ${error.code}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`llm-monitor: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  let demo: { stop(): Promise<void> } | undefined;

  // Signal handlers go in before the receiver says it is ready: whoever reads the banner may signal
  // at once, and an unhandled SIGTERM would kill the process without draining.
  let requestStop: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    requestStop = resolve;
  });
  process.once('SIGINT', requestStop);
  process.once('SIGTERM', requestStop);

  try {
    const { apiUrl, otlpTracesUrl } = await receiver.listen();
    if (config.demo) {
      demo = await startDemo(config, Number(new URL(otlpTracesUrl).port));
    }
    process.stdout.write(
      `llm-monitor: web monitor on ${apiUrl}/ (REST API: ${apiUrl}/api), OTLP/HTTP on ${otlpTracesUrl}\n`,
    );
    process.stdout.write(`llm-monitor: history in ${receiver.history.kind === 'memory' ? 'memory only (storage_url memory:), nothing kept across restarts' : `${receiver.history.kind} ${receiver.history.location}`}\n`);
    if (demo) process.stdout.write(`llm-monitor: demo workload running, ${config.demoRate} session(s) per second\n`);
  } catch (error) {
    process.stderr.write(`llm-monitor: cannot start: ${(error as Error).message}\n`);
    await receiver.close();
    return 1;
  }

  const signal = await stopRequested;
  receiver.logger.info({ signal }, 'shutting down');
  try {
    await demo?.stop();
    await receiver.close();
    return 0;
  } catch (error) {
    receiver.logger.error({ err: error }, 'error while shutting down');
    return 1;
  }
}
