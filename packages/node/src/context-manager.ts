/**
 * The context manager the setup registers: OpenTelemetry's own AsyncLocalStorage one
 * (`@opentelemetry/context-async-hooks`), and only when the application has none, so an application
 * with its own OpenTelemetry setup keeps it.
 */
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

const PROBE = createContextKey('llm-monitor context probe');

/**
 * True when a context manager that carries context is registered. The API's default carries none;
 * probing, rather than registering and looking at the result, keeps the API from logging a
 * "duplicate registration" error for an application that set one up itself.
 */
export function contextPropagates(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return context.with(probe, () => context.active().getValue(PROBE) === true);
}

/**
 * Registers an `AsyncLocalStorageContextManager` as the global context manager unless one already
 * carries context; true when it registered one.
 */
export function ensureContextManager(): boolean {
  if (contextPropagates()) return false;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) return true;
  manager.disable();
  return false;
}
