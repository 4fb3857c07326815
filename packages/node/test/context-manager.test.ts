import { afterEach, describe, expect, it } from 'vitest';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { contextPropagates, ensureContextManager } from '../src/index.js';

const KEY = createContextKey('test key');

afterEach(() => {
  context.disable();
});

describe('ensureContextManager', () => {
  it('registers the AsyncLocalStorage context manager when none is set, so context crosses awaits', async () => {
    expect(contextPropagates()).toBe(false);
    expect(ensureContextManager()).toBe(true);
    const seen = await context.with(ROOT_CONTEXT.setValue(KEY, 'inner'), async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return context.active().getValue(KEY);
    });
    expect(seen).toBe('inner');
    expect(context.active().getValue(KEY)).toBeUndefined();
  });

  it('leaves an application’s own context manager in place', () => {
    const own = new AsyncLocalStorageContextManager().enable();
    let used = 0;
    // A manager of the application's that counts its use: it must stay the one in charge.
    const counting: ContextManager = {
      active: () => own.active(),
      with: <A extends unknown[], F extends (...args: A) => ReturnType<F>>(
        active: Context,
        fn: F,
        thisArg?: ThisParameterType<F>,
        ...args: A
      ) => {
        used += 1;
        return own.with(active, fn, thisArg, ...args);
      },
      bind: <T>(bound: Context, target: T) => own.bind(bound, target),
      enable: () => counting,
      disable: () => (own.disable(), counting),
    };
    expect(context.setGlobalContextManager(counting)).toBe(true);
    expect(ensureContextManager()).toBe(false);
    const before = used;
    context.with(ROOT_CONTEXT.setValue(KEY, 'mine'), () => expect(context.active().getValue(KEY)).toBe('mine'));
    expect(used).toBe(before + 1);
  });
});
