/**
 * Bookkeeping of streamed tokens: counts, timing statistics, the batching of token events and the
 * cadence of live progress. Pure arithmetic on times passed in, so it is cheap per token and testable
 * without clocks.
 */

/** When token events are written. */
export interface TokenBatching {
  /** Write a token event once this many tokens are pending (default 256; 1 = one event per call). */
  readonly maxTokens: number;
}

/** A batch of tokens ready to become one span event. */
export interface TokenBatch {
  readonly count: number;
  /** Running total of the session, this batch included. */
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

/**
 * Timing of the tokens within one window (a stage, or the whole session). "After the first" means
 * after the first *arrival*: a first call of 50 tokens is one arrival, so its tokens do not shorten
 * the time per token that follows.
 */
export class TokenTiming {
  firstAt: number | undefined;
  lastAt: number | undefined;
  #count = 0;
  #firstCount = 0;
  #maxGap = 0;

  record(count: number, at: number): void {
    if (this.lastAt === undefined) {
      this.firstAt = at;
      this.#firstCount = count;
    } else {
      this.#maxGap = Math.max(this.#maxGap, at - this.lastAt);
    }
    this.lastAt = at;
    this.#count += count;
  }

  /** True once a token was recorded. */
  get started(): boolean {
    return this.firstAt !== undefined;
  }

  /** Statistics relative to `startedAt` (for time to first token). */
  timings(startedAt: number): TokenTimings {
    if (this.firstAt === undefined || this.lastAt === undefined) {
      return { timeToFirstToken: undefined, tokensPerSecond: undefined, timePerOutputToken: undefined, maxInterTokenLatency: undefined };
    }
    const seconds = (this.lastAt - this.firstAt) / 1000;
    const after = this.#count - this.#firstCount;
    const hasFollowers = after > 0 && seconds > 0;
    return {
      timeToFirstToken: (this.firstAt - startedAt) / 1000,
      tokensPerSecond: hasFollowers ? after / seconds : undefined,
      timePerOutputToken: hasFollowers ? seconds / after : undefined,
      maxInterTokenLatency: this.lastAt > this.firstAt ? this.#maxGap / 1000 : undefined,
    };
  }
}

/** Counts the tokens of one session, batches them into events and paces live progress. */
export class TokenTracker {
  total = 0;
  /** Timing over the whole session. */
  readonly session = new TokenTiming();
  #batchCount = 0;
  #batchText: string[] = [];
  /** Tokens and text recorded since the last live progress update (kept only when live is on). */
  #liveCount = 0;
  #liveText: string[] = [];
  #lastProgressAt = -Infinity;
  readonly #batching: TokenBatching;
  readonly #progressIntervalMs: number;
  readonly #live: boolean;

  constructor(batching: TokenBatching, progressIntervalMs: number, live: boolean) {
    this.#batching = batching;
    this.#progressIntervalMs = progressIntervalMs;
    this.#live = live;
  }

  /** Records `count` tokens arriving at `at`; returns the batch to write when the batch is full. */
  record(count: number, text: string | undefined, at: number): TokenBatch | undefined {
    this.session.record(count, at);
    this.total += count;
    this.#batchCount += count;
    if (text !== undefined) this.#batchText.push(text);
    if (this.#live) {
      this.#liveCount += count;
      if (text !== undefined) this.#liveText.push(text);
    }
    return this.#batchCount >= this.#batching.maxTokens ? this.flush(at) : undefined;
  }

  /** The pending batch as an event (and a new empty batch), or `undefined` when nothing is pending. */
  flush(at: number): TokenBatch | undefined {
    if (this.#batchCount === 0) return undefined;
    const batch: TokenBatch = {
      count: this.#batchCount,
      total: this.total,
      text: this.#batchText.length > 0 ? this.#batchText.join('') : undefined,
      at: this.session.lastAt ?? at,
    };
    this.#batchCount = 0;
    this.#batchText = [];
    return batch;
  }

  /** True when tokens arrived since the last live progress update. */
  get progressPending(): boolean {
    return this.#liveCount > 0;
  }

  /** Milliseconds until a progress update is allowed again (0 = now). */
  progressWaitMs(at: number): number {
    return Math.max(0, this.#lastProgressAt + this.#progressIntervalMs - at);
  }

  /** Marks a progress update as sent; returns what was recorded since the previous one. */
  takeProgress(at: number): { count: number; text: string | undefined } {
    this.#lastProgressAt = at;
    const progress = { count: this.#liveCount, text: this.#liveText.length > 0 ? this.#liveText.join('') : undefined };
    this.#liveCount = 0;
    this.#liveText = [];
    return progress;
  }

  /** Forgets unannounced progress: the stage it belonged to has ended and its real span tells all. */
  dropProgress(): void {
    this.#liveCount = 0;
    this.#liveText = [];
  }
}
