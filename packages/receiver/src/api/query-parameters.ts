/** Reading the query parameters the monitoring API shares, with errors that name the parameter. */
import { LlmMonitorError } from '../errors.js';
import type { SESSION_FILTER_PARAMETERS, SessionFilter, SessionStatus } from '@llm-monitor/sessions';

/** A bad query parameter: 400 `LLMMON_ERR_BAD_PARAMETER`, naming it. */
export function badParameter(name: string, value: unknown, expected: string): LlmMonitorError {
  return new LlmMonitorError('LLMMON_ERR_BAD_PARAMETER', `query parameter ${name}: ${JSON.stringify(value)} is not ${expected}`);
}

/** An ISO 8601 time or milliseconds since the epoch, as ms; `undefined` when absent. */
export function timeParameter(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  // Dates hold ±8.64e15 ms; beyond, nothing can be compared with or printed.
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS)
    throw badParameter(name, value, 'an ISO 8601 time or milliseconds since the epoch');
  return ms;
}

/** The largest distance from the epoch a JavaScript date holds. */
const MAX_DATE_MS = 8.64e15;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `30s`, `15m`, `1h`, `7d`, as ms; `undefined` when absent. */
export function durationParameter(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const match = DURATION.exec(value);
  if (!match) throw badParameter(name, value, 'a duration such as 30s, 15m, 1h or 7d');
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms > MAX_DATE_MS) throw badParameter(name, value, 'a duration a date can hold');
  return ms;
}

const STATUSES: readonly SessionStatus[] = ['active', 'completed', 'failed', 'abandoned'];

/** A comma-separated list of session statuses; `undefined` when absent. */
export function statusParameter(value: string | undefined): SessionStatus[] | undefined {
  if (value === undefined || value === '') return undefined;
  const statuses = value.split(',').map((item) => item.trim());
  for (const status of statuses) {
    if (!STATUSES.includes(status as SessionStatus)) throw badParameter('status', status, `one of ${STATUSES.join(', ')}`);
  }
  return statuses as SessionStatus[];
}

/** The window [since, until) from `since`/`until` times or a trailing `window` duration. */
export function windowParameters(
  query: { since?: string; until?: string; window?: string },
  nowMs: number,
): { sinceMs?: number; untilMs?: number } {
  const windowMs = durationParameter('window', query.window);
  const sinceMs = timeParameter('since', query.since) ?? (windowMs === undefined ? undefined : nowMs - windowMs);
  const untilMs = timeParameter('until', query.until);
  if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs) throw badParameter('until', query.until, 'later than since');
  return { ...(sinceMs === undefined ? {} : { sinceMs }), ...(untilMs === undefined ? {} : { untilMs }) };
}

/** The query parameters of {@link windowParameters}, as the routes' schemas declare them. */
export const WINDOW_QUERY_PROPERTIES = {
  since: { type: 'string', description: 'started at or after: ISO 8601 or ms since the epoch' },
  until: { type: 'string', description: 'started before: ISO 8601 or ms since the epoch' },
  window: { type: 'string', description: 'started within this long before now: 30s, 15m, 1h, 7d' },
} as const;

/** The session filter's parameters as a URL gives them: text, `status` comma-separated. */
export type SessionFilterQuery = { readonly [K in (typeof SESSION_FILTER_PARAMETERS)[number]]?: string };

/**
 * The session filter's parameters, as the routes' schemas declare them: the REST list and the SSE
 * stream take the same names (`SESSION_FILTER_PARAMETERS`; the `satisfies` holds this to that list).
 */
export const SESSION_FILTER_QUERY_PROPERTIES = {
  status: { type: 'string', description: 'comma-separated: active, completed, failed, abandoned' },
  model: { type: 'string' },
  task: { type: 'string' },
  processor_type: { type: 'string' },
  conversation: { type: 'string', description: 'conversation id' },
} as const satisfies Record<keyof SessionFilterQuery, object>;

/**
 * The filter the parameters given describe, in the store's terms. The one place where the wire
 * names meet `SessionFilter`'s, for the REST list and the live streams alike.
 */
export function sessionFilterOf(
  query: SessionFilterQuery,
): Pick<SessionFilter, 'status' | 'model' | 'task' | 'processorType' | 'conversationId'> {
  const status = statusParameter(query.status);
  return {
    ...(status === undefined ? {} : { status }),
    ...(query.model === undefined ? {} : { model: query.model }),
    ...(query.task === undefined ? {} : { task: query.task }),
    ...(query.processor_type === undefined ? {} : { processorType: query.processor_type }),
    ...(query.conversation === undefined ? {} : { conversationId: query.conversation }),
  };
}
