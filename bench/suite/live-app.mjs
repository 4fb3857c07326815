/**
 * The application side of the live-latency scenario, in a process of its own: `sessions` sessions
 * run at once through `setupLlmMonitor` (the real OTLP exporter and live span processor), each
 * moving to its next stage every `stageMs` (± 20 %), for `seconds`. Each stage start is timed just
 * before `stage()` is called, on the machine's clock (`performance.timeOrigin + performance.now()`),
 * which the receiving side shares. At the end it prints one JSON line: every `[sessionId, stage,
 * startedAtMs]`, and the processor's stats.
 *
 *   node bench/suite/live-app.mjs '{"endpoint":"http://127.0.0.1:4318/v1/traces","sessions":100,"seconds":10,"stageMs":200}'
 *
 * Plain JavaScript on the built packages: a script the runner starts cannot load TypeScript.
 */
import { setupLlmMonitor } from '@llm-monitor/node';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

const options = { sessions: 10, seconds: 10, stageMs: 200, ...JSON.parse(process.argv[2] ?? '{}') };
const now = () => performance.timeOrigin + performance.now();
const live = setupLlmMonitor({ endpoint: options.endpoint, serviceName: 'bench-live-app', progressIntervalMs: 0, flushOnExit: false });
const stages = BUILTIN_STAGE_IDS.filter((stage) => stage !== 'completed' && stage !== 'failed');
const starts = [];
const endAt = Date.now() + options.seconds * 1000;

async function runSession(index) {
  // Spread the sessions' starts over one stage period, so stage changes arrive evenly.
  await new Promise((resolve) => setTimeout(resolve, (index / options.sessions) * options.stageMs));
  while (Date.now() < endAt) {
    const session = live.monitor.startSession({ task: 'bench', model: 'gpt-4o-mini' });
    for (const stage of stages) {
      if (Date.now() >= endAt) break;
      starts.push([session.sessionId, stage, now()]);
      session.stage(stage);
      await new Promise((resolve) => setTimeout(resolve, options.stageMs * (0.8 + Math.random() * 0.4)));
    }
    session.complete({ inputTokens: 10, outputTokens: 10 });
  }
}

await Promise.all(Array.from({ length: options.sessions }, (_, index) => runSession(index)));
await live.shutdown();
process.stdout.write(`${JSON.stringify({ starts, stats: live.processor.stats() })}\n`);
