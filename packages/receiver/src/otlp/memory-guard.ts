/**
 * The memory guard, after the OpenTelemetry Collector's `memory_limiter`: ingest is what makes the
 * receiver's memory grow, so above a soft limit new requests are refused with 429 (senders back off
 * and retry) and above a hard limit with 503, before the process runs out of memory. What is
 * measured is the V8 heap in use plus the buffers outside it (request bodies, decompression): the
 * memory the receiver's own data takes, which falls as soon as a collection frees it. RSS is
 * reported beside it but not judged on, because V8 returns freed pages to the system only lazily,
 * and a guard on RSS would keep refusing long after the data was gone.
 *
 * Heap in use counts garbage until V8 collects it, and an idle V8 does not collect: a receiver that
 * refuses ingest allocates nothing, so its garbage would stay and it would refuse for ever (seen:
 * 218 MiB "in use" with 29 MiB held, ten seconds after a flood). So, like the Collector's limiter,
 * the guard forces a full collection when a reading is over the soft limit — at most once per
 * {@link MIN_GC_INTERVAL_MS}, or ten times the last one's length — and judges the reading after it. Still over, it has the receiver
 * let go of a tenth of its live window's ended sessions (they stay in the history), so memory comes
 * down even when `max_sessions` allows more than the limit holds.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';

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
  /** Forces a full collection over the soft limit (default: V8's, when it can be had; tests pass their own). */
  readonly collect?: () => void;
  /**
   * Lets go of what the receiver can afford to (ended sessions the history holds, orphan traces),
   * called when memory is still over the soft limit after a collection; returns how much it let go.
   * Without it, data held within `max_sessions` could keep memory over the limit — and ingest
   * refused — until retention removed it.
   */
  readonly shed?: () => number;
}

/** A reading is reused for this long: admission asks per request, at thousands per second. */
const READING_TTL_MS = 20;
/**
 * Fewest milliseconds between two forced collections (a full one of a few hundred MiB takes
 * ~100 ms). A collection that took longer spaces the next one further: at least ten times its own
 * length, so forced collections never take more than a tenth of the time, however large the heap.
 */
export const MIN_GC_INTERVAL_MS = 2000;
const GC_SPACING_FACTOR = 10;

/**
 * V8's full collection. Node offers it only with `--expose-gc`; the flag set at run time exposes
 * `gc` to contexts created after, so one is created to fetch it. Undefined where that fails.
 */
function fullCollection(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

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
  /** Full collections forced over the soft limit, since start. */
  readonly forcedCollections: number;
  /** Traces and sessions let go over the soft limit, since start. */
  readonly shed: number;
  /** ISO time of the last reading. */
  readonly checkedAt: string;
}

/**
 * V8's heap in use plus memory outside it (buffers): what `process.memoryUsage()` calls `heapUsed`
 * and `external`, read without the resident set size it also reads from /proc — measured, 12 µs a
 * call against 0.7 µs here, and on a busy machine about 3 % of a live workload's ingest time.
 */
function usedMemory(): number {
  const heap = getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
}

/** See the module comment. */
export class MemoryGuard {
  readonly hardLimitBytes: number;
  readonly softLimitBytes: number;
  readonly #measure: () => number;
  readonly #collect: (() => void) | undefined;
  readonly #shed: (() => number) | undefined;
  #shedTotal = 0;
  #collectedAt = 0;
  #gcIntervalMs = MIN_GC_INTERVAL_MS;
  #forcedCollections = 0;
  #usedBytes = 0;
  #readAt = 0;
  #refusedSoft = 0;
  #refusedHard = 0;

  constructor(options: MemoryGuardOptions) {
    this.hardLimitBytes = options.hardLimitBytes > 0 ? options.hardLimitBytes : Math.floor(getHeapStatistics().heap_size_limit * 0.9);
    this.softLimitBytes =
      options.softLimitBytes > 0 ? Math.min(options.softLimitBytes, this.hardLimitBytes) : Math.floor(this.hardLimitBytes * 0.8);
    this.#measure = options.measure ?? usedMemory;
    this.#collect = options.collect ?? (options.measure ? undefined : fullCollection());
    this.#shed = options.shed;
  }

  /** Memory in use now (a reading at most a few milliseconds old; garbage collected first when over the soft limit). */
  get usedBytes(): number {
    const now = Date.now();
    if (now - this.#readAt >= READING_TTL_MS) {
      this.#usedBytes = this.#measure();
      this.#readAt = now;
      if (this.#usedBytes >= this.softLimitBytes && now - this.#collectedAt >= this.#gcIntervalMs) {
        this.#collectedAt = now;
        if (this.#collect) {
          this.#forcedCollections += 1;
          const startedAt = performance.now();
          this.#collect();
          this.#gcIntervalMs = Math.max(MIN_GC_INTERVAL_MS, (performance.now() - startedAt) * GC_SPACING_FACTOR);
          this.#usedBytes = this.#measure();
        }
        // Still over after a collection: what is held is data, not garbage. Some goes; the next
        // collection (at most MIN_GC_INTERVAL_MS on) frees it and judges again.
        if (this.#usedBytes >= this.softLimitBytes && this.#shed) this.#shedTotal += this.#shed();
        this.#readAt = Date.now();
      }
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
      forcedCollections: this.#forcedCollections,
      shed: this.#shedTotal,
      checkedAt: new Date(this.#readAt).toISOString(),
    };
  }
}
