/**
 * The stream helper: wraps an async iterable of chunks, passes each chunk through unchanged, and
 * tells the session about tokens, usage and how the stream ended.
 */

/** How a wrapped stream ended. */
export type StreamOutcome = 'completed' | 'cancelled' | 'aborted' | 'error';

/** Options of `session.streamTokens`. */
export interface StreamTokensOptions<T> {
  /** Enter the `streaming_response` stage when the stream starts (default `true`). */
  readonly stage?: boolean;
  /** Message of the `streaming_response` stage. */
  readonly message?: string;
  /** Tokens in a chunk's text (default: 1 per chunk with text, as OpenAI-style streams send). */
  readonly countTokens?: (text: string, chunk: T) => number;
  /** Stops the stream: the stage ends as `aborted` and the signal's reason is thrown to the consumer. */
  readonly signal?: AbortSignal;
}

/** Token usage a stream reported. */
export interface StreamUsage {
  readonly input: number | undefined;
  readonly output: number | undefined;
}

/** What the helper reports to its session. `begin` returns the stage it entered, for `end` to close. */
export interface StreamSink<S> {
  begin(message: string | undefined): S | undefined;
  tokens(count: number, text: string): void;
  end(stage: S | undefined, outcome: StreamOutcome, error: unknown, usage: StreamUsage | undefined): void;
}

type Loose = Record<string, unknown> | undefined;

function record(value: unknown): Loose {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The text of a chunk: a string; OpenAI chat (`choices[0].delta.content`) and completion
 * (`choices[0].text`) chunks; Anthropic `content_block_delta` (`delta.text`); or a `text` property.
 */
export function chunkText(chunk: unknown): string | undefined {
  if (typeof chunk === 'string') return chunk;
  const object = record(chunk);
  if (!object) return undefined;
  const choice = record(Array.isArray(object.choices) ? object.choices[0] : undefined);
  const delta = record(choice?.delta) ?? record(object.delta);
  for (const candidate of [delta?.content, delta?.text, choice?.text, object.text]) {
    if (typeof candidate === 'string') return candidate;
  }
  return undefined;
}

/**
 * Token usage a chunk reports: OpenAI's final chunk (`usage.prompt_tokens/completion_tokens`),
 * Anthropic's `message_start` (`message.usage.input_tokens`) and `message_delta` (`usage.output_tokens`,
 * cumulative).
 */
export function chunkUsage(chunk: unknown): StreamUsage | undefined {
  const object = record(chunk);
  const usage = record(object?.usage) ?? record(record(object?.message)?.usage);
  if (!usage) return undefined;
  const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  const input = number(usage.prompt_tokens) ?? number(usage.input_tokens);
  const output = number(usage.completion_tokens) ?? number(usage.output_tokens);
  return input === undefined && output === undefined ? undefined : { input, output };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** Resolves as `next` does, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted<R>(next: Promise<R>, signal: AbortSignal): Promise<R> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<R>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    next.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The async iterator of `source`, adapting a plain iterable as `for await` does. */
function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  const asyncIterate = (source as AsyncIterable<T>)?.[Symbol.asyncIterator];
  if (typeof asyncIterate === 'function') return asyncIterate.call(source);
  const iterate = (source as Iterable<T>)?.[Symbol.iterator];
  if (typeof iterate !== 'function') throw new TypeError('streamTokens needs an async iterable (or an iterable) of chunks');
  const sync = iterate.call(source);
  return {
    next: async () => sync.next(),
    return: async () => sync.return?.() ?? { done: true, value: undefined },
  };
}

/** Wraps `source`; see `MonitoredSession.streamTokens`. */
export async function* streamTokens<T, S>(
  source: AsyncIterable<T> | Iterable<T>,
  options: StreamTokensOptions<T>,
  sink: StreamSink<S>,
): AsyncGenerator<T, void, undefined> {
  const count = options.countTokens;
  const signal = options.signal;
  const stage = options.stage !== false ? sink.begin(options.message) : undefined;
  let iterator: AsyncIterator<T> | undefined;
  let outcome: StreamOutcome = 'cancelled';
  let failure: unknown;
  let exhausted = false;
  let input: number | undefined;
  let output: number | undefined;
  try {
    iterator = iteratorOf(source);
    for (;;) {
      const next = await (signal ? untilAborted(iterator.next(), signal) : iterator.next());
      if (next.done) {
        exhausted = true;
        outcome = 'completed';
        return;
      }
      const chunk = next.value;
      let text: string | undefined;
      let usage: StreamUsage | undefined;
      try {
        text = chunkText(chunk);
        usage = chunkUsage(chunk);
      } catch {
        // A chunk whose getters throw is the application's to handle; monitoring just skips it.
      }
      if (text) {
        let tokens = 1;
        if (count) {
          try {
            tokens = count(text, chunk);
          } catch {
            // The app's counter failed: count the chunk as one token rather than lose it.
          }
        }
        sink.tokens(tokens, text);
      }
      if (usage) {
        input = usage.input ?? input;
        output = usage.output ?? output;
      }
      // An early `break` in the consumer returns here; `finally` below then sees outcome `cancelled`.
      yield chunk;
    }
  } catch (error) {
    outcome = signal?.aborted ? 'aborted' : 'error';
    failure = error;
    throw error;
  } finally {
    const usage = input === undefined && output === undefined ? undefined : { input, output };
    sink.end(stage, outcome, failure, usage);
    if (!exhausted && iterator?.return) {
      // Let the source release what it holds. After a break the source waits at a yield and returns
      // at once; after an abort or error it may be stuck in `next()`, and waiting for it would
      // undo the abort, so its return is not awaited then.
      const returned = Promise.resolve()
        .then(() => iterator!.return!())
        .catch(() => undefined);
      if (outcome === 'cancelled') await returned;
    }
  }
}
