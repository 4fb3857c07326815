/**
 * The writes of the SQLite history store, on one connection: a group commit as one transaction,
 * and the retention's batched deletes. Shared by the write worker (`sqlite-write-worker.ts`, what
 * the receiver uses) and the store's inline writer, so both write exactly alike.
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { CALL_COLUMNS, SESSION_COLUMNS } from './history-rows.js';

/** A group commit as rows, ready to write: what crosses to the write worker. */
export interface SqliteCommitRows {
  /** `sessions` rows (with `trace_id` and `span_count`). */
  readonly sessions: readonly Record<string, unknown>[];
  /** `llm_calls` rows (with `trace_id`): written only with their session's row. */
  readonly calls: readonly Record<string, unknown>[];
  /** `[trace id, seen at (ms), span record as JSON]`, in append order. */
  readonly running: readonly (readonly [string, number, string])[];
  /** Traces this replica settles. */
  readonly settled: readonly string[];
  /** The replica the span records are appended for (`''`: a receiver on its own). */
  readonly replica: string;
  /**
   * Whether other replicas may write the file: then which replicas hold which running trace is kept
   * (running_replicas), and a settled trace keeps its records while another replica holds it.
   */
  readonly shared: boolean;
}

/** The write operations on one connection. */
export interface SqliteWrites {
  commit(rows: SqliteCommitRows): void;
  /** Deletes up to `maxRows` sessions that started before `cutoffIso`, with their calls and records. */
  deleteBefore(cutoffIso: string, maxRows: number): number;
}

/** Prepares the writes on `database` (migrated already). */
export function prepareWrites(database: SqliteDatabase): SqliteWrites {
  const columns = SESSION_COLUMNS.filter((column) => column !== 'trace_id');
  // A row built from fewer of the trace's spans than the stored one (another replica's, holding
  // part of the trace) leaves it as it is; run() then reports no change, and its calls stay out too.
  const upsertSession = database.prepare(
    `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')}) VALUES (${SESSION_COLUMNS.map((column) => `@${column}`).join(', ')})
     ON CONFLICT (trace_id) DO UPDATE SET ${columns.map((column) => `${column} = excluded.${column}`).join(', ')}
     WHERE sessions.span_count <= excluded.span_count`,
  );
  const upsertCall = database.prepare(
    `INSERT OR REPLACE INTO llm_calls (${CALL_COLUMNS.join(', ')}) VALUES (${CALL_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const appendRunning = database.prepare('INSERT INTO running_spans (trace_id, seen_ms, record, replica) VALUES (?, ?, ?, ?)');
  // A replica holding a trace again after it settled it (a late span revived the session) is no longer done with it.
  const holdRunning = database.prepare(
    'INSERT INTO running_replicas (trace_id, replica) VALUES (?, ?) ON CONFLICT (trace_id, replica) DO UPDATE SET settled = 0 WHERE settled = 1',
  );
  const heldElsewhere = database.prepare(
    "SELECT 1 FROM running_replicas WHERE trace_id = ? AND replica <> ? AND replica <> '' AND settled = 0 LIMIT 1",
  );
  const markSettled = database.prepare(
    'INSERT INTO running_replicas (trace_id, replica, settled) VALUES (?, ?, 1) ON CONFLICT (trace_id, replica) DO UPDATE SET settled = 1',
  );
  const deleteRunning = database.prepare('DELETE FROM running_spans WHERE trace_id = ?');
  const deleteHolders = database.prepare('DELETE FROM running_replicas WHERE trace_id = ?');
  const selectOld = database.prepare('SELECT trace_id FROM sessions WHERE start_time < ? LIMIT ?');
  const deleteSession = database.prepare('DELETE FROM sessions WHERE trace_id = ?');
  // A call's key starts with its trace id and ':' (';' sorts right after ':'): a range of the key.
  const deleteCalls = database.prepare('DELETE FROM llm_calls WHERE call_id >= ? AND call_id < ?');
  const commit = database.transaction((rows: SqliteCommitRows) => {
    const written = new Set<string>();
    for (const session of rows.sessions) if (upsertSession.run(session).changes > 0) written.add(session.trace_id as string);
    for (const call of rows.calls) if (written.has(call.trace_id as string)) upsertCall.run(call);
    let held: string | undefined;
    for (const [traceId, seenMs, record] of rows.running) {
      appendRunning.run(traceId, seenMs, record, rows.replica);
      // Records come grouped by trace: one holder row each.
      if (rows.shared && traceId !== held) holdRunning.run(traceId, rows.replica);
      held = traceId;
    }
    for (const traceId of rows.settled) {
      if (rows.shared && heldElsewhere.get(traceId, rows.replica) !== undefined) {
        // Another replica still holds it running: this one's records (its last ones included) stay
        // for it to merge, and go with the last replica's settle.
        markSettled.run(traceId, rows.replica);
      } else {
        deleteRunning.run(traceId);
        deleteHolders.run(traceId);
      }
    }
  });
  const deleteBefore = database.transaction((cutoffIso: string, maxRows: number) => {
    const traces = selectOld.all(cutoffIso, maxRows) as { trace_id: string }[];
    for (const { trace_id: traceId } of traces) {
      deleteSession.run(traceId);
      deleteCalls.run(`${traceId}:`, `${traceId};`);
      deleteRunning.run(traceId);
      deleteHolders.run(traceId);
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
