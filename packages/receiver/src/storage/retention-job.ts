/**
 * `history_retention_days`: deletes sessions and calls older than the retention, a batch at a time
 * with the event loop free in between, so a large backlog (a first start after a long pause) never
 * holds ingest up for long.
 */
import type { HistoryStore } from '@llm-monitor/sessions';

/** Sessions deleted per batch. */
const BATCH = 500;
/** How often the job runs. */
const INTERVAL_MS = 10 * 60 * 1000;
/** Delay of the first run after start (the receiver first serves). */
const FIRST_RUN_MS = 30_000;

/** Options of {@link RetentionJob}. */
export interface RetentionJobOptions {
  readonly retentionMs: number;
  /** Told when a run failed (the next run tries again). */
  readonly onError?: (error: unknown) => void;
  /** Milliseconds between runs (default 10 minutes). */
  readonly intervalMs?: number;
}

/** The background deletion of history older than the retention. */
export class RetentionJob {
  readonly #history: HistoryStore;
  readonly #options: RetentionJobOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #deleted = 0;
  #lastRunAt: string | null = null;

  constructor(history: HistoryStore, options: RetentionJobOptions) {
    this.#history = history;
    this.#options = options;
  }

  /** Schedules the runs. */
  start(): void {
    const first = setTimeout(() => void this.runOnce(), FIRST_RUN_MS);
    first.unref();
    this.#timer = setInterval(() => void this.runOnce(), this.#options.intervalMs ?? INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Deletes everything older than the retention now; resolves with how many sessions went. */
  runOnce(nowMs = Date.now()): Promise<number> {
    this.#running ??= this.#run(nowMs).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(nowMs: number): Promise<number> {
    const cutoffMs = nowMs - this.#options.retentionMs;
    let deleted = 0;
    try {
      for (;;) {
        const batch = await this.#history.deleteBefore(cutoffMs, BATCH);
        deleted += batch;
        if (batch < BATCH) break;
        // Let requests in between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.#options.onError?.(error);
    }
    this.#deleted += deleted;
    this.#lastRunAt = new Date(nowMs).toISOString();
    return deleted;
  }

  /** Figures for `/readyz`. */
  stats(): { deleted: number; last_run_at: string | null; retention_days: number } {
    return { deleted: this.#deleted, last_run_at: this.#lastRunAt, retention_days: this.#options.retentionMs / 86_400_000 };
  }
}
