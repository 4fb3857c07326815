/**
 * Reading a window through in chunks by start time: every row once, in order, whatever the ties at
 * chunk boundaries — including more rows in one millisecond than a chunk holds.
 */
import { SCAN_CHUNK } from '@llm-monitor/sessions';
import { describe, expect, it } from 'vitest';
import { scanInChunks } from '../src/storage/history-rows.js';

interface Row extends Record<string, unknown> {
  start_time: string;
  id: string;
}

/** A cheap string hash, to order rows within a millisecond differently on every query. */
function hash(text: string): number {
  let value = 2166136261;
  for (let i = 0; i < text.length; i += 1) value = Math.imul(value ^ text.charCodeAt(i), 16777619);
  return value >>> 0;
}

/**
 * A table in memory answering as the stores' chunk queries do: by start time, at most `limit` — and,
 * as a database may, in a different order within a millisecond on every query.
 */
function table(rows: Row[]): { fetch: (fromIso: string | undefined, limit: number) => Row[]; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    fetch: (fromIso, limit) => {
      calls.push(limit);
      const salt = String(calls.length);
      return rows
        .filter((row) => fromIso === undefined || row.start_time >= fromIso)
        .sort((a, b) => (a.start_time !== b.start_time ? (a.start_time < b.start_time ? -1 : 1) : hash(a.id + salt) - hash(b.id + salt)))
        .slice(0, limit);
    },
  };
}

const sortedIds = (rows: readonly Row[]): string[] =>
  [...rows]
    .sort((a, b) => (a.start_time !== b.start_time ? (a.start_time < b.start_time ? -1 : 1) : a.id < b.id ? -1 : 1))
    .map((row) => row.id);
const byTimeThenId = (ids: string[], rows: readonly Row[]): string[] => {
  const time = new Map(rows.map((row) => [row.id, row.start_time]));
  return [...ids].sort((a, b) => (time.get(a)! !== time.get(b)! ? (time.get(a)! < time.get(b)! ? -1 : 1) : a < b ? -1 : 1));
};

const at = (ms: number): string => new Date(Date.UTC(2026, 10, 30) + ms).toISOString();

async function scan(rows: Row[]): Promise<{ ids: string[]; chunks: number; limits: number[] }> {
  const source = table(rows);
  const ids: string[] = [];
  let chunks = 0;
  for await (const chunk of scanInChunks(
    source.fetch,
    (row) => String(row.id),
    (row) => String(row.id),
  )) {
    chunks += 1;
    ids.push(...chunk);
  }
  return { ids, chunks, limits: source.calls };
}

describe('scanInChunks', () => {
  it('reads every row once, oldest first, when start times repeat across chunk boundaries', async () => {
    // Three rows per millisecond: chunk boundaries fall inside milliseconds.
    const rows = Array.from({ length: SCAN_CHUNK * 2 + 7 }, (_, n) => ({
      start_time: at(Math.floor(n / 3)),
      id: `r${String(n).padStart(6, '0')}`,
    }));
    const { ids, chunks } = await scan(rows);
    expect(new Set(ids).size).toBe(ids.length);
    expect(byTimeThenId(ids, rows)).toEqual(sortedIds(rows));
    // Oldest first: a row never comes before one of an earlier millisecond.
    const times = ids.map((id) => rows.find((row) => row.id === id)!.start_time);
    expect([...times].sort()).toEqual(times);
    expect(chunks).toBe(3);
  });

  it('reads more at once when one millisecond holds more rows than a chunk, and still every row once', async () => {
    const crowded = Array.from({ length: SCAN_CHUNK * 3 + 5 }, (_, n) => ({ start_time: at(1), id: `c${String(n).padStart(6, '0')}` }));
    const rows = [{ start_time: at(0), id: 'first' }, ...crowded, { start_time: at(2), id: 'last' }];
    const { ids, limits } = await scan(rows);
    expect(new Set(ids).size).toBe(ids.length);
    expect(byTimeThenId(ids, rows)).toEqual(sortedIds(rows));
    expect(ids[0]).toBe('first');
    expect(ids.at(-1)).toBe('last');
    expect(Math.max(...limits)).toBeGreaterThan(SCAN_CHUNK);
  });

  it('ends at once on an empty window, and on one shorter than a chunk', async () => {
    expect(await scan([])).toEqual({ ids: [], chunks: 0, limits: [SCAN_CHUNK] });
    const few = [
      { start_time: at(5), id: 'a' },
      { start_time: at(5), id: 'b' },
    ];
    expect(await scan(few)).toEqual({ ids: ['a', 'b'], chunks: 1, limits: [SCAN_CHUNK] });
  });
});
