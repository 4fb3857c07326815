/**
 * The writes of the SQLite history store, on one connection: a group commit as one transaction,
 * and the retention's batched deletes. Shared by the write worker (`sqlite-write-worker.ts`, what
 * the receiver uses) and the store's inline writer, so both write exactly alike.
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { CALL_COLUMNS, SESSION_COLUMNS } from './history-rows.js';

/** A group commit as rows, ready to write: what crosses to the write worker. */
export interface SqliteCommitRows {
  readonly sessions: readonly Record<string, unknown>[];
  readonly calls: readonly Record<string, unknown>[];
  /** `[trace id, seen at (ms), span record as JSON]`, in append order. */
  readonly running: readonly (readonly [string, number, string])[];
  /** Traces whose span records go. */
  readonly settled: readonly string[];
}

/** The write operations on one connection. */
export interface SqliteWrites {
  commit(rows: SqliteCommitRows): void;
  /** Deletes up to `maxRows` sessions that started before `cutoffIso`, with their calls and records. */
  deleteBefore(cutoffIso: string, maxRows: number): number;
}

/** Prepares the writes on `database` (migrated already). */
export function prepareWrites(database: SqliteDatabase): SqliteWrites {
  const upsertSession = database.prepare(
    `INSERT OR REPLACE INTO sessions (${SESSION_COLUMNS.join(', ')}) VALUES (${SESSION_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const upsertCall = database.prepare(
    `INSERT OR REPLACE INTO llm_calls (${CALL_COLUMNS.join(', ')}) VALUES (${CALL_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const appendRunning = database.prepare('INSERT INTO running_spans (trace_id, seen_ms, record) VALUES (?, ?, ?)');
  const deleteRunning = database.prepare('DELETE FROM running_spans WHERE trace_id = ?');
  const selectOld = database.prepare('SELECT trace_id FROM sessions WHERE start_time < ? LIMIT ?');
  const deleteSession = database.prepare('DELETE FROM sessions WHERE trace_id = ?');
  // A call's key starts with its trace id and ':' (';' sorts right after ':'): a range of the key.
  const deleteCalls = database.prepare('DELETE FROM llm_calls WHERE call_id >= ? AND call_id < ?');
  const commit = database.transaction((rows: SqliteCommitRows) => {
    for (const session of rows.sessions) upsertSession.run(session);
    for (const call of rows.calls) upsertCall.run(call);
    for (const traceId of rows.settled) deleteRunning.run(traceId);
    for (const [traceId, seenMs, record] of rows.running) appendRunning.run(traceId, seenMs, record);
  });
  const deleteBefore = database.transaction((cutoffIso: string, maxRows: number) => {
    const traces = selectOld.all(cutoffIso, maxRows) as { trace_id: string }[];
    for (const { trace_id: traceId } of traces) {
      deleteSession.run(traceId);
      deleteCalls.run(`${traceId}:`, `${traceId};`);
      deleteRunning.run(traceId);
    }
    return traces.length;
  });
  return {
    commit: (rows) => commit.immediate(rows),
    deleteBefore: (cutoffIso, maxRows) => deleteBefore.immediate(cutoffIso, maxRows),
  };
}

/** Opens a connection for writing with the store's settings (the file exists and is migrated). */
export function configureWriter(database: SqliteDatabase): void {
  // NORMAL in WAL mode: a commit survives the process being killed (the WAL is written before the
  // commit returns); only a power loss may lose the last commits. docs/storage.md says so.
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  // Checkpoints (the WAL copied into the file, with an fsync) every 10,000 pages (40 MB) instead of
  // 1,000: fewer fsyncs, and a page written by many commits is copied once. With the indexes of
  // migrations.ts, 78 µs a session against 109 µs (the measurement described there).
  database.pragma('wal_autocheckpoint = 10000');
}
