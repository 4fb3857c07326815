/**
 * Reading what a live client subscribes to, from a WebSocket message or from a URL's query
 * parameters (WebSocket and SSE alike). Both streams take the same names (`LIVE_FILTER_PARAMETERS`)
 * and the same deprecated aliases (`DEPRECATED_PARAMETER_ALIASES`); the filter's names meet the
 * store's in `sessionFilterOf`, as they do for the REST list.
 */
import { DEPRECATED_PARAMETER_ALIASES, LIVE_ERROR_CODES } from '@llm-monitor/sessions';
import type { LiveFilter, LiveSubscriptionDescription, SessionFilter } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import { sessionFilterOf } from '../api/query-parameters.js';
import { EVERYTHING } from './live-hub.js';
import type { LiveSubscription } from './live-hub.js';

/**
 * What a client gave, by wire name, before it is checked: a WebSocket message's fields (`sessions`
 * and `status` as lists) or a URL's parameters (text, lists comma-separated).
 */
export type LiveParameters = { readonly [K in keyof LiveFilter | keyof typeof DEPRECATED_PARAMETER_ALIASES]?: unknown };

/** The filter fields of {@link LiveParameters}. */
export type FilterFields = Omit<LiveParameters, 'sessions' | keyof typeof DEPRECATED_PARAMETER_ALIASES>;

/** Most session ids one subscription names. */
const MAX_SUBSCRIBED_SESSIONS = 1000;

const badParameter = (message: string): LlmMonitorError => new LlmMonitorError(LIVE_ERROR_CODES.BAD_PARAMETER, message);

function text(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 256) throw badParameter(`${name} must be a string of at most 256 characters`);
  return value;
}

/** A session filter from wire fields; `undefined` when none is given. */
export function filterOf(fields: FilterFields): SessionFilter | undefined {
  const filter = sessionFilterOf({
    // A WebSocket message may list statuses; a URL separates them by commas.
    status: Array.isArray(fields.status) ? fields.status.join(',') : text('status', fields.status),
    model: text('model', fields.model),
    task: text('task', fields.task),
    processor_type: text('processor_type', fields.processor_type),
    conversation: text('conversation', fields.conversation),
  });
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/** The subscription of `sessions` and filter fields; everything when neither is given. */
export function subscriptionOf(sessions: readonly string[] | undefined, fields: FilterFields, sessionsName = 'sessions'): LiveSubscription {
  if (
    sessions !== undefined &&
    (!Array.isArray(sessions) || sessions.length > MAX_SUBSCRIBED_SESSIONS || sessions.some((id) => typeof id !== 'string'))
  ) {
    throw badParameter(`${sessionsName} must be a list of at most ${MAX_SUBSCRIBED_SESSIONS} session ids`);
  }
  const filter = filterOf(fields);
  if (!sessions?.length && !filter) return EVERYTHING;
  return { active: true, ...(sessions?.length ? { sessions: new Set(sessions) } : {}), ...(filter ? { filter } : {}) };
}

/**
 * The session ids of the parameters and the name they came under: `sessions`, or its deprecated
 * alias `session`. Both at once are refused: which one was meant cannot be told.
 */
function sessionIdsOf(parameters: LiveParameters): { ids: unknown; name: string } {
  let found: { ids: unknown; name: string } = { ids: parameters.sessions, name: 'sessions' };
  for (const [alias, name] of Object.entries(DEPRECATED_PARAMETER_ALIASES)) {
    const given = parameters as Readonly<Record<string, unknown>>;
    const value = given[alias];
    if (value === undefined) continue;
    if (given[name] !== undefined) throw badParameter(`${name} and its deprecated alias ${alias} were both given: give ${name} only`);
    found = { ids: value, name: alias };
  }
  return found;
}

/** The subscription a WebSocket `subscribe` message asks for: `sessions` a list of ids. */
export function subscriptionOfMessage(message: LiveParameters): LiveSubscription {
  const { ids, name } = sessionIdsOf(message);
  return subscriptionOf(ids as readonly string[] | undefined, message, name);
}

/** The subscription a URL's query parameters ask for (WebSocket and SSE): `sessions` comma-separated. */
export function subscriptionOfQuery(query: LiveParameters): LiveSubscription {
  const { ids, name } = sessionIdsOf(query);
  if (ids !== undefined && typeof ids !== 'string') throw badParameter(`${name} must be comma-separated session ids`);
  return subscriptionOf(ids === undefined ? undefined : ids.split(',').filter(Boolean), query, name);
}

/** A subscription in the wire names clients use, for the `subscribed` reply. */
export function describeSubscription(subscription: LiveSubscription): LiveSubscriptionDescription {
  if (!subscription.active) return { active: false };
  const filter = subscription.filter;
  return {
    active: true,
    ...(subscription.sessions ? { sessions: [...subscription.sessions] } : {}),
    ...(filter?.status ? { status: filter.status } : {}),
    ...(filter?.model !== undefined ? { model: filter.model } : {}),
    ...(filter?.task !== undefined ? { task: filter.task } : {}),
    ...(filter?.processorType !== undefined ? { processor_type: filter.processorType } : {}),
    ...(filter?.conversationId !== undefined ? { conversation: filter.conversationId } : {}),
  };
}
