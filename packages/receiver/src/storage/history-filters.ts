/**
 * The API's filters as SQL `WHERE` clauses, once for both databases: a {@link SqlDialect} says how
 * each store writes a parameter, a time, a list, a case-folded search and an id compared in code
 * order; the clauses themselves are the same.
 */
import type { LlmCallFilter, SessionFilter, StatisticsWindow } from '@llm-monitor/sessions';

/** How one database writes what the filters need. */
export interface SqlDialect {
  /** The placeholder of the `n`-th parameter (1-based). */
  placeholder(n: number): string;
  /** A parameter holding an ISO time, as the type of `start_time`. */
  time(placeholder: string): string;
  /** `column` is one of the values of a list parameter (`values` are bound by `where`). */
  oneOf(column: string, values: readonly string[], where: Where): string;
  /** `needle` occurs in `haystack`, case folded as JavaScript folds it. */
  contains(haystack: string, needle: string): string;
  /** Two text columns joined by a newline. */
  joined(first: string, second: string): string;
  /** A text column compared in code order (the order cursors are made in). */
  inCodeOrder(column: string): string;
}

/** `WHERE` clauses and their parameters, in order. */
export class Where {
  readonly clauses: string[] = [];
  readonly parameters: unknown[] = [];
  readonly #dialect: SqlDialect;

  constructor(dialect: SqlDialect) {
    this.#dialect = dialect;
  }

  /** Binds a parameter; returns its placeholder (used once: SQLite's `?` binds by position). */
  value(value: unknown): string {
    this.parameters.push(value);
    return this.#dialect.placeholder(this.parameters.length);
  }

  /** The clauses as SQL (empty without any). */
  get sql(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** An ISO 8601 time from ms since the epoch. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Adds the clauses of a window on `start_time` (and of a lower bound `fromIso`, when given). */
export function windowInto(dialect: SqlDialect, where: Where, window: StatisticsWindow, fromIso?: string): Where {
  if (window.sinceMs !== undefined) where.clauses.push(`start_time >= ${dialect.time(where.value(isoOf(window.sinceMs)))}`);
  if (window.untilMs !== undefined) where.clauses.push(`start_time < ${dialect.time(where.value(isoOf(window.untilMs)))}`);
  if (fromIso !== undefined) where.clauses.push(`start_time >= ${dialect.time(where.value(fromIso))}`);
  return where;
}

/** Adds `column = value` for each value given. */
function equalInto(where: Where, pairs: readonly (readonly [string, string | undefined])[]): void {
  for (const [column, value] of pairs) if (value !== undefined) where.clauses.push(`${column} = ${where.value(value)}`);
}

/** Adds "strictly after the cursor `[start_time, id]` in newest-first order". */
function afterInto(dialect: SqlDialect, where: Where, idColumn: string, after: readonly [string, string] | undefined): void {
  if (!after) return;
  where.clauses.push(
    `(start_time < ${dialect.time(where.value(after[0]))} OR (start_time = ${dialect.time(where.value(after[0]))} AND ${dialect.inCodeOrder(idColumn)} < ${where.value(after[1])}))`,
  );
}

/** The clauses of a session filter, and of a page after `after`. */
export function sessionWhere(dialect: SqlDialect, filter: SessionFilter, after?: readonly [string, string]): Where {
  const where = new Where(dialect);
  if (filter.status) where.clauses.push(dialect.oneOf('status', filter.status, where));
  equalInto(where, [
    ['model', filter.model],
    ['task', filter.task],
    ['processor_type', filter.processorType],
    ['conversation_id', filter.conversationId],
  ]);
  windowInto(dialect, where, filter);
  if (filter.text) where.clauses.push(dialect.contains(dialect.joined('content_preview', 'result_preview'), where.value(filter.text)));
  afterInto(dialect, where, 'session_id', after);
  return where;
}

/** The clauses of a call-log filter, and of a page after `after`. */
export function callWhere(dialect: SqlDialect, filter: LlmCallFilter, after?: readonly [string, string]): Where {
  const where = new Where(dialect);
  equalInto(where, [
    ['session_id', filter.sessionId],
    ['conversation_id', filter.conversationId],
    ['user_id', filter.userId],
  ]);
  if (filter.model !== undefined) {
    where.clauses.push(`(response_model = ${where.value(filter.model)} OR request_model = ${where.value(filter.model)})`);
  }
  if (filter.status) where.clauses.push(dialect.oneOf('status', filter.status, where));
  windowInto(dialect, where, filter);
  if (filter.text) where.clauses.push(dialect.contains(dialect.joined('prompt_preview', 'response_preview'), where.value(filter.text)));
  afterInto(dialect, where, 'call_id', after);
  return where;
}
