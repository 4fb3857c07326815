import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { NOOP_LLM_CALL } from './llm-call.js';
import type { LlmCall } from './llm-call.js';
import type { MonitoredSession } from './monitored-session.js';
import type { ChainStep, ModelSelection, SimilaritySearchOptions } from './processing-scope.js';
import { streamTokens } from './stream-tokens.js';
import type { StreamSink } from './stream-tokens.js';

const NOOP_SELECTION: ModelSelection = { fallback: () => undefined, choose: () => undefined };

const NOOP_SINK: StreamSink<undefined> = { begin: () => undefined, tokens: () => undefined, end: () => undefined };

/** Runs the application's function as it is, adapting a plain value to the promise the API returns. */
async function run<T>(work: () => T | Promise<T>): Promise<T> {
  return work();
}

const NOOP_STEP: ChainStep = {
  branch: () => undefined,
  startLlmCall: (): LlmCall => NOOP_LLM_CALL,
  resolveTemplate: (_options, render) => run(render),
  selectModel: (_options, select) => run(() => select(NOOP_SELECTION)),
  chainStep: (_name, step) => run(() => step(NOOP_STEP)),
  embed: (_options, embed) => run(embed),
  similaritySearch: <T>(_options: SimilaritySearchOptions<T>, search: () => readonly T[] | Promise<readonly T[]>) => run(search),
  vectorStore: (_options, write) => run(write),
  toolCall: (_options, call) => run(call),
};

/**
 * The session of disabled monitoring: one shared object whose methods do nothing (or just run the
 * application's function), so a disabled call costs a few nanoseconds and allocates nothing.
 */
export const DISABLED_SESSION: MonitoredSession = {
  ...NOOP_STEP,
  sessionId: '',
  progress: 0,
  ended: false,
  recording: false,
  get context(): Context {
    // The application's own context: disabled monitoring must not detach its spans from their trace.
    return context.active();
  },
  stage: () => undefined,
  tokens: () => undefined,
  // The source itself, unless a signal asks for aborts: those must work whether monitoring is on or not.
  streamTokens: (source, options) => (options?.signal ? streamTokens(source, { ...options, stage: false }, NOOP_SINK) : source),
  complete: () => undefined,
  fail: () => undefined,
};
