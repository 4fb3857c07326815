/**
 * The demo workload's session, without its waits: every stage, with a retrieval chain (embedding,
 * two parallel searches, a nested rerank), a template, a model selection with a fallback, an LLM
 * call, streamed tokens, a tool call and a vector store write — 10 steps. Shared by
 * bench/step-tree.bench.ts and its child process (bench/support/demo-ingest-cpu.mjs). Plain
 * JavaScript: a child process started by vitest cannot load TypeScript.
 */
import { BUILTIN_STAGE_IDS } from '@llm-monitor/semconv';

/** Runs one demo-shaped session on `session` (a `MonitoredSession`) and completes it. */
export async function runDemoShapedSession(session) {
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
    if (stage === 'sending_request')
      session.startLlmCall({ model: 'gpt-4o-mini', prompt: 'hello' }).end({ inputTokens: 100, outputTokens: 100, response: 'answer' });
    if (stage === 'streaming_response') for (let t = 0; t < 20; t += 1) session.tokens(5);
    if (stage === 'processing_response')
      await session.toolCall({ name: 'cite_sources', arguments: { passages: 2 } }, () => ({ citations: 2 }));
    if (stage === 'collecting_metadata')
      await session.vectorStore({ operation: 'upsert', store: 'qdrant', collection: 'answers', count: 1 }, () => undefined);
  }
  session.complete({ inputTokens: 100, outputTokens: 100 });
}
