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

/** What the helper reports to its session. */
export interface StreamSink {
  begin(message: string | undefined): void;
  tokens(count: number, text: string): void;
  usage(input: number | undefined, output: number | undefined): void;
  end(outcome: StreamOutcome, error: unknown): void;
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

/** Token usage a chunk reports: OpenAI `usage.prompt_tokens/completion_tokens`, Anthropic `usage.input_tokens/output_tokens`. */
export function chunkUsage(chunk: unknown): { input: number | undefined; output: number | undefined } | undefined {
  const usage = record(record(chunk)?.usage);
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

/** Wraps `source`; see `MonitoredSession.streamTokens`. */
export async function* streamTokens<T>(source: AsyncIterable<T>, options: StreamTokensOptions<T>, sink: StreamSink): AsyncGenerator<T, void, undefined> {
  const count = options.countTokens;
  const signal = options.signal;
  if (options.stage !== false) sink.begin(options.message);
  const iterator = source[Symbol.asyncIterator]();
  let outcome: StreamOutcome = 'cancelled';
  let failure: unknown;
  let exhausted = false;
  try {
    for (;;) {
      const next = await (signal ? untilAborted(iterator.next(), signal) : iterator.next());
      if (next.done) {
        exhausted = true;
        outcome = 'completed';
        return;
      }
      const chunk = next.value;
      const text = chunkText(chunk);
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
      const usage = chunkUsage(chunk);
      if (usage) sink.usage(usage.input, usage.output);
      // An early `break` in the consumer returns here; `finally` below then sees outcome `cancelled`.
      yield chunk;
    }
  } catch (error) {
    outcome = signal?.aborted ? 'aborted' : 'error';
    failure = error;
    throw error;
  } finally {
    // Stopped before the end (break, abort, error): let the source release what it holds.
    if (!exhausted) {
      try {
        await iterator.return?.();
      } catch {
        // The source's own cleanup failed; the consumer already has the outcome that matters.
      }
    }
    sink.end(outcome, failure);
  }
}
