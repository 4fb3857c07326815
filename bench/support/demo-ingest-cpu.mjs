/**
 * One measurement of bench/step-tree.bench.ts, in a process of its own: a receiver built from the
 * receiver module it is given, fed the demo workload's sessions (made by the real instrumentation:
 * the retrieval chain with its embedding, two searches and nested rerank, template, model selection
 * with a fallback, LLM call, tool call, vector store write) as OTLP protobuf requests through
 * `inject`, and the process CPU that took. A process per measurement, so no receiver inherits another
 * one's heap or JIT state. Plain JavaScript: a child process started by vitest cannot load TypeScript.
 *
 * Its one argument is JSON: { receiverModule, spansPerRequest, sets, sessionsPerSet, options }.
 * It prints one line of JSON: { spans, cpuSeconds, heapPerSessionBytes }.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createLlmMonitor } from '@llm-monitor/instrumentation';
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

const { receiverModule, spansPerRequest, sets, sessionsPerSet, options } = JSON.parse(process.argv[2]);
const { buildReceiver } = await import(receiverModule);

/** One set of demo sessions (new trace ids) as request bodies. */
async function demoSet() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const monitor = createLlmMonitor({ tracerProvider: provider });
  for (let i = 0; i < sessionsPerSet; i += 1) {
    const session = monitor.startSession({ task: 'bench', model: 'gpt-4o-mini', content: 'benchmark input' });
    for (const stage of BUILTIN_STAGE_IDS) {
      session.stage(stage, { message: `stage ${stage}` });
      if (stage === 'resolving_template') {
        await session.chainStep(
          'retrieve_context',
          async (step) => {
            await step.embed({ model: 'text-embedding-3-small', inputCount: 1 }, () => [[0.1, 0.2]]);
            await Promise.all([
              step.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 4 }, () => [{ score: 0.9 }, { score: 0.8 }]),
              step.similaritySearch({ store: 'qdrant', collection: 'faq', topK: 2 }, () => [{ score: 0.7 }]),
            ]);
            step.branch('docs_and_faq');
            return step.chainStep('rerank', () => ['doc-1', 'doc-2'], { kind: 'rerank' });
          },
          { kind: 'retrieval', input: 'the question' },
        );
        await session.resolveTemplate({ templateId: 'summarize-v3', version: '3', variables: { input: 1 } }, () => 'prompt');
      }
      if (stage === 'selecting_model') {
        await session.selectModel({ candidates: ['gpt-4o-mini', 'claude'] }, (selection) => {
          selection.fallback('claude', new Error('503 model overloaded'));
          selection.choose('gpt-4o-mini', 'cheapest');
        });
      }
      if (stage === 'sending_request') session.startLlmCall({ model: 'gpt-4o-mini', prompt: 'hello' }).end({ inputTokens: 100, outputTokens: 100, response: 'answer' });
      if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5);
      if (stage === 'processing_response') await session.toolCall({ name: 'cite_sources', arguments: { passages: 2 } }, () => ({ citations: 2 }));
      if (stage === 'collecting_metadata') await session.vectorStore({ operation: 'upsert', store: 'qdrant', collection: 'answers', count: 1 }, () => undefined);
    }
    session.complete({ inputTokens: 100, outputTokens: 100 });
  }
  const spans = exporter.getFinishedSpans();
  const bodies = [];
  for (let at = 0; at < spans.length; at += spansPerRequest) bodies.push(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.slice(at, at + spansPerRequest))));
  return { bodies, spans: spans.length };
}

const made = [];
for (let set = 0; set < sets; set += 1) made.push(await demoSet());
const receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', ...options });
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const before = process.cpuUsage();
let spans = 0;
for (const { bodies, spans: count } of made) {
  for (const payload of bodies) {
    const answer = await receiver.otlpServer.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, payload });
    if (answer.statusCode !== 200) throw new Error(`ingest answered ${answer.statusCode}: ${answer.body}`);
  }
  spans += count;
}
const used = process.cpuUsage(before);
global.gc?.();
const heapPerSessionBytes = (process.memoryUsage().heapUsed - heapBefore) / (sets * sessionsPerSet);
await receiver.close();
process.stdout.write(`${JSON.stringify({ spans, cpuSeconds: (used.user + used.system) / 1e6, heapPerSessionBytes })}\n`);
