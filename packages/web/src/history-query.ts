/**
 * The history filter as URL parameters (`#/history?status=failed&model=…&window=7d`), and the time
 * range pickers' values. Pure, so it is tested in Node.
 */
import type { SessionQuery, SessionStatus } from '@llm-monitor/client';

/** The statuses the list filters by. */
export const STATUSES: readonly SessionStatus[] = ['active', 'completed', 'failed', 'abandoned'];
/** The free-text filters, by their URL parameter. */
export const TEXT_FILTERS = ['model', 'task', 'conversation', 'q'] as const;
/** How far back the durable history reaches by default (the receiver's retention). */
export const RETENTION_DAYS = 30;
/** The trailing windows the time range picker offers, as the API's `window` values. */
export const RANGE_PRESETS: readonly { readonly value: string; readonly label: string }[] = [
  { value: '1h', label: 'last hour' },
  { value: '24h', label: 'last 24 hours' },
  { value: '7d', label: 'last 7 days' },
  { value: '30d', label: 'last 30 days' },
];

const DAY_MS = 86_400_000;
const WINDOW = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The length of a window such as `15m` or `7d` in milliseconds; `undefined` when it is no window. */
export function windowMs(window: string): number | undefined {
  const match = WINDOW.exec(window);
  if (!match) return undefined;
  const length = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return length > 0 ? length : undefined;
}

/** ms since the epoch of a `since`/`until` value as the API takes it (ISO 8601 or ms); `undefined` when it is neither. */
export function timeMs(value: string): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The filter of the list, from its URL parameters. Unknown statuses, empty values, malformed times
 * and windows are left out. `since`/`until` win over `window` when both are given.
 */
export function queryFromParameters(parameters: URLSearchParams): SessionQuery {
  const status = parameters.get('status');
  const query: Mutable<SessionQuery> = {};
  if (status && (STATUSES as readonly string[]).includes(status)) query.status = [status as SessionStatus];
  for (const name of TEXT_FILTERS) {
    const value = parameters.get(name)?.trim();
    if (value) query[name] = value;
  }
  for (const name of ['since', 'until'] as const) {
    const value = parameters.get(name)?.trim();
    if (value && timeMs(value) !== undefined) query[name] = value;
  }
  const window = parameters.get('window')?.trim();
  if (window && windowMs(window) !== undefined && query.since === undefined && query.until === undefined) query.window = window;
  return query;
}

/** The URL parameters of a filter, in a fixed order (status, text filters, then the time range); the inverse of {@link queryFromParameters}. */
export function parametersFromQuery(query: SessionQuery): URLSearchParams {
  const parameters = new URLSearchParams();
  if (query.status?.[0]) parameters.set('status', query.status[0]);
  for (const name of TEXT_FILTERS) {
    const value = query[name]?.trim();
    if (value) parameters.set(name, value);
  }
  for (const name of ['window', 'since', 'until'] as const) {
    const value = query[name];
    if (value !== undefined && String(value).trim() !== '') parameters.set(name, String(value).trim());
  }
  return parameters;
}

/** What the filter form holds: the status select, the text inputs, the range select and the two `datetime-local` inputs. */
export interface FilterForm {
  readonly status: string;
  readonly text: Readonly<Partial<Record<(typeof TEXT_FILTERS)[number], string>>>;
  /** `''`, a preset window or `custom`. */
  readonly range: string;
  readonly since: string;
  readonly until: string;
}

/** The filter the form describes: a preset range becomes `window`, a custom one `since`/`until` (ISO). */
export function queryFromForm(form: FilterForm): SessionQuery {
  const query: Mutable<SessionQuery> = {};
  if ((STATUSES as readonly string[]).includes(form.status)) query.status = [form.status as SessionStatus];
  for (const name of TEXT_FILTERS) {
    const value = form.text[name]?.trim();
    if (value) query[name] = value;
  }
  if (form.range === 'custom') {
    const since = isoFromLocalInput(form.since);
    const until = isoFromLocalInput(form.until);
    if (since !== undefined) query.since = since;
    if (until !== undefined) query.until = until;
  } else if (form.range && windowMs(form.range) !== undefined) query.window = form.range;
  return query;
}

/** The `#/history…` address of a filter. */
export function historyHash(query: SessionQuery): string {
  const text = parametersFromQuery(query).toString();
  return `#/history${text ? `?${text}` : ''}`;
}

/** What the range picker shows for a filter: `''` (any time), the window, or `custom` (since/until). */
export function rangeChoice(query: SessionQuery): string {
  if (query.since !== undefined || query.until !== undefined) return 'custom';
  return query.window ?? '';
}

const pad = (value: number): string => String(value).padStart(2, '0');

/** The value of a `datetime-local` input (local time, to the minute) for an ISO time or ms; `''` when invalid. */
export function localInputValue(time: string | number | undefined): string {
  if (time === undefined) return '';
  const ms = typeof time === 'number' ? time : timeMs(time);
  if (ms === undefined) return '';
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The ISO time of a `datetime-local` input's value (read as local time); `undefined` when empty or invalid. */
export function isoFromLocalInput(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return undefined;
  // Without an offset, a date-time string is local time (ECMAScript's Date.parse).
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The earliest time the range pickers offer: the start of the retention before `now`, as a `datetime-local` value. */
export function earliestInputValue(now: number): string {
  return localInputValue(now - RETENTION_DAYS * DAY_MS);
}

/** The time range of a filter in words, for the summary line: ` in the last 7 days`, ` since 2026-11-01 14:00`; `''` for any time. */
export function describeRange(query: SessionQuery, formatTime: (ms: number) => string): string {
  if (query.window !== undefined) {
    const preset = RANGE_PRESETS.find((candidate) => candidate.value === query.window);
    return ` in the ${preset ? preset.label : `last ${query.window}`}`;
  }
  const since = query.since === undefined ? undefined : timeMs(String(query.since));
  const until = query.until === undefined ? undefined : timeMs(String(query.until));
  if (since !== undefined && until !== undefined) return ` between ${formatTime(since)} and ${formatTime(until)}`;
  if (since !== undefined) return ` since ${formatTime(since)}`;
  if (until !== undefined) return ` before ${formatTime(until)}`;
  return '';
}
