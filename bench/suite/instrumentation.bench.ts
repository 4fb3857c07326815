/**
 * What the instrumentation costs the application, in the application's own process (there is no
 * socket in this path): per stage, per token batch and per LLM call, through `setupLlmMonitor`'s
 * live span processor exporting to a no-op exporter, against a bare OpenTelemetry span start/end
 * through the same processor — and a call on a disabled monitor. Each figure is the median over
 * repetitions of 1,000 calls, with the event loop turning between them so exports really run.
 *
 *   pnpm exec vitest bench --run bench/suite/instrumentation.bench.ts
 */
import { bench, describe } from 'vitest';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { setupLlmMonitor } from '@llm-monitor/node';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { percentile, QUICK, report } from './results.js';

const CALLS = 1000;
const REPETITIONS = QUICK ? 5 : 60;

/** Accepts every batch at once: only the application side is measured. */
const discard: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Median nanoseconds per call of `work`, which makes `CALLS` calls. */
async function nanosecondsPerCall(work: () => void): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < REPETITIONS + 3; i += 1) {
    const startedAt = performance.now();
    work();
    const ms = performance.now() - startedAt;
    await turn();
    if (i >= 3) samples.push((ms * 1e6) / CALLS);
  }
  return percentile(samples, 50);
}

describe('instrumentation cost', () => {
  bench(
    'per stage, token batch and LLM call, against a bare span',
    async () => {
      const live = setupLlmMonitor({ exporter: discard });
      const tracer = live.tracerProvider.getTracer('bare');
      const monitor = live.monitor;
      const disabled = createLlmMonitor({ enabled: false });
      const stagesPerSession = BUILTIN_STAGE_IDS.length;
      const bare = await nanosecondsPerCall(() => {
        for (let i = 0; i < CALLS; i += 1) tracer.startSpan('stage').end();
      });
      const sessionsAlone = await nanosecondsPerCall(() => {
        for (let s = 0; s < CALLS / stagesPerSession; s += 1) monitor.startSession({ task: 'bench' }).complete();
      });
      const withStages = await nanosecondsPerCall(() => {
        for (let s = 0; s < CALLS / stagesPerSession; s += 1) {
          const session = monitor.startSession({ task: 'bench' });
          for (const stage of BUILTIN_STAGE_IDS) session.stage(stage);
          session.complete();
        }
      });
      const session = monitor.startSession({ task: 'bench' });
      session.stage('streaming_response');
      const token = await nanosecondsPerCall(() => {
        for (let i = 0; i < CALLS; i += 1) session.tokens(1);
      });
      const llmCall = await nanosecondsPerCall(() => {
        for (let i = 0; i < CALLS; i += 1) session.startLlmCall({ model: 'gpt-4o-mini' }).end({ inputTokens: 10, outputTokens: 10 });
      });
      session.complete();
      const disabledSession = disabled.startSession({ task: 'bench' });
      const disabledStage = await nanosecondsPerCall(() => {
        for (let i = 0; i < CALLS; i += 1) disabledSession.stage('validating_input');
      });
      await live.shutdown();
      // A session alone is one span per ten stages' worth of calls: what the stages add, per stage.
      const stage = withStages - sessionsAlone;
      const rows = [
        { figure: 'a stage transition', value: stage, target: { text: '≤ 1.5× baseline', met: stage <= bare * 1.5 } },
        { figure: 'a token batch (session.tokens)', value: token },
        { figure: 'an LLM call (start and end)', value: llmCall },
        { figure: 'a stage on a disabled monitor', value: disabledStage, target: { text: '≤ 50 ns', met: disabledStage <= 50 } },
      ];
      console.log(
        `instrumentation: bare span ${bare.toFixed(0)} ns, ${rows.map((row) => `${row.figure} ${row.value.toFixed(0)} ns`).join(', ')}`,
      );
      for (const row of rows) {
        report({
          scenario: 'instrumentation',
          figure: row.figure,
          value: Math.round(row.value),
          unit: 'ns',
          baseline: { label: 'bare OTel span', value: Math.round(bare) },
          ...(row.target ? { target: row.target } : {}),
        });
      }
    },
    { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
  );
});
