/**
 * The SQLite store's write thread. A group commit of tens of sessions held the main thread 13 ms at
 * the median and up to 118 ms (bench/storage.bench.ts, profile of `sqliteTransaction`): SQLite's own
 * page writes, which no slicing can split. Here they run beside the event loop; the main thread only
 * builds the rows (about 25 µs a session) and waits for the answer.
 *
 * Messages in: `{ id, commit: SqliteCommitRows }`, `{ id, deleteBefore: [cutoffIso, maxRows] }`,
 * `{ id, close: true }`. Messages out: `{ id, ok: true, value? }` or `{ id, error: { message, code } }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configureWriter, prepareWrites } from './sqlite-writes.js';
import type { SqliteCommitRows } from './sqlite-writes.js';

/** A request to the write thread. */
export type WriteRequest =
  | { readonly id: number; readonly commit: SqliteCommitRows }
  | { readonly id: number; readonly deleteBefore: readonly [string, number] }
  | { readonly id: number; readonly close: true };

/** Its answer. */
export type WriteAnswer =
  | { readonly id: number; readonly ok: true; readonly value?: number }
  | { readonly id: number; readonly error: { readonly message: string; readonly code: string | undefined } };

const port = parentPort;
if (port) {
  const database = new Database((workerData as { file: string }).file);
  configureWriter(database);
  const writes = prepareWrites(database);
  port.on('message', (request: WriteRequest) => {
    try {
      if ('commit' in request) {
        writes.commit(request.commit);
        port.postMessage({ id: request.id, ok: true } satisfies WriteAnswer);
      } else if ('deleteBefore' in request) {
        port.postMessage({ id: request.id, ok: true, value: writes.deleteBefore(...request.deleteBefore) } satisfies WriteAnswer);
      } else {
        database.close();
        port.postMessage({ id: request.id, ok: true } satisfies WriteAnswer);
        port.close();
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      port.postMessage({
        id: request.id,
        error: { message: (error as Error).message, code: typeof code === 'string' ? code : undefined },
      } satisfies WriteAnswer);
    }
  });
}
