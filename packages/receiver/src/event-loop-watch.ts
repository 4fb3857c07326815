/**
 * How late the event loop runs: everything the receiver does (ingest, live delivery, REST) waits
 * on it, so a loop that lags is the first sign of a receiver doing more than it can. A timer every
 * few milliseconds records how late it fires, and the delays are judged per window.
 *
 * Not Node's `monitorEventLoopDelay`: resetting its histogram per window drops the sample after the
 * reset, which is the late one whenever the window closes right after a long turn (measured: a
 * 150 ms block went unseen in most runs). This sampler keeps its own last tick.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import type { ComponentHealth } from './api/health-routes.js';

/** Options of {@link EventLoopWatch}. */
export interface EventLoopWatchOptions {
  /** Milliseconds per judged window (default 5,000). */
  readonly windowMs?: number;
  /** p99 delay of a window, in ms, from which the loop is degraded (default 200). */
  readonly degradedMs?: number;
  /** p99 delay of a window, in ms, from which the loop is unhealthy (default 1,000). */
  readonly unhealthyMs?: number;
}

/** One window's figures. */
export interface EventLoopWindow {
  /** 99th percentile of the delays, in ms. */
  readonly p99Ms: number;
  /** Longest delay, in ms. */
  readonly maxMs: number;
  /** Mean delay, in ms. */
  readonly meanMs: number;
  /** When the window closed. */
  readonly at: Date;
}

const US_PER_MS = 1000;
/** Sampling interval: fine enough for thresholds in the hundreds of ms, cheap (50 wake-ups a second). */
const RESOLUTION_MS = 20;

/** See the module comment. */
export class EventLoopWatch {
  readonly #histogram: RecordableHistogram = createHistogram();
  readonly #sampler: NodeJS.Timeout;
  readonly #timer: NodeJS.Timeout;
  readonly #degradedMs: number;
  readonly #unhealthyMs: number;
  readonly #windowMs: number;
  #last: EventLoopWindow | undefined;

  constructor(options: EventLoopWatchOptions = {}) {
    this.#windowMs = options.windowMs ?? 5000;
    this.#degradedMs = options.degradedMs ?? 200;
    this.#unhealthyMs = options.unhealthyMs ?? 1000;
    let lastTick = performance.now();
    this.#sampler = setInterval(() => {
      const now = performance.now();
      // Microseconds late, at least 1 (the histogram records positive integers).
      this.#histogram.record(Math.max(1, Math.round((now - lastTick - RESOLUTION_MS) * US_PER_MS)));
      lastTick = now;
    }, RESOLUTION_MS);
    this.#sampler.unref();
    // After the timers phase: a long turn makes the sampler and this due at once, and the window
    // must hold the sampler's late sample.
    this.#timer = setInterval(() => setImmediate(() => this.#closeWindow()), this.#windowMs);
    this.#timer.unref();
  }

  #closeWindow(): void {
    const histogram = this.#histogram;
    const read = (microseconds: number): number => (histogram.count > 0 ? Math.round(microseconds / 100) / 10 : 0);
    this.#last = { p99Ms: read(histogram.percentile(99)), maxMs: read(histogram.max), meanMs: read(histogram.mean), at: new Date() };
    histogram.reset();
  }

  /** The last closed window (none before the first closes). */
  get lastWindow(): EventLoopWindow | undefined {
    return this.#last;
  }

  /** The loop's health, judged on the last closed window. */
  health(): ComponentHealth {
    const last = this.#last;
    const thresholds = { degraded_ms: this.#degradedMs, unhealthy_ms: this.#unhealthyMs, window_ms: this.#windowMs };
    if (!last) return { status: 'healthy', details: { ...thresholds, measured: false } };
    const status = last.p99Ms >= this.#unhealthyMs ? 'unhealthy' : last.p99Ms >= this.#degradedMs ? 'degraded' : 'healthy';
    return {
      status,
      ...(status === 'healthy'
        ? {}
        : {
            reason: `the event loop ran ${last.p99Ms} ms late (p99 over ${this.#windowMs / 1000} s, ${status} from ${status === 'unhealthy' ? this.#unhealthyMs : this.#degradedMs} ms): the receiver is doing more than it can`,
          }),
      checkedAt: last.at,
      details: { lag_p99_ms: last.p99Ms, lag_max_ms: last.maxMs, lag_mean_ms: last.meanMs, ...thresholds },
    };
  }

  /** Stops watching. */
  close(): void {
    clearInterval(this.#timer);
    clearInterval(this.#sampler);
  }
}
