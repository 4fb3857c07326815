/**
 * What the tree of steps costs session building (issue #14). Sessions are made by the real
 * instrumentation and delivered to a `SessionPipeline` the way a live application sends them: in
 * requests of 20 spans, so a session is rebuilt many times while it grows. Each iteration ingests
 * the same sessions into a fresh pipeline; spans per second = spans × hz.
 *
 * - flat: today's shape without steps — ten stages, an LLM call, token events (13 spans);
 * - demo: the demo workload's shape — the same plus a retrieval chain (embedding, two searches,
 *   nested rerank), template, model selection with a fallback, a tool call and a vector store write;
 * - agent: a deep agent trace of 200 steps (planning LLM calls, tool calls, nested chains with
 *   searches, four levels deep).
 *
 * Then the whole ingest path: demo sessions as OTLP protobuf requests through a receiver (`inject`:
 * parse, decode, admit, build, store, history, metrics, answer) in a process of its own, in
 * live-sized requests of 20 spans and in bulk requests of 330; spans per CPU-second and heap per
 * retained session, printed as a table after the run.
 *
 * Baselines in the same run: the demo workload with the tree turned off (`maxStepsPerSession: 0`:
 * reading the same spans but listing no steps), and, when `LLMMON_BENCH_BEFORE` names the root of
 * another build (e.g. a worktree of the commit before the tree, built), that build's
 * `SessionPipeline` and receiver on the same workload. Target: the demo workload loses at most 20 % of
 * its ingest throughput to the tree.
 *
 *   git worktree add ../before <commit> && (cd ../before && pnpm install && pnpm build)
 *   LLMMON_BENCH_BEFORE=$PWD/../before pnpm exec vitest bench --run bench/step-tree.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import type { ChainStep, MonitoredSession } from '@llm-monitor/instrumentation';
import { decodeTraceRequestProtobuf } from '@llm-monitor/receiver';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';
import { SessionPipeline } from '@llm-monitor/sessions';
import { runDemoShapedSession } from './support/demo-shaped-session.mjs';
import type { SessionPipelineOptions, SpanRecord } from '@llm-monitor/sessions';

/** Spans per request, as a live application's exporter sends them. */
const BATCH = 20;

type Shape = (session: MonitoredSession) => Promise<void>;

/** Every stage of a session with what `inStage` does in some of them, then its end. */
async function stagesWith(session: MonitoredSession, inStage: Partial<Record<string, () => Promise<void>>>): Promise<void> {
  for (const stage of BUILTIN_STAGE_IDS) {
    session.stage(stage, { message: `stage ${stage}` });
    await inStage[stage]?.();
    if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5);
  }
  session.complete({ inputTokens: 100, outputTokens: 100 });
}

const flat: Shape = async (session) => {
  await stagesWith(session, {
    sending_request: async () =>
      session.startLlmCall({ model: 'gpt-4o-mini', prompt: 'hello' }).end({ inputTokens: 100, outputTokens: 100 }),
  });
};

// The demo's shape is shared with the whole-path child process.
const demo: Shape = runDemoShapedSession;

/** A step of an agent: a planning call, a tool, and a nested chain with a search, `depth` levels down. */
async function agentTurn(scope: MonitoredSession | ChainStep, turn: number, depth: number): Promise<void> {
  scope.startLlmCall({ model: 'gpt-4o', prompt: `plan ${turn}` }).end({ inputTokens: 50, outputTokens: 20, response: 'use a tool' });
  await scope.toolCall({ name: `tool_${turn % 8}`, arguments: { turn } }, () => ({ ok: true }));
  if (depth > 0) await scope.chainStep(`sub_${depth}`, (step) => agentTurn(step, turn, depth - 1));
  else await scope.similaritySearch({ store: 'qdrant', collection: 'memory', topK: 3 }, () => [{ score: 0.5 }]);
}

const agent: Shape = async (session) => {
  await stagesWith(session, {
    sending_request: async () => {
      // 20 turns of 3 steps at each of 3 levels, plus the search at the bottom: 200 steps.
      await session.chainStep(
        'agent_loop',
        async (loop) => {
          for (let turn = 0; turn < 20; turn += 1) await agentTurn(loop, turn, 2);
        },
        { kind: 'agent' },
      );
    },
  });
};

/** The decoded spans of `count` sessions of a shape, cut into live-sized requests in the order they ended. */
async function requestsOf(shape: Shape, count: number): Promise<{ batches: SpanRecord[][]; spans: number; steps: number }> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const monitor = createLlmMonitor({ tracerProvider: provider });
  for (let i = 0; i < count; i += 1) {
    await shape(monitor.startSession({ task: 'bench', model: 'gpt-4o-mini', content: 'benchmark input' }));
  }
  const finished = exporter.getFinishedSpans();
  const spans = decodeTraceRequestProtobuf(Buffer.from(ProtobufTraceSerializer.serializeRequest(finished)!)).spans;
  const batches: SpanRecord[][] = [];
  for (let at = 0; at < spans.length; at += BATCH) batches.push(spans.slice(at, at + BATCH));
  const pipeline = new SessionPipeline();
  pipeline.ingest(spans, 0);
  const steps = [...pipeline.store.values()].reduce((sum, session) => sum + session.steps.length, 0);
  return { batches, spans: spans.length, steps };
}

/** Ingests every request into a fresh pipeline, as the receiver would. */
function ingestAll(
  batches: SpanRecord[][],
  options: SessionPipelineOptions = {},
  Pipeline: typeof SessionPipeline = SessionPipeline,
): void {
  const pipeline = new Pipeline(options);
  for (const batch of batches) pipeline.ingest(batch, 0);
}

// About 2,000 spans of each shape, so their rates compare directly.
const flatRequests = await requestsOf(flat, 160);
const demoRequests = await requestsOf(demo, 90);
const agentRequests = await requestsOf(agent, 10);

const beforeRoot = process.env.LLMMON_BENCH_BEFORE;
const Before = beforeRoot
  ? ((await import(`${beforeRoot}/packages/sessions/dist/index.js`)) as { SessionPipeline: typeof SessionPipeline }).SessionPipeline
  : undefined;

const per = (requests: { spans: number; steps: number }, sessions: number): string =>
  `${requests.spans} spans, ${requests.steps / sessions} steps per session`;

describe(`demo workload, 90 sessions (${per(demoRequests, 90)}) in requests of ${BATCH} spans (spans/s = ${demoRequests.spans} × hz)`, () => {
  bench('baseline: the tree off (maxStepsPerSession: 0)', () => {
    ingestAll(demoRequests.batches, { maxStepsPerSession: 0 });
  });
  if (Before) {
    bench('baseline: the build before the tree (LLMMON_BENCH_BEFORE)', () => {
      ingestAll(demoRequests.batches, {}, Before);
    });
  }
  bench('with the tree of steps', () => {
    ingestAll(demoRequests.batches);
  });
});

describe(`by shape, about 2,000 spans each (flat: 160 sessions, ${per(flatRequests, 160)}; demo: 90, ${per(demoRequests, 90)}; agent: 10, ${per(agentRequests, 10)})`, () => {
  bench(`flat sessions (spans/s = ${flatRequests.spans} × hz)`, () => {
    ingestAll(flatRequests.batches);
  });
  bench(`demo sessions (spans/s = ${demoRequests.spans} × hz)`, () => {
    ingestAll(demoRequests.batches);
  });
  bench(`200-step agent sessions (spans/s = ${agentRequests.spans} × hz)`, () => {
    ingestAll(agentRequests.batches);
  });
});

// The whole path, measured in processes of their own (bench/support/demo-ingest-cpu.mjs): a receiver
// fed 30 sets of the demo's 90 sessions, its process CPU counted. Measured in one process, a receiver
// shares its heap's collections with the others: the tree's cost in retained memory would be spread
// over all of them. The variants take turns, three processes each; the median counts.
const CHILD = fileURLToPath(new URL('./support/demo-ingest-cpu.mjs', import.meta.url));
const RUNS = 3;

interface Variant {
  readonly label: string;
  readonly receiverModule: string;
  readonly options: Record<string, unknown>;
}

const currentReceiver = fileURLToPath(new URL('../packages/receiver/dist/index.js', import.meta.url));
const variants: Variant[] = [
  { label: 'tree off (max_steps_per_session: 0)', receiverModule: currentReceiver, options: { maxStepsPerSession: 0 } },
  ...(beforeRoot
    ? [{ label: 'the build before the tree', receiverModule: `${beforeRoot}/packages/receiver/dist/index.js`, options: {} }]
    : []),
  { label: 'with the tree of steps', receiverModule: currentReceiver, options: {} },
];

interface Measurement {
  readonly spans: number;
  readonly cpuSeconds: number;
  readonly heapPerSessionBytes: number;
}

function measure(variant: Variant, spansPerRequest: number): Measurement {
  const argument = JSON.stringify({
    receiverModule: variant.receiverModule,
    spansPerRequest,
    sets: 30,
    sessionsPerSet: 90,
    options: variant.options,
  });
  const output = execFileSync(process.execPath, ['--expose-gc', CHILD, argument], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').at(-1)!) as Measurement;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

const wholePath: { size: number; runs: Measurement[][] }[] = [];
afterAll(() => {
  if (wholePath.length === 0) return;
  const reference = variants.length > 2 ? 1 : 0;
  const rows = wholePath.flatMap(({ size, runs }) => {
    const rates = runs.map((measured) => median(measured.map((one) => one.spans / one.cpuSeconds)));
    return variants.map((variant, index) => [
      `${size}`,
      variant.label,
      Math.round(rates[index]!).toLocaleString('en'),
      runs[index]!.map((one) => Math.round(one.spans / one.cpuSeconds).toLocaleString('en')).join(', '),
      `${Math.round((rates[index]! / rates[reference]!) * 100)} %`,
      `${(median(runs[index]!.map((one) => one.heapPerSessionBytes)) / 1024).toFixed(1)}`,
    ]);
  });
  const header = [
    'spans per request',
    'receiver',
    'spans per CPU-second (median)',
    'runs',
    `of ${variants[reference]!.label}`,
    'heap per session, KB',
  ];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  process.stdout.write(
    `\nthe whole ingest path, demo workload: 30 × 90 sessions per process, ${RUNS} processes per receiver\n${line(header)}\n${line(widths.map((width) => '-'.repeat(width)))}\n${rows.map(line).join('\n')}\n`,
  );
});

describe('the whole ingest path, demo workload: POST /v1/traces protobuf, a process per measurement (figures printed after the run)', () => {
  for (const size of [BATCH, 330]) {
    bench(
      `requests of ${size} spans`,
      () => {
        // vitest may call a bench more than once however few iterations it is given: measure once.
        if (wholePath.some((done) => done.size === size)) return;
        const runs: Measurement[][] = variants.map(() => []);
        for (let run = 0; run < RUNS; run += 1) {
          for (const [index, variant] of variants.entries()) runs[index]!.push(measure(variant, size));
        }
        wholePath.push({ size, runs });
      },
      { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 },
    );
  }
});
