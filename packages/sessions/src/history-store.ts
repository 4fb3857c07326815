/**
 * The history port: what outlives the live window. The receiver writes every change of the live
 * store through it (sessions, their LLM calls, and the spans of running traces) and answers the REST
 * API from it; implementations are this file's {@link MemoryHistoryStore} (keeps only the live
 * window, nothing on disk) and the receiver's SQLite and PostgreSQL adapters. One behavioural test
 * suite runs against all three.
 */
import type { LlmCallFilter, LlmCallPage, LlmCallRow } from './call-log.js';
import { callRowsOf, matchesCallFilter } from './call-log.js';
import type { ProcessingSession } from './model.js';
import type { TraceSnapshot } from './session-builder.js';
import { encodeCursor, newestFirst, querySessions } from './session-query.js';
import type { SessionFilter, SessionPage } from './session-query.js';
import type { StatisticsWindow } from './statistics.js';

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
  /** Writes one commit in one transaction; resolves once it is durable. */
  commit(commit: HistoryCommit): Promise<void>;
  /**
   * Every stored record of each trace still running at the last commit, in the order they were
   * appended, with the latest `lastSeenMs` (for a restart).
   */
  runningTraces(): Promise<TraceSnapshot[]>;
  /** The session with this id (the latest, should two traces have used it), or `undefined`. */
  session(sessionId: string): Promise<ProcessingSession | undefined>;
  /** A page of sessions, newest first, after the cursor's `[start_time, session_id]`. */
  sessions(filter: SessionFilter, limit: number, after?: readonly [string, string]): Promise<SessionPage>;
  /** The first `limit` sessions of a conversation, oldest first, and how many it has. */
  conversation(conversationId: string, limit: number): Promise<ConversationPage>;
  /**
   * The sessions that started within the window, without their timelines, calls and token texts
   * (empty arrays): what statistics need, at a fraction of the size.
   */
  sessionSummaries(window: StatisticsWindow): Promise<ProcessingSession[]>;
  /** A page of the LLM call log, newest first, after the cursor's `[start_time, call_id]`. */
  llmCalls(filter: LlmCallFilter, limit: number, after?: readonly [string, string]): Promise<LlmCallPage>;
  /** Every call that started within the window (for analytics). */
  callRows(window: StatisticsWindow): Promise<LlmCallRow[]>;
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

function inWindow(startTime: string, window: StatisticsWindow): boolean {
  const startMs = Date.parse(startTime);
  return (window.sinceMs === undefined || startMs >= window.sinceMs) && (window.untilMs === undefined || startMs < window.untilMs);
}

/** A session without what statistics do not read. */
export function summaryForStatistics(session: ProcessingSession): ProcessingSession {
  return { ...session, events: [], stages: [], llm_calls: [], streamed_tokens: [] };
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
  readonly #sessions = new Map<string, ProcessingSession>();

  async commit(commit: HistoryCommit): Promise<void> {
    for (const session of commit.sessions) this.#sessions.set(session.trace_id, session);
    for (const traceId of commit.leftLiveWindow) this.#sessions.delete(traceId);
  }

  async runningTraces(): Promise<TraceSnapshot[]> {
    return [];
  }

  async session(sessionId: string): Promise<ProcessingSession | undefined> {
    let found: ProcessingSession | undefined;
    for (const session of this.#sessions.values()) {
      if (session.session_id === sessionId && (!found || session.start_time > found.start_time)) found = session;
    }
    return found;
  }

  async sessions(filter: SessionFilter, limit: number, after?: readonly [string, string]): Promise<SessionPage> {
    return querySessions(this.#sessions.values(), filter, limit, after && [after[0], after[1]]);
  }

  async conversation(conversationId: string, limit: number): Promise<ConversationPage> {
    const sessions = [...this.#sessions.values()].filter((session) => session.conversation_id === conversationId).sort((a, b) => -newestFirst(a, b));
    return { sessions: sessions.slice(0, limit), total: sessions.length };
  }

  async sessionSummaries(window: StatisticsWindow): Promise<ProcessingSession[]> {
    const summaries: ProcessingSession[] = [];
    for (const session of this.#sessions.values()) if (inWindow(session.start_time, window)) summaries.push(summaryForStatistics(session));
    return summaries;
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

  async callRows(window: StatisticsWindow): Promise<LlmCallRow[]> {
    const rows: LlmCallRow[] = [];
    for (const session of this.#sessions.values()) for (const row of callRowsOf(session)) if (inWindow(row.start_time, window)) rows.push(row);
    return rows;
  }

  async deleteBefore(cutoffMs: number, maxRows: number): Promise<number> {
    let deleted = 0;
    for (const [traceId, session] of this.#sessions) {
      if (deleted >= maxRows) break;
      if (Date.parse(session.start_time) < cutoffMs) {
        this.#sessions.delete(traceId);
        deleted += 1;
      }
    }
    return deleted;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#sessions.clear();
  }
}
