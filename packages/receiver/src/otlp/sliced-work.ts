/**
 * Work in slices, so one large request cannot hold the event loop: a job is a generator that yields
 * after each small step (a few hundred spans decoded or ingested); the scheduler runs steps for at
 * most `budgetMs`, then lets I/O in (health checks, live streams, other requests' bodies) with
 * `setImmediate` before the next turn. Jobs run in arrival order, one after the other: interleaving
 * them would keep every waiting request's decoded spans in memory at once (bench/overload.bench.ts:
 * RSS peaked at 698 MB round-robin against 609 MB in order, with the same throughput and latency).
 *
 * Written here rather than taken from a library: the work is a few generator steps per request and
 * needs no threads, and a worker pool would not help — handing 36,800 decoded spans back from a
 * worker costs the main thread about twice what decoding them there does (v8 deserialize 274 ms
 * against 139 ms for our protobuf decoder, measured on this machine; see docs/architecture.md).
 */

/** A job: yields between steps, returns its result. */
export type Steps<T> = Generator<void, T>;

interface Job {
  readonly steps: Steps<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Runs a generator to its end at once: the synchronous form of a job. */
export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs sliced jobs in arrival order, with a time budget per turn of the event loop. */
export class SlicedWork {
  readonly #budgetMs: number;
  readonly #queue: Job[] = [];
  #scheduled = false;

  /** @param budgetMs longest run of steps before I/O gets its turn (default 8 ms). */
  constructor(budgetMs = 8) {
    this.#budgetMs = budgetMs;
  }

  /** Jobs waiting or running. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Runs `steps` in slices; resolves with its result, rejects with what it threw. */
  run<T>(steps: Steps<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ steps, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    const deadline = performance.now() + this.#budgetMs;
    while (this.#queue.length > 0 && performance.now() < deadline) {
      const job = this.#queue[0]!;
      let step: IteratorResult<void, unknown>;
      try {
        step = job.steps.next();
      } catch (error) {
        this.#queue.shift();
        job.reject(error);
        continue;
      }
      if (step.done) {
        this.#queue.shift();
        job.resolve(step.value);
      }
    }
    if (this.#queue.length > 0) this.#schedule();
  }
}
