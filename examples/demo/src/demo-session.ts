/**
 * One simulated request of an LLM application, written the way a real processor would use the
 * instrumentation: every stage, template resolution, model selection with fallbacks, a retrieval
 * chain with parallel steps and a conditional branch, embeddings and vector search, an LLM call with
 * prompt and response, and the streamed answer through `streamTokens`.
 */
import type { LlmMonitor } from '@llm-monitor/instrumentation';
import { DEMO_FAILURES, DEMO_MODELS, DEMO_TASKS } from './scenarios.js';
import { answerTokens, simulatedStream } from './simulated-stream.js';

/** Source of randomness (injectable so tests can make runs repeatable). */
export type Random = () => number;

/** Settings of one simulated session. */
export interface DemoSessionOptions {
  readonly monitor: LlmMonitor;
  readonly random: Random;
  /** Multiplies every simulated delay (1 = realistic, 0.05 = twenty times faster). */
  readonly timeScale: number;
  /** Chance that the session fails (0–1). */
  readonly failureRate: number;
  /** Aborts the session (it then ends as failed). */
  readonly signal: AbortSignal;
}

/** How a simulated session ended. */
export type DemoOutcome = 'completed' | 'failed';

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function between(random: Random, min: number, max: number): number {
  return min + random() * (max - min);
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

class InjectedFailure extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}

/** Runs one realistic session through all ten stages, sometimes failing. */
export async function runDemoSession(options: DemoSessionOptions): Promise<DemoOutcome> {
  const { monitor, random, timeScale, signal } = options;
  const model = pick(random, DEMO_MODELS);
  const task = pick(random, DEMO_TASKS);
  const example = pick(random, task.examples);
  const content = example.input;
  const failure = random() < options.failureRate ? pick(random, DEMO_FAILURES) : undefined;
  const injected = failure ? new InjectedFailure(failure.message, failure.type) : undefined;
  const wait = (seconds: number): Promise<void> => sleep(seconds * 1000 * timeScale, signal);
  const failAt = (stage: string): void => {
    if (failure?.stage === stage) throw injected;
  };

  const session = monitor.startSession({
    task: task.task,
    model: model.model,
    provider: model.provider,
    processorType: model.processorType,
    content,
    userId: `user-${Math.floor(random() * 40)}`,
    conversationId: `conv-${Math.floor(random() * 25)}`,
    metadata: { template_id: task.template, region: pick(random, ['eu-west-1', 'us-east-1']) },
  });
  try {
    session.stage('initializing', { message: 'Starting the processing session' });
    await wait(between(random, 0.02, 0.08));
    session.stage('validating_input', { message: `Validating ${content.length} characters of input` });
    await wait(between(random, 0.02, 0.1));
    failAt('validating_input');

    session.stage('resolving_template', { message: `Loading template ${task.template}` });
    // Retrieval-augmented context: embed the question, search, and (on a miss) widen the search.
    const context = await session.chainStep(
      'retrieve_context',
      async (step) => {
        await step.embed({ model: 'text-embedding-3-small', provider: 'openai', inputCount: 1 }, async () => {
          await wait(between(random, 0.02, 0.06));
          return [Array.from({ length: 8 }, () => random())];
        });
        const [docs, faq] = await Promise.all([
          step.similaritySearch({ store: 'qdrant', collection: 'docs', topK: 4 }, async () => {
            await wait(between(random, 0.02, 0.08));
            return Array.from({ length: 4 }, (_, i) => ({ id: `doc-${i}`, score: 0.95 - i * 0.07 - random() * 0.05 }));
          }),
          step.similaritySearch({ store: 'qdrant', collection: 'faq', topK: 2 }, async () => {
            await wait(between(random, 0.02, 0.06));
            return random() < 0.3 ? [] : [{ id: 'faq-1', score: 0.7 + random() * 0.2 }];
          }),
        ]);
        step.branch(faq.length > 0 ? 'docs_and_faq' : 'docs_only');
        // A nested step: rerank what the searches found.
        return step.chainStep(
          'rerank',
          async () => {
            await wait(between(random, 0.01, 0.03));
            return [...docs, ...faq].sort((a, b) => b.score - a.score).slice(0, 4);
          },
          { kind: 'rerank', input: { candidates: docs.length + faq.length } },
        );
      },
      { kind: 'retrieval', input: content },
    );
    const prompt = await session.resolveTemplate(
      { templateId: task.template, version: '3', variables: { input: content, context } },
      async () => {
        await wait(between(random, 0.01, 0.05));
        return `${task.instruction}\nRetrieved passages: ${context.map((passage) => passage.id).join(', ')}.\n\n${content}`;
      },
    );

    session.stage('generating_prompt', { message: 'Rendering the prompt with its variables' });
    await wait(between(random, 0.02, 0.1));

    session.stage('selecting_model', { message: 'Choosing a model' });
    const candidates = [model.model, ...DEMO_MODELS.filter((m) => m.model !== model.model).map((m) => m.model)];
    await session.selectModel({ candidates }, async (selection) => {
      if (random() < 0.2) {
        selection.fallback(pick(random, candidates.slice(1)), new Error('503 model overloaded'));
        await wait(between(random, 0.02, 0.05));
      }
      selection.choose(model.model, 'lowest latency for the task');
      return model.model;
    });

    session.stage('connecting_to_model', { message: `Connecting to ${model.provider}` });
    await wait(between(random, 0.05, 0.25));
    failAt('connecting_to_model');

    session.stage('sending_request', { message: 'Sending the request' });
    const inputTokens = Math.round(prompt.length / 4) + 180;
    const call = session.startLlmCall({
      operation: 'chat',
      provider: model.provider,
      model: model.model,
      prompt: [
        { role: 'system', content: 'You are a careful assistant.' },
        { role: 'user', content: prompt },
      ],
    });
    await wait(model.firstTokenSeconds * between(random, 0.6, 1.6));

    // The answer belongs to the input: the canned text for it, streamed one token per chunk.
    const tokens = answerTokens(example.answer);
    const outputTokens = tokens.length;
    const failAfter = failure?.stage === 'streaming_response' ? Math.floor(outputTokens / 2) : Infinity;
    const stream = simulatedStream({ tokens, tokensPerSecond: model.tokensPerSecond, inputTokens, wait, failAfter, failure: injected });
    let answer = '';
    let received = 0;
    try {
      for await (const chunk of session.streamTokens(stream, { message: 'Receiving the response' })) {
        const text = chunk.choices[0]?.delta.content;
        if (text === undefined) continue;
        answer += text;
        received += 1;
      }
    } catch (error) {
      call.end({ inputTokens, outputTokens: received, error });
      throw error;
    }
    call.end({ responseModel: model.model, response: answer, inputTokens, outputTokens, finishReason: 'stop' });

    session.stage('processing_response', { message: 'Parsing and formatting the answer' });
    await wait(between(random, 0.02, 0.1));
    // The answer cites its passages through a tool (a GenAI execute_tool span).
    await session.toolCall(
      { name: 'cite_sources', callId: `call_${context.length}`, arguments: { passages: context.map((passage) => passage.id) } },
      async () => {
        await wait(0.01);
        return { citations: context.length };
      },
    );
    session.stage('collecting_metadata', { message: 'Recording usage and timings' });
    // Keep the answer for later retrieval: a vector store write.
    await session.vectorStore({ operation: 'upsert', store: 'qdrant', collection: 'answers', count: 1 }, () =>
      wait(between(random, 0.01, 0.04)),
    );
    session.complete({ result: answer, inputTokens, outputTokens });
    return 'completed';
  } catch (error) {
    session.fail(error);
    return 'failed';
  }
}
