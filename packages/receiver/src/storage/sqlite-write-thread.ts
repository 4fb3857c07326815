/** The main thread's end of the SQLite write worker: requests by id, answers as promises. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SqliteCommitRows } from './sqlite-writes.js';
import type { WriteAnswer, WriteRequest } from './sqlite-write-worker.js';

/** An error of the write thread, with SQLite's code (`SQLITE_FULL`, …) when it had one. */
export class SqliteWriteError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'SqliteWriteError';
    this.code = code;
  }
}

/** Where the compiled worker is. */
function workerFile(): string {
  const beside = fileURLToPath(new URL('./sqlite-write-worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  // Run from the TypeScript sources (the test runner loads them): the worker `pnpm build` compiled.
  return fileURLToPath(new URL('../../dist/storage/sqlite-write-worker.js', import.meta.url));
}

type Pending = { resolve: (value: number | undefined) => void; reject: (error: Error) => void };

/** One write worker for one SQLite file, started on first use and again after it died. */
export class SqliteWriteThread {
  readonly #file: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(file: string) {
    this.#file = file;
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(workerFile(), { workerData: { file: this.#file } });
    worker.on('message', (answer: WriteAnswer) => {
      const pending = this.#pending.get(answer.id);
      if (!pending) return;
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) worker.unref();
      if ('error' in answer) pending.reject(new SqliteWriteError(answer.error.message, answer.error.code));
      else pending.resolve(answer.value);
    });
    // A worker that fails to open the file or dies fails what it was asked; the next request starts
    // a new one (the database may be back).
    const fail = (error: Error): void => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.reject(
          new SqliteWriteError(`the SQLite write thread stopped: ${error.message}`, (error as { code?: string }).code ?? 'SQLITE_CANTOPEN'),
        );
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    // The process need not wait for an idle writer (but does while a write is asked for, see #request).
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #request(request: Omit<WriteRequest, 'id'>): Promise<number | undefined> {
    const worker = this.#started();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // A commit asked for during shutdown must be answered before the process may end.
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  /** Writes one group commit in one transaction. */
  async commit(rows: SqliteCommitRows): Promise<void> {
    await this.#request({ commit: rows });
  }

  /** Deletes a batch of old sessions; resolves with how many went. */
  async deleteBefore(cutoffIso: string, maxRows: number): Promise<number> {
    return (await this.#request({ deleteBefore: [cutoffIso, maxRows] })) ?? 0;
  }

  /** Closes the worker's connection after what it was asked, and ends it. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await this.#request({ close: true }).catch(() => undefined);
    // The answer unref'd the worker (nothing pending): held again until it has exited, or a process
    // with nothing else to do ends while close() still waits (exit code 13, "unsettled top-level await").
    worker.ref();
    await exited;
  }
}
