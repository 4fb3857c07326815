/**
 * Token and cost budgets, per session and per user and UTC day. The tracker watches sessions as the
 * builder derives them and says which budget each crosses, once; the builder then carries the
 * crossing on the session (`budget_exceeded`), so the live streams, the REST API and the store all
 * see it. Pure: sessions and times are passed in.
 */
import type { BudgetCrossing, ProcessingSession } from './model.js';
import type { SessionFigures } from './history-store.js';

/** Which budget a crossing is of. */
export type BudgetName = BudgetCrossing['budget'];

/** Limits; an absent (or 0) limit is no budget. */
export interface Budgets {
  /** Tokens (input + output) one session may use. */
  readonly sessionTokens?: number;
  /** USD one session may cost. */
  readonly sessionCostUsd?: number;
  /** Tokens one user's sessions may use per UTC day (by session start). */
  readonly userDailyTokens?: number;
  /** USD one user's sessions may cost per UTC day (by session start). */
  readonly userDailyCostUsd?: number;
}

/** True when any budget is set. */
export function hasBudgets(budgets: Budgets): boolean {
  return Boolean(budgets.sessionTokens || budgets.sessionCostUsd || budgets.userDailyTokens || budgets.userDailyCostUsd);
}

interface Counted {
  /** The user-day the session counts toward, `user day`. */
  readonly userDay: string | undefined;
  tokens: number;
  cost: number;
  /** Budgets this session already crossed (each is told once). */
  readonly crossed: Set<BudgetName>;
}

interface UserDay {
  tokens: number;
  cost: number;
  /** Budgets this user already crossed this day (told on the session that crossed it). */
  readonly crossed: Set<BudgetName>;
}

function dayOf(startTime: string): string {
  return startTime.slice(0, 10);
}

/**
 * Tracks usage against {@link Budgets}. Call {@link BudgetTracker.check} with every new version of
 * a session; {@link BudgetTracker.forget} when it leaves the live window.
 */
export class BudgetTracker {
  readonly #budgets: Budgets;
  readonly #sessions = new Map<string, Counted>();
  readonly #userDays = new Map<string, UserDay>();
  readonly #crossings: Record<BudgetName, number> = { session_tokens: 0, session_cost: 0, user_daily_tokens: 0, user_daily_cost: 0 };

  constructor(budgets: Budgets) {
    this.#budgets = budgets;
  }

  /** True when a budget is set (otherwise checking is skipped). */
  get enabled(): boolean {
    return hasBudgets(this.#budgets);
  }

  /**
   * Counts a session's usage (by trace; a later version replaces what an earlier one counted) and
   * returns the budgets it crosses now, stamped `atIso`.
   */
  check(session: ProcessingSession, atIso: string): BudgetCrossing[] {
    const tokens = session.token_counts.total ?? 0;
    const cost = session.cost_usd ?? 0;
    const userDay = session.user_id === null ? undefined : `${session.user_id} ${dayOf(session.start_time)}`;
    let counted = this.#sessions.get(session.trace_id);
    if (!counted || counted.userDay !== userDay) {
      if (counted) this.#uncount(counted);
      counted = { userDay, tokens: 0, cost: 0, crossed: new Set(session.budget_exceeded.map((crossing) => crossing.budget)) };
      this.#sessions.set(session.trace_id, counted);
    }
    const day = userDay === undefined ? undefined : this.#userDay(userDay);
    if (day) {
      day.tokens += tokens - counted.tokens;
      day.cost += cost - counted.cost;
    }
    counted.tokens = tokens;
    counted.cost = cost;
    const crossings: BudgetCrossing[] = [];
    const cross = (budget: BudgetName, limit: number | undefined, value: number, seen: Set<BudgetName>): void => {
      if (!limit || value <= limit || counted.crossed.has(budget) || seen.has(budget)) return;
      seen.add(budget);
      counted.crossed.add(budget);
      this.#crossings[budget] += 1;
      crossings.push({ budget, limit, value, at: atIso });
    };
    cross('session_tokens', this.#budgets.sessionTokens, tokens, counted.crossed);
    cross('session_cost', this.#budgets.sessionCostUsd, cost, counted.crossed);
    if (day) {
      cross('user_daily_tokens', this.#budgets.userDailyTokens, day.tokens, day.crossed);
      cross('user_daily_cost', this.#budgets.userDailyCostUsd, day.cost, day.crossed);
    }
    return crossings;
  }

  #userDay(key: string): UserDay {
    let day = this.#userDays.get(key);
    if (!day) {
      day = { tokens: 0, cost: 0, crossed: new Set() };
      this.#userDays.set(key, day);
    }
    return day;
  }

  #uncount(counted: Counted): void {
    const day = counted.userDay === undefined ? undefined : this.#userDays.get(counted.userDay);
    if (!day) return;
    day.tokens -= counted.tokens;
    day.cost -= counted.cost;
  }

  /**
   * Stops tracking a session that left the live window. Its usage still counts toward its user's
   * day: the day's total is what was spent, whatever the receiver still holds.
   */
  forget(traceId: string): void {
    this.#sessions.delete(traceId);
  }

  /**
   * Drops the user-days before `todayIso`'s UTC day (they can no longer be crossed), bounding
   * memory to the users of about a day.
   */
  pruneBefore(todayIso: string): void {
    const today = dayOf(todayIso);
    for (const key of this.#userDays.keys()) if (key.slice(key.length - 10) < today) this.#userDays.delete(key);
  }

  /** Counts usage already spent (history after a restart) without telling crossings again. */
  seed(session: SessionFigures): void {
    if (!this.enabled || this.#sessions.has(session.trace_id) || session.user_id === null) return;
    const day = this.#userDay(`${session.user_id} ${dayOf(session.start_time)}`);
    day.tokens += session.token_counts.total ?? 0;
    day.cost += session.cost_usd ?? 0;
    for (const crossing of session.budget_exceeded) if (crossing.budget.startsWith('user_')) day.crossed.add(crossing.budget);
  }

  /** Crossings told, by budget. */
  totals(): Readonly<Record<BudgetName, number>> {
    return { ...this.#crossings };
  }
}
