/**
 * Bookkeeping of a streamed response: token counts, timing statistics, the batching of token events
 * and the cadence of live progress. Pure arithmetic on times passed in, so it is cheap per token and
 * testable without clocks.
 */

/** When token events are written. */
export interface TokenBatching {
  /** Write a token event once this many tokens are pending (default 256; 1 = one event per call). */
  readonly maxTokens: number;
}

/** A batch of tokens ready to become one span event. */
export interface TokenBatch {
  readonly count: number;
  /** Running total including this batch. */
  readonly total: number;
  /** Concatenated text of the batch, when captured. */
  readonly text: string | undefined;
  /** Time of the batch's last token. */
  readonly at: number;
}

/** Timing statistics of a stream, in seconds. */
export interface TokenTimings {
  readonly timeToFirstToken: number | undefined;
  readonly tokensPerSecond: number | undefined;
  readonly timePerOutputToken: number | undefined;
  readonly maxInterTokenLatency: number | undefined;
}

/** Counts and times the tokens of one session. */
export class TokenTracker {
  total = 0;
  firstAt: number | undefined;
  lastAt: number | undefined;
  #maxGap = 0;
  #batchCount = 0;
  #batchText: string[] = [];
  /** Tokens and text recorded since the last live progress update. */
  #liveCount = 0;
  #liveText: string[] = [];
  #lastProgressAt = -Infinity;
  readonly #batching: TokenBatching;
  readonly #progressIntervalMs: number;

  constructor(batching: TokenBatching, progressIntervalMs: number) {
    this.#batching = batching;
    this.#progressIntervalMs = progressIntervalMs;
  }

  /**
   * Records `count` tokens arriving at `at`. Returns the batch to write as a span event when the
   * batch is full, else `undefined`.
   */
  record(count: number, text: string | undefined, at: number): TokenBatch | undefined {
    if (this.lastAt !== undefined) this.#maxGap = Math.max(this.#maxGap, at - this.lastAt);
    this.firstAt ??= at;
    this.lastAt = at;
    this.total += count;
    this.#batchCount += count;
    this.#liveCount += count;
    if (text !== undefined) {
      this.#batchText.push(text);
      this.#liveText.push(text);
    }
    return this.#batchCount >= this.#batching.maxTokens ? this.flush() : undefined;
  }

  /** The pending batch as an event (and a new empty batch), or `undefined` when nothing is pending. */
  flush(): TokenBatch | undefined {
    if (this.#batchCount === 0 || this.lastAt === undefined) return undefined;
    const batch: TokenBatch = {
      count: this.#batchCount,
      total: this.total,
      text: this.#batchText.length > 0 ? this.#batchText.join('') : undefined,
      at: this.lastAt,
    };
    this.#batchCount = 0;
    this.#batchText = [];
    return batch;
  }

  /**
   * Whether a live progress update is due at `at`: the first token at once (time to first token
   * shows live), then at most once per progress interval.
   */
  progressDue(at: number): boolean {
    return at - this.#lastProgressAt >= this.#progressIntervalMs;
  }

  /** Marks a progress update as sent; returns what was recorded since the previous one. */
  takeProgress(at: number): { count: number; text: string | undefined } {
    this.#lastProgressAt = at;
    const progress = { count: this.#liveCount, text: this.#liveText.length > 0 ? this.#liveText.join('') : undefined };
    this.#liveCount = 0;
    this.#liveText = [];
    return progress;
  }

  /** Timing statistics relative to `startedAt` (the session start). */
  timings(startedAt: number): TokenTimings {
    if (this.firstAt === undefined || this.lastAt === undefined) {
      return { timeToFirstToken: undefined, tokensPerSecond: undefined, timePerOutputToken: undefined, maxInterTokenLatency: undefined };
    }
    const streamingSeconds = (this.lastAt - this.firstAt) / 1000;
    // The GenAI definition: time per output token generated after the first one.
    const after = this.total - 1;
    return {
      timeToFirstToken: (this.firstAt - startedAt) / 1000,
      tokensPerSecond: after > 0 && streamingSeconds > 0 ? after / streamingSeconds : undefined,
      timePerOutputToken: after > 0 ? streamingSeconds / after : undefined,
      maxInterTokenLatency: this.total > 1 ? this.#maxGap / 1000 : undefined,
    };
  }
}
