/**
 * How sessions and calls become table rows, shared by the SQLite and PostgreSQL stores: one list of
 * columns, one mapping, so the two schemas cannot drift apart (docs/storage.md describes them).
 */
import { callRowsOf, LLM_CALL_FIELDS, SCAN_CHUNK, upgradeStoredSession } from '@llm-monitor/sessions';
import type {
  CallFigures,
  ForeignRecords,
  LlmCallRow,
  ProcessingSession,
  SessionFigures,
  SpanRecord,
  TraceSnapshot,
} from '@llm-monitor/sessions';

/**
 * Columns of `sessions`, in the order the stores write them. `detail` is the session's JSON;
 * `span_count` how many distinct spans the replica that wrote the row held of the trace (a row is
 * replaced only by one built from as many spans or more).
 */
export const SESSION_COLUMNS = [
  'trace_id',
  'session_id',
  'status',
  'source',
  'start_time',
  'end_time',
  'duration_ms',
  'model',
  'provider',
  'task',
  'processor_type',
  'service_name',
  'conversation_id',
  'user_id',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'time_to_first_token_ms',
  'cost_usd',
  'budget_exceeded',
  'error',
  'content_preview',
  'result_preview',
  'calls',
  'detail',
  'span_count',
] as const;

/** Columns of `llm_calls`, in the order the stores write them (the fields of {@link LlmCallRow}). */
export const CALL_COLUMNS = LLM_CALL_FIELDS;

/** A `sessions` row: every column but `detail` is for queries; `detail` is what the API answers. */
export type SessionRow = Record<(typeof SESSION_COLUMNS)[number], string | number | null>;

/** The `sessions` row of a session built from `spanCount` distinct spans. */
export function sessionRowOf(session: ProcessingSession, spanCount = 0): SessionRow {
  return {
    trace_id: session.trace_id,
    session_id: session.session_id,
    status: session.status,
    source: session.source,
    start_time: session.start_time,
    end_time: session.end_time,
    duration_ms: session.duration_ms,
    model: session.model,
    provider: session.provider,
    task: session.task,
    processor_type: session.processor_type,
    service_name: session.service_name,
    conversation_id: session.conversation_id,
    user_id: session.user_id,
    input_tokens: session.token_counts.input,
    output_tokens: session.token_counts.output,
    total_tokens: session.token_counts.total,
    time_to_first_token_ms: session.time_to_first_token_ms,
    cost_usd: session.cost_usd,
    budget_exceeded: JSON.stringify(session.budget_exceeded),
    error: session.error,
    content_preview: session.content_preview,
    result_preview: session.result_preview,
    calls: session.llm_calls.length,
    detail: JSON.stringify(session),
    span_count: spanCount,
  };
}

/** The call-log rows of a session, JSON columns as text. */
export function callTableRowsOf(session: ProcessingSession): Record<(typeof CALL_COLUMNS)[number], string | number | null>[] {
  return callRowsOf(session).map((row) => ({
    ...row,
    finish_reasons: row.finish_reasons === null ? null : JSON.stringify(row.finish_reasons),
    metadata: JSON.stringify(row.metadata),
  }));
}

/** A call-log row as read back: JSON columns parsed, numbers as numbers. */
export function callRowFromTable(row: Record<string, unknown>): LlmCallRow {
  const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
  const time = (value: unknown): string | null =>
    value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);
  const number = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
  return {
    call_id: String(row.call_id),
    session_id: String(row.session_id),
    trace_id: String(row.trace_id),
    span_id: String(row.span_id),
    conversation_id: (row.conversation_id as string | null) ?? null,
    user_id: (row.user_id as string | null) ?? null,
    service_name: (row.service_name as string | null) ?? null,
    task: (row.task as string | null) ?? null,
    model: (row.model as string | null) ?? null,
    request_model: (row.request_model as string | null) ?? null,
    response_model: (row.response_model as string | null) ?? null,
    provider: (row.provider as string | null) ?? null,
    operation: String(row.operation),
    prompt_preview: (row.prompt_preview as string | null) ?? null,
    response_preview: (row.response_preview as string | null) ?? null,
    input_tokens: number(row.input_tokens),
    output_tokens: number(row.output_tokens),
    total_tokens: number(row.total_tokens),
    cached_tokens: number(row.cached_tokens),
    finish_reasons: (json(row.finish_reasons) as string[] | null) ?? null,
    time_to_first_token_ms: number(row.time_to_first_token_ms),
    duration_ms: number(row.duration_ms),
    status: row.status as LlmCallRow['status'],
    error: (row.error as string | null) ?? null,
    cost_usd: number(row.cost_usd),
    metadata: (json(row.metadata) as LlmCallRow['metadata'] | null) ?? {},
    start_time: time(row.start_time)!,
    end_time: time(row.end_time),
  };
}

/** A session as read back from its `detail` (text in SQLite, parsed already by pg for `json`). */
export function sessionFromDetail(detail: unknown): ProcessingSession {
  return upgradeStoredSession((typeof detail === 'string' ? JSON.parse(detail) : detail) as Parameters<typeof upgradeStoredSession>[0]);
}

/** The schema version this build writes; a database with a higher one was made by a newer build. */
export const SCHEMA_VERSION = 2;

/** Columns {@link sessionFiguresFromRow} reads. */
export const SESSION_FIGURE_COLUMNS = [
  'trace_id',
  'session_id',
  'status',
  'start_time',
  'duration_ms',
  'time_to_first_token_ms',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'model',
  'task',
  'processor_type',
  'user_id',
  'cost_usd',
  'budget_exceeded',
] as const;

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);
const number = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** A session's figures (statistics, budgets) from its `sessions` row. */
export function sessionFiguresFromRow(row: Record<string, unknown>): SessionFigures {
  return {
    trace_id: String(row.trace_id),
    session_id: String(row.session_id),
    status: row.status as SessionFigures['status'],
    start_time: text(row.start_time)!,
    duration_ms: number(row.duration_ms),
    time_to_first_token_ms: number(row.time_to_first_token_ms),
    token_counts: { input: number(row.input_tokens), output: number(row.output_tokens), total: number(row.total_tokens), streamed: 0 },
    model: text(row.model),
    task: text(row.task),
    processor_type: text(row.processor_type),
    user_id: text(row.user_id),
    cost_usd: number(row.cost_usd),
    budget_exceeded: (typeof row.budget_exceeded === 'string'
      ? JSON.parse(row.budget_exceeded)
      : (row.budget_exceeded ?? [])) as SessionFigures['budget_exceeded'],
  };
}

/** A call's figures (analytics) from its `llm_calls` row. */
export function callFiguresFromRow(row: Record<string, unknown>): CallFigures {
  return {
    call_id: String(row.call_id),
    session_id: String(row.session_id),
    user_id: text(row.user_id),
    model: text(row.model),
    task: text(row.task),
    service_name: text(row.service_name),
    start_time: text(row.start_time)!,
    input_tokens: number(row.input_tokens),
    output_tokens: number(row.output_tokens),
    total_tokens: number(row.total_tokens),
    cost_usd: number(row.cost_usd),
    status: row.status as CallFigures['status'],
    duration_ms: number(row.duration_ms),
    time_to_first_token_ms: number(row.time_to_first_token_ms),
  };
}

/**
 * Reads through a window in chunks, oldest first: `fetch(fromIso, limit)` answers at most `limit`
 * rows that started at or after `fromIso` (from the window's start when `undefined`), ordered by
 * start time (in any order within a millisecond), each with its `start_time` and a unique id. Each
 * chunk starts again at the last millisecond of the one before, so none of that millisecond's rows
 * is missed; those already read are recognised by id. A chunk of one millisecond only grows the
 * limit, so the walk always advances. Between chunks the event loop is let in.
 */
export async function* scanInChunks<T>(
  fetch: (fromIso: string | undefined, limit: number) => Promise<Record<string, unknown>[]> | Record<string, unknown>[],
  idOf: (row: Record<string, unknown>) => string,
  map: (row: Record<string, unknown>) => T,
): AsyncGenerator<T[]> {
  let from: string | undefined;
  let seenAtFrom = new Set<string>();
  let limit = SCAN_CHUNK;
  for (;;) {
    const rows = await fetch(from, limit);
    const fresh = rows.filter((row) => !(text(row.start_time) === from && seenAtFrom.has(idOf(row))));
    if (fresh.length > 0) yield fresh.map(map);
    if (rows.length < limit) return;
    const last = text(rows.at(-1)!.start_time)!;
    if (last === from) {
      // The whole chunk started in one millisecond: read more of it at once.
      for (const row of rows) seenAtFrom.add(idOf(row));
      limit *= 2;
    } else {
      from = last;
      seenAtFrom = new Set(rows.filter((row) => text(row.start_time) === last).map(idOf));
      limit = SCAN_CHUNK;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Stored span records (`[trace id, seen at, record]`, in append order) as one snapshot per trace. */
export function groupRecords(rows: Iterable<readonly [string, number, SpanRecord]>): TraceSnapshot[] {
  const traces = new Map<string, { lastSeenMs: number; spans: SpanRecord[] }>();
  for (const [traceId, seenMs, record] of rows) {
    const trace = traces.get(traceId);
    if (trace) {
      trace.spans.push(record);
      trace.lastSeenMs = Math.max(trace.lastSeenMs, seenMs);
    } else {
      traces.set(traceId, { lastSeenMs: seenMs, spans: [record] });
    }
  }
  return [...traces].map(([traceId, trace]) => ({ traceId, ...trace }));
}

/**
 * How many of the first rows fit in `maxBytes` of JSON as a list (at least one), given each row's
 * JSON length: the same count `withinJsonLength` gives for the sessions themselves, so a store can
 * decide from the lengths before it reads any session whole.
 */
export function countWithin(lengths: readonly number[], maxBytes: number): number {
  // Brackets, plus a comma before every item but the first.
  let total = 1;
  for (const [index, length] of lengths.entries()) {
    total += length + 1;
    if (total > maxBytes && index > 0) return index;
  }
  return lengths.length;
}

/**
 * Stored span records of other replicas (`[seq, trace id, replica, seen at, record]`, in append
 * order) as one entry per trace and replica, with the highest seq of each.
 */
export function groupForeignRecords(rows: Iterable<readonly [number, string, string, number, SpanRecord]>): ForeignRecords[] {
  type Group = { traceId: string; replica: string; lastSeenMs: number; seq: number; spans: SpanRecord[] };
  const groups: Group[] = [];
  const byTrace = new Map<string, Map<string, Group>>();
  for (const [seq, traceId, replica, seenMs, record] of rows) {
    let ofTrace = byTrace.get(traceId);
    if (!ofTrace) byTrace.set(traceId, (ofTrace = new Map()));
    const group = ofTrace.get(replica);
    if (group) {
      group.spans.push(record);
      group.lastSeenMs = Math.max(group.lastSeenMs, seenMs);
      group.seq = Math.max(group.seq, seq);
    } else {
      const created = { traceId, replica, lastSeenMs: seenMs, seq, spans: [record] };
      ofTrace.set(replica, created);
      groups.push(created);
    }
  }
  return groups;
}

/**
 * The cursor of a foreign read as three parallel lists (trace ids, replicas, seqs): how the stores
 * hand it to SQL.
 */
export function cursorLists(
  after: ReadonlyMap<string, ReadonlyMap<string, number>>,
  traceIds: readonly string[],
): [string[], string[], number[]] {
  const traces: string[] = [];
  const replicas: string[] = [];
  const seqs: number[] = [];
  for (const traceId of traceIds) {
    for (const [replica, seq] of after.get(traceId) ?? []) {
      traces.push(traceId);
      replicas.push(replica);
      seqs.push(seq);
    }
  }
  return [traces, replicas, seqs];
}
