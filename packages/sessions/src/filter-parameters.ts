/**
 * The names of the session filter, spelt once for every way in: the REST list's query parameters,
 * the WebSocket's subscribe message and URL, the SSE stream's query, and the typed client's query
 * objects. They are the wire's snake_case, like the session JSON they filter, so nothing maps one
 * spelling to another. An old spelling that a released interface took stays accepted there as a
 * deprecated alias (docs/api.md, "Filter names").
 */
import type { SessionStatus } from './model.js';

/** A filter of sessions in its wire names; every field given must match. */
export interface SessionFilterParameters {
  /** Sessions in any of these statuses (comma-separated in a URL). */
  readonly status?: readonly SessionStatus[];
  readonly model?: string;
  readonly task?: string;
  readonly processor_type?: string;
  /** Sessions of this conversation (their `conversation_id`). */
  readonly conversation?: string;
}

/** What a live client receives: some sessions by id, the sessions a filter admits, or (nothing given) every session. */
export interface LiveFilter extends SessionFilterParameters {
  /** Session ids, at most 1,000 (comma-separated in a URL). */
  readonly sessions?: readonly string[];
}

/** The filter's parameter names, in the order the docs list them. */
export const SESSION_FILTER_PARAMETERS = [
  'status',
  'model',
  'task',
  'processor_type',
  'conversation',
] as const satisfies readonly (keyof SessionFilterParameters)[];

/** The live subscription's parameter names: the session ids, then the filter's. */
export const LIVE_FILTER_PARAMETERS = ['sessions', ...SESSION_FILTER_PARAMETERS] as const satisfies readonly (keyof LiveFilter)[];

/**
 * Old spellings the receiver still takes on the wire, with the name each stands for. `session` was
 * the SSE stream's name for what the WebSocket called `sessions`; both live streams accept it, so a
 * URL that worked keeps working on either. Giving a name and its alias at once is refused.
 * (The client's own old spellings never reach the wire: the client maps them before sending.)
 */
export const DEPRECATED_PARAMETER_ALIASES = {
  session: 'sessions',
} as const satisfies Readonly<Record<string, keyof LiveFilter>>;
