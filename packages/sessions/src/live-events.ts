/**
 * What the live streams (WebSocket and SSE) send: compact session summaries, the events that turn
 * one state of a session into the next, and the messages around them (snapshot, batch, replies to a
 * subscription, errors); and what a WebSocket client sends them. The receiver writes these types and
 * `@llm-monitor/client` reads them: one definition, so the two cannot drift.
 */
import type { LiveFilter } from './filter-parameters.js';
import type { BudgetCrossing, LimitHit, Metadata, ProcessingSession, SessionStatus, StepRecord } from './model.js';
import type { StatisticsReport } from './statistics.js';
import type { LiveErrorCode } from './wire-error-codes.js';

/** A session without its timeline: what a live list needs. */
export interface SessionSummary {
  session_id: string;
  status: SessionStatus;
  task: string | null;
  model: string | null;
  provider: string | null;
  processor_type: string | null;
  conversation_id: string | null;
  current_stage: string | null;
  progress: number;
  start_time: string;
  end_time: string | null;
  duration_ms: number | null;
  token_counts: ProcessingSession['token_counts'];
  time_to_first_token_ms: number | null;
  content_preview: string | null;
  /** The result's first characters, once the session has one (so `session_completed` carries it). */
  result_preview: string | null;
  error: string | null;
  /** The limits that cut the session, as on the session (absent when none did). */
  limits_hit?: LimitHit[];
}

/** A step as the live streams send it: the step of the session, its previews shortened like a summary's. */
export type LiveStep = StepRecord;

/** One live event. */
export type LiveEvent =
  /** A session was seen for the first time (or came back after it ended), with its metadata. */
  | { type: 'session_started'; session: SessionSummary; metadata: Metadata }
  /** A step was seen running (a step first seen ended gets only `step_completed`). */
  | { type: 'step_started'; session_id: string; step: LiveStep }
  /** A step ended, with its intermediate result (`output_preview`) when the span carries one. */
  | { type: 'step_completed'; session_id: string; step: LiveStep }
  | { type: 'stage_changed'; session_id: string; stage: string; progress: number; message: string; timestamp: string }
  | { type: 'tokens'; session_id: string; count: number; total: number; text?: string; text_reset?: true }
  | { type: 'session_renamed'; session_id: string; previous_session_id: string }
  | { type: 'session_removed'; session_id: string }
  | ({ type: 'budget_exceeded'; session_id: string; user_id: string | null } & BudgetCrossing)
  | { type: 'session_completed' | 'session_failed' | 'session_abandoned'; session: SessionSummary };

/** What a live client gets first on each connection: where things stand. */
export interface LiveSnapshot {
  statistics: StatisticsReport;
  /** The newest running sessions the subscription admits, at most 1,000 (and at most 2 MiB of summaries). */
  active_sessions: SessionSummary[];
  /** How many running sessions the subscription admits in all (more than listed when the snapshot was cut). */
  active_total: number;
}

/** A subscription as the server understood it, in the wire names (the `subscribed` reply). */
export type LiveSubscriptionDescription = { active: false } | ({ active: true } & LiveFilter);

/**
 * A message of the WebSocket (`/ws/monitoring`), server to client. The SSE stream sends the same
 * things as named events: `snapshot`, each event of a batch under its own `type`, `statistics`, `error`.
 */
export type LiveServerMessage =
  | ({ type: 'snapshot' } & LiveSnapshot)
  /** The events of one tick, with statistics at most once a second while sessions change. */
  | { type: 'batch'; events: LiveEvent[]; statistics?: StatisticsReport }
  | { type: 'subscribed'; subscription: LiveSubscriptionDescription }
  | { type: 'unsubscribed' }
  /** The server refused a message or a subscription; `code` is one of `LIVE_ERROR_CODES`. */
  | { type: 'error'; code: LiveErrorCode; message: string };

/** A message of the WebSocket, client to server: what to receive from now on. */
export type LiveClientMessage = ({ type: 'subscribe' } & LiveFilter) | { type: 'unsubscribe' };

/**
 * Longest preview and error text in a summary, in characters: summaries go to every live client and
 * into every snapshot, so each is small whatever a sender wrote; the whole text is one REST call away.
 */
export const SUMMARY_TEXT_LENGTH = 500;

function shortened(text: string | null): string | null {
  return text !== null && text.length > SUMMARY_TEXT_LENGTH ? `${text.slice(0, SUMMARY_TEXT_LENGTH - 1)}…` : text;
}

/** The summary of a session. */
export function summaryOf(session: ProcessingSession): SessionSummary {
  const summary: SessionSummary = {
    session_id: session.session_id,
    status: session.status,
    task: session.task,
    model: session.model,
    provider: session.provider,
    processor_type: session.processor_type,
    conversation_id: session.conversation_id,
    current_stage: session.current_stage,
    progress: session.progress,
    start_time: session.start_time,
    end_time: session.end_time,
    duration_ms: session.duration_ms,
    token_counts: session.token_counts,
    time_to_first_token_ms: session.time_to_first_token_ms,
    content_preview: shortened(session.content_preview),
    result_preview: shortened(session.result_preview),
    error: shortened(session.error),
  };
  if (session.limits_hit) summary.limits_hit = session.limits_hit;
  return summary;
}

/** The `session_started` event of a session. */
export function sessionStartedEvent(session: ProcessingSession): LiveEvent {
  return { type: 'session_started', session: summaryOf(session), metadata: session.metadata };
}

/** A step as the live streams send it (previews and error shortened like a summary's). */
export function liveStepOf(step: StepRecord): LiveStep {
  return {
    ...step,
    error: shortened(step.error),
    input_preview: shortened(step.input_preview),
    output_preview: shortened(step.output_preview),
  };
}

/** What the stream has told its clients about a session so far. */
export interface SeenState {
  status: SessionStatus;
  /** Stages sent, by stage and start time: stages may arrive out of order. */
  stages: Set<string>;
  streamed: number;
  /** The token text sent so far, joined. */
  text: string;
  /** Budget crossings sent. */
  budgets: number;
  /** Steps sent, by span id, and whether their end was sent. */
  steps: Map<string, boolean>;
}

const stageKey = (stage: { stage: string; start_time: string }): string => `${stage.start_time} ${stage.stage}`;

/** The state a session's events have reached, to compare the next version with. */
export function seenStateOf(session: ProcessingSession): SeenState {
  return {
    status: session.status,
    stages: new Set(session.stages.map(stageKey)),
    streamed: session.token_counts.streamed,
    text: session.streamed_tokens.join(''),
    budgets: session.budget_exceeded.length,
    steps: new Map(session.steps.map((step) => [step.span_id, step.end_time !== null])),
  };
}

/**
 * The events that lead from `before` (`undefined`: never seen) to `session`: new stages (whatever
 * order they arrived in), new tokens — count always; text when captured, only what was not sent yet,
 * or all of it with `text_reset` when the receiver's view of the text changed (live markers replaced
 * by the final span) — and the ending, or a restart of an ended session that came back.
 */
export function eventsBetween(before: SeenState | undefined, session: ProcessingSession): LiveEvent[] {
  const events: LiveEvent[] = [];
  const revived = before !== undefined && before.status !== 'active' && session.status === 'active';
  if (!before || revived) events.push(sessionStartedEvent(session));
  for (const stage of session.stages) {
    if (before?.stages.has(stageKey(stage))) continue;
    events.push({
      type: 'stage_changed',
      session_id: session.session_id,
      stage: stage.stage,
      progress: stage.progress,
      message: stage.message,
      timestamp: stage.start_time,
    });
  }
  for (const step of session.steps) {
    const ended = step.end_time !== null;
    const told = before?.steps.get(step.span_id);
    if (told === true || (told === false && !ended)) continue;
    events.push({ type: ended ? 'step_completed' : 'step_started', session_id: session.session_id, step: liveStepOf(step) });
  }
  const streamedBefore = before?.streamed ?? 0;
  const text = session.streamed_tokens.join('');
  const textBefore = before?.text ?? '';
  const textGrew = text.length > textBefore.length && text.startsWith(textBefore);
  const textChanged = text !== textBefore && !textGrew;
  if (session.token_counts.streamed > streamedBefore || textGrew || (textChanged && text !== '')) {
    const event: Extract<LiveEvent, { type: 'tokens' }> = {
      type: 'tokens',
      session_id: session.session_id,
      count: Math.max(0, session.token_counts.streamed - streamedBefore),
      total: session.token_counts.streamed,
    };
    if (textGrew) event.text = text.slice(textBefore.length);
    else if (textChanged && text !== '') {
      event.text = text;
      event.text_reset = true;
    }
    events.push(event);
  }
  for (const crossing of session.budget_exceeded.slice(before?.budgets ?? 0)) {
    events.push({ type: 'budget_exceeded', session_id: session.session_id, user_id: session.user_id, ...crossing });
  }
  const endedNow = session.status !== 'active' && before?.status !== session.status;
  if (endedNow)
    events.push({
      type: `session_${session.status}` as 'session_completed' | 'session_failed' | 'session_abandoned',
      session: summaryOf(session),
    });
  return events;
}

/**
 * Merges the token events of one session within a batch, so a busy stream sends one per tick; a
 * step that started and ended within the batch is sent as ended only.
 */
export function coalesce(events: readonly LiveEvent[]): LiveEvent[] {
  const result: LiveEvent[] = [];
  const tokensAt = new Map<string, number>();
  let completed: Set<string> | undefined;
  for (const event of events) {
    if (event.type === 'step_completed') (completed ??= new Set()).add(`${event.session_id} ${event.step.span_id}`);
  }
  for (const event of events) {
    if (event.type === 'step_started' && completed?.has(`${event.session_id} ${event.step.span_id}`)) continue;
    if (event.type !== 'tokens') {
      // Anything else about the session comes after its tokens so far: later tokens start a new event.
      if ('session_id' in event) tokensAt.delete(event.session_id);
      else tokensAt.delete(event.session.session_id);
      result.push(event);
      continue;
    }
    const at = tokensAt.get(event.session_id);
    const previous = at === undefined ? undefined : result[at];
    if (previous && previous.type === 'tokens') {
      const merged: Extract<LiveEvent, { type: 'tokens' }> = {
        type: 'tokens',
        session_id: event.session_id,
        count: previous.count + event.count,
        total: event.total,
      };
      // A reset replaces the text so far; otherwise the pieces follow each other.
      const text = event.text_reset ? (event.text ?? '') : (previous.text ?? '') + (event.text ?? '');
      if (text) merged.text = text;
      if (event.text_reset || previous.text_reset) merged.text_reset = true;
      result[at!] = merged;
    } else {
      tokensAt.set(event.session_id, result.length);
      result.push(event);
    }
  }
  return result;
}
