/**
 * How soon a receiver sees a session: the time from `startSession` + first `stage` until the session
 * and its running stage are in the receiver's store, over real OTLP/HTTP on loopback. The baseline is
 * the SDK's batch processor with the delay we recommend for plain use (100 ms) and marker spans; the
 * SDK default (5 s) is left out so the run stays short. Each iteration is one measurement: read the
 * mean and p99 columns as latencies.
 *
 *   pnpm exec vitest bench --run bench/live-latency.bench.ts
 */
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import type { LlmMonitor } from '@llm-monitor/instrumentation';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import { buildReceiver } from '@llm-monitor/receiver';
import type { Receiver } from '@llm-monitor/receiver';

let receiver: Receiver;
let live: LlmMonitorSetup;
let batchProvider: BasicTracerProvider;
let batched: LlmMonitor;

beforeAll(async () => {
  receiver = await buildReceiver({ port: 0, otlpPort: 0, otlpGrpcPort: 0, storageUrl: 'memory:', logLevel: 'silent' });
  const { otlpTracesUrl } = await receiver.listen();
  live = setupLlmMonitor({ endpoint: otlpTracesUrl, progressIntervalMs: 0 });
  batchProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl }), { scheduledDelayMillis: 100 })],
  });
  batched = createLlmMonitor({ tracerProvider: batchProvider, progressIntervalMs: 0 });
});

afterAll(async () => {
  await live.shutdown();
  await batchProvider.shutdown();
  await receiver.close();
});

/** Resolves once `check` holds, polling the in-process store without a timer's minimum delay. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('never became visible');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function startVisible(monitor: LlmMonitor): Promise<void> {
  const session = monitor.startSession({ task: 'latency' });
  session.stage('connecting_to_model');
  await until(() => receiver.pipeline.store.get(session.sessionId)?.current_stage === 'connecting_to_model');
  session.complete();
}

async function tokenVisible(monitor: LlmMonitor): Promise<void> {
  const session = monitor.startSession({ task: 'latency' });
  session.stage('streaming_response');
  await until(() => receiver.pipeline.store.get(session.sessionId)?.current_stage === 'streaming_response');
  session.tokens(7);
  await until(() => receiver.pipeline.store.get(session.sessionId)?.token_counts.streamed === 7);
  session.complete();
}

describe('session and running stage visible at the receiver (ms per iteration = latency)', () => {
  bench('baseline: BatchSpanProcessor 100 ms + marker spans', () => startVisible(batched), { iterations: 30, time: 0 });
  bench('setupLlmMonitor (live span processor)', () => startVisible(live.monitor), { iterations: 30, time: 0 });
});

describe('streamed tokens visible at the receiver (iteration = stage visible, then token visible)', () => {
  bench('baseline: BatchSpanProcessor 100 ms + marker spans', () => tokenVisible(batched), { iterations: 30, time: 0 });
  bench('setupLlmMonitor (live span processor)', () => tokenVisible(live.monitor), { iterations: 30, time: 0 });
});
