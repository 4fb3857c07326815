/**
 * The embedded history store: one SQLite file (better-sqlite3), WAL mode. Reads run on the main
 * thread, commits in a write worker of their own (sqlite-write-worker.ts; docs/storage.md gives the
 * figures). Opened with a replica id, the file may be shared by receivers on one host like a
 * PostgreSQL database by replicas (SQLite serialises their writes).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { CALL_FIGURE_COLUMNS, callCursorAfter, cursorAfter } from '@llm-monitor/sessions';
import type {
  CallFigures,
  ConversationPage,
  ForeignCursor,
  ForeignRecords,
  HistoryCommit,
  HistoryStore,
  LlmCallFilter,
  LlmCallPage,
  ProcessingSession,
  SessionFilter,
  SessionFigures,
  SessionPage,
  SpanRecord,
  StatisticsWindow,
  TraceSnapshot,
} from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import {
  callRowFromTable,
  callTableRowsOf,
  SCHEMA_VERSION,
  sessionFromDetail,
  sessionRowOf,
  groupForeignRecords,
  groupRecords,
  callFiguresFromRow,
  countWithin,
  scanInChunks,
  SESSION_FIGURE_COLUMNS,
  sessionFiguresFromRow,
} from './history-rows.js';
import { callWhere, isoOf, sessionWhere, Where, windowInto } from './history-filters.js';
import type { SqlDialect } from './history-filters.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { SqliteWriteThread } from './sqlite-write-thread.js';
import { configureWriter, prepareWrites } from './sqlite-writes.js';
import type { SqliteCommitRows, SqliteWrites } from './sqlite-writes.js';

/** SQLite's result codes that mean "cannot write now", not "the code is wrong". */
const UNAVAILABLE_CODES = /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/;

function unavailable(error: unknown, path: string): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
    return new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', `SQLite ${path}: ${(error as Error).message} (${code})`, { cause: error });
  }
  return error as Error;
}

/** How SQLite writes the filters (history-filters.ts). */
const SQLITE: SqlDialect = {
  placeholder: () => '?',
  // Times are ISO text: text order is time order.
  time: (placeholder) => placeholder,
  oneOf: (column, values, where) => `${column} IN (${values.map((value) => where.value(value)).join(', ')})`,
  // SQLite's lower() folds ASCII only: llmmon_lower (registered on the connection) folds as JavaScript does.
  contains: (haystack, needle) => `instr(llmmon_lower(${haystack}), llmmon_lower(${needle})) > 0`,
  joined: (first, second) => `coalesce(${first}, '') || char(10) || coalesce(${second}, '')`,
  // BINARY, SQLite's default collation, is code order already.
  inCodeOrder: (column) => column,
};

/** Options of {@link openSqliteHistory}. */
export interface OpenSqliteHistoryOptions {
  /**
   * The replica this receiver is, when several share the file (default `''`: a receiver on its
   * own). See {@link HistoryStore.replicaId}.
   */
  readonly replicaId?: string;
}

/** Opens (creating and migrating as needed) the SQLite history at `path`. */
export function openSqliteHistory(path: string, options: OpenSqliteHistoryOptions = {}): SqliteHistoryStore {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_STORE_CONNECT', `cannot create the directory of ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const existed = existsSync(file);
  let database: SqliteDatabase;
  try {
    database = new Database(file);
  } catch (error) {
    throw new LlmMonitorError('LLMMON_ERR_STORE_CONNECT', `cannot open SQLite file ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // The first statement reads the header: a file that is no database fails here. A database of
    // another program is refused before anything is written to it (WAL mode would stay in its header).
    refuseForeign(database, file, existed);
    database.pragma('journal_mode = WAL');
    configureWriter(database);
    database.pragma('foreign_keys = OFF');
    migrate(database, file);
  } catch (error) {
    database.close();
    if (error instanceof LlmMonitorError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new LlmMonitorError(
        'LLMMON_ERR_STORE_CORRUPT',
        `${file} is not a usable SQLite database (${(error as Error).message}); move it aside, or set storage_url to another file`,
        { cause: error },
      );
    }
    throw new LlmMonitorError('LLMMON_ERR_STORE_CONNECT', `cannot prepare SQLite file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return new SqliteHistoryStore(database, file, { writes: 'thread', replicaId: options.replicaId });
}

/** Refuses a database of another program: no llm-monitor schema, but tables of its own. */
function refuseForeign(database: SqliteDatabase, file: string, existed: boolean): void {
  const hasMeta = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_monitor_schema'").get() !== undefined;
  if (!hasMeta && existed) {
    const tables = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[];
    if (tables.length > 0) {
      throw new LlmMonitorError(
        'LLMMON_ERR_STORE_CORRUPT',
        `${file} is a SQLite database of another program (tables ${tables
          .slice(0, 5)
          .map((table) => table.name)
          .join(', ')}), not llm-monitor's; set storage_url to another file`,
      );
    }
  }
}

/** Applies the migrations the file lacks; refuses files of newer builds. */
function migrate(database: SqliteDatabase, file: string): void {
  database.exec('CREATE TABLE IF NOT EXISTS llm_monitor_schema (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
  // The version is read inside the write transaction: two processes opening a new file at once
  // apply each migration once (the second waits for the lock, then sees the first one's version).
  const apply = database.transaction(() => {
    const row = database.prepare('SELECT max(version) AS version FROM llm_monitor_schema').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new LlmMonitorError(
        'LLMMON_ERR_STORE_SCHEMA_NEWER',
        `${file} has schema version ${current}, newer than this llm-monitor knows (${SCHEMA_VERSION}): run the newer llm-monitor, or restore a backup from before the upgrade`,
      );
    }
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= current) continue;
      database.exec(migration.sql);
      database
        .prepare('INSERT INTO llm_monitor_schema (version, applied_at) VALUES (?, ?)')
        .run(migration.version, new Date().toISOString());
    }
  });
  apply.immediate();
}

/** Options of {@link SqliteHistoryStore}. */
export interface SqliteHistoryOptions {
  /**
   * Where writes run: `thread`, a worker thread of their own (what {@link openSqliteHistory} gives
   * the receiver), or `inline`, on this connection on the calling thread (tools and tests).
   */
  readonly writes?: 'thread' | 'inline';
  /** The replica this store writes for (default `''`: none). See {@link HistoryStore.replicaId}. */
  readonly replicaId?: string;
}

/** The {@link HistoryStore} on SQLite. Reads run on the calling thread; writes as configured. */
export class SqliteHistoryStore implements HistoryStore {
  readonly kind = 'sqlite';
  readonly durable = true;
  readonly location: string;
  readonly replicaId: string;
  readonly shared: boolean;
  readonly #database: SqliteDatabase;
  readonly #thread: SqliteWriteThread | undefined;
  #inline: SqliteWrites | undefined;
  /** The statements of {@link SqliteHistoryStore.foreignRecords}, prepared on first use (read on every commit of a replica). */
  #foreignReads: { readonly holders: Statement; readonly records: Statement } | undefined;

  constructor(database: SqliteDatabase, file: string, options: SqliteHistoryOptions = {}) {
    this.#database = database;
    this.location = file;
    this.replicaId = options.replicaId ?? '';
    this.shared = this.replicaId !== '';
    // SQLite's lower() folds ASCII only: text search folds case as JavaScript does, like the other stores.
    database.function('llmmon_lower', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
    if (options.writes === 'thread') this.#thread = new SqliteWriteThread(file);
  }

  /** The inline writes, prepared on first use (a read-only connection never prepares them). */
  #writes(): SqliteWrites {
    this.#inline ??= prepareWrites(this.#database);
    return this.#inline;
  }

  /** Runs a write where it is configured to run; SQLite's "cannot now" errors become LLMMON_ERR_STORE_UNAVAILABLE. */
  async #write<T>(inThread: (thread: SqliteWriteThread) => Promise<T>, inline: (writes: SqliteWrites) => T): Promise<T> {
    if (!this.#database.open) throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', `SQLite ${this.location}: the database is closed`);
    try {
      return this.#thread ? await inThread(this.#thread) : inline(this.#writes());
    } catch (error) {
      throw unavailable(error, this.location);
    }
  }

  #run<T>(work: () => T): T {
    // better-sqlite3 throws a plain TypeError on a closed connection: it is unavailable all the same.
    if (!this.#database.open) throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', `SQLite ${this.location}: the database is closed`);
    try {
      return work();
    } catch (error) {
      throw unavailable(error, this.location);
    }
  }

  async commit(commit: HistoryCommit): Promise<void> {
    // The rows are built here (JSON, about 25 µs a session); SQLite writes them where configured.
    const rows: SqliteCommitRows = {
      sessions: commit.sessions.map((session) => sessionRowOf(session, commit.spanCounts?.get(session.trace_id))),
      calls: commit.sessions.flatMap(callTableRowsOf),
      running: commit.running.flatMap((snapshot) =>
        snapshot.spans.map((span) => [snapshot.traceId, snapshot.lastSeenMs, JSON.stringify(span)] as const),
      ),
      settled: commit.settled,
      replica: this.replicaId,
      shared: this.shared,
    };
    await this.#write(
      (thread) => thread.commit(rows),
      (writes) => writes.commit(rows),
    );
  }

  async runningTraces(): Promise<TraceSnapshot[]> {
    // Every record of the traces this replica (or one without id) appended to and has not settled.
    const rows = this.#run(() =>
      this.#database
        .prepare(
          `SELECT trace_id, seen_ms, record FROM running_spans WHERE trace_id IN (
             SELECT trace_id FROM running_spans WHERE replica IN (?, '')
             EXCEPT SELECT trace_id FROM running_replicas WHERE replica = ? AND settled = 1)
           ORDER BY seq`,
        )
        .all(this.replicaId, this.replicaId),
    ) as { trace_id: string; seen_ms: number; record: string }[];
    return groupRecords(rows.map((row) => [row.trace_id, row.seen_ms, JSON.parse(row.record) as SpanRecord]));
  }

  async foreignRecords(traceIds: readonly string[], foreignCursor: ForeignCursor): Promise<ForeignRecords[]> {
    if (!this.shared || traceIds.length === 0) return [];
    // No round trips here: a statement per trace and replica, each one range of the index, in one
    // read transaction.
    const rows = this.#run(() => {
      this.#foreignReads ??= {
        holders: this.#database
          .prepare("SELECT replica FROM running_replicas WHERE trace_id = ? AND replica <> ? AND replica <> ''")
          .pluck(),
        records: this.#database
          .prepare('SELECT seq, seen_ms, record FROM running_spans WHERE trace_id = ? AND replica = ? AND seq > ? ORDER BY seq')
          .raw(),
      };
      const { holders, records } = this.#foreignReads;
      return this.#database.transaction(() => {
        const found: [number, string, string, number, SpanRecord][] = [];
        for (const traceId of new Set(traceIds)) {
          for (const replica of holders.all(traceId, this.replicaId) as string[]) {
            const after = foreignCursor.get(traceId)?.get(replica) ?? 0;
            for (const [seq, seenMs, record] of records.all(traceId, replica, after) as [number, number, string][]) {
              found.push([seq, traceId, replica, seenMs, JSON.parse(record) as SpanRecord]);
            }
          }
        }
        return found;
      })();
    });
    return groupForeignRecords(rows.sort((a, b) => a[0] - b[0]));
  }

  async session(sessionId: string): Promise<ProcessingSession | undefined> {
    const row = this.#run(() =>
      this.#database.prepare('SELECT detail FROM sessions WHERE session_id = ? ORDER BY start_time DESC LIMIT 1').get(sessionId),
    ) as { detail: string } | undefined;
    return row && sessionFromDetail(row.detail);
  }

  async sessions(filter: SessionFilter, limit: number, after?: readonly [string, string], maxBytes = Infinity): Promise<SessionPage> {
    const where = sessionWhere(SQLITE, filter, after);
    // Lengths first: a page is cut at maxBytes before any detail is read whole.
    const rows = this.#run(() =>
      this.#database
        .prepare(`SELECT trace_id, length(detail) AS size FROM sessions ${where.sql} ORDER BY start_time DESC, session_id DESC LIMIT ?`)
        .all(...where.parameters, limit + 1),
    ) as { trace_id: string; size: number }[];
    const kept = countWithin(
      rows.slice(0, limit).map((row) => row.size),
      maxBytes,
    );
    const sessions = this.#details(rows.slice(0, kept).map((row) => row.trace_id));
    return { sessions, nextCursor: kept < rows.length ? cursorAfter(sessions.at(-1)!) : null };
  }

  async conversation(conversationId: string, limit: number, maxBytes = Infinity): Promise<ConversationPage> {
    const rows = this.#run(() =>
      this.#database
        .prepare(
          'SELECT trace_id, length(detail) AS size FROM sessions WHERE conversation_id = ? ORDER BY start_time ASC, session_id ASC LIMIT ?',
        )
        .all(conversationId, limit),
    ) as { trace_id: string; size: number }[];
    const kept = countWithin(
      rows.map((row) => row.size),
      maxBytes,
    );
    const { total } = this.#run(() =>
      this.#database.prepare('SELECT count(*) AS total FROM sessions WHERE conversation_id = ?').get(conversationId),
    ) as { total: number };
    return { sessions: this.#details(rows.slice(0, kept).map((row) => row.trace_id)), total };
  }

  /** The sessions of these traces, in this order. */
  #details(traceIds: readonly string[]): ProcessingSession[] {
    if (traceIds.length === 0) return [];
    const rows = this.#run(() =>
      this.#database
        .prepare(`SELECT trace_id, detail FROM sessions WHERE trace_id IN (${traceIds.map(() => '?').join(', ')})`)
        .all(...traceIds),
    ) as { trace_id: string; detail: string }[];
    const byTrace = new Map(rows.map((row) => [row.trace_id, row.detail]));
    return traceIds.map((traceId) => sessionFromDetail(byTrace.get(traceId)!));
  }

  sessionFigures(window: StatisticsWindow): AsyncIterable<SessionFigures[]> {
    return scanInChunks(
      (fromIso, limit) => this.#chunk('sessions', SESSION_FIGURE_COLUMNS, window, fromIso, limit),
      (row) => String(row.trace_id),
      sessionFiguresFromRow,
    );
  }

  /**
   * Rows of `table` that started within the window and at or after `fromIso`, by start time only —
   * the order the start-time index gives without sorting (scanInChunks needs no order within a
   * millisecond: it starts each chunk at the last millisecond of the one before).
   */
  #chunk(
    table: string,
    columns: readonly string[],
    window: StatisticsWindow,
    fromIso: string | undefined,
    limit: number,
  ): Record<string, unknown>[] {
    const where = windowInto(SQLITE, new Where(SQLITE), window, fromIso);
    return this.#run(() =>
      this.#database
        .prepare(`SELECT ${columns.join(', ')} FROM ${table} ${where.sql} ORDER BY start_time LIMIT ?`)
        .all(...where.parameters, limit),
    ) as Record<string, unknown>[];
  }

  async llmCalls(filter: LlmCallFilter, limit: number, after?: readonly [string, string]): Promise<LlmCallPage> {
    const where = callWhere(SQLITE, filter, after);
    const rows = this.#run(() =>
      this.#database
        .prepare(`SELECT * FROM llm_calls ${where.sql} ORDER BY start_time DESC, call_id DESC LIMIT ?`)
        .all(...where.parameters, limit + 1),
    ) as Record<string, unknown>[];
    const calls = rows.slice(0, limit).map(callRowFromTable);
    return { calls, nextCursor: rows.length > limit ? callCursorAfter(calls.at(-1)!) : null };
  }

  callFigures(window: StatisticsWindow): AsyncIterable<CallFigures[]> {
    return scanInChunks(
      (fromIso, limit) => this.#chunk('llm_calls', CALL_FIGURE_COLUMNS, window, fromIso, limit),
      (row) => String(row.call_id),
      callFiguresFromRow,
    );
  }

  async deleteBefore(cutoffMs: number, maxRows: number): Promise<number> {
    const cutoff = isoOf(cutoffMs);
    return this.#write(
      (thread) => thread.deleteBefore(cutoff, maxRows),
      (writes) => writes.deleteBefore(cutoff, maxRows),
    );
  }

  async ping(): Promise<void> {
    this.#run(() => this.#database.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    await this.#thread?.close();
    if (this.#database.open) this.#database.close();
  }
}
