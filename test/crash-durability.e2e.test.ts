/**
 * Crash durability of a real `llm-monitor` process on a durable history store (SQLite file and
 * PostgreSQL): a receiver killed with SIGKILL in the middle of a load and started again on the same
 * store has lost nothing it acknowledged.
 *
 * The promise under test: with a durable store, `POST /v1/traces` is answered 200 only once what it
 * carried is committed (group commit), and the spans of running sessions are stored too. So:
 *
 *  1. a load loop in this process sends `REQUESTS` OTLP/protobuf requests over real sockets,
 *     `PARALLEL` at a time, each carrying 5–10 sessions: completed and failed ones (root span,
 *     stages, an LLM call with tokens once past `sending_request`, user and conversation ids), and
 *     running ones as our instrumentation exports them before they end — only the root's pending
 *     marker, the root's marker with the first stages and a marker of the stage running now, or the
 *     first stages without any root span. Later requests also carry the rest of some sessions an
 *     earlier, acknowledged request left running. The loop records which requests were answered 200
 *     and the state each of their sessions had then;
 *  2. once `KILL_AFTER_ACKS` requests were acknowledged the process is killed with SIGKILL; the
 *     requests in flight fail (connection reset) and were not acknowledged;
 *  3. a receiver started again on the same store must show every session of every acknowledged
 *     request, by id, with the status, stages, tokens, user, conversation and LLM calls it had when
 *     acknowledged (`/sessions/{id}`, `/llm-calls?session=`, `/sessions/recent`), and list the
 *     sessions that were still running in `/sessions/active`. (A session whose later request was in
 *     flight at the kill may show either state: that request may have been committed, unanswered.)
 *  4. the rest of two such running sessions (one announced by its root's marker, one known only by
 *     its first stages) is sent: they complete with every stage, including those sent before the
 *     crash, and leave the live view;
 *  5. a second SIGKILL and restart: the sessions completed in 4 stay completed and are not brought
 *     back as running.
 *
 * Each store's run prints a line such as `crash test sqlite: 312 sessions acknowledged, 312 found,
 * 0 lost; 41 running restored`. PostgreSQL runs in a fresh schema (dropped after) of the database
 * `postgresUrl()` names; without one reachable the PostgreSQL case is skipped, except under CI.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTR_PENDING_PARENT_ID,
  ATTR_PENDING_SPAN_TYPE,
  ATTR_PROGRESS,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_STAGE,
  ATTR_STAGE_MESSAGE,
  ATTR_TASK,
  ATTR_TOKENS_COUNT,
  BUILTIN_STAGES,
  EVENT_TOKENS,
  GEN_AI,
  OTEL,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import type { LlmCallRow, ProcessingSession } from '@llm-monitor/sessions';
import { encodeTraceRequest, nanos, wire } from '../packages/receiver/test/otlp-wire.js';
import type { WireAttribute, WireSpan } from '../packages/receiver/test/otlp-wire.js';
import { startMonitor, stopMonitorsAfterEach } from './support/monitor-process.js';
import type { MonitorProcess } from './support/monitor-process.js';
import { rejectedSpansOfProtobuf } from './support/otlp-response.js';
import { withPg } from './support/replicas.js';
import { postgresUrl, withSearchPath } from './support/services.js';

stopMonitorsAfterEach();

/** Requests the load loop may send (it stops sending at the kill). */
const REQUESTS = 60;
/** Requests in flight at once. */
const PARALLEL = 4;
/** The kill comes when this many requests were answered 200. */
const KILL_AFTER_ACKS = 40;
/** Longest wait for any one answer: only a hang trips it. */
const HANG_GUARD_MS = 15_000;
/** Fixed, so a failing mix of sessions can be reproduced (ids are random per run, the shapes not). */
const SEED = 20_261_122;

const BASE_ARGS = ['--port', '0', '--otlp-port', '0', '--log-level', 'warn'];
const STAGE_COUNT = BUILTIN_STAGES.length;
/** The LLM call runs inside this stage (`sending_request`): sessions that got past it have one. */
const CALL_STAGE = 6;

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the schema of each run is created and dropped by this file
// ---------------------------------------------------------------------------------------------

const POSTGRES_URL = await postgresUrl('the PostgreSQL case of the crash test');

// ---------------------------------------------------------------------------------------------
// The sessions
// ---------------------------------------------------------------------------------------------

/** Deterministic random numbers (mulberry32). */
function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

type Kind = 'completed' | 'failed' | 'running-marker' | 'running-stages' | 'running-no-root';

/** What a session shows once a request carrying it is committed. */
interface SessionState {
  /** Which request made it so, for messages. */
  readonly phase: string;
  readonly status: 'active' | 'completed' | 'failed';
  /** Stage ids, in order (a stage announced by its marker counts: it is running). */
  readonly stages: readonly string[];
  /** The LLM call (at most one per session), by span id, with its tokens. */
  readonly call: { readonly spanId: string; readonly input: number; readonly output: number } | null;
  readonly streamed: number;
  readonly userId: string | null;
  readonly conversationId: string | null;
}

/** One session of the load: its ids, its timeline, and what was sent of it. */
class PlannedSession {
  readonly traceId = hex(16);
  readonly rootSpanId = hex(8);
  readonly stageSpanIds = Array.from({ length: STAGE_COUNT }, () => hex(8));
  readonly callSpanId = hex(8);
  readonly startMs: number;
  /** Stages whose spans (ended) were sent. */
  stagesSent = 0;
  callSent = false;
  /** The latest state a 200 acknowledged. */
  acknowledged: SessionState | undefined;
  /** States carried by requests that got no 200: each may or may not have been committed. */
  readonly unacknowledged: SessionState[] = [];
  /** A request carrying its rest is being sent (or was, without an answer). */
  continued = false;

  constructor(
    readonly kind: Kind,
    readonly sessionId: string,
    readonly userId: string,
    readonly conversationId: string,
    readonly inputTokens: number,
    readonly outputTokens: number,
    /** Stages sent in the first request: running ones stop there, a failed one fails at its last. */
    readonly firstStages: number,
  ) {
    this.startMs = Date.now() - 2000;
  }

  #stageTimes(index: number): { start: number; end: number } {
    return { start: this.startMs + index * 10, end: this.startMs + index * 10 + 10 };
  }

  #rootAttributes(): WireAttribute[] {
    return wire.attributes({
      [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.session),
      [ATTR_SESSION_ID]: wire.string(this.sessionId),
      [ATTR_TASK]: wire.string('summarize'),
      [GEN_AI.requestModel]: wire.string('gpt-4o-mini'),
      [GEN_AI.conversationId]: wire.string(this.conversationId),
      [OTEL.userId]: wire.string(this.userId),
    });
  }

  root(failed: boolean): WireSpan {
    return {
      traceId: this.traceId,
      spanId: this.rootSpanId,
      name: 'llm_monitor.session summarize',
      startTimeUnixNano: nanos(this.startMs),
      endTimeUnixNano: nanos(this.startMs + STAGE_COUNT * 10),
      attributes: this.#rootAttributes(),
      status: failed ? { code: 2, message: 'upstream 503' } : { code: 1, message: '' },
    };
  }

  /** The pending marker of the running root, as our instrumentation exports it. */
  rootMarker(progress: number): WireSpan {
    return {
      traceId: this.traceId,
      spanId: hex(8),
      parentSpanId: this.rootSpanId,
      name: 'llm_monitor.session summarize',
      startTimeUnixNano: nanos(this.startMs),
      endTimeUnixNano: nanos(this.startMs + this.stagesSent * 10 + 5),
      attributes: [
        ...this.#rootAttributes().filter((attribute) => attribute.key !== ATTR_SPAN_TYPE),
        ...wire.attributes({
          [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.pending),
          [ATTR_PENDING_SPAN_TYPE]: wire.string(SPAN_TYPE.session),
          [ATTR_PENDING_PARENT_ID]: wire.string(''),
          [ATTR_PROGRESS]: wire.int(progress),
        }),
      ],
    };
  }

  #stageAttributes(index: number): WireAttribute[] {
    const stage = BUILTIN_STAGES[index]!;
    return wire.attributes({
      [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.stage),
      [ATTR_SESSION_ID]: wire.string(this.sessionId),
      [ATTR_STAGE]: wire.string(stage.id),
      [ATTR_PROGRESS]: wire.int(stage.progress),
      [ATTR_STAGE_MESSAGE]: wire.string(`${this.sessionId}: ${stage.label}`),
    });
  }

  stage(index: number, failed = false): WireSpan {
    const { start, end } = this.#stageTimes(index);
    const streaming = BUILTIN_STAGES[index]!.id === 'streaming_response';
    return {
      traceId: this.traceId,
      spanId: this.stageSpanIds[index]!,
      parentSpanId: this.rootSpanId,
      name: `llm_monitor.stage ${BUILTIN_STAGES[index]!.id}`,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(end),
      attributes: this.#stageAttributes(index),
      events: streaming
        ? [
            { timeUnixNano: nanos(start + 2), name: EVENT_TOKENS, attributes: wire.attributes({ [ATTR_TOKENS_COUNT]: wire.int(3) }) },
            { timeUnixNano: nanos(start + 6), name: EVENT_TOKENS, attributes: wire.attributes({ [ATTR_TOKENS_COUNT]: wire.int(2) }) },
          ]
        : [],
      status: failed ? { code: 2, message: 'upstream 503' } : { code: 0, message: '' },
    };
  }

  /** The pending marker of the stage running now. */
  stageMarker(index: number): WireSpan {
    const { start } = this.#stageTimes(index);
    return {
      traceId: this.traceId,
      spanId: hex(8),
      parentSpanId: this.stageSpanIds[index]!,
      name: `llm_monitor.stage ${BUILTIN_STAGES[index]!.id}`,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(start + 5),
      attributes: [
        ...this.#stageAttributes(index).filter((attribute) => attribute.key !== ATTR_SPAN_TYPE),
        ...wire.attributes({
          [ATTR_SPAN_TYPE]: wire.string(SPAN_TYPE.pending),
          [ATTR_PENDING_SPAN_TYPE]: wire.string(SPAN_TYPE.stage),
          [ATTR_PENDING_PARENT_ID]: wire.string(this.rootSpanId),
        }),
      ],
    };
  }

  call(): WireSpan {
    const { start } = this.#stageTimes(CALL_STAGE);
    return {
      traceId: this.traceId,
      spanId: this.callSpanId,
      parentSpanId: this.stageSpanIds[CALL_STAGE]!,
      name: 'chat gpt-4o-mini',
      kind: 3,
      startTimeUnixNano: nanos(start + 1),
      endTimeUnixNano: nanos(start + 9),
      attributes: wire.attributes({
        [GEN_AI.operationName]: wire.string('chat'),
        [GEN_AI.providerName]: wire.string('openai'),
        [GEN_AI.requestModel]: wire.string('gpt-4o-mini'),
        [GEN_AI.responseModel]: wire.string('gpt-4o-mini-2024-07-18'),
        [GEN_AI.usageInputTokens]: wire.int(this.inputTokens),
        [GEN_AI.usageOutputTokens]: wire.int(this.outputTokens),
        [GEN_AI.conversationId]: wire.string(this.conversationId),
        [OTEL.userId]: wire.string(this.userId),
      }),
    };
  }

  /** Stages `from`…`to`−1, and the LLM call once its stage is among those sent. */
  #stagesAndCall(from: number, to: number, failedAt?: number): WireSpan[] {
    const spans: WireSpan[] = [];
    for (let index = from; index < to; index += 1) spans.push(this.stage(index, index === failedAt));
    this.stagesSent = to;
    if (!this.callSent && to > CALL_STAGE) {
      spans.push(this.call());
      this.callSent = true;
    }
    return spans;
  }

  #state(phase: string, status: SessionState['status'], runningStage: boolean, hasRoot: boolean): SessionState {
    const stages = BUILTIN_STAGES.slice(0, this.stagesSent + (runningStage ? 1 : 0)).map((stage) => stage.id);
    return {
      phase,
      status,
      stages,
      call: this.callSent ? { spanId: this.callSpanId, input: this.inputTokens, output: this.outputTokens } : null,
      streamed: this.stagesSent > 7 ? 5 : 0,
      // Our sessions take user and conversation from the root (or its marker), else from the calls.
      userId: hasRoot || this.callSent ? this.userId : null,
      conversationId: hasRoot || this.callSent ? this.conversationId : null,
    };
  }

  /** The spans of the first request that carries the session, and the state they give. */
  first(phase: string): { spans: WireSpan[]; state: SessionState } {
    switch (this.kind) {
      case 'completed': {
        const spans = [this.root(false), ...this.#stagesAndCall(0, STAGE_COUNT)];
        return { spans, state: this.#state(phase, 'completed', false, true) };
      }
      case 'failed': {
        const spans = [this.root(true), ...this.#stagesAndCall(0, this.firstStages, this.firstStages - 1)];
        return { spans, state: this.#state(phase, 'failed', false, true) };
      }
      case 'running-marker':
        return { spans: [this.rootMarker(0)], state: this.#state(phase, 'active', false, true) };
      case 'running-stages': {
        const spans = this.#stagesAndCall(0, this.firstStages);
        spans.push(this.rootMarker(BUILTIN_STAGES[this.firstStages]!.progress), this.stageMarker(this.firstStages));
        return { spans, state: this.#state(phase, 'active', true, true) };
      }
      case 'running-no-root':
        return { spans: this.#stagesAndCall(0, this.firstStages), state: this.#state(phase, 'active', false, false) };
    }
  }

  /** The rest of a running session: its remaining stages, its call, its root ended. */
  rest(phase: string): { spans: WireSpan[]; state: SessionState } {
    const spans = [...this.#stagesAndCall(this.stagesSent, STAGE_COUNT), this.root(false)];
    return { spans, state: this.#state(phase, 'completed', false, true) };
  }

  get running(): boolean {
    return this.kind.startsWith('running');
  }
}

function planSessions(random: () => number, count: number, request: number, prefix: string): PlannedSession[] {
  return Array.from({ length: count }, (_, index) => {
    const draw = random();
    const kind: Kind =
      draw < 0.45
        ? 'completed'
        : draw < 0.55
          ? 'failed'
          : draw < 0.65
            ? 'running-marker'
            : draw < 0.9
              ? 'running-stages'
              : 'running-no-root';
    // Running sessions stop after 1–9 stages; a failed one fails in stage 3–10.
    const firstStages = kind === 'failed' ? 3 + Math.floor(random() * 8) : 1 + Math.floor(random() * 9);
    const n = request * 100 + index;
    return new PlannedSession(
      kind,
      `${prefix}-r${request}-s${index}`,
      `user-${n % 17}`,
      `${prefix}-conv-${n % 23}`,
      100 + n,
      10 + (n % 97),
      firstStages,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Talking to the receiver
// ---------------------------------------------------------------------------------------------

/** What became of one request: its status, or the error of a request that got no answer. */
type Outcome = { readonly status: number; readonly rejected: number; readonly message?: string } | { readonly error: string };

async function post(otlpUrl: string, spans: WireSpan[]): Promise<Outcome> {
  const body = encodeTraceRequest([
    { resource: wire.attributes({ 'service.name': wire.string('crash-app') }), scope: { name: 'llm-monitor', version: '0.1.0' }, spans },
  ]);
  try {
    const response = await fetch(otlpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
      signal: AbortSignal.timeout(HANG_GUARD_MS),
    });
    const answer = Buffer.from(await response.arrayBuffer());
    if (response.status === 200) return { status: 200, rejected: rejectedSpansOfProtobuf(answer) };
    // A google.rpc.Status: its message is readable as it stands.
    return {
      status: response.status,
      rejected: 0,
      message: answer
        .toString('utf8')
        .replace(/[^\x20-\x7e]+/g, ' ')
        .trim(),
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

async function getJson<T>(url: string): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

async function sessionOf(apiUrl: string, sessionId: string): Promise<ProcessingSession | undefined> {
  const answer = await getJson<ProcessingSession>(`${apiUrl}/api/monitoring/sessions/${encodeURIComponent(sessionId)}`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`GET session ${sessionId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function callsOf(apiUrl: string, sessionId: string): Promise<LlmCallRow[]> {
  const calls: LlmCallRow[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `session=${encodeURIComponent(sessionId)}&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const answer = await getJson<{ calls: LlmCallRow[]; next_cursor: string | null }>(`${apiUrl}/api/monitoring/llm-calls?${query}`);
    if (answer.status !== 200) throw new Error(`GET llm-calls of ${sessionId}: ${answer.status} ${JSON.stringify(answer.body)}`);
    calls.push(...answer.body.calls);
    cursor = answer.body.next_cursor;
  } while (cursor !== null);
  return calls;
}

/** Every session id `/sessions/recent` lists, page by page. */
async function recentIds(apiUrl: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  for (let pages = 0; ; pages += 1) {
    if (pages > 1000) throw new Error('/sessions/recent pages never end');
    const answer: { status: number; body: { sessions: ProcessingSession[]; next_cursor: string | null } } = await getJson(
      `${apiUrl}/api/monitoring/sessions/recent?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    if (answer.status !== 200) throw new Error(`GET /sessions/recent: ${answer.status} ${JSON.stringify(answer.body)}`);
    for (const session of answer.body.sessions) ids.add(session.session_id);
    cursor = answer.body.next_cursor;
    if (cursor === null) return ids;
  }
}

/** Every call id `/llm-calls` lists, page by page, with how often each came. */
async function listedCallIds(apiUrl: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  let cursor: string | null = null;
  for (let pages = 0; ; pages += 1) {
    if (pages > 1000) throw new Error('/llm-calls pages never end');
    const answer: { status: number; body: { calls: LlmCallRow[]; next_cursor: string | null } } = await getJson(
      `${apiUrl}/api/monitoring/llm-calls?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    if (answer.status !== 200) throw new Error(`GET /llm-calls: ${answer.status} ${JSON.stringify(answer.body)}`);
    for (const call of answer.body.calls) ids.set(call.span_id, (ids.get(call.span_id) ?? 0) + 1);
    cursor = answer.body.next_cursor;
    if (cursor === null) return ids;
  }
}

async function activeIds(apiUrl: string): Promise<{ ids: Set<string>; total: number }> {
  const answer = await getJson<ProcessingSession[]>(`${apiUrl}/api/monitoring/sessions/active`);
  if (answer.status !== 200) throw new Error(`GET /sessions/active: ${answer.status}`);
  return { ids: new Set(answer.body.map((session) => session.session_id)), total: Number(answer.headers.get('x-total-count')) };
}

/** Runs `work` over `items`, `parallel` at a time. */
async function eachParallel<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** What differs between the session (and its call rows) as served and `expected`; empty when they agree. */
function differences(session: ProcessingSession, calls: readonly LlmCallRow[], expected: SessionState): string[] {
  const found: string[] = [];
  const same = (what: string, actual: unknown, wanted: unknown): void => {
    if (JSON.stringify(actual) !== JSON.stringify(wanted))
      found.push(`${what} ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  };
  same('status', session.status, expected.status);
  same(
    'stages',
    session.stages.map((stage) => stage.stage),
    expected.stages,
  );
  same('user_id', session.user_id, expected.userId);
  same('conversation_id', session.conversation_id, expected.conversationId);
  same(
    'tokens',
    [session.token_counts.input, session.token_counts.output, session.token_counts.streamed],
    [expected.call?.input ?? null, expected.call?.output ?? null, expected.streamed],
  );
  same(
    'llm_calls',
    session.llm_calls.map((call) => [call.span_id, call.input_tokens, call.output_tokens, call.status]),
    expected.call ? [[expected.call.spanId, expected.call.input, expected.call.output, 'ok']] : [],
  );
  same(
    '/llm-calls rows',
    calls.map((call) => [call.span_id, call.input_tokens, call.output_tokens, call.status, call.user_id, call.conversation_id]),
    expected.call
      ? [[expected.call.spanId, expected.call.input, expected.call.output, 'ok', expected.userId, expected.conversationId]]
      : [],
  );
  return found;
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

interface LoadResult {
  readonly sessions: PlannedSession[];
  readonly acknowledged: number;
  readonly failed: { readonly request: number; readonly error: string }[];
  readonly notSent: number;
}

/**
 * Sends the load to `monitor` and kills it with SIGKILL once `KILL_AFTER_ACKS` requests were
 * acknowledged; resolves when every request sent got its answer or its error.
 */
async function loadAndKill(monitor: MonitorProcess, prefix: string): Promise<LoadResult> {
  const random = randomFrom(SEED);
  const sessions: PlannedSession[] = [];
  const failed: { request: number; error: string }[] = [];
  let acknowledged = 0;
  let next = 0;
  let killed = false;
  /** A worker's check failed: the others send no more. */
  let aborted = false;
  const exited = new Promise((resolve) => monitor.child.once('exit', resolve));

  const worker = async (): Promise<void> => {
    while (!killed && !aborted && next < REQUESTS) {
      const request = next++;
      const carried: { session: PlannedSession; spans: WireSpan[]; state: SessionState }[] = [];
      for (const session of planSessions(random, 5 + Math.floor(random() * 6), request, prefix)) {
        sessions.push(session);
        carried.push({ session, ...session.first(`request ${request}`) });
      }
      // The rest of up to two sessions an acknowledged request left running.
      const waiting = sessions.filter((session) => session.running && session.acknowledged?.status === 'active' && !session.continued);
      for (const session of waiting.slice(0, Math.floor(random() * 3))) {
        session.continued = true;
        carried.push({ session, ...session.rest(`request ${request} (rest)`) });
      }
      const outcome = await post(
        monitor.otlpUrl,
        carried.flatMap((item) => item.spans),
      );
      if ('status' in outcome && outcome.status === 200) {
        expect(outcome.rejected, `spans rejected in request ${request}`).toBe(0);
        acknowledged += 1;
        for (const item of carried) item.session.acknowledged = item.state;
        if (acknowledged === KILL_AFTER_ACKS && !killed) {
          killed = true;
          monitor.child.kill('SIGKILL');
        }
      } else {
        // Before the kill every request must be acknowledged: the load is well within the receiver's limits.
        if (!killed) await new Promise((resolve) => setTimeout(resolve, 200)); // for the receiver's log lines
        expect(killed, `request ${request} failed before the kill: ${JSON.stringify(outcome)}\n${monitor.output()}`).toBe(true);
        // After it, only the connection may fail: an answer other than 200 would come from a live process.
        expect(outcome, `request ${request} was answered at the kill`).toHaveProperty('error');
        failed.push({ request, error: 'error' in outcome ? outcome.error : `HTTP ${outcome.status}` });
        for (const item of carried) item.session.unacknowledged.push(item.state);
      }
    }
  };
  await Promise.all(
    Array.from({ length: PARALLEL }, () =>
      worker().catch((error: unknown) => {
        aborted = true;
        throw error;
      }),
    ),
  );
  expect(killed, 'the load ended before the kill').toBe(true);
  await exited;
  expect(monitor.child.signalCode).toBe('SIGKILL');
  return { sessions, acknowledged, failed, notSent: REQUESTS - next };
}

interface Verification {
  readonly acknowledged: PlannedSession[];
  readonly found: number;
  /** Acknowledged sessions not found at all (the others lost show another state). */
  readonly missing: number;
  readonly problems: string[];
  readonly runningRestored: number;
  /** What `/sessions/active` listed. */
  readonly active: ReadonlySet<string>;
  readonly unacknowledgedStored: number;
  readonly unacknowledgedOnly: number;
}

/** Checks every session of the load against what `monitor` (restarted on the store) serves. */
async function verify(monitor: MonitorProcess, sessions: readonly PlannedSession[]): Promise<Verification> {
  const active = await activeIds(monitor.apiUrl);
  const listed = await recentIds(monitor.apiUrl);
  const listedCalls = await listedCallIds(monitor.apiUrl);
  const problems: string[] = [];
  let found = 0;
  let missing = 0;
  let runningRestored = 0;
  let unacknowledgedStored = 0;
  await eachParallel(sessions, 8, async (planned) => {
    const session = await sessionOf(monitor.apiUrl, planned.sessionId);
    if (!planned.acknowledged) {
      // Carried only by requests that got no answer: may have been committed, or not.
      if (session) unacknowledgedStored += 1;
      return;
    }
    if (!session) {
      missing += 1;
      problems.push(`${planned.sessionId} (${planned.kind}, acknowledged by ${planned.acknowledged.phase}): not found`);
      return;
    }
    const calls = await callsOf(monitor.apiUrl, planned.sessionId);
    // What it had when acknowledged, or what a later request with no answer carried (it may have been committed).
    const candidates = [planned.acknowledged, ...planned.unacknowledged];
    const verdicts = candidates.map((state) => differences(session, calls, state));
    const match = verdicts.findIndex((verdict) => verdict.length === 0);
    if (match < 0) {
      problems.push(`${planned.sessionId} (${planned.kind}, acknowledged by ${planned.acknowledged.phase}): ${verdicts[0]!.join('; ')}`);
      return;
    }
    found += 1;
    if (!listed.has(planned.sessionId)) problems.push(`${planned.sessionId}: not listed by /sessions/recent`);
    const call = candidates[match]!.call;
    if (call && listedCalls.get(call.spanId) !== 1)
      problems.push(`${planned.sessionId}: its call is listed ${listedCalls.get(call.spanId) ?? 0} times by /llm-calls`);
    if (candidates[match]!.status === 'active') {
      if (active.ids.has(planned.sessionId)) runningRestored += 1;
      else
        problems.push(
          `${planned.sessionId} (${planned.kind}, acknowledged by ${planned.acknowledged.phase}): running, but not in /sessions/active`,
        );
    } else if (active.ids.has(planned.sessionId)) {
      problems.push(`${planned.sessionId}: ${session.status}, but listed by /sessions/active`);
    }
  });
  if (active.total !== active.ids.size)
    problems.push(`/sessions/active lists ${active.ids.size} sessions, X-Total-Count says ${active.total}`);
  const known = new Set(sessions.map((session) => session.sessionId));
  for (const id of active.ids) if (!known.has(id)) problems.push(`/sessions/active lists ${id}, which no request carried`);
  const acknowledged = sessions.filter((session) => session.acknowledged);
  return {
    acknowledged,
    found,
    missing,
    problems,
    runningRestored,
    active: active.ids,
    unacknowledgedStored,
    unacknowledgedOnly: sessions.length - acknowledged.length,
  };
}

/** Sends the rest of `planned` to `monitor` and checks it completed with every stage, and left the live view. */
async function finish(monitor: MonitorProcess, planned: PlannedSession): Promise<void> {
  const stagesBefore = planned.stagesSent;
  const { spans, state } = planned.rest('after the restart');
  const outcome = await post(monitor.otlpUrl, spans);
  expect(outcome, `the rest of ${planned.sessionId}`).toEqual({ status: 200, rejected: 0 });
  planned.acknowledged = state;
  const session = await sessionOf(monitor.apiUrl, planned.sessionId);
  expect(session, planned.sessionId).toBeDefined();
  expect(
    differences(session!, await callsOf(monitor.apiUrl, planned.sessionId), state),
    `${planned.sessionId} completed after the restart`,
  ).toEqual([]);
  // The stages sent before the crash are part of it: they came back from the store, not from this request.
  expect(session!.stages.slice(0, stagesBefore).map((stage) => stage.message)).toEqual(
    BUILTIN_STAGES.slice(0, stagesBefore).map((stage) => `${planned.sessionId}: ${stage.label}`),
  );
  expect(session!.stages.every((stage) => stage.end_time !== null)).toBe(true);
  expect((await activeIds(monitor.apiUrl)).ids.has(planned.sessionId), `${planned.sessionId} still in /sessions/active`).toBe(false);
}

async function crashTest(storeName: string, storageUrl: string): Promise<void> {
  const started = Date.now();
  const args = [...BASE_ARGS, '--storage-url', storageUrl];
  const env = { LLM_MONITOR_STORAGE_URL: storageUrl };
  const prefix = `crash-${storeName}-${hex(4)}`;

  const first = await startMonitor(args, env);
  const load = await loadAndKill(first, prefix);

  const second = await startMonitor(args, env);
  const result = await verify(second, load.sessions);
  const lost = result.acknowledged.length - result.found;
  const line =
    `crash test ${storeName}: ${result.acknowledged.length} sessions acknowledged, ${result.found} found, ${lost} lost` +
    (lost > 0 ? ` (${result.missing} missing, ${lost - result.missing} in another state)` : '') +
    '; ' +
    `${result.runningRestored} running restored` +
    ` (requests: ${load.acknowledged} acknowledged, ${load.failed.length} failed at the kill [${[...new Set(load.failed.map((failure) => failure.error))].join(', ')}], ${load.notSent} not sent; ` +
    `sessions only in unanswered requests: ${result.unacknowledgedOnly}, of which stored anyway: ${result.unacknowledgedStored})`;
  console.log(line);
  expect(result.problems.slice(0, 20).join('\n'), `${result.problems.length} problems after the restart (the first 20)`).toBe('');
  expect(lost).toBe(0);
  expect(result.acknowledged.length).toBeGreaterThan(KILL_AFTER_ACKS * 5 - 1);
  expect(result.runningRestored).toBeGreaterThan(0);

  // Two sessions that were running at the kill carry on: one announced by its root's marker with
  // some stages done, one known only by its first stages.
  const restoredRunning = (kind: Kind): PlannedSession => {
    const candidate = result.acknowledged.find(
      (session) =>
        session.kind === kind &&
        session.acknowledged!.status === 'active' &&
        session.unacknowledged.length === 0 &&
        session.stagesSent >= 2,
    );
    if (!candidate) throw new Error(`no ${kind} session was running at the kill`);
    return candidate;
  };
  const continued = [restoredRunning('running-stages'), restoredRunning('running-no-root')];
  for (const session of continued) await finish(second, session);

  // A second crash: what completed after the restart stays completed, and is not revived as running.
  const exited = new Promise((resolve) => second.child.once('exit', resolve));
  second.child.kill('SIGKILL');
  await exited;
  const third = await startMonitor(args, env);
  const active = await activeIds(third.apiUrl);
  for (const planned of continued) {
    const session = await sessionOf(third.apiUrl, planned.sessionId);
    expect(session, planned.sessionId).toBeDefined();
    expect(
      differences(session!, await callsOf(third.apiUrl, planned.sessionId), planned.acknowledged!),
      `${planned.sessionId} after the second restart`,
    ).toEqual([]);
    expect(active.ids.has(planned.sessionId), `${planned.sessionId} revived as running`).toBe(false);
  }
  // Every other session that ran at the first restart still runs (those of requests committed but
  // never answered included): nothing more, nothing less.
  const stillRunning = [...result.active].filter((id) => !continued.some((session) => session.sessionId === id));
  expect([...active.ids].sort(), 'running sessions after the second restart').toEqual(stillRunning.sort());
  console.log(
    `crash test ${storeName}: finished ${continued.length} restored sessions after the restart; second restart shows ${active.ids.size} running; ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

describe('a receiver killed with SIGKILL mid-load loses nothing it acknowledged', () => {
  // Each case starts three processes and makes ~700 REST requests: 6–8 s alone on a 2-core
  // machine, twice that beside other suites; the limit leaves room for a slow shared runner.
  const TIMEOUT_MS = 60_000;

  it(
    'on SQLite (a temporary file)',
    async () => {
      const directory = mkdtempSync(join(tmpdir(), 'llmmon-crash-'));
      try {
        await crashTest('sqlite', `sqlite:${join(directory, 'history.db')}`);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  describe.runIf(POSTGRES_URL !== undefined)('on PostgreSQL', () => {
    const schema = `llmmon_crash_${hex(6)}`;
    afterAll(async () => {
      await withPg(POSTGRES_URL!, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    });

    it(
      'in a fresh schema',
      async () => {
        await withPg(POSTGRES_URL!, (client) => client.query(`CREATE SCHEMA ${schema}`));
        await crashTest('postgres', withSearchPath(POSTGRES_URL!, schema));
      },
      TIMEOUT_MS,
    );
  });
});
