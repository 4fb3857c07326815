/**
 * The history store for teams and replicas: PostgreSQL through a `pg` pool. A commit is one
 * transaction of at most four statements whatever its size: each table's rows travel as one JSON
 * parameter and are unpacked by `json_populate_recordset`, so a group commit costs a few round
 * trips, not one per row. Replicas sharing the database each open it with their replica id
 * (docs/storage.md, "Several receivers").
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import { CALL_FIGURE_COLUMNS, callCursorAfter, callRowsOf, cursorAfter } from '@llm-monitor/sessions';
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
  CALL_COLUMNS,
  callRowFromTable,
  countWithin,
  cursorLists,
  groupForeignRecords,
  groupRecords,
  SCHEMA_VERSION,
  SESSION_COLUMNS,
  sessionFromDetail,
  sessionRowOf,
  callFiguresFromRow,
  scanInChunks,
  SESSION_FIGURE_COLUMNS,
  sessionFiguresFromRow,
} from './history-rows.js';
import { callWhere, isoOf, sessionWhere, Where, windowInto } from './history-filters.js';
import type { SqlDialect } from './history-filters.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';

/** Key of the advisory lock that serialises migrations of replicas starting together. */
const MIGRATION_LOCK = 7_316_452_001;

/** The URL without its password, for logs and messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

/** How PostgreSQL writes the filters (history-filters.ts). */
const POSTGRES: SqlDialect = {
  placeholder: (n) => `$${n}`,
  time: (placeholder) => `${placeholder}::timestamptz`,
  oneOf: (column, values, where) => `${column} = ANY(${where.value(values)}::text[])`,
  contains: (haystack, needle) => `strpos(lower(${haystack}), lower(${needle})) > 0`,
  joined: (first, second) => `coalesce(${first}, '') || E'\\n' || coalesce(${second}, '')`,
  // The database's collation may ignore case or punctuation: cursors compare in code order.
  inCodeOrder: (column) => `${column} COLLATE "C"`,
};

/**
 * PostgreSQL text cannot hold U+0000, and its JSON functions refuse a lone surrogate; a span may
 * carry either (a NUL in any string; a lone surrogate in a metadata key, or in a JSON metadata value
 * the session decodes). Both become U+FFFD, as an invalid UTF-8 sequence would. Without this, one
 * such span would fail every commit (the writer keeps retrying it) and ingest would answer 503 for good.
 */
function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/**
 * JSON text (as JSON.stringify writes it: a lone surrogate, and only a lone one, as a `\udxxx`
 * escape) with every `\u0000` and lone-surrogate escape made `\ufffd`, in strings and keys alike;
 * escaped backslashes are kept.
 */
function pgSafeJson(json: string): string {
  return /\\u(0000|d[89a-f])/.test(json)
    ? json.replace(/\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g, (escape, what: string) => (what === '\\' ? escape : '\\ufffd'))
    : json;
}

// Rows in trace order, so two replicas writing the same traces lock them in the same order. A row
// built from fewer of the trace's spans than the stored one (another replica's, holding part of the
// trace) leaves it as it is, and is not returned: its calls are left out too.
const UPSERT_SESSIONS = `
  INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
  SELECT ${SESSION_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::sessions, $1::json) ORDER BY trace_id
  ON CONFLICT (trace_id) DO UPDATE SET ${SESSION_COLUMNS.filter((column) => column !== 'trace_id')
    .map((column) => `${column} = EXCLUDED.${column}`)
    .join(', ')}
  WHERE sessions.span_count <= EXCLUDED.span_count
  RETURNING trace_id`;
const UPSERT_CALLS = `
  INSERT INTO llm_calls (${CALL_COLUMNS.join(', ')})
  SELECT ${CALL_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::llm_calls, $1::json) ORDER BY call_id
  ON CONFLICT (call_id) DO UPDATE SET ${CALL_COLUMNS.filter((column) => column !== 'call_id')
    .map((column) => `${column} = EXCLUDED.${column}`)
    .join(', ')}`;
const APPEND_RUNNING = `
  INSERT INTO running_spans (trace_id, seen_ms, record, replica)
  SELECT trace_id, seen_ms, record, $2::text FROM json_populate_recordset(NULL::running_spans, $1::json)`;
// Shared: the replica also holds the trace (again, should it have settled it: a late span revived it).
const APPEND_RUNNING_SHARED = `
  WITH appended AS (${APPEND_RUNNING} RETURNING trace_id)
  INSERT INTO running_replicas (trace_id, replica)
  SELECT DISTINCT trace_id, $2::text FROM appended ORDER BY trace_id
  ON CONFLICT (trace_id, replica) DO UPDATE SET settled = false WHERE running_replicas.settled`;
const SETTLE = `
  WITH holders AS (DELETE FROM running_replicas WHERE trace_id = ANY($1::text[]))
  DELETE FROM running_spans WHERE trace_id = ANY($1::text[])`;
// Shared: a trace another replica still holds running keeps this replica's records (its last ones
// included) for that replica to merge, and this replica is marked done with it; the others' records
// go with the settle of the last replica holding the trace.
const SETTLE_SHARED = `
  WITH settling AS (SELECT DISTINCT unnest($1::text[]) AS trace_id),
  elsewhere AS (
    SELECT DISTINCT h.trace_id FROM running_replicas h JOIN settling USING (trace_id)
    WHERE h.replica <> $2::text AND h.replica <> '' AND NOT h.settled),
  finished AS (SELECT trace_id FROM settling EXCEPT SELECT trace_id FROM elsewhere),
  marked AS (
    INSERT INTO running_replicas (trace_id, replica, settled) SELECT trace_id, $2::text, true FROM elsewhere ORDER BY trace_id
    ON CONFLICT (trace_id, replica) DO UPDATE SET settled = true),
  spans AS (DELETE FROM running_spans WHERE trace_id IN (SELECT trace_id FROM finished))
  DELETE FROM running_replicas WHERE trace_id IN (SELECT trace_id FROM finished)`;
// Every record of the traces this replica (or one without id) appended to and has not settled.
const RUNNING_TRACES = `
  SELECT trace_id, seen_ms, record FROM running_spans WHERE trace_id IN (
    SELECT trace_id FROM running_spans WHERE replica = $1 OR replica = ''
    EXCEPT SELECT trace_id FROM running_replicas WHERE replica = $1 AND settled)
  ORDER BY seq`;
// The other replicas holding each trace, then each one's records after its cursor: a range of the
// (trace_id, replica, seq) index per trace and replica.
const FOREIGN_RECORDS = `
  SELECT s.seq, s.trace_id, s.replica, s.seen_ms, s.record
  FROM running_replicas h
  LEFT JOIN unnest($2::text[], $3::text[], $4::bigint[]) AS c(trace_id, replica, seq)
    ON c.trace_id = h.trace_id AND c.replica = h.replica
  JOIN running_spans s ON s.trace_id = h.trace_id AND s.replica = h.replica AND s.seq > coalesce(c.seq, 0)
  WHERE h.trace_id = ANY($1::text[]) AND h.replica <> $5::text AND h.replica <> ''
  ORDER BY s.seq`;

/** Attempts of a commit that meets a deadlock or a serialisation failure (replicas writing the same traces). */
const COMMIT_ATTEMPTS = 3;

/** SQLSTATEs a retry of the same transaction mends: deadlock detected, serialisation failure. */
function isTransient(error: unknown): boolean {
  const sqlState = (error as { code?: unknown }).code;
  return sqlState === '40P01' || sqlState === '40001';
}

/** Options of {@link openPostgresHistory}. */
export interface OpenPostgresHistoryOptions {
  /** Connections of the pool (default 10). */
  readonly maxConnections?: number;
  /**
   * The replica this receiver is, when several share the database (default `''`: a receiver on its
   * own). See {@link HistoryStore.replicaId}.
   */
  readonly replicaId?: string;
}

/** Opens a pool on `url`, checks the connection and applies the migrations the database lacks. */
export async function openPostgresHistory(url: string, options: OpenPostgresHistoryOptions = {}): Promise<PostgresHistoryStore> {
  const location = redactedUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (the server restarted) is an event, not a crash: the pool
  // drops the client and the next query opens a new one.
  pool.on('error', () => undefined);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new LlmMonitorError('LLMMON_ERR_STORE_CONNECT', `cannot connect to PostgreSQL ${location}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await migrate(client, location);
  } catch (error) {
    client.release();
    await pool.end().catch(() => undefined);
    if (error instanceof LlmMonitorError) throw error;
    throw new LlmMonitorError(
      'LLMMON_ERR_STORE_CONNECT',
      `cannot prepare the schema in PostgreSQL ${location}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  client.release();
  return new PostgresHistoryStore(pool, location, { replicaId: options.replicaId });
}

async function migrate(client: PoolClient, location: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const meta = await client.query("SELECT to_regclass('llm_monitor_schema') AS meta, to_regclass('sessions') AS sessions");
    const { meta: hasMeta, sessions: hasSessions } = meta.rows[0] as { meta: string | null; sessions: string | null };
    if (!hasMeta && hasSessions) {
      throw new LlmMonitorError(
        'LLMMON_ERR_STORE_CORRUPT',
        `PostgreSQL ${location} already has a "sessions" table that is not llm-monitor's: use another database or schema (search_path)`,
      );
    }
    await client.query(
      'CREATE TABLE IF NOT EXISTS llm_monitor_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const current = Number((await client.query('SELECT coalesce(max(version), 0) AS version FROM llm_monitor_schema')).rows[0].version);
    if (current > SCHEMA_VERSION) {
      throw new LlmMonitorError(
        'LLMMON_ERR_STORE_SCHEMA_NEWER',
        `PostgreSQL ${location} has schema version ${current}, newer than this llm-monitor knows (${SCHEMA_VERSION}): run the newer llm-monitor, or restore a backup from before the upgrade`,
      );
    }
    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO llm_monitor_schema (version) VALUES ($1)', [migration.version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The {@link HistoryStore} on PostgreSQL. */
export class PostgresHistoryStore implements HistoryStore {
  readonly kind = 'postgres';
  readonly durable = true;
  readonly location: string;
  readonly replicaId: string;
  readonly shared: boolean;
  readonly #pool: pg.Pool;

  /** `options.replicaId`: see {@link HistoryStore.replicaId} (default `''`). */
  constructor(pool: pg.Pool, location: string, options: { readonly replicaId?: string } = {}) {
    this.#pool = pool;
    this.location = location;
    this.replicaId = withoutNul(options.replicaId ?? '');
    this.shared = this.replicaId !== '';
  }

  async #query<T extends Record<string, unknown>>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    try {
      return (
        await this.#pool.query(
          sql,
          parameters.map((parameter) => (typeof parameter === 'string' ? withoutNul(parameter) : parameter)),
        )
      ).rows as T[];
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  /**
   * The database's error as the writer needs it: `LLMMON_ERR_STORE_UNAVAILABLE` when waiting may
   * help (connection lost, server shutting down, disk full, …), the error itself when the data or
   * the statement is at fault (SQLSTATE classes 22, 23, 42), which no retry mends.
   */
  #unavailable(error: unknown): Error {
    if (error instanceof LlmMonitorError) return error;
    const sqlState = (error as { code?: unknown }).code;
    if (typeof sqlState === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(sqlState)) return error as Error;
    return new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', `PostgreSQL ${this.location}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  async commit(commit: HistoryCommit): Promise<void> {
    // Objects, not JSON text, for the json/jsonb columns: json_populate_recordset takes them as they are.
    const sessions = commit.sessions.map((session) => ({
      ...sessionRowOf(session, commit.spanCounts?.get(session.trace_id)),
      budget_exceeded: session.budget_exceeded,
      detail: session,
    }));
    const running = commit.running.flatMap((snapshot) =>
      snapshot.spans.map((record) => ({ trace_id: snapshot.traceId, seen_ms: snapshot.lastSeenMs, record })),
    );
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#transaction(async (client) => {
          let written: ReadonlySet<string> = new Set();
          if (sessions.length > 0) {
            const result = await client.query(UPSERT_SESSIONS, [pgSafeJson(JSON.stringify(sessions))]);
            written = new Set((result.rows as { trace_id: string }[]).map((row) => row.trace_id));
          }
          // The calls of the rows written: a row left as it was keeps the calls it came with.
          const calls = commit.sessions.filter((session) => written.has(withoutNul(session.trace_id))).flatMap(callRowsOf);
          if (calls.length > 0) await client.query(UPSERT_CALLS, [pgSafeJson(JSON.stringify(calls))]);
          if (running.length > 0) {
            await client.query(this.shared ? APPEND_RUNNING_SHARED : APPEND_RUNNING, [pgSafeJson(JSON.stringify(running)), this.replicaId]);
          }
          if (commit.settled.length > 0) {
            await client.query(this.shared ? SETTLE_SHARED : SETTLE, this.shared ? [commit.settled, this.replicaId] : [commit.settled]);
          }
        });
        return;
      } catch (error) {
        // Replicas writing the same traces may meet in a deadlock; the transaction is whole again next time.
        if (attempt < COMMIT_ATTEMPTS && isTransient(error)) continue;
        throw this.#unavailable(error);
      }
    }
  }

  /** Runs `work` in one transaction on a client of the pool; a client whose connection broke is destroyed. */
  async #transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      // A client whose connection broke mid-transaction is destroyed, not handed out again.
      client.release(broken);
    }
  }

  async runningTraces(): Promise<TraceSnapshot[]> {
    const rows = await this.#query<{ trace_id: string; seen_ms: number; record: SpanRecord }>(RUNNING_TRACES, [this.replicaId]);
    return groupRecords(rows.map((row) => [row.trace_id, Number(row.seen_ms), row.record]));
  }

  async foreignRecords(traceIds: readonly string[], after: ForeignCursor): Promise<ForeignRecords[]> {
    if (!this.shared || traceIds.length === 0) return [];
    const [traces, replicas, seqs] = cursorLists(after, traceIds);
    const rows = await this.#query<{ seq: string; trace_id: string; replica: string; seen_ms: number; record: SpanRecord }>(
      FOREIGN_RECORDS,
      [[...new Set(traceIds)], traces, replicas, seqs, this.replicaId],
    );
    return groupForeignRecords(rows.map((row) => [Number(row.seq), row.trace_id, row.replica, Number(row.seen_ms), row.record]));
  }

  async session(sessionId: string): Promise<ProcessingSession | undefined> {
    const rows = await this.#query<{ detail: unknown }>(
      'SELECT detail FROM sessions WHERE session_id = $1 ORDER BY start_time DESC LIMIT 1',
      [sessionId],
    );
    return rows[0] && sessionFromDetail(rows[0].detail);
  }

  async sessions(filter: SessionFilter, limit: number, after?: readonly [string, string], maxBytes = Infinity): Promise<SessionPage> {
    const where = sessionWhere(POSTGRES, filter, after);
    // Lengths first: a page is cut at maxBytes before any detail crosses the network.
    const rows = await this.#query<{ trace_id: string; size: number }>(
      `SELECT trace_id, length(detail::text) AS size FROM sessions ${where.sql} ORDER BY start_time DESC, session_id COLLATE "C" DESC LIMIT ${where.value(limit + 1)}`,
      where.parameters,
    );
    const kept = countWithin(
      rows.slice(0, limit).map((row) => Number(row.size)),
      maxBytes,
    );
    const sessions = await this.#details(rows.slice(0, kept).map((row) => row.trace_id));
    return { sessions, nextCursor: kept < rows.length ? cursorAfter(sessions.at(-1)!) : null };
  }

  async conversation(conversationId: string, limit: number, maxBytes = Infinity): Promise<ConversationPage> {
    const rows = await this.#query<{ trace_id: string; size: number }>(
      'SELECT trace_id, length(detail::text) AS size FROM sessions WHERE conversation_id = $1 ORDER BY start_time ASC, session_id COLLATE "C" ASC LIMIT $2',
      [conversationId, limit],
    );
    const kept = countWithin(
      rows.map((row) => Number(row.size)),
      maxBytes,
    );
    const [count] = await this.#query<{ total: string }>('SELECT count(*) AS total FROM sessions WHERE conversation_id = $1', [
      conversationId,
    ]);
    return { sessions: await this.#details(rows.slice(0, kept).map((row) => row.trace_id)), total: Number(count?.total ?? 0) };
  }

  /** The sessions of these traces, in this order. */
  async #details(traceIds: readonly string[]): Promise<ProcessingSession[]> {
    if (traceIds.length === 0) return [];
    const rows = await this.#query<{ trace_id: string; detail: unknown }>(
      'SELECT trace_id, detail FROM sessions WHERE trace_id = ANY($1::text[])',
      [traceIds],
    );
    const byTrace = new Map(rows.map((row) => [row.trace_id, row.detail]));
    return traceIds.map((traceId) => sessionFromDetail(byTrace.get(traceId)));
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
  ): Promise<Record<string, unknown>[]> {
    const where = windowInto(POSTGRES, new Where(POSTGRES), window, fromIso);
    return this.#query(
      `SELECT ${columns.join(', ')} FROM ${table} ${where.sql} ORDER BY start_time LIMIT ${where.value(limit)}`,
      where.parameters,
    );
  }

  async llmCalls(filter: LlmCallFilter, limit: number, after?: readonly [string, string]): Promise<LlmCallPage> {
    const where = callWhere(POSTGRES, filter, after);
    const rows = await this.#query(
      `SELECT * FROM llm_calls ${where.sql} ORDER BY start_time DESC, call_id COLLATE "C" DESC LIMIT ${where.value(limit + 1)}`,
      where.parameters,
    );
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
    const rows = await this.#query<{ trace_id: string }>(
      `WITH doomed AS (SELECT trace_id FROM sessions WHERE start_time < $1::timestamptz LIMIT $2),
            calls AS (DELETE FROM llm_calls WHERE trace_id IN (SELECT trace_id FROM doomed)),
            running AS (DELETE FROM running_spans WHERE trace_id IN (SELECT trace_id FROM doomed)),
            holders AS (DELETE FROM running_replicas WHERE trace_id IN (SELECT trace_id FROM doomed))
       DELETE FROM sessions WHERE trace_id IN (SELECT trace_id FROM doomed) RETURNING trace_id`,
      [isoOf(cutoffMs), maxRows],
    );
    return rows.length;
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
