/**
 * Admission to ingest, shared by OTLP/HTTP and OTLP/gRPC, in two stages.
 *
 * - **Uploads** (OTLP/HTTP only): a body being received holds a connection and what has arrived of
 *   it. Their number is bounded in all and per client address, so connections that send headers
 *   and then stall — or trickle — from one place cannot take every upload slot from the others.
 * - **Processing**: a complete body being decompressed, decoded and ingested holds memory and CPU.
 *   A request takes one of these slots only once its body is complete (gRPC messages arrive
 *   whole), so a body that is not arriving never holds one.
 *
 * Both stages refuse the same way while the receiver shuts down, while its store cannot take
 * writes, and while memory is over the guard's limits.
 */
import { LlmMonitorError } from '../errors.js';
import type { MemoryGuard } from './memory-guard.js';

/** Options of {@link IngestAdmission}. */
export interface IngestAdmissionOptions {
  /** Most requests decompressed, decoded and ingested at once, over every transport. */
  readonly maxConcurrentRequests: number;
  /** Most OTLP/HTTP bodies being received at once (default: no bound beyond the connections). */
  readonly maxUploads?: number;
  /** Most OTLP/HTTP bodies being received at once from one client address (default: `maxUploads`). */
  readonly maxUploadsPerAddress?: number;
  /** True once the receiver is shutting down. */
  readonly isClosing: () => boolean;
  /** False while the store cannot take writes. */
  readonly storeAvailable?: () => boolean;
  /** Refuses ingest while memory is over its limits (none: no memory guard). */
  readonly memory?: MemoryGuard;
}

/** Counts of refusals by the stage that refused, for metrics. */
export interface AdmissionRefusals {
  /** Refused for `otlp_max_uploads`. */
  uploads: number;
  /** Refused for `otlp_max_uploads_per_address`. */
  uploadsPerAddress: number;
  /** Refused for `otlp_max_concurrent_requests`. */
  processing: number;
}

/** Slots for requests in flight. */
export class IngestAdmission {
  readonly #options: IngestAdmissionOptions;
  readonly #uploadsByAddress = new Map<string, number>();
  #inFlight = 0;
  #uploading = 0;
  readonly #refusals: AdmissionRefusals = { uploads: 0, uploadsPerAddress: 0, processing: 0 };

  constructor(options: IngestAdmissionOptions) {
    this.#options = options;
  }

  /** Requests being processed now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** OTLP/HTTP bodies being received now. */
  get uploading(): number {
    return this.#uploading;
  }

  /** Client addresses with a body being received now. */
  get uploadingAddresses(): number {
    return this.#uploadsByAddress.size;
  }

  /** Refusals by stage, since start. */
  get refusals(): Readonly<AdmissionRefusals> {
    return this.#refusals;
  }

  /** Throws the catalogue error that refuses any request now, if there is one. */
  #checkOpen(): void {
    if (this.#options.isClosing()) throw new LlmMonitorError('LLMMON_ERR_SHUTTING_DOWN', 'the receiver is shutting down');
    if (this.#options.storeAvailable && !this.#options.storeAvailable()) {
      throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'the history store cannot take writes now; retry later (see /readyz)');
    }
    const memory = this.#options.memory;
    if (!memory) return;
    const pressure = memory.admit();
    if (pressure === 'hard') {
      throw new LlmMonitorError(
        'LLMMON_ERR_MEMORY_LIMIT',
        `memory in use ${mib(memory.usedBytes)} MiB is above memory_limit_mib (${mib(memory.hardLimitBytes)} MiB); retry later`,
      );
    }
    if (pressure === 'soft') {
      throw new LlmMonitorError(
        'LLMMON_ERR_MEMORY_SOFT_LIMIT',
        `memory in use ${mib(memory.usedBytes)} MiB is above memory_soft_limit_mib (${mib(memory.softLimitBytes)} MiB); retry later`,
      );
    }
  }

  /**
   * Takes an upload slot for a body about to be received from `address`, or throws the catalogue
   * error saying why not. Returns the slot's release, which may be called any number of times.
   */
  enterUpload(address: string): () => void {
    this.#checkOpen();
    const maxUploads = this.#options.maxUploads ?? Infinity;
    if (this.#uploading >= maxUploads) {
      this.#refusals.uploads += 1;
      throw new LlmMonitorError('LLMMON_ERR_OVERLOADED', `${this.#uploading} request bodies being received (otlp_max_uploads)`);
    }
    const fromAddress = this.#uploadsByAddress.get(address) ?? 0;
    if (fromAddress >= (this.#options.maxUploadsPerAddress ?? maxUploads)) {
      this.#refusals.uploadsPerAddress += 1;
      throw new LlmMonitorError(
        'LLMMON_ERR_OVERLOADED',
        `${fromAddress} request bodies being received from ${address} (otlp_max_uploads_per_address)`,
      );
    }
    this.#uploading += 1;
    this.#uploadsByAddress.set(address, fromAddress + 1);
    return once(() => {
      this.#uploading -= 1;
      const left = (this.#uploadsByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#uploadsByAddress.set(address, left);
      else this.#uploadsByAddress.delete(address);
    });
  }

  /**
   * Takes a processing slot for a complete request, or throws the catalogue error saying why not
   * (`LLMMON_ERR_SHUTTING_DOWN`, `LLMMON_ERR_STORE_UNAVAILABLE`, `LLMMON_ERR_MEMORY_LIMIT`,
   * `LLMMON_ERR_MEMORY_SOFT_LIMIT`, `LLMMON_ERR_OVERLOADED`). Returns the slot's release, which may
   * be called any number of times: however a request ends, its slot comes back once.
   *
   * A request admitted when its upload began (`uploaded`) is not judged again on shutdown, the
   * store or memory: it was accepted then, and finishing it is what the shutdown grace is for.
   */
  enter(uploaded = false): () => void {
    if (!uploaded) this.#checkOpen();
    if (this.#inFlight >= this.#options.maxConcurrentRequests) {
      this.#refusals.processing += 1;
      throw new LlmMonitorError('LLMMON_ERR_OVERLOADED', `${this.#inFlight} requests in progress (otlp_max_concurrent_requests)`);
    }
    this.#inFlight += 1;
    return once(() => {
      this.#inFlight -= 1;
    });
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}

/** `release` made safe to call more than once. */
function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}
