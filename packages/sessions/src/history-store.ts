/**
 * The history port: what outlives the live window. The receiver writes every change of the live
 * store through it (sessions, their LLM calls, and the spans of running traces) and answers the REST
 * API from it; implementations are this file's {@link MemoryHistoryStore} (keeps only the live
 * window, nothing on disk) and the receiver's SQLite and PostgreSQL adapters. One behavioural test
 * suite runs against all three.
 *
 * Several receivers (replicas) may share one durable store. Each opens it with its replica id: the
 * span records it appends carry that id, a restart takes back only the traces it held, and
 * {@link HistoryStore.foreignRecords} gives it what the others appended of the traces it holds, so
 * a trace whose spans reach two replicas is merged through the store.
 */
import type { CallFigures } from './analytics.js';
import type { LlmCallFilter, LlmCallPage, LlmCallRow } from './call-log.js';
import { callRowsOf, matchesCallFilter } from './call-log.js';
import type { ProcessingSession } from './model.js';
import type { TraceSnapshot } from './session-builder.js';
import { withinJsonLength } from './json-size.js';
import { cursorAfter, encodeCursor, newestFirst, querySessions, startedWithin } from './session-query.js';
import type { SessionFilter, SessionPage } from './session-query.js';
import type { StatisticsInput, StatisticsWindow } from './statistics.js';

/**
 * What statistics and budgets read of a stored session: its figures, without timeline, calls or
 * texts — a small fraction of the session, so a month of them can be read through in chunks.
 */
export type SessionFigures = StatisticsInput &
  Pick<ProcessingSession, 'trace_id' | 'session_id' | 'user_id' | 'cost_usd' | 'budget_exceeded'>;

/** The figures of a session. */
export function sessionFiguresOf(session: ProcessingSession): SessionFigures {
  return {
    trace_id: session.trace_id,
    session_id: session.session_id,
    status: session.status,
    start_time: session.start_time,
    duration_ms: session.duration_ms,
    time_to_first_token_ms: session.time_to_first_token_ms,
    token_counts: session.token_counts,
    model: session.model,
    task: session.task,
    processor_type: session.processor_type,
    user_id: session.user_id,
    cost_usd: session.cost_usd,
    budget_exceeded: session.budget_exceeded,
  };
}

/** The figures of a call-log row (what analytics read). */
export function callFiguresOf(row: LlmCallRow): CallFigures {
  return {
    call_id: row.call_id,
    session_id: row.session_id,
    user_id: row.user_id,
    model: row.model,
    task: row.task,
    service_name: row.service_name,
    start_time: row.start_time,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    total_tokens: row.total_tokens,
    cost_usd: row.cost_usd,
    status: row.status,
    duration_ms: row.duration_ms,
    time_to_first_token_ms: row.time_to_first_token_ms,
  };
}

/** Rows a store reads per chunk when it reads through a window. */
export const SCAN_CHUNK = 2000;

/** One group commit: everything that changed since the last one, keyed by trace. */
export interface HistoryCommit {
  /** Sessions as they stand now (one row per trace; the later version replaces the earlier). */
  readonly sessions: readonly ProcessingSession[];
  /**
   * Span records of running traces kept since the last commit: appended to what is stored of each
   * trace (all of a trace's records rebuild it), so a restart carries on.
   */
  readonly running: readonly TraceSnapshot[];
  /** Traces whose stored records go: their session ended or left the live window. */
  readonly settled: readonly string[];
  /**
   * Traces whose session left the live window. A durable store keeps their history; the memory
   * store, which keeps nothing beyond the window, forgets them.
   */
  readonly leftLiveWindow: readonly string[];
  /**
   * How many distinct spans the replica held of each session's trace (`SessionPipeline.spanCountOf`),
   * by trace id; a session without an entry counts 0. A durable store keeps the count with the row
   * and does not replace a row with one built from fewer spans (nor the row's calls): of two
   * replicas that each hold part of a trace, the one holding more writes it.
   */
  readonly spanCounts?: ReadonlyMap<string, number>;
}

/**
 * Where a replica's reading of the others' span records stands: by trace id, then by the replica
 * that appended them, the highest `seq` already read. A replica's records become visible in the
 * order of their `seq` (each replica commits one transaction after the other), so per replica this
 * is exact, whatever the others commit meanwhile.
 */
export type ForeignCursor = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Span records another replica appended of one trace, beyond what the cursor said was read. */
export interface ForeignRecords extends TraceSnapshot {
  /** The replica that appended them. */
  readonly replica: string;
  /** The highest `seq` among them: where the next read of this trace and replica starts after. */
  readonly seq: number;
}

/** The sessions of one conversation, oldest first. */
export interface ConversationPage {
  readonly sessions: ProcessingSession[];
  /** Sessions of the conversation in all (beyond `limit` too). */
  readonly total: number;
}

/** The history port. Every method may reject when the database is unreachable. */
export interface HistoryStore {
  /** `memory`, `sqlite` or `postgres`. */
  readonly kind: string;
  /** True when what is committed survives a restart. */
  readonly durable: boolean;
  /** Where it keeps its data, for logs and health (no password). */
  readonly location: string;
  /**
   * The replica this store was opened for, `''` for a receiver on its own. The span records it
   * appends are tagged with it.
   */
  readonly replicaId: string;
  /**
   * True when other replicas may write the same data: a durable store opened with a replica id.
   * Only then is {@link HistoryStore.foreignRecords} worth asking, and only then does settling a
   * trace leave its records for the replicas still holding it.
   */
  readonly shared: boolean;
  /**
   * Writes one commit in one transaction; resolves once it is durable. `settled` traces: when other
   * replicas still hold one running (a shared store), this replica's records of it stay for them to
   * merge — with the last ones, which `running` may carry — and go with the last replica's settle;
   * otherwise every record of the trace goes.
   */
  commit(commit: HistoryCommit): Promise<void>;
  /**
   * For a restart: every stored record of each trace this replica (or a receiver without replica
   * id, before replicas had ids) appended records of and has not settled, in the order they were
   * appended, with the latest `lastSeenMs` — records other replicas appended of those traces
   * included, so the restart takes back what was merged. Traces only other replicas hold stay
   * theirs: a restarting replica does not take over the running sessions of live ones.
   */
  runningTraces(): Promise<TraceSnapshot[]>;
  /**
   * The span records other replicas appended of these traces, beyond what `after` says was read
   * (a trace or replica missing from it: all of them), in append order, one entry per trace and
   * replica. Records of replicas without id are never foreign. One indexed query; a store that is
   * not {@link HistoryStore.shared} answers `[]`.
   */
  foreignRecords(traceIds: readonly string[], after: ForeignCursor): Promise<ForeignRecords[]>;
  /** The session with this id (the latest, should two traces have used it), or `undefined`. */
  session(sessionId: string): Promise<ProcessingSession | undefined>;
  /**
   * A page of sessions, newest first, after the cursor's `[start_time, session_id]`: at most `limit`,
   * and no more than `maxBytes` of session JSON (but at least one) — the page then ends early and its
   * cursor continues after the last session given. Sessions that do not fit are never read whole.
   */
  sessions(filter: SessionFilter, limit: number, after?: readonly [string, string], maxBytes?: number): Promise<SessionPage>;
  /** The first sessions of a conversation, oldest first (at most `limit` and `maxBytes` as above), and how many it has. */
  conversation(conversationId: string, limit: number, maxBytes?: number): Promise<ConversationPage>;
  /**
   * The figures of the sessions that started within the window, oldest first, in chunks of at most
   * {@link SCAN_CHUNK} (larger only when that many started in the same millisecond), with the event
   * loop let in between: what statistics and budgets read, however long the window.
   */
  sessionFigures(window: StatisticsWindow): AsyncIterable<SessionFigures[]>;
  /** A page of the LLM call log, newest first, after the cursor's `[start_time, call_id]`. */
  llmCalls(filter: LlmCallFilter, limit: number, after?: readonly [string, string]): Promise<LlmCallPage>;
  /** The figures of the calls that started within the window, oldest first, in chunks (as {@link HistoryStore.sessionFigures}). */
  callFigures(window: StatisticsWindow): AsyncIterable<CallFigures[]>;
  /**
   * Deletes up to `maxRows` sessions (and their calls) that started before `cutoffMs`; returns how
   * many went. Called repeatedly by the retention job, so no call holds the database for long.
   */
  deleteBefore(cutoffMs: number, maxRows: number): Promise<number>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  /** Releases the database. */
  close(): Promise<void>;
}

/** The position after `row` in newest-first order of the call log, as an opaque cursor. */
export function callCursorAfter(row: LlmCallRow): string {
  return encodeCursor(row.start_time, row.call_id);
}

/** Newest first, ties by call id: the call log's total order. */
export function newestCallFirst(a: LlmCallRow, b: LlmCallRow): number {
  if (a.start_time !== b.start_time) return a.start_time < b.start_time ? 1 : -1;
  return a.call_id === b.call_id ? 0 : a.call_id < b.call_id ? 1 : -1;
}

/** Oldest first, ties by `id`: the order stores read through a window in. */
function byStart<T extends { start_time: string }>(id: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (a.start_time !== b.start_time ? (a.start_time < b.start_time ? -1 : 1) : id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);
}

/** Items in chunks of {@link SCAN_CHUNK}. */
function* chunked<T>(items: readonly T[]): Generator<T[]> {
  for (let at = 0; at < items.length; at += SCAN_CHUNK) yield items.slice(at, at + SCAN_CHUNK);
}

/**
 * The history of `storage_url: memory:`: the live window and nothing more, nothing on disk. Sessions
 * are kept by trace while the live store holds them, and answered with the same filters, order and
 * cursors as the durable stores.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly kind = 'memory';
  readonly durable = false;
  readonly location = 'memory';
  readonly replicaId: string = '';
  /** Never: the memory store is this receiver's alone. */
  readonly shared: boolean = false;
  readonly #sessions = new Map<string, ProcessingSession>();
  /** How many spans each kept session was built from (see {@link HistoryCommit.spanCounts}). */
  readonly #spanCounts = new Map<string, number>();

  async commit(commit: HistoryCommit): Promise<void> {
    for (const session of commit.sessions) {
      const spanCount = commit.spanCounts?.get(session.trace_id) ?? 0;
      // As the durable stores: a session built from fewer spans does not replace one built from more.
      if ((this.#spanCounts.get(session.trace_id) ?? 0) > spanCount) continue;
      this.#sessions.set(session.trace_id, session);
      this.#spanCounts.set(session.trace_id, spanCount);
    }
    for (const traceId of commit.leftLiveWindow) {
      this.#sessions.delete(traceId);
      this.#spanCounts.delete(traceId);
    }
  }

  /**
   * Swaps the stored session of a trace for an equal one in another form (the receiver's compact
   * form of an ended session), when the stored one has its id; nothing is committed. The memory
   * store holds the live window's very objects, so without this the whole form would stay alive here.
   */
  adopt(session: ProcessingSession): void {
    if (this.#sessions.get(session.trace_id)?.session_id === session.session_id) this.#sessions.set(session.trace_id, session);
  }

  async runningTraces(): Promise<TraceSnapshot[]> {
    return [];
  }

  async foreignRecords(_traceIds: readonly string[], _after: ForeignCursor): Promise<ForeignRecords[]> {
    return [];
  }

  async session(sessionId: string): Promise<ProcessingSession | undefined> {
    let found: ProcessingSession | undefined;
    for (const session of this.#sessions.values()) {
      if (session.session_id === sessionId && (!found || session.start_time > found.start_time)) found = session;
    }
    return found;
  }

  async sessions(filter: SessionFilter, limit: number, after?: readonly [string, string], maxBytes = Infinity): Promise<SessionPage> {
    const page = querySessions(this.#sessions.values(), filter, limit, after && [after[0], after[1]]);
    const kept = withinJsonLength(page.sessions, maxBytes);
    return kept.cut ? { sessions: kept.items, nextCursor: cursorAfter(kept.items.at(-1)!) } : page;
  }

  async conversation(conversationId: string, limit: number, maxBytes = Infinity): Promise<ConversationPage> {
    const sessions = [...this.#sessions.values()]
      .filter((session) => session.conversation_id === conversationId)
      .sort((a, b) => -newestFirst(a, b));
    return { sessions: withinJsonLength(sessions.slice(0, limit), maxBytes).items, total: sessions.length };
  }

  async *sessionFigures(window: StatisticsWindow): AsyncGenerator<SessionFigures[]> {
    const figures: SessionFigures[] = [];
    for (const session of this.#sessions.values()) if (startedWithin(session.start_time, window)) figures.push(sessionFiguresOf(session));
    yield* chunked(figures.sort(byStart((session) => session.trace_id)));
  }

  async llmCalls(filter: LlmCallFilter, limit: number, after?: readonly [string, string]): Promise<LlmCallPage> {
    const matching: LlmCallRow[] = [];
    for (const session of this.#sessions.values()) {
      for (const row of callRowsOf(session)) {
        if (!matchesCallFilter(row, filter)) continue;
        if (after && (row.start_time > after[0] || (row.start_time === after[0] && row.call_id >= after[1]))) continue;
        matching.push(row);
      }
    }
    matching.sort(newestCallFirst);
    const calls = matching.slice(0, limit);
    return { calls, nextCursor: matching.length > limit ? callCursorAfter(calls.at(-1)!) : null };
  }

  async *callFigures(window: StatisticsWindow): AsyncGenerator<CallFigures[]> {
    const rows: CallFigures[] = [];
    for (const session of this.#sessions.values())
      for (const row of callRowsOf(session)) if (startedWithin(row.start_time, window)) rows.push(callFiguresOf(row));
    yield* chunked(rows.sort(byStart((row) => row.call_id)));
  }

  async deleteBefore(cutoffMs: number, maxRows: number): Promise<number> {
    let deleted = 0;
    for (const [traceId, session] of this.#sessions) {
      if (deleted >= maxRows) break;
      if (Date.parse(session.start_time) < cutoffMs) {
        this.#sessions.delete(traceId);
        this.#spanCounts.delete(traceId);
        deleted += 1;
      }
    }
    return deleted;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#sessions.clear();
    this.#spanCounts.clear();
  }
}
