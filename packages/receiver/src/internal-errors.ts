/**
 * Errors of the receiver's own parts that were caught at a wall (a store listener, a timer, a live
 * delivery): counted by component for `llm_monitor_receiver_internal_errors_total`, and logged with
 * their catalogue code — the first at once, then at most one line per component every ten seconds
 * with how many came in between, so a part that fails on every change cannot flood the log.
 */
import type { Logger } from 'pino';
import type { ErrorCode } from './errors.js';

/** Seconds between two log lines of one failing component. */
const LOG_EVERY_MS = 10_000;

/** See the module comment. */
export class InternalErrors {
  readonly #logger: Logger;
  readonly #counts = new Map<string, number>();
  readonly #lastLogged = new Map<string, { at: number; count: number }>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Counts and logs an error `component` threw, under `code`. */
  report(
    code: Extract<ErrorCode, 'LLMMON_ERR_LISTENER_FAILED' | 'LLMMON_ERR_TIMER_FAILED' | 'LLMMON_ERR_INTERNAL'>,
    component: string,
    error: unknown,
  ): void {
    const count = (this.#counts.get(component) ?? 0) + 1;
    this.#counts.set(component, count);
    const now = Date.now();
    const last = this.#lastLogged.get(component);
    if (last && now - last.at < LOG_EVERY_MS) return;
    this.#lastLogged.set(component, { at: now, count });
    const since = last ? count - last.count - 1 : 0;
    this.#logger.error(
      { code, component, err: error, ...(since > 0 ? { suppressed: since } : {}) },
      `${code}: ${component} failed; the receiver keeps running`,
    );
  }

  /** Errors so far, by component. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
