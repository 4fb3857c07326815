import { diag } from '@opentelemetry/api';

/**
 * Runs `work` and hands any error to the OpenTelemetry diagnostic logger instead of the caller:
 * instrumentation must never break the application it observes.
 */
export function neverThrow<T>(what: string, work: () => T, fallback: T): T {
  try {
    return work();
  } catch (error) {
    diag.error(`llm-monitor: ${what} failed`, error);
    return fallback;
  }
}
