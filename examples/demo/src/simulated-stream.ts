/**
 * The simulated model's output: an answer cut into tokens, streamed as an OpenAI-style chat stream.
 * The usage it reports is the number of chunks it sent, so the token counts a session shows always
 * match the text it streamed.
 */

/**
 * A token is a run of letters, up to three digits, or one other character, each with the whitespace
 * before it — close enough to a BPE tokenizer's pieces that streaming looks real, and cut so the
 * pieces put together give the text back exactly. Only trailing whitespace stands alone.
 */
const TOKEN = /\s*(?:\p{L}+|\p{N}{1,3}|[^\s\p{L}\p{N}])|\s+/gu;

/** The tokens the simulated model streams for `text`; joined, they are `text` again. */
export function answerTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** A chunk of the simulated stream: text in `choices[0].delta.content`, usage on the last one. */
export interface SimulatedChunk {
  readonly choices: { readonly delta: { readonly content?: string } }[];
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number };
}

/** How to stream an answer. */
export interface SimulatedStreamOptions {
  readonly tokens: readonly string[];
  readonly tokensPerSecond: number;
  /** Prompt tokens the final usage chunk reports. */
  readonly inputTokens: number;
  readonly wait: (seconds: number) => Promise<void>;
  /** Throws `failure` once this many tokens have been sent (a stream broken midway). */
  readonly failAfter: number;
  readonly failure: Error | undefined;
}

/** A simulated OpenAI-style chat stream: one token per content chunk, then a final chunk with usage. */
export async function* simulatedStream(options: SimulatedStreamOptions): AsyncGenerator<SimulatedChunk> {
  const { tokens, failure } = options;
  for (let i = 0; i < tokens.length; i += 1) {
    if (i >= options.failAfter && failure) throw failure;
    yield { choices: [{ delta: { content: tokens[i]! } }] };
    await options.wait(1 / options.tokensPerSecond);
  }
  yield { choices: [], usage: { prompt_tokens: options.inputTokens, completion_tokens: tokens.length } };
}
