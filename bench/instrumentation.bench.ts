/**
 * What the instrumentation costs the application, measured in one run against a bare OpenTelemetry
 * span start/end through the same live span processor (exporting to a no-op exporter, so only
 * in-process work counts). Every task runs 1,000 calls per iteration: divide the mean by 1,000 for
 * the cost of one call (0.0400 ms per iteration = 40 ns per call). The cost of one stage is
 * (stages task − sessions-alone task) / 1,000.
 *
 * Targets (issue #3): a stage at most 1.5× a bare span; a disabled call under 50 ns.
 *
 *   pnpm exec vitest bench --run bench/instrumentation.bench.ts
 */
import { bench, describe } from 'vitest';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor, DISABLED_SESSION } from '@llm-monitor/instrumentation';
import { setupLlmMonitor } from '@llm-monitor/node';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

const CALLS = 1000;

/** Accepts every batch at once: the benchmark measures the application side only. */
const discard: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };

const live = setupLlmMonitor({ exporter: discard });
const bareTracer = live.tracerProvider.getTracer('bare');

// The plain-use path for comparison: pending markers as spans, through the SDK's simple processor.
const plainProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(discard)] });
const plain = createLlmMonitor({ tracerProvider: plainProvider });
const plainTracer = plainProvider.getTracer('bare');

const textMonitor = setupLlmMonitor({ exporter: discard, captureTokenText: true }).monitor;
const disabled = createLlmMonitor({ enabled: false });

/**
 * Lets the event loop turn, as it does between an application's requests: the processor's export
 * timer fires and exports for real, so the figures include the export path instead of a queue that
 * only fills up and drops. Every task does it, the baselines too.
 */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** 100 sessions of ten stages each, in order: 1,000 stage transitions as an application makes them. */
async function stages(monitor: typeof live.monitor, message: boolean): Promise<void> {
  for (let s = 0; s < CALLS / 10; s += 1) {
    const session = monitor.startSession({ task: 'bench' });
    for (const stage of BUILTIN_STAGE_IDS) session.stage(stage, message ? { message: 'working' } : undefined);
    session.complete();
  }
  await turn();
}

/** The same 100 sessions without stages: subtract it to get the cost of the stages alone. */
async function sessionsOnly(monitor: typeof live.monitor): Promise<void> {
  for (let s = 0; s < CALLS / 10; s += 1) monitor.startSession({ task: 'bench' }).complete();
  await turn();
}

async function bareSpans(tracer: typeof bareTracer): Promise<void> {
  for (let i = 0; i < CALLS; i += 1) tracer.startSpan('stage').end();
  await turn();
}

describe('per stage: 1,000 stages in 100 sessions per iteration (live span processor)', () => {
  bench('baseline: 1,000 bare spans start/end', () => bareSpans(bareTracer), { time: 1500 });
  bench('1,000 session.stage() with a message', () => stages(live.monitor, true), { time: 1500 });
  bench('1,000 session.stage() without a message', () => stages(live.monitor, false), { time: 1500 });
  bench('the 100 sessions alone (subtract)', () => sessionsOnly(live.monitor), { time: 1500 });
});

describe('per stage: the same with marker spans through the SDK SimpleSpanProcessor (plain use)', () => {
  bench('baseline: 1,000 bare spans start/end', () => bareSpans(plainTracer));
  bench('1,000 session.stage() with a message', () => stages(plain, true));
  bench('the 100 sessions alone (subtract)', () => sessionsOnly(plain));
});

describe('per token, 1,000 calls per iteration', () => {
  bench('baseline: bare span start/end', () => bareSpans(bareTracer));
  bench('session.tokens(1)', async () => {
    const session = live.monitor.startSession({ task: 'bench' });
    session.stage('streaming_response');
    for (let i = 0; i < CALLS; i += 1) session.tokens(1);
    session.complete();
    await turn();
  });
  bench('session.tokens(1, text) with text captured', async () => {
    const session = textMonitor.startSession({ task: 'bench' });
    session.stage('streaming_response');
    for (let i = 0; i < CALLS; i += 1) session.tokens(1, 'tok ');
    session.complete();
    await turn();
  });
});

describe('disabled, 1,000 calls per iteration', () => {
  const noop = (): void => undefined;
  bench('baseline: an empty function call', () => {
    for (let i = 0; i < CALLS; i += 1) noop();
  });
  bench('disabled session.stage()', () => {
    for (let i = 0; i < CALLS; i += 1) DISABLED_SESSION.stage('initializing');
  });
  bench('disabled session.tokens()', () => {
    for (let i = 0; i < CALLS; i += 1) DISABLED_SESSION.tokens(1, 'x');
  });
  bench('disabled monitor.startSession()', () => {
    for (let i = 0; i < CALLS; i += 1) disabled.startSession({ task: 'bench' });
  });
});
