/**
 * The memory guard's judgement: readings against the soft and hard limits, a full collection forced
 * over the soft limit at most once per interval, and shedding only when a collection did not help.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryGuard, MIN_GC_INTERVAL_MS } from '../src/otlp/memory-guard.js';

const MIB = 1024 * 1024;

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryGuard', () => {
  it('admits below the soft limit and refuses above it (soft, then hard), counting refusals', () => {
    let used = 10 * MIB;
    const guard = new MemoryGuard({ hardLimitBytes: 100 * MIB, softLimitBytes: 80 * MIB, measure: () => used });
    vi.useFakeTimers();
    expect(guard.admit()).toBe('normal');
    used = 90 * MIB;
    vi.advanceTimersByTime(50);
    expect(guard.admit()).toBe('soft');
    used = 100 * MIB;
    vi.advanceTimersByTime(50);
    expect(guard.admit()).toBe('hard');
    expect(guard.stats()).toMatchObject({ refusedSoft: 1, refusedHard: 1, pressure: 'hard' });
  });

  it('defaults: hard at 90% of the V8 heap limit, soft at 80% of hard', () => {
    const guard = new MemoryGuard({ hardLimitBytes: 0, softLimitBytes: 0 });
    expect(guard.hardLimitBytes).toBeGreaterThan(0);
    expect(guard.softLimitBytes).toBe(Math.floor(guard.hardLimitBytes * 0.8));
  });

  it('collects over the soft limit at most once per interval, and sheds only what a collection did not free', () => {
    vi.useFakeTimers();
    let used = 90 * MIB;
    const collect = vi.fn(() => {
      used -= 5 * MIB;
    });
    // What is shed becomes garbage: memory falls only at the next collection.
    const shed = vi.fn(() => 7);
    const guard = new MemoryGuard({ hardLimitBytes: 100 * MIB, softLimitBytes: 80 * MIB, measure: () => used, collect, shed });
    // 90 → collected to 85, still over: shed, and refused until the next collection.
    expect(guard.admit()).toBe('soft');
    expect(collect).toHaveBeenCalledTimes(1);
    expect(shed).toHaveBeenCalledTimes(1);
    // Over again within the interval: judged as it is, no second collection.
    used = 95 * MIB;
    vi.advanceTimersByTime(100);
    expect(guard.admit()).toBe('soft');
    expect(collect).toHaveBeenCalledTimes(1);
    // After the interval: collected, and garbage was enough this time — nothing shed.
    collect.mockImplementation(() => {
      used = 50 * MIB;
    });
    vi.advanceTimersByTime(MIN_GC_INTERVAL_MS);
    expect(guard.admit()).toBe('normal');
    expect(collect).toHaveBeenCalledTimes(2);
    expect(shed).toHaveBeenCalledTimes(1);
    expect(guard.stats()).toMatchObject({ forcedCollections: 2, shed: 7 });
  });
});
