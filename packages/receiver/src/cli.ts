/**
 * The `llm-monitor` command: resolves the config (flags > environment > file > defaults), starts
 * the receiver, optionally the demo workload, and shuts down gracefully on SIGINT/SIGTERM. Exit
 * codes: 0 stopped (or --help, --version), 2 the operator's to fix (a setting, a port, the store),
 * 1 anything else.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CONFIG_FILE_ENV, DEFAULT_CONFIG, SETTINGS, resolveConfig } from './config.js';
import type { ReceiverConfig } from './config.js';
import { closestName } from './did-you-mean.js';
import { LlmMonitorError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { buildReceiver } from './receiver.js';
import { RECEIVER_VERSION } from './version.js';

/** What the optional `@llm-monitor/demo` package offers the CLI. */
interface DemoModule {
  runDemoWorkload(options: { endpoint: string; rate: number; token?: string }): { stop(): Promise<void> };
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
  options.push(['--version', 'print the version and exit (also -v)']);
  options.push(['--help', 'show this help and exit (also -h)']);
  // The column fits the longest flag, so no flag runs into its description.
  const column = Math.max(...options.map(([flag]) => flag.length)) + 2;
  for (const [flag, description] of options) lines.push(`  ${flag.padEnd(column)}${description}`);
  lines.push(
    '',
    'The three ports must differ (0 = any free port for each); an exporter sends to an OTLP port',
    '(HTTP or gRPC), a browser opens the API port.',
    '',
    'Exit codes: 0 stopped by SIGINT or SIGTERM (or after --help, --version); 2 cannot start because',
    'of a setting or what it names (an invalid setting, a port in use or not permitted, a history',
    'store that cannot be used); 1 any other failure.',
  );
  return lines.join('\n');
}

/** Flags that are not settings. */
const COMMAND_FLAGS = ['config', 'version', 'help'];

/**
 * The message for an option `parseArgs` does not know, with the closest known spelling when one is
 * near: `--prot` → `--port`, `--no-dmeo` → `--no-demo`. Short options (`-x`) get none: one letter
 * is too little to guess from.
 */
function unknownOptionMessage(argv: string[], options: NonNullable<ParseArgsConfig['options']>): string | undefined {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const known = options[token.name];
    if (known) {
      // parseArgs reads `--no-port` as `port`, but only on/off options have a negated form.
      if (token.rawName.startsWith('--no-') && known.type !== 'boolean') {
        return `${token.rawName} is not an option: only on/off options have a --no- form, and --${token.name} takes a value (see --help)`;
      }
      continue;
    }
    if (!token.rawName.startsWith('--')) return undefined;
    const spellings = [
      ...COMMAND_FLAGS,
      ...SETTINGS.map((setting) => setting.flag),
      ...SETTINGS.filter((setting) => setting.type === 'boolean').map((setting) => `no-${setting.flag}`),
    ];
    const suggestion = closestName(token.rawName.slice(2), spellings);
    return `unknown option ${token.rawName}${suggestion ? `; did you mean --${suggestion}?` : ''} (see --help)`;
  }
  return undefined;
}

interface CommandLine {
  flags: Record<string, string | boolean | undefined>;
  help: boolean;
  version: boolean;
  configFile?: string;
}

function parseCommandLine(argv: string[]): CommandLine {
  const options: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const setting of SETTINGS) options[setting.flag] = { type: setting.type === 'boolean' ? 'boolean' : 'string' };
  try {
    // allowNegative: `--no-demo` overrides LLM_MONITOR_DEMO=true, as flags win over the environment.
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false, allowNegative: true });
    const { config, help, version, ...flags } = values as Record<string, string | boolean | undefined>;
    return { flags, help: help === true, version: version === true, configFile: typeof config === 'string' ? config : undefined };
  } catch (error) {
    const unknown =
      (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? unknownOptionMessage(argv, options) : undefined;
    throw new LlmMonitorError('LLMMON_ERR_CONFIG', unknown ?? `${(error as Error).message} (see --help)`);
  }
}

/** Host to reach a server bound to `host` from this machine. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function startDemo(config: ReceiverConfig, otlpPort: number, ingestToken: string | undefined): Promise<{ stop(): Promise<void> }> {
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
    // The demo is an application like any other: with ingest tokens set, it sends one.
    ...(ingestToken !== undefined ? { token: ingestToken } : {}),
  });
}

/**
 * Errors that end the start with exit code 2: what the operator fixes in the settings or in what
 * they name (a port someone else holds, a damaged, foreign, newer or unreachable store). Exit code 1
 * stays for failures nobody configured, so a supervisor can tell "fix the setup" from "a bug".
 */
const OPERATOR_START_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LLMMON_ERR_CONFIG',
  'LLMMON_ERR_PORT_IN_USE',
  'LLMMON_ERR_PORT_NOT_PERMITTED',
  'LLMMON_ERR_STORE_CORRUPT',
  'LLMMON_ERR_STORE_SCHEMA_NEWER',
  'LLMMON_ERR_STORE_CONNECT',
]);

/** Says why the start failed, with the error's code when it has one; returns the exit code. */
function startFailed(error: unknown): number {
  if (error instanceof LlmMonitorError) {
    process.stderr.write(`llm-monitor: cannot start: ${error.code}: ${error.message}\n`);
    return OPERATOR_START_ERRORS.has(error.code) ? 2 : 1;
  }
  process.stderr.write(`llm-monitor: cannot start: ${(error as Error).message}\n`);
  return 1;
}

/** Runs the command; resolves with the process exit code once the receiver has stopped. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: ReceiverConfig;
  try {
    const commandLine = parseCommandLine(argv);
    if (commandLine.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    // Before the config is read: the version is often asked for because something is wrong, settings included.
    if (commandLine.version) {
      process.stdout.write(`${RECEIVER_VERSION}\n`);
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
    return startFailed(error);
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
    const { apiUrl, otlpTracesUrl, otlpGrpcUrl } = await receiver.listen();
    if (config.demo) {
      demo = await startDemo(config, Number(new URL(otlpTracesUrl).port), receiver.ingestTokens.tokens()[0]);
    }
    // test/support/monitor-process.ts and bench/support/receiver-process.ts read the URLs from this line.
    process.stdout.write(
      `llm-monitor: web monitor on ${apiUrl}/ (API docs: ${apiUrl}/docs), OTLP/HTTP on ${otlpTracesUrl} and OTLP/gRPC on ${otlpGrpcUrl}\n`,
    );
    process.stdout.write(
      `llm-monitor: history in ${receiver.history.kind === 'memory' ? 'memory only (storage_url memory:), nothing kept across restarts' : `${receiver.history.kind} ${receiver.history.location}`}\n`,
    );
    if (demo) process.stdout.write(`llm-monitor: demo workload running, ${config.demoRate} session(s) per second\n`);
  } catch (error) {
    const exitCode = startFailed(error);
    await receiver.close();
    return exitCode;
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
