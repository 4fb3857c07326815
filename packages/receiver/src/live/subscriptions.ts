/** Reading what a live client subscribes to, from a WebSocket message or SSE query parameters. */
import type { SessionFilter, SessionStatus } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import { statusParameter } from '../api/query-parameters.js';
import { EVERYTHING } from './live-hub.js';
import type { LiveSubscription } from './live-hub.js';

/** Filter fields a client may give, by their wire names. */
export interface FilterFields {
  status?: string | readonly string[];
  model?: string;
  task?: string;
  processor_type?: string;
  conversation?: string;
}

function text(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 256) {
    throw new LlmMonitorError('LLMMON_ERR_BAD_PARAMETER', `${name} must be a string of at most 256 characters`);
  }
  return value;
}

/** A session filter from wire fields; `undefined` when none is given. */
export function filterOf(fields: FilterFields): SessionFilter | undefined {
  const status = Array.isArray(fields.status) ? statusParameter(fields.status.join(',')) : statusParameter(text('status', fields.status));
  const filter: { -readonly [K in keyof SessionFilter]: SessionFilter[K] } = {};
  if (status) filter.status = status as SessionStatus[];
  const model = text('model', fields.model);
  if (model !== undefined) filter.model = model;
  const task = text('task', fields.task);
  if (task !== undefined) filter.task = task;
  const processorType = text('processor_type', fields.processor_type);
  if (processorType !== undefined) filter.processorType = processorType;
  const conversation = text('conversation', fields.conversation);
  if (conversation !== undefined) filter.conversationId = conversation;
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/** The subscription of `sessions` and filter fields; everything when neither is given. */
export function subscriptionOf(sessions: readonly string[] | undefined, fields: FilterFields, sessionsName = 'sessions'): LiveSubscription {
  if (sessions !== undefined && (!Array.isArray(sessions) || sessions.length > 1000 || sessions.some((id) => typeof id !== 'string'))) {
    throw new LlmMonitorError('LLMMON_ERR_BAD_PARAMETER', `${sessionsName} must be a list of at most 1000 session ids`);
  }
  const filter = filterOf(fields);
  if (!sessions?.length && !filter) return EVERYTHING;
  return { active: true, ...(sessions?.length ? { sessions: new Set(sessions) } : {}), ...(filter ? { filter } : {}) };
}

/** A subscription in the wire names clients use, for the `subscribed` reply. */
export function describeSubscription(subscription: LiveSubscription): Record<string, unknown> {
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
