/**
 * The OTLP forwarder: sends every accepted request body, unchanged (same bytes, content type and
 * encoding), on to another OTLP/HTTP endpoint — Jaeger, Tempo, Langfuse, a Collector — so llm-monitor
 * can sit in front of an existing backend. Forwarding never slows ingest: bodies wait in a bounded
 * queue, and what does not fit, or fails, is counted and dropped.
 */
import type { Logger } from 'pino';

/** Options of {@link OtlpForwarder}. */
export interface OtlpForwarderOptions {
  /** The downstream OTLP/HTTP traces URL. */
  readonly endpoint: string;
  /** Extra headers (an authorization token, a tenant id). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Most bytes waiting to be sent (default 64 MiB); beyond it bodies are dropped. */
  readonly maxQueueBytes?: number;
  /** Requests sent at once (default 4). */
  readonly concurrency?: number;
  /** A send taking longer fails, in ms (default 10,000). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** Counters of an {@link OtlpForwarder}. */
export interface OtlpForwarderStats {
  forwarded: number;
  failed: number;
  dropped: number;
  queuedBytes: number;
}

/** What one queued body costs beyond its bytes (the bookkeeping around it). */
const ENTRY_OVERHEAD_BYTES = 1024;

interface Pending {
  readonly body: Buffer;
  readonly contentType: string;
  readonly contentEncoding: string | undefined;
}

/** See the module comment. */
export class OtlpForwarder {
  readonly #options: OtlpForwarderOptions;
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  #active = 0;
  readonly #inFlight = new Set<AbortController>();
  readonly #idle = new Set<() => void>();
  readonly #stats = { forwarded: 0, failed: 0, dropped: 0 };

  constructor(options: OtlpForwarderOptions) {
    this.#options = options;
  }

  /** A snapshot of the counters. */
  stats(): OtlpForwarderStats {
    return { ...this.#stats, queuedBytes: this.#queuedBytes };
  }

  /** Queues a received request body for the downstream endpoint. */
  forward(body: Buffer, contentType: string, contentEncoding: string | undefined): void {
    // Each entry is charged at least this much, so even empty bodies cannot pile up without bound.
    const cost = body.length + ENTRY_OVERHEAD_BYTES;
    if (this.#queuedBytes + cost > (this.#options.maxQueueBytes ?? 64 * 1024 * 1024)) {
      this.#stats.dropped += 1;
      return;
    }
    this.#queue.push({ body, contentType, contentEncoding });
    this.#queuedBytes += cost;
    this.#pump();
  }

  /**
   * Resolves once nothing waits or is in flight — or, with a deadline, after `timeoutMs` at the most:
   * then sends still going are aborted and what waits is dropped (and counted).
   */
  async drain(timeoutMs?: number): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return;
    const idle = new Promise<void>((resolve) => this.#idle.add(resolve));
    if (timeoutMs === undefined) return idle;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), timeoutMs);
    });
    const outcome = await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (outcome !== 'expired') return;
    this.#stats.dropped += this.#queue.length;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    for (const controller of this.#inFlight) controller.abort(new Error('shutting down'));
    await idle;
  }

  #pump(): void {
    while (this.#active < (this.#options.concurrency ?? 4) && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#queuedBytes -= next.body.length + ENTRY_OVERHEAD_BYTES;
      this.#active += 1;
      void this.#send(next).finally(() => {
        this.#active -= 1;
        this.#pump();
        if (this.#active === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idle) resolve();
          this.#idle.clear();
        }
      });
    }
  }

  async #send(pending: Pending): Promise<void> {
    const headers: Record<string, string> = { ...this.#options.headers, 'content-type': pending.contentType };
    if (pending.contentEncoding) headers['content-encoding'] = pending.contentEncoding;
    const controller = new AbortController();
    this.#inFlight.add(controller);
    try {
      const response = await fetch(this.#options.endpoint, {
        method: 'POST',
        headers,
        body: pending.body,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.#options.timeoutMs ?? 10_000)]),
      });
      // Read the body so the connection is released for reuse.
      await response.arrayBuffer();
      if (response.ok) this.#stats.forwarded += 1;
      else {
        this.#stats.failed += 1;
        this.#options.logger?.warn({ status: response.status, endpoint: this.#options.endpoint }, 'forwarding spans failed');
      }
    } catch (error) {
      this.#stats.failed += 1;
      this.#options.logger?.warn({ err: error, endpoint: this.#options.endpoint }, 'forwarding spans failed');
    } finally {
      this.#inFlight.delete(controller);
    }
  }
}
