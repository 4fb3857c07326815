/**
 * Finding sessions: filters, newest-first order and cursor paging, as the recent-sessions API and
 * its exports use them. Pure: the sessions are passed in.
 */
import type { ProcessingSession, SessionStatus } from './model.js';

/** What to look for. Every given field must match. */
export interface SessionFilter {
  readonly status?: readonly SessionStatus[];
  readonly model?: string;
  readonly task?: string;
  readonly processorType?: string;
  readonly conversationId?: string;
  /** Started at or after (ms since the epoch). */
  readonly sinceMs?: number;
  /** Started before (ms since the epoch). */
  readonly untilMs?: number;
  /** Case-insensitive text in the content or result preview. */
  readonly text?: string;
}

/** One page of sessions and where the next begins. */
export interface SessionPage {
  readonly sessions: ProcessingSession[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

/** True when a start time lies in the window [sinceMs, untilMs) (either bound may be open). */
export function startedWithin(startTime: string, window: { readonly sinceMs?: number; readonly untilMs?: number }): boolean {
  if (window.sinceMs === undefined && window.untilMs === undefined) return true;
  const startMs = Date.parse(startTime);
  // Written as "not before, not after" so a time that is no time stays in (as it always did here).
  return !(window.sinceMs !== undefined && startMs < window.sinceMs) && !(window.untilMs !== undefined && startMs >= window.untilMs);
}

/** True when `text` occurs, case-insensitively, in either of two previews (no text: always). */
export function previewsContain(first: string | null, second: string | null, text: string | undefined): boolean {
  if (text === undefined || text === '') return true;
  return `${first ?? ''}\n${second ?? ''}`.toLowerCase().includes(text.toLowerCase());
}

/** True when `session` matches every field of `filter`. */
export function matchesFilter(session: ProcessingSession, filter: SessionFilter): boolean {
  if (filter.status && !filter.status.includes(session.status)) return false;
  if (filter.model !== undefined && session.model !== filter.model) return false;
  if (filter.task !== undefined && session.task !== filter.task) return false;
  if (filter.processorType !== undefined && session.processor_type !== filter.processorType) return false;
  if (filter.conversationId !== undefined && session.conversation_id !== filter.conversationId) return false;
  return startedWithin(session.start_time, filter) && previewsContain(session.content_preview, session.result_preview, filter.text);
}

/** Newest first; sessions that started at the same time by id, so the order is total. */
export function newestFirst(a: ProcessingSession, b: ProcessingSession): number {
  // Code-unit order, the same order the cursor comparison uses (localeCompare would differ on case).
  if (a.start_time !== b.start_time) return a.start_time < b.start_time ? 1 : -1;
  return a.session_id === b.session_id ? 0 : a.session_id < b.session_id ? 1 : -1;
}

/** An opaque cursor of a position in newest-first order: a start time and the id that breaks ties. */
export function encodeCursor(startTime: string, id: string): string {
  // btoa, not Buffer: this package runs in browsers too. URI-encoding first keeps it to Latin-1.
  const base64 = btoa(encodeURIComponent(JSON.stringify([startTime, id])));
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The position after `session` in newest-first order, as an opaque cursor. */
export function cursorAfter(session: ProcessingSession): string {
  return encodeCursor(session.start_time, session.session_id);
}

/** The sort key a cursor encodes, or `undefined` when it is not one of ours. */
export function parseCursor(cursor: string): [string, string] | undefined {
  try {
    const value = JSON.parse(decodeURIComponent(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')))) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string')
      return [value[0], value[1]];
  } catch {
    // Not ours: the caller reports a bad parameter.
  }
  return undefined;
}

/** The page of matching sessions after `cursor` (from the newest without one). */
export function querySessions(
  all: Iterable<ProcessingSession>,
  filter: SessionFilter,
  limit: number,
  after?: [string, string],
): SessionPage {
  const matching: ProcessingSession[] = [];
  for (const session of all) {
    if (!matchesFilter(session, filter)) continue;
    if (after) {
      const [startTime, sessionId] = after;
      // Strictly after the cursor in newest-first order.
      if (session.start_time > startTime || (session.start_time === startTime && session.session_id >= sessionId)) continue;
    }
    matching.push(session);
  }
  matching.sort(newestFirst);
  const sessions = matching.slice(0, limit);
  const more = matching.length > limit;
  return { sessions, nextCursor: more ? cursorAfter(sessions.at(-1)!) : null };
}
