/**
 * The history schema, versioned. Each migration runs once, in order, inside one transaction; the
 * applied versions are recorded in `llm_monitor_schema`. Never edit a released migration: add the
 * next one (and raise SCHEMA_VERSION in history-rows.ts). docs/storage.md documents the tables.
 */

/** One step of the schema. */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

/**
 * SQLite: times are ISO 8601 text (UTC, millisecond precision, so text order is time order). Every
 * index costs each commit, so there are only those the API's queries use: a call's trace is found by
 * its key (`<trace id>:<span id>`), not by an index of its own, and sessions are not indexed by user
 * (the API lists users' usage from llm_calls). Committing 12,000 demo-like sessions in groups of 60
 * took 141 µs a session with those two indexes and 109 µs without (docs/storage.md).
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        trace_id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        start_time TEXT NOT NULL,
        end_time TEXT,
        duration_ms REAL,
        model TEXT,
        provider TEXT,
        task TEXT,
        processor_type TEXT,
        service_name TEXT,
        conversation_id TEXT,
        user_id TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        total_tokens INTEGER,
        time_to_first_token_ms REAL,
        cost_usd REAL,
        budget_exceeded TEXT NOT NULL,
        error TEXT,
        content_preview TEXT,
        result_preview TEXT,
        calls INTEGER NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX sessions_by_start ON sessions (start_time, session_id);
      CREATE INDEX sessions_by_id ON sessions (session_id);
      CREATE INDEX sessions_by_conversation ON sessions (conversation_id, start_time);
      CREATE TABLE llm_calls (
        call_id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        conversation_id TEXT,
        user_id TEXT,
        service_name TEXT,
        task TEXT,
        model TEXT,
        request_model TEXT,
        response_model TEXT,
        provider TEXT,
        operation TEXT NOT NULL,
        prompt_preview TEXT,
        response_preview TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        total_tokens INTEGER,
        cached_tokens INTEGER,
        finish_reasons TEXT,
        time_to_first_token_ms REAL,
        duration_ms REAL,
        status TEXT NOT NULL,
        error TEXT,
        cost_usd REAL,
        metadata TEXT NOT NULL,
        start_time TEXT NOT NULL,
        end_time TEXT
      );
      CREATE INDEX llm_calls_by_start ON llm_calls (start_time, call_id);
      CREATE INDEX llm_calls_by_session ON llm_calls (session_id);
      CREATE INDEX llm_calls_by_conversation ON llm_calls (conversation_id, start_time);
      CREATE INDEX llm_calls_by_user ON llm_calls (user_id, start_time);
      CREATE INDEX llm_calls_by_model ON llm_calls (model, start_time);
      CREATE TABLE running_spans (
        seq INTEGER PRIMARY KEY,
        trace_id TEXT NOT NULL,
        seen_ms REAL NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX running_spans_by_trace ON running_spans (trace_id);
    `,
  },
  {
    // Replicas sharing one store (docs/storage.md, "Several receivers"): span records carry the
    // replica that appended them; running_replicas says which replicas hold which running trace and
    // which of them are done with it; a session's row keeps how many spans it was built from, so a
    // replica holding fewer of them does not replace it. The index on running_spans becomes
    // (trace_id, replica): with the rowid SQLite adds, a replica's records of a trace after a given
    // seq are one range of it.
    version: 2,
    sql: `
      ALTER TABLE sessions ADD COLUMN span_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE running_spans ADD COLUMN replica TEXT NOT NULL DEFAULT '';
      DROP INDEX running_spans_by_trace;
      CREATE INDEX running_spans_by_trace ON running_spans (trace_id, replica);
      CREATE TABLE running_replicas (
        trace_id TEXT NOT NULL,
        replica TEXT NOT NULL,
        settled INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (trace_id, replica)
      ) WITHOUT ROWID;
    `,
  },
];

/**
 * PostgreSQL: times are timestamptz, JSON columns jsonb (metadata, finish reasons, budgets) or json
 * (a session's detail and a running trace's span records, kept as written: they are read whole).
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        trace_id text PRIMARY KEY,
        session_id text NOT NULL,
        status text NOT NULL,
        source text NOT NULL,
        start_time timestamptz NOT NULL,
        end_time timestamptz,
        duration_ms double precision,
        model text,
        provider text,
        task text,
        processor_type text,
        service_name text,
        conversation_id text,
        user_id text,
        input_tokens bigint,
        output_tokens bigint,
        total_tokens bigint,
        time_to_first_token_ms double precision,
        cost_usd double precision,
        budget_exceeded jsonb NOT NULL,
        error text,
        content_preview text,
        result_preview text,
        calls integer NOT NULL,
        detail json NOT NULL
      );
      CREATE INDEX sessions_by_start ON sessions (start_time, session_id COLLATE "C");
      CREATE INDEX sessions_by_id ON sessions (session_id);
      CREATE INDEX sessions_by_conversation ON sessions (conversation_id, start_time);
      CREATE TABLE llm_calls (
        call_id text PRIMARY KEY,
        session_id text NOT NULL,
        trace_id text NOT NULL,
        span_id text NOT NULL,
        conversation_id text,
        user_id text,
        service_name text,
        task text,
        model text,
        request_model text,
        response_model text,
        provider text,
        operation text NOT NULL,
        prompt_preview text,
        response_preview text,
        input_tokens bigint,
        output_tokens bigint,
        total_tokens bigint,
        cached_tokens bigint,
        finish_reasons jsonb,
        time_to_first_token_ms double precision,
        duration_ms double precision,
        status text NOT NULL,
        error text,
        cost_usd double precision,
        metadata jsonb NOT NULL,
        start_time timestamptz NOT NULL,
        end_time timestamptz
      );
      CREATE INDEX llm_calls_by_start ON llm_calls (start_time, call_id COLLATE "C");
      CREATE INDEX llm_calls_by_trace ON llm_calls (trace_id);
      CREATE INDEX llm_calls_by_session ON llm_calls (session_id);
      CREATE INDEX llm_calls_by_conversation ON llm_calls (conversation_id, start_time);
      CREATE INDEX llm_calls_by_user ON llm_calls (user_id, start_time);
      CREATE INDEX llm_calls_by_model ON llm_calls (model, start_time);
      CREATE TABLE running_spans (
        seq bigserial PRIMARY KEY,
        trace_id text NOT NULL,
        seen_ms double precision NOT NULL,
        record json NOT NULL
      );
      CREATE INDEX running_spans_by_trace ON running_spans (trace_id);
    `,
  },
  {
    // As SQLite's version 2. The index on running_spans names seq, which PostgreSQL does not add.
    version: 2,
    sql: `
      ALTER TABLE sessions ADD COLUMN span_count integer NOT NULL DEFAULT 0;
      ALTER TABLE running_spans ADD COLUMN replica text NOT NULL DEFAULT '';
      DROP INDEX running_spans_by_trace;
      CREATE INDEX running_spans_by_trace ON running_spans (trace_id, replica, seq);
      CREATE TABLE running_replicas (
        trace_id text NOT NULL,
        replica text NOT NULL,
        settled boolean NOT NULL DEFAULT false,
        PRIMARY KEY (trace_id, replica)
      );
    `,
  },
];
