/**
 * Admission to ingest, shared by OTLP/HTTP and OTLP/gRPC: a request in flight holds memory for its
 * body and its decoding, so their number is bounded across both transports, and both refuse the
 * same way while the receiver shuts down or its store cannot take writes.
 */
import { LlmMonitorError } from '../errors.js';

/** Options of {@link IngestAdmission}. */
export interface IngestAdmissionOptions {
  /** Most requests received, decompressed and decoded at once, over every transport. */
  readonly maxConcurrentRequests: number;
  /** True once the receiver is shutting down. */
  readonly isClosing: () => boolean;
  /** False while the store cannot take writes. */
  readonly storeAvailable?: () => boolean;
}

/** Slots for requests in flight. */
export class IngestAdmission {
  readonly #options: IngestAdmissionOptions;
  #inFlight = 0;

  constructor(options: IngestAdmissionOptions) {
    this.#options = options;
  }

  /** Requests holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Takes a slot, or throws the catalogue error saying why not (`LLMMON_ERR_SHUTTING_DOWN`,
   * `LLMMON_ERR_STORE_UNAVAILABLE`, `LLMMON_ERR_OVERLOADED`). Returns the slot's release, which
   * may be called any number of times: however a request ends, its slot comes back once.
   */
  enter(): () => void {
    if (this.#options.isClosing()) throw new LlmMonitorError('LLMMON_ERR_SHUTTING_DOWN', 'the receiver is shutting down');
    if (this.#options.storeAvailable && !this.#options.storeAvailable()) {
      throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'the history store cannot take writes now; retry later (see /readyz)');
    }
    if (this.#inFlight >= this.#options.maxConcurrentRequests) {
      throw new LlmMonitorError('LLMMON_ERR_OVERLOADED', `${this.#inFlight} requests in progress (otlp_max_concurrent_requests)`);
    }
    this.#inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
    };
  }
}
