import { setMaxListeners } from 'node:events';
import { setupLlmMonitor } from '@llm-monitor/node';
import { runDemoSession } from './demo-session.js';
import type { Random } from './demo-session.js';

/** Options of {@link runDemoWorkload}. */
export interface DemoWorkloadOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly endpoint: string;
  /** Sessions started per second (default 2). */
  readonly rate?: number;
  /** Chance a session fails (default 0.06). */
  readonly failureRate?: number;
  /** Multiplies every simulated delay (default 1). */
  readonly timeScale?: number;
  /** Stop after this many sessions (default: run until stopped). */
  readonly maxSessions?: number;
  /** `service.name` of the simulated application (default `llm-monitor-demo`). */
  readonly serviceName?: string;
  /** Ingest token sent as `Authorization: Bearer` (default: `LLM_MONITOR_INGEST_TOKEN`, as the setup reads it). */
  readonly token?: string;
  readonly random?: Random;
}

/** Counts of a running demo workload. */
export interface DemoCounts {
  started: number;
  completed: number;
  failed: number;
}

/** A running demo workload. */
export interface DemoWorkload {
  readonly counts: Readonly<DemoCounts>;
  /** Resolves once `maxSessions` sessions have ended (never, without `maxSessions`, until stopped). */
  readonly finished: Promise<void>;
  /**
   * Stops starting sessions, ends running ones as failed, flushes spans and shuts the exporter down.
   * Never rejects: an export that fails on the way out is reported in {@link DemoWorkload.shutdownError}.
   */
  stop(): Promise<void>;
  /** Why spans could not all be delivered (receiver unreachable, …), once `stop()` has resolved. */
  readonly shutdownError: Error | undefined;
}

/**
 * Runs a simulated LLM application that exports its sessions over OTLP/HTTP (protobuf) exactly as
 * an instrumented application would, through `setupLlmMonitor` and its live span processor.
 */
export function runDemoWorkload(options: DemoWorkloadOptions): DemoWorkload {
  const rate = options.rate ?? 2;
  // setInterval clamps delays beyond 2^31-1 ms to 1 ms: a tiny rate would become a flood.
  if (!(rate >= 0.01 && rate <= 1000)) throw new RangeError(`rate must be from 0.01 to 1000 sessions per second, got ${rate}`);
  const random = options.random ?? Math.random;
  // The one-call setup an application would use: OTLP/HTTP protobuf through the live span processor.
  const setup = setupLlmMonitor({
    endpoint: options.endpoint,
    ...(options.token !== undefined ? { token: options.token } : {}),
    serviceName: options.serviceName ?? 'llm-monitor-demo',
    captureTokenText: true,
    // The texts a session summarizes or translates run to a paragraph: keep them (and the result)
    // whole, as its steps and LLM call do, so the page shows what the streamed answer answers.
    previewLength: 1000,
    // The simulated model sends one token per chunk; a batch per 32 keeps events few but text fine-grained.
    tokenBatching: { maxTokens: 32 },
  });
  const monitor = setup.monitor;
  const abort = new AbortController();
  // Every running session listens on this one signal while it waits, and stops listening when the
  // wait ends: many listeners at a high rate are expected, not a leak.
  setMaxListeners(0, abort.signal);
  const counts: DemoCounts = { started: 0, completed: 0, failed: 0 };
  const running = new Set<Promise<void>>();
  let resolveFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });

  const startOne = (): void => {
    if (options.maxSessions !== undefined && counts.started >= options.maxSessions) {
      clearInterval(timer);
      return;
    }
    counts.started += 1;
    const session = runDemoSession({
      monitor,
      random,
      timeScale: options.timeScale ?? 1,
      failureRate: options.failureRate ?? 0.06,
      signal: abort.signal,
    }).then((outcome) => {
      counts[outcome] += 1;
      running.delete(session);
      if (options.maxSessions !== undefined && counts.completed + counts.failed >= options.maxSessions) resolveFinished();
    });
    running.add(session);
  };
  const timer = setInterval(startOne, 1000 / rate);
  startOne();

  let stopped: Promise<void> | undefined;
  let shutdownError: Error | undefined;
  return {
    counts,
    finished,
    get shutdownError() {
      return shutdownError;
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        abort.abort(new Error('demo workload stopped'));
        await Promise.all(running);
        try {
          await setup.shutdown();
          const { failedExports } = setup.processor.stats();
          if (failedExports > 0) shutdownError = new Error(`${failedExports} export request(s) failed`);
        } catch (error) {
          shutdownError = error instanceof Error ? error : new Error(String(error));
        }
        resolveFinished();
      })();
      return stopped;
    },
  };
}
