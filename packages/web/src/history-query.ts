/** The history filter as URL parameters (`#/history?status=failed&model=…`). Pure, so it is tested in Node. */
import type { SessionQuery, SessionStatus } from '@llm-monitor/client';

/** The statuses the list filters by. */
export const STATUSES: readonly SessionStatus[] = ['active', 'completed', 'failed', 'abandoned'];
/** The free-text filters, by their URL parameter. */
export const TEXT_FILTERS = ['model', 'task', 'conversation', 'q'] as const;

/** The filter of the list, as its URL parameters. */
export function queryFromParameters(parameters: URLSearchParams): SessionQuery {
  const status = parameters.get('status');
  const query: { -readonly [K in keyof SessionQuery]: SessionQuery[K] } = {};
  if (status && (STATUSES as readonly string[]).includes(status)) query.status = [status as SessionStatus];
  for (const name of TEXT_FILTERS) {
    const value = parameters.get(name)?.trim();
    if (value) query[name] = value;
  }
  return query;
}
