/**
 * The memory guard, after the OpenTelemetry Collector's `memory_limiter`: ingest is what makes the
 * receiver's memory grow, so above a soft limit new requests are refused with 429 (senders back off
 * and retry) and above a hard limit with 503, before the process runs out of memory. What is
 * measured is the V8 heap in use plus the buffers outside it (request bodies, decompression): the
 * memory the receiver's own data takes, which falls as soon as a collection frees it. RSS is
 * reported beside it but not judged on, because V8 returns freed pages to the system only lazily,
 * and a guard on RSS would keep refusing long after the data was gone.
 */
import { getHeapStatistics } from 'node:v8';

/** Where memory stands against the limits. */
export type MemoryPressure = 'normal' | 'soft' | 'hard';

/** Options of {@link MemoryGuard}. */
export interface MemoryGuardOptions {
  /** Bytes above which ingest gets 503; 0 = 90% of V8's heap limit. */
  readonly hardLimitBytes: number;
  /** Bytes above which ingest gets 429; 0 = 80% of the hard limit. */
  readonly softLimitBytes: number;
  /** Reads the memory in use (default: heap used plus external memory of this process). */
  readonly measure?: () => number;
}

/** A reading is reused for this long: admission asks per request, at thousands per second. */
const READING_TTL_MS = 20;

/** The guard's counts, for metrics and `/readyz`. */
export interface MemoryGuardStats {
  readonly usedBytes: number;
  readonly softLimitBytes: number;
  readonly hardLimitBytes: number;
  readonly pressure: MemoryPressure;
  /** Requests refused over the soft limit, since start. */
  readonly refusedSoft: number;
  /** Requests refused over the hard limit, since start. */
  readonly refusedHard: number;
  /** ISO time of the last reading. */
  readonly checkedAt: string;
}

function usedMemory(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** See the module comment. */
export class MemoryGuard {
  readonly hardLimitBytes: number;
  readonly softLimitBytes: number;
  readonly #measure: () => number;
  #usedBytes = 0;
  #readAt = 0;
  #refusedSoft = 0;
  #refusedHard = 0;

  constructor(options: MemoryGuardOptions) {
    this.hardLimitBytes = options.hardLimitBytes > 0 ? options.hardLimitBytes : Math.floor(getHeapStatistics().heap_size_limit * 0.9);
    this.softLimitBytes =
      options.softLimitBytes > 0 ? Math.min(options.softLimitBytes, this.hardLimitBytes) : Math.floor(this.hardLimitBytes * 0.8);
    this.#measure = options.measure ?? usedMemory;
  }

  /** Memory in use now (a reading at most a few milliseconds old). */
  get usedBytes(): number {
    const now = Date.now();
    if (now - this.#readAt >= READING_TTL_MS) {
      this.#usedBytes = this.#measure();
      this.#readAt = now;
    }
    return this.#usedBytes;
  }

  /** Where memory stands now. */
  get pressure(): MemoryPressure {
    const used = this.usedBytes;
    return used >= this.hardLimitBytes ? 'hard' : used >= this.softLimitBytes ? 'soft' : 'normal';
  }

  /**
   * Judges one request: `normal` admits it; `soft` or `hard` refuses it and counts the refusal.
   * The caller turns the verdict into its transport's answer.
   */
  admit(): MemoryPressure {
    const pressure = this.pressure;
    if (pressure === 'soft') this.#refusedSoft += 1;
    else if (pressure === 'hard') this.#refusedHard += 1;
    return pressure;
  }

  /** The guard's figures. */
  stats(): MemoryGuardStats {
    const pressure = this.pressure;
    return {
      usedBytes: this.#usedBytes,
      softLimitBytes: this.softLimitBytes,
      hardLimitBytes: this.hardLimitBytes,
      pressure,
      refusedSoft: this.#refusedSoft,
      refusedHard: this.#refusedHard,
      checkedAt: new Date(this.#readAt).toISOString(),
    };
  }
}
