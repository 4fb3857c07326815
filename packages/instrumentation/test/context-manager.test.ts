import { describe, expect, it } from 'vitest';
import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncContextManager } from '../src/setup.js';

const KEY = createContextKey('test key');

describe('AsyncContextManager', () => {
  it('carries the context across awaits inside with(), and nowhere else', async () => {
    const manager = new AsyncContextManager();
    const inner = ROOT_CONTEXT.setValue(KEY, 'inner');
    const seen = await manager.with(inner, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return manager.active().getValue(KEY);
    });
    expect(seen).toBe('inner');
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it('binds a function to a context, and leaves other values alone', () => {
    const manager = new AsyncContextManager();
    const bound = manager.bind(ROOT_CONTEXT.setValue(KEY, 'bound'), (suffix: string) => `${String(manager.active().getValue(KEY))}${suffix}`);
    expect(bound('!')).toBe('bound!');
    const value = { not: 'a function' };
    expect(manager.bind(ROOT_CONTEXT, value)).toBe(value);
  });
});
