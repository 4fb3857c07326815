import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';

/**
 * A context manager on Node's AsyncLocalStorage, so the span a helper runs the application's code in
 * is the active span across `await`s. Without one the OpenTelemetry API keeps no context at all.
 */
export class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(active: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(active, () => fn.call(thisArg, ...args));
  }

  bind<T>(bound: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const storage = this.#storage;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      return storage.run(bound, () => (target as (...args: unknown[]) => unknown).apply(this, args));
    };
    return wrapped as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const PROBE = createContextKey('llm-monitor context probe');

/** True when a context manager that carries context is registered (the API's default carries none). */
export function contextPropagates(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return context.with(probe, () => context.active().getValue(PROBE) === true);
}

/** Registers an {@link AsyncContextManager} unless the application already has a working one. */
export function ensureContextManager(): boolean {
  if (contextPropagates()) return false;
  return context.setGlobalContextManager(new AsyncContextManager());
}
