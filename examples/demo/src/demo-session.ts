import type { LlmMonitor } from '@llm-monitor/instrumentation';
import { DEMO_FAILURES, DEMO_MODELS, DEMO_TASKS, DEMO_WORDS } from './scenarios.js';

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

/** Runs one realistic session through all ten stages, streaming tokens, sometimes failing. */
export async function runDemoSession(options: DemoSessionOptions): Promise<DemoOutcome> {
  const { monitor, random, timeScale, signal } = options;
  const model = pick(random, DEMO_MODELS);
  const task = pick(random, DEMO_TASKS);
  const content = pick(random, task.inputs);
  const failure = random() < options.failureRate ? pick(random, DEMO_FAILURES) : undefined;
  const wait = (seconds: number): Promise<void> => sleep(seconds * 1000 * timeScale, signal);
  const failAt = (stage: string): void => {
    if (failure?.stage === stage) throw new InjectedFailure(failure.message, failure.type);
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
    session.stage('resolving_template', { message: `Loading template ${task.template}`, metadata: { template_id: task.template } });
    await wait(between(random, 0.03, 0.15));
    session.stage('generating_prompt', { message: 'Rendering the prompt with its variables' });
    await wait(between(random, 0.02, 0.1));
    session.stage('selecting_model', {
      message: `Selected ${model.model}`,
      metadata: { candidates: DEMO_MODELS.map((m) => m.model), reason: 'lowest latency for task' },
    });
    await wait(between(random, 0.01, 0.06));
    session.stage('connecting_to_model', { message: `Connecting to ${model.provider}` });
    await wait(between(random, 0.05, 0.25));
    failAt('connecting_to_model');
    session.stage('sending_request', { message: 'Sending the request' });
    const inputTokens = Math.round(content.length / 4) + 180;
    const call = session.startLlmCall({ operation: 'chat', provider: model.provider, model: model.model });
    await wait(model.firstTokenSeconds * between(random, 0.6, 1.6));

    session.stage('streaming_response', { message: 'Receiving the response' });
    const outputTokens = Math.round(between(random, task.outputTokens[0], task.outputTokens[1]));
    const tickSeconds = 0.1;
    const perTick = Math.max(1, Math.round(model.tokensPerSecond * tickSeconds));
    let streamed = 0;
    const failAfter = failure?.stage === 'streaming_response' ? Math.floor(outputTokens / 2) : Infinity;
    while (streamed < outputTokens) {
      const count = Math.min(perTick, outputTokens - streamed);
      const words = Array.from({ length: count }, () => pick(random, DEMO_WORDS));
      session.tokens(count, `${words.join(' ')} `);
      streamed += count;
      if (streamed >= failAfter) {
        call.end({ inputTokens, outputTokens: streamed, error: new InjectedFailure(failure!.message, failure!.type) });
        failAt('streaming_response');
      }
      await wait(tickSeconds);
    }
    call.end({ responseModel: model.model, inputTokens, outputTokens });

    session.stage('processing_response', { message: 'Parsing and formatting the answer' });
    await wait(between(random, 0.02, 0.1));
    session.stage('collecting_metadata', { message: 'Recording usage and timings' });
    await wait(between(random, 0.01, 0.04));
    session.complete({ result: `${task.task} result (${outputTokens} tokens)`, inputTokens, outputTokens });
    return 'completed';
  } catch (error) {
    session.fail(error);
    return 'failed';
  }
}
