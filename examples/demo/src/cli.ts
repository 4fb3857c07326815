/** The `llm-monitor-demo` command: runs the demo workload against any OTLP/HTTP endpoint. */
import { parseArgs } from 'node:util';
import { runDemoWorkload } from './demo-workload.js';

const HELP = `Usage: llm-monitor-demo [--endpoint URL] [--rate N] [--sessions N]

Runs a simulated LLM application that exports sessions over OTLP/HTTP until stopped (Ctrl-C).
  --endpoint URL   OTLP traces endpoint (default http://127.0.0.1:4318/v1/traces)
  --rate N         sessions started per second (default 2)
  --sessions N     stop after N sessions

Environment: LLM_MONITOR_INGEST_TOKEN, the ingest token of a receiver that requires one (sent as
Authorization: Bearer; kept off the command line, where ps would show it).
`;

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

/** Runs the command; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let endpoint: string;
  let rate: number | undefined;
  let sessions: number | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { endpoint: { type: 'string' }, rate: { type: 'string' }, sessions: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    endpoint = values.endpoint ?? 'http://127.0.0.1:4318/v1/traces';
    rate = positive('rate', values.rate);
    if (rate !== undefined && (rate < 0.01 || rate > 1000)) throw new Error('--rate must be from 0.01 to 1000');
    sessions = positive('sessions', values.sessions);
  } catch (error) {
    process.stderr.write(`llm-monitor-demo: ${(error as Error).message}\n`);
    return 2;
  }
  const workload = runDemoWorkload({ endpoint, rate, maxSessions: sessions });
  process.stdout.write(`llm-monitor-demo: exporting to ${endpoint}\n`);
  const stop = (): void => void workload.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await workload.finished;
  await workload.stop();
  const { started, completed, failed } = workload.counts;
  process.stdout.write(`llm-monitor-demo: ${started} started, ${completed} completed, ${failed} failed\n`);
  if (workload.shutdownError) {
    process.stderr.write(`llm-monitor-demo: could not deliver all spans to ${endpoint}: ${workload.shutdownError.message}\n`);
    return 1;
  }
  return 0;
}
