/**
 * The behaviour every {@link HistoryStore} must have — the memory store, SQLite and PostgreSQL run
 * this one suite (history-store-memory/-sqlite/-postgres.test.ts). Sessions are built from spans by
 * the real {@link SessionBuilder} (with prices, LLM calls, users, conversations), so what is stored
 * is what the receiver stores; what comes back must equal it exactly, and the call log must equal
 * {@link callRowsOf} of the sessions.
 */
import {
  ATTR_CONTENT_PREVIEW,
  ATTR_METADATA_PREFIX,
  ATTR_PROCESSOR_TYPE,
  ATTR_PROMPT_PREVIEW,
  ATTR_RESPONSE_PREVIEW,
  ATTR_RESULT_PREVIEW,
  ATTR_SESSION_ID,
  ATTR_SPAN_TYPE,
  ATTR_TASK,
  GEN_AI,
  OTEL,
  SPAN_TYPE,
} from '@llm-monitor/semconv';
import {
  callFiguresOf,
  callRowsOf,
  computeStatistics,
  matchesCallFilter,
  matchesFilter,
  newestCallFirst,
  newestFirst,
  parseCursor,
  SessionBuilder,
  sessionFiguresOf,
} from '@llm-monitor/sessions';
import type {
  Attributes,
  CallFigures,
  ForeignCursor,
  ForeignRecords,
  HistoryCommit,
  HistoryStore,
  LlmCallFilter,
  LlmCallRow,
  ModelPrices,
  ProcessingSession,
  SessionFigures,
  SessionFilter,
  SpanRecord,
  StatisticsWindow,
  TraceSnapshot,
} from '@llm-monitor/sessions';
import { afterEach, describe, expect, it } from 'vitest';
import { pendingMarker, span } from '../../sessions/test/span-fixtures.js';

/** Prices of the fixtures' models (USD per million tokens); `claude-3-haiku` has none. */
export const PRICES: ModelPrices = {
  'gpt-4o-mini': { input_per_million: 0.15, output_per_million: 0.6 },
  'gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
};

/** 2026-01-10 12:00:00 UTC: the fixtures' sessions start from here. */
export const T = Date.UTC(2026, 0, 10, 12, 0, 0);

/** One LLM call of a fixture session. */
export interface CallSpec {
  /** Milliseconds after the session start (default 1). */
  readonly offsetMs?: number;
  /** `null`: still running (default 10). */
  readonly durationMs?: number | null;
  readonly requestModel?: string;
  readonly responseModel?: string;
  readonly provider?: string;
  readonly operation?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly prompt?: string;
  readonly response?: string;
  /** The call failed with this message. */
  readonly error?: string;
}

/** A fixture session. */
export interface SessionSpec {
  /** A number (made into a 32-hex trace id) or the trace id itself. */
  readonly trace: number | string;
  /** The application's session id; without one the session is a foreign (GenAI) one, known by its trace. */
  readonly sessionId?: string;
  readonly startMs: number;
  /** `null`: still running (default 100). */
  readonly durationMs?: number | null;
  /** The session failed with this message. */
  readonly failed?: string;
  readonly task?: string;
  readonly model?: string;
  readonly processorType?: string;
  readonly conversationId?: string;
  readonly userId?: string;
  readonly content?: string;
  readonly result?: string;
  readonly serviceName?: string;
  /** `llm_monitor.metadata.<key>` attributes of the root span. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly calls?: readonly CallSpec[];
}

/** A valid 32-hex trace id from a number. */
export function traceIdOf(trace: number | string): string {
  return typeof trace === 'string' ? trace : `7e${trace.toString(16).padStart(30, '0')}`;
}

function optional(entries: [string, string | number | undefined][]): Attributes {
  const attributes: Record<string, string | number> = {};
  for (const [key, value] of entries) if (value !== undefined) attributes[key] = value;
  return attributes;
}

/** The spans of a fixture session: its root (ours or a foreign entry span) and its calls. */
export function spansOf(spec: SessionSpec): { root: SpanRecord; calls: SpanRecord[] } {
  const traceId = traceIdOf(spec.trace);
  const resource = { 'service.name': spec.serviceName ?? 'history-test' };
  const durationMs = spec.durationMs === undefined ? 100 : spec.durationMs;
  const metadata = Object.entries(spec.metadata ?? {}).map(([key, value]): [string, string] => [`${ATTR_METADATA_PREFIX}${key}`, value]);
  const described: [string, string | number | undefined][] = [
    [ATTR_TASK, spec.task],
    [GEN_AI.requestModel, spec.model],
    [ATTR_PROCESSOR_TYPE, spec.processorType],
    [ATTR_CONTENT_PREVIEW, spec.content],
    [ATTR_RESULT_PREVIEW, spec.result],
    [GEN_AI.conversationId, spec.conversationId],
    [OTEL.userId, spec.userId],
    ...metadata,
  ];
  const root = span({
    traceId,
    name: spec.sessionId === undefined ? 'POST /chat' : `llm_monitor.session ${spec.task ?? 'work'}`,
    kind: spec.sessionId === undefined ? 2 : 1,
    startTimeUnixMs: spec.startMs,
    endTimeUnixMs: durationMs === null ? 0 : spec.startMs + durationMs,
    attributes:
      spec.sessionId === undefined
        ? optional(described)
        : optional([[ATTR_SPAN_TYPE, SPAN_TYPE.session], [ATTR_SESSION_ID, spec.sessionId], ...described]),
    status: spec.failed !== undefined ? { code: 2, message: spec.failed } : { code: durationMs === null ? 0 : 1, message: '' },
    resource,
  });
  const calls = (spec.calls ?? []).map((call) => {
    const startMs = spec.startMs + (call.offsetMs ?? 1);
    const callDuration = call.durationMs === undefined ? 10 : call.durationMs;
    return span({
      traceId,
      parentSpanId: root.spanId,
      name: `${call.operation ?? 'chat'} ${call.requestModel ?? ''}`.trim(),
      kind: 3,
      startTimeUnixMs: startMs,
      endTimeUnixMs: callDuration === null ? 0 : startMs + callDuration,
      attributes: optional([
        [GEN_AI.operationName, call.operation ?? 'chat'],
        [GEN_AI.providerName, call.provider ?? 'openai'],
        [GEN_AI.requestModel, call.requestModel],
        [GEN_AI.responseModel, call.responseModel],
        [GEN_AI.usageInputTokens, call.inputTokens],
        [GEN_AI.usageOutputTokens, call.outputTokens],
        [ATTR_PROMPT_PREVIEW, call.prompt],
        [ATTR_RESPONSE_PREVIEW, call.response],
      ]),
      status: call.error !== undefined ? { code: 2, message: call.error } : { code: 0, message: '' },
      resource,
    });
  });
  return { root, calls };
}

/**
 * A session as the receiver builds it from the spec's spans (a running session of ours is known
 * from its root's pending marker, as our instrumentation exports it), and the span records a durable
 * store keeps of its trace (all of them: the builder's first {@link SessionBuilder.takeUnsaved}).
 */
export function built(spec: SessionSpec): { session: ProcessingSession; snapshot: TraceSnapshot } {
  const { root, calls } = spansOf(spec);
  const running = spec.sessionId !== undefined && root.endTimeUnixMs === 0;
  const builder = new SessionBuilder({ prices: PRICES });
  const sessions = builder.ingest([running ? pendingMarker({ ...root, endTimeUnixMs: 0 }) : root, ...calls], spec.startMs + 1000);
  if (sessions.length !== 1) throw new Error(`the spec of trace ${String(spec.trace)} made ${sessions.length} sessions`);
  return { session: sessions[0]!, snapshot: builder.takeUnsaved(traceIdOf(spec.trace))! };
}

/** The session of a spec. */
export function sessionOf(spec: SessionSpec): ProcessingSession {
  return built(spec).session;
}

/** A commit of these sessions and nothing else. */
export function commitOf(sessions: readonly ProcessingSession[], rest: Partial<HistoryCommit> = {}): HistoryCommit {
  return { sessions, running: [], settled: [], leftLiveWindow: [], ...rest };
}

/**
 * The filter fixture: sessions of ours (completed, failed, running), one of another
 * instrumentation, over five seconds, with calls of several models, users and conversations.
 */
export function filterFixture(): Record<'alpha' | 'beta' | 'gamma' | 'delta' | 'epsilon' | 'foreign', ProcessingSession> {
  return {
    alpha: sessionOf({
      trace: 1,
      sessionId: 's-alpha',
      startMs: T,
      durationMs: 900,
      task: 'summarize',
      model: 'gpt-4o-mini',
      processorType: 'batch',
      conversationId: 'conv-1',
      userId: 'user-1',
      content: 'Quarterly REPORT for ACME',
      result: 'Summary: all fine',
      calls: [
        {
          offsetMs: 10,
          durationMs: 700,
          requestModel: 'gpt-4o-mini',
          responseModel: 'gpt-4o-mini-2024-07-18',
          inputTokens: 1200,
          outputTokens: 300,
          prompt: 'Summarize the quarterly report',
          response: 'Revenue grew by 12%',
        },
      ],
    }),
    beta: sessionOf({
      trace: 2,
      sessionId: 's-beta',
      startMs: T + 1000,
      durationMs: 400,
      failed: 'rate limited',
      task: 'translate',
      model: 'gpt-4o',
      processorType: 'stream',
      conversationId: 'conv-1',
      userId: 'user-2',
      content: 'Bonjour le monde',
      calls: [
        {
          offsetMs: 5,
          durationMs: 300,
          requestModel: 'gpt-4o',
          inputTokens: 50,
          error: 'rate limited',
          prompt: 'Translate: Bonjour le monde',
        },
      ],
    }),
    gamma: sessionOf({
      trace: 3,
      sessionId: 's-gamma',
      startMs: T + 2000,
      durationMs: null,
      task: 'summarize',
      model: 'gpt-4o-mini',
      processorType: 'batch',
      conversationId: 'conv-2',
      userId: 'user-1',
      content: 'Meeting notes of Monday',
      calls: [
        {
          offsetMs: 5,
          durationMs: 200,
          requestModel: 'gpt-4o-mini',
          responseModel: 'gpt-4o-mini-2024-07-18',
          inputTokens: 400,
          outputTokens: 80,
          prompt: 'List the decisions',
          response: 'Decision: ship on Friday',
        },
        { offsetMs: 300, durationMs: null, requestModel: 'gpt-4o-mini', prompt: 'Draft the e-mail' },
      ],
    }),
    delta: sessionOf({
      trace: 4,
      sessionId: 's-delta',
      startMs: T + 3000,
      durationMs: 1500,
      task: 'classify',
      model: 'claude-3-haiku',
      content: 'Ticket #42: printer on fire',
      result: 'Category: HARDWARE',
      calls: [
        {
          offsetMs: 10,
          durationMs: 100,
          provider: 'anthropic',
          requestModel: 'claude-3-haiku',
          responseModel: 'claude-3-haiku-20240307',
          inputTokens: 90,
          outputTokens: 4,
          prompt: 'Classify the ticket',
          response: 'hardware',
        },
        {
          offsetMs: 200,
          durationMs: 120,
          provider: 'anthropic',
          requestModel: 'claude-3-haiku',
          responseModel: 'claude-3-haiku-20240307',
          inputTokens: 95,
          outputTokens: 6,
          prompt: 'Double-check',
          response: 'HARDWARE, sure',
        },
      ],
    }),
    epsilon: sessionOf({
      trace: 5,
      sessionId: 's-epsilon',
      startMs: T + 4000,
      durationMs: 250,
      task: 'summarize',
      model: 'gpt-4o-mini',
      processorType: 'stream',
      conversationId: 'conv-1',
      userId: 'user-3',
      content: 'Ünïcödé ÉCLAIR — 日本語のテキスト 🎉',
      result: 'ok',
      calls: [
        {
          offsetMs: 1,
          durationMs: 200,
          requestModel: 'gpt-4o-mini',
          inputTokens: 10,
          outputTokens: 20,
          prompt: 'Résumé — 日本語',
          response: 'Ça va 🎉',
        },
      ],
    }),
    foreign: sessionOf({
      trace: 6,
      startMs: T + 5000,
      durationMs: 600,
      conversationId: 'conv-3',
      userId: 'user-2',
      serviceName: 'chat-api',
      calls: [
        {
          offsetMs: 20,
          durationMs: 500,
          provider: 'groq',
          requestModel: 'llama-3-70b',
          responseModel: 'llama-3-70b-8192',
          inputTokens: 33,
          outputTokens: 44,
          prompt: 'Hello there',
          response: 'General Kenobi',
        },
      ],
    }),
  };
}

/** `value` as PostgreSQL keeps it: U+0000 and lone surrogates (which it cannot hold) become U+FFFD, in keys too. */
function asPostgresKeepsIt<V>(value: V): V {
  return JSON.parse(
    JSON.stringify(value).replace(/\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g, (escape, what: string) => (what === '\\' ? escape : '\\ufffd')),
  ) as V;
}

const ids = (sessions: readonly ProcessingSession[]): string[] => sessions.map((session) => session.session_id);

/** Every page of `sessions()` for a filter; checks the page sizes on the way. */
async function allSessionPages(
  store: HistoryStore,
  filter: SessionFilter,
  limit: number,
): Promise<{ sessions: ProcessingSession[]; pages: number }> {
  const sessions: ProcessingSession[] = [];
  let after: [string, string] | undefined;
  for (let pages = 1; pages < 1000; pages += 1) {
    const page = await store.sessions(filter, limit, after);
    expect(page.sessions.length).toBeLessThanOrEqual(limit);
    sessions.push(...page.sessions);
    if (page.nextCursor === null) return { sessions, pages };
    expect(page.sessions).toHaveLength(limit);
    after = parseCursor(page.nextCursor);
    expect(after).toBeDefined();
  }
  throw new Error('sessions(): more than 1,000 pages');
}

/** Every page of `llmCalls()` for a filter. */
async function allCallPages(store: HistoryStore, filter: LlmCallFilter, limit: number): Promise<{ calls: LlmCallRow[]; pages: number }> {
  const calls: LlmCallRow[] = [];
  let after: [string, string] | undefined;
  for (let pages = 1; pages < 1000; pages += 1) {
    const page = await store.llmCalls(filter, limit, after);
    expect(page.calls.length).toBeLessThanOrEqual(limit);
    calls.push(...page.calls);
    if (page.nextCursor === null) return { calls, pages };
    expect(page.calls).toHaveLength(limit);
    after = parseCursor(page.nextCursor);
    expect(after).toBeDefined();
  }
  throw new Error('llmCalls(): more than 1,000 pages');
}

const byCallId = (a: LlmCallRow, b: LlmCallRow): number => (a.call_id < b.call_id ? -1 : a.call_id > b.call_id ? 1 : 0);

/** Everything a read-through yields, its chunks joined. */
async function collect<T>(chunks: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const chunk of chunks) all.push(...chunk);
  return all;
}

/** Oldest first, ties by id: the order stores read through a window in. */
function oldestFirst<T extends { start_time: string }>(id: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (a.start_time !== b.start_time ? (a.start_time < b.start_time ? -1 : 1) : id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);
}
const sessionsOldestFirst = oldestFirst<SessionFigures>((session) => session.trace_id);
const callsOldestFirst = oldestFirst<CallFigures>((call) => call.call_id);

/** The figures of sessions, as a store reads them through: oldest first, token counts without `streamed`. */
function figuresOf(sessions: readonly ProcessingSession[]): SessionFigures[] {
  return sessions
    .map((session) => ({ ...sessionFiguresOf(session), token_counts: { ...session.token_counts, streamed: 0 } }))
    .sort(sessionsOldestFirst);
}

/** How the contract opens a store: as a replica (`replicaId`), or as a receiver on its own. */
export interface OpenOptions {
  readonly replicaId?: string;
}

/** Span records of a trace: distinct spans named `names` (any will do: a store keeps them as given). */
function recordsOf(trace: number, names: readonly string[], lastSeenMs = T): TraceSnapshot {
  const traceId = traceIdOf(trace);
  return { traceId, lastSeenMs, spans: names.map((name, index) => span({ traceId, name, startTimeUnixMs: T + index })) };
}

const byTraceId = (a: TraceSnapshot, b: TraceSnapshot): number => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0);

/** Foreign records without their seq (which the database assigns), in trace and replica order. */
function withoutSeq(entries: readonly ForeignRecords[]): Omit<ForeignRecords, 'seq'>[] {
  return entries
    .map(({ seq: _seq, ...rest }) => rest)
    .sort((a, b) => byTraceId(a, b) || (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
}

/** The cursor that continues after `entries`. */
function cursorAfter(entries: readonly ForeignRecords[], from: ForeignCursor = new Map()): ForeignCursor {
  const cursor = new Map([...from].map(([traceId, seqs]) => [traceId, new Map(seqs)]));
  for (const entry of entries) {
    const ofTrace = cursor.get(entry.traceId) ?? new Map<string, number>();
    ofTrace.set(entry.replica, Math.max(ofTrace.get(entry.replica) ?? 0, entry.seq));
    cursor.set(entry.traceId, ofTrace);
  }
  return cursor;
}

/**
 * Registers the contract suite for one implementation. `open` opens the store (a second call within
 * a test opens the same data again, for durable stores: that is how restarts are tested — and, with
 * another replica id, how replicas share it); `cleanup` runs after each test, once the stores the
 * test opened are closed, and must leave an empty store for the next one.
 */
export function describeHistoryStore(
  name: string,
  open: (options?: OpenOptions) => Promise<HistoryStore>,
  cleanup: () => Promise<void> | void,
): void {
  describe(`HistoryStore contract: ${name}`, () => {
    const opened: HistoryStore[] = [];
    const closed = new Set<HistoryStore>();

    async function openStore(options?: OpenOptions): Promise<HistoryStore> {
      const store = await open(options);
      opened.push(store);
      return store;
    }

    async function closeStore(store: HistoryStore): Promise<void> {
      if (closed.has(store)) return;
      closed.add(store);
      await store.close();
    }

    /** Closes `store` and opens it again: what a restart of the receiver does. */
    async function reopen(store: HistoryStore, options?: OpenOptions): Promise<HistoryStore> {
      await closeStore(store);
      return openStore(options);
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) await closeStore(store);
      closed.clear();
      await cleanup();
    });

    it(`says what it is: kind ${name}`, async () => {
      const store = await openStore();
      expect(store.kind).toBe(name);
      expect(store.durable).toBe(name !== 'memory');
      expect(typeof store.location).toBe('string');
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('starts empty, and an empty commit changes nothing', async () => {
      const store = await openStore();
      await store.commit(commitOf([]));
      expect(await store.sessions({}, 10)).toEqual({ sessions: [], nextCursor: null });
      expect(await store.llmCalls({}, 10)).toEqual({ calls: [], nextCursor: null });
      expect(await store.session('s-alpha')).toBeUndefined();
      expect(await store.conversation('conv-1', 10)).toEqual({ sessions: [], total: 0 });
      expect(await collect(store.sessionFigures({}))).toEqual([]);
      expect(await collect(store.callFigures({}))).toEqual([]);
      expect(await store.runningTraces()).toEqual([]);
      expect(await store.deleteBefore(T + 10 ** 10, 100)).toBe(0);
    });

    it('reads a committed session back by id, exactly as it was committed', async () => {
      const store = await openStore();
      const fixture = filterFixture();
      await store.commit(commitOf(Object.values(fixture)));
      for (const session of Object.values(fixture)) expect(await store.session(session.session_id)).toEqual(session);
      // The foreign session is known by its trace id.
      expect(fixture.foreign.session_id).toBe(traceIdOf(6));
      expect(fixture.gamma.status).toBe('active');
      expect(fixture.beta.status).toBe('failed');
      expect(await store.session('s-nobody')).toBeUndefined();
      // Ids are matched exactly: no case folding, no prefix, no pattern.
      expect(await store.session('S-ALPHA')).toBeUndefined();
      expect(await store.session('s-alph')).toBeUndefined();
      expect(await store.session('s-%')).toBeUndefined();
    });

    it('answers the latest session when two traces used one id, whatever the commit order', async () => {
      const store = await openStore();
      const older = sessionOf({
        trace: 11,
        sessionId: 'shared',
        startMs: T,
        content: 'older',
        calls: [{ requestModel: 'gpt-4o-mini', inputTokens: 1 }],
      });
      const newer = sessionOf({
        trace: 12,
        sessionId: 'shared',
        startMs: T + 5000,
        content: 'newer',
        calls: [{ requestModel: 'gpt-4o', inputTokens: 2 }],
      });
      await store.commit(commitOf([newer]));
      await store.commit(commitOf([older]));
      expect(await store.session('shared')).toEqual(newer);
      // Both traces are history: each is listed, and each one's calls are in the log.
      expect((await store.sessions({}, 10)).sessions).toEqual([newer, older]);
      expect((await store.llmCalls({ sessionId: 'shared' }, 10)).calls).toEqual([...callRowsOf(newer), ...callRowsOf(older)]);
    });

    it('lists sessions newest first, with every filter', async () => {
      const store = await openStore();
      const f = filterFixture();
      await store.commit(commitOf(Object.values(f)));
      const cases: [SessionFilter, ProcessingSession[]][] = [
        [{}, [f.foreign, f.epsilon, f.delta, f.gamma, f.beta, f.alpha]],
        [{ status: ['completed'] }, [f.foreign, f.epsilon, f.delta, f.alpha]],
        [{ status: ['active'] }, [f.gamma]],
        [{ status: ['failed', 'active'] }, [f.gamma, f.beta]],
        [{ status: ['abandoned'] }, []],
        [{ model: 'gpt-4o-mini' }, [f.epsilon, f.gamma, f.alpha]],
        [{ model: 'gpt-4o' }, [f.beta]],
        [{ model: 'llama-3-70b-8192' }, [f.foreign]],
        [{ model: 'GPT-4O-MINI' }, []],
        [{ task: 'summarize' }, [f.epsilon, f.gamma, f.alpha]],
        [{ task: 'classify' }, [f.delta]],
        [{ processorType: 'stream' }, [f.epsilon, f.beta]],
        [{ processorType: 'batch' }, [f.gamma, f.alpha]],
        [{ conversationId: 'conv-1' }, [f.epsilon, f.beta, f.alpha]],
        [{ conversationId: 'conv-3' }, [f.foreign]],
        // since is inclusive, until exclusive.
        [{ sinceMs: T + 1000, untilMs: T + 4000 }, [f.delta, f.gamma, f.beta]],
        [{ sinceMs: T + 1001 }, [f.foreign, f.epsilon, f.delta, f.gamma]],
        [{ untilMs: T + 1000 }, [f.alpha]],
        [{ sinceMs: T + 4000, untilMs: T + 4000 }, []],
        // Text: case-insensitive, in the content or the result preview, taken literally.
        [{ text: 'report' }, [f.alpha]],
        [{ text: 'QUARTERLY report' }, [f.alpha]],
        [{ text: 'hardware' }, [f.delta]],
        [{ text: 'FIRE' }, [f.delta]],
        [{ text: 'summary: ALL' }, [f.alpha]],
        [{ text: '日本語' }, [f.epsilon]],
        [{ text: 'ünïcödé éclair' }, [f.epsilon]],
        [{ text: '#42' }, [f.delta]],
        [{ text: '%' }, []],
        [{ text: '_' }, []],
        [{ text: '' }, [f.foreign, f.epsilon, f.delta, f.gamma, f.beta, f.alpha]],
        [{ text: 'Kenobi' }, []],
        // Every given field must match.
        [{ model: 'gpt-4o-mini', processorType: 'batch', status: ['completed'] }, [f.alpha]],
        [{ task: 'summarize', conversationId: 'conv-1', text: 'éclair' }, [f.epsilon]],
        [{ task: 'summarize', sinceMs: T + 2000, untilMs: T + 4000 }, [f.gamma]],
      ];
      for (const [filter, expected] of cases) {
        const page = await store.sessions(filter, 100);
        expect({ filter, ids: ids(page.sessions) }).toEqual({ filter, ids: ids(expected) });
        expect(page.sessions).toEqual(expected);
        expect(page.nextCursor).toBeNull();
        // The reference semantics agree (a check of the expectations above).
        expect(
          ids(
            Object.values(f)
              .filter((session) => matchesFilter(session, filter))
              .sort(newestFirst),
          ),
        ).toEqual(ids(expected));
      }
    });

    it('ends a page before maxBytes of session JSON (one session at least), and the cursor goes on from there', async () => {
      const store = await openStore();
      const sessions: ProcessingSession[] = [];
      for (let trace = 300; trace < 312; trace += 1) {
        sessions.push(
          sessionOf({
            trace,
            sessionId: `sized-${trace}`,
            startMs: T + trace,
            durationMs: 10,
            model: 'gpt-4o-mini',
            conversationId: 'conv-sized',
          }),
        );
      }
      await store.commit(commitOf(sessions));
      const expected = [...sessions].sort(newestFirst);
      const size = Math.max(...sessions.map((session) => JSON.stringify(session).length));
      for (const [budget, perPage] of [
        [size * 3 + 4, 3],
        [1, 1],
      ] as const) {
        const visited: ProcessingSession[] = [];
        let cursor: [string, string] | undefined;
        for (let page = 0; page < 20; page += 1) {
          const { sessions: got, nextCursor } = await store.sessions({}, 100, cursor, budget);
          expect(got.length).toBeLessThanOrEqual(perPage);
          expect(got.length).toBeGreaterThan(0);
          visited.push(...got);
          if (!nextCursor) break;
          cursor = parseCursor(nextCursor);
        }
        expect(ids(visited)).toEqual(ids(expected));
      }
      const conversation = await store.conversation('conv-sized', 100, size * 2 + 3);
      expect(conversation.total).toBe(12);
      expect(ids(conversation.sessions)).toEqual(ids([...expected].reverse().slice(0, conversation.sessions.length)));
      expect(conversation.sessions.length).toBeGreaterThanOrEqual(1);
      expect(conversation.sessions.length).toBeLessThanOrEqual(2);
    });

    it('pages through sessions with equal start times, visiting each exactly once in newest-first order', async () => {
      const store = await openStore();
      // 3 start times × 9 ids, mixed case and digits: the id breaks ties, in code-unit order.
      const names = ['a-1', 'B-1', 'b-1', 'a-10', 'a-2', 'Z', 'z', '0', '_x'];
      const sessions: ProcessingSession[] = [];
      let trace = 100;
      for (const startMs of [T, T + 1, T + 60_000]) {
        for (const [index, name] of names.entries()) {
          trace += 1;
          sessions.push(
            sessionOf({
              trace,
              sessionId: `${name}@${startMs - T}`,
              startMs,
              durationMs: index % 2 === 0 ? 50 : null,
              model: 'gpt-4o-mini',
            }),
          );
        }
      }
      // Committed in two commits, in no particular order.
      await store.commit(commitOf(sessions.filter((_, index) => index % 3 === 0)));
      await store.commit(commitOf(sessions.filter((_, index) => index % 3 !== 0)));
      const expected = [...sessions].sort(newestFirst);
      for (const limit of [1, 4, 9, 27, 100]) {
        const { sessions: visited, pages } = await allSessionPages(store, {}, limit);
        expect(ids(visited)).toEqual(ids(expected));
        expect(pages).toBe(Math.max(1, Math.ceil(27 / limit)));
      }
      const active = expected.filter((session) => session.status === 'active');
      expect(active).toHaveLength(12);
      const filtered = await allSessionPages(store, { status: ['active'] }, 5);
      expect(ids(filtered.sessions)).toEqual(ids(active));
      expect(filtered.pages).toBe(3);
      // A cursor between two equal start times, built by hand, resumes right after that id.
      const [first, second, third] = expected;
      const after = await store.sessions({}, 2, [first!.start_time, first!.session_id]);
      expect(ids(after.sessions)).toEqual([second!.session_id, third!.session_id]);
    });

    it('answers a conversation oldest first, with how many sessions it has beyond the limit', async () => {
      const store = await openStore();
      const f = filterFixture();
      // Two more sessions of conv-1 starting at the same time as alpha: ties by id, ascending.
      const tieB = sessionOf({
        trace: 31,
        sessionId: 's-alpha-b',
        startMs: T,
        conversationId: 'conv-1',
        calls: [{ requestModel: 'gpt-4o-mini', inputTokens: 3 }],
      });
      const tieA = sessionOf({ trace: 32, sessionId: 's-alpha-a', startMs: T, conversationId: 'conv-1' });
      await store.commit(commitOf([...Object.values(f), tieB, tieA]));
      expect(await store.conversation('conv-1', 100)).toEqual({ sessions: [f.alpha, tieA, tieB, f.beta, f.epsilon], total: 5 });
      expect(await store.conversation('conv-1', 2)).toEqual({ sessions: [f.alpha, tieA], total: 5 });
      expect(await store.conversation('conv-2', 10)).toEqual({ sessions: [f.gamma], total: 1 });
      expect(await store.conversation('CONV-1', 10)).toEqual({ sessions: [], total: 0 });
      expect(await store.conversation('conv-404', 10)).toEqual({ sessions: [], total: 0 });
    });

    it('reads through the figures of the sessions in a window, oldest first: what statistics read', async () => {
      const store = await openStore();
      const f = filterFixture();
      const all = Object.values(f);
      await store.commit(commitOf(all));
      const windows: [StatisticsWindow, ProcessingSession[]][] = [
        [{}, all],
        [{ sinceMs: T + 1000 }, [f.beta, f.gamma, f.delta, f.epsilon, f.foreign]],
        [{ untilMs: T + 3000 }, [f.alpha, f.beta, f.gamma]],
        [{ sinceMs: T + 2000, untilMs: T + 5000 }, [f.gamma, f.delta, f.epsilon]],
        [{ sinceMs: T + 6000 }, []],
      ];
      for (const [window, expected] of windows) {
        const figures = await collect(store.sessionFigures(window));
        expect(figures).toEqual(figuresOf(expected));
        // Statistics from the figures are those from the full sessions.
        expect(computeStatistics(figures, window)).toEqual(computeStatistics(expected, window));
      }
    });

    it('filters the LLM call log, rows exactly as callRowsOf makes them', async () => {
      const store = await openStore();
      const f = filterFixture();
      const all = Object.values(f);
      await store.commit(commitOf(all));
      const rows = all.flatMap(callRowsOf);
      expect(rows).toHaveLength(8);
      const callIds = (filter: LlmCallFilter): string[] =>
        rows
          .filter((row) => matchesCallFilter(row, filter))
          .sort(newestCallFirst)
          .map((row) => row.call_id);
      const of = (...sessions: ProcessingSession[]): string[] =>
        sessions
          .flatMap(callRowsOf)
          .sort(newestCallFirst)
          .map((row) => row.call_id);
      const cases: [LlmCallFilter, string[]][] = [
        [{}, of(...all)],
        [{ sessionId: 's-alpha' }, of(f.alpha)],
        [{ sessionId: traceIdOf(6) }, of(f.foreign)],
        [{ conversationId: 'conv-1' }, of(f.alpha, f.beta, f.epsilon)],
        [{ userId: 'user-1' }, of(f.alpha, f.gamma)],
        [{ userId: 'user-2' }, of(f.beta, f.foreign)],
        // The answering model, or the one asked for.
        [{ model: 'gpt-4o-mini-2024-07-18' }, [...of(f.gamma).slice(1), ...of(f.alpha)]],
        [{ model: 'gpt-4o-mini' }, [...of(f.epsilon), ...of(f.gamma), ...of(f.alpha)]],
        [{ model: 'claude-3-haiku-20240307' }, of(f.delta)],
        [{ model: 'llama-3-70b' }, of(f.foreign)],
        [{ model: 'gpt-4o' }, of(f.beta)],
        [{ status: ['error'] }, of(f.beta)],
        [{ status: ['running'] }, [`${traceIdOf(3)}:${f.gamma.llm_calls[1]!.span_id}`]],
        [{ status: ['ok', 'running'] }, of(f.alpha, f.gamma, f.delta, f.epsilon, f.foreign)],
        [{ sinceMs: T + 2000, untilMs: T + 4002 }, [...of(f.epsilon), ...of(f.delta), ...of(f.gamma)]],
        [{ sinceMs: T + 2000, untilMs: T + 4001 }, [...of(f.delta), ...of(f.gamma)]],
        [{ sinceMs: T + 3201 }, [...of(f.foreign), ...of(f.epsilon)]],
        [{ text: 'REVENUE' }, of(f.alpha)],
        [{ text: 'hardware' }, of(f.delta)],
        [{ text: 'translate: bonjour' }, of(f.beta)],
        [{ text: 'ça va' }, of(f.epsilon)],
        [{ text: 'RÉSUMÉ' }, of(f.epsilon)],
        // Taken literally: no LIKE wildcards.
        [{ text: '%' }, of(f.alpha)],
        [{ text: '_' }, []],
        [{ userId: 'user-1', model: 'gpt-4o-mini', status: ['ok'] }, [of(f.gamma)[1]!, ...of(f.alpha)]],
        [{ conversationId: 'conv-1', text: 'quarterly', sessionId: 's-alpha' }, of(f.alpha)],
        [{ conversationId: 'conv-1', sessionId: 's-gamma' }, []],
      ];
      for (const [filter, expected] of cases) {
        expect(callIds(filter)).toEqual(expected);
        const page = await store.llmCalls(filter, 100);
        expect({ filter, callIds: page.calls.map((row) => row.call_id) }).toEqual({ filter, callIds: expected });
        expect(page.calls).toEqual(rows.filter((row) => expected.includes(row.call_id)).sort(newestCallFirst));
        expect(page.nextCursor).toBeNull();
      }
    });

    it('pages through the call log with equal start times, visiting each call exactly once', async () => {
      const store = await openStore();
      const many = sessionOf({
        trace: 41,
        sessionId: 's-many',
        startMs: T,
        durationMs: 5000,
        userId: 'user-9',
        calls: Array.from({ length: 13 }, (_, index) => ({
          offsetMs: index < 10 ? 100 : 200 + index,
          requestModel: index % 2 === 0 ? 'gpt-4o-mini' : 'gpt-4o',
          inputTokens: index,
          outputTokens: index * 2,
        })),
      });
      const other = sessionOf({
        trace: 42,
        sessionId: 's-other',
        startMs: T,
        durationMs: 5000,
        calls: Array.from({ length: 4 }, () => ({ offsetMs: 100, requestModel: 'gpt-4o-mini', inputTokens: 1 })),
      });
      await store.commit(commitOf([many, other]));
      const expected = [...callRowsOf(many), ...callRowsOf(other)].sort(newestCallFirst);
      expect(new Set(expected.map((row) => row.start_time)).size).toBe(4);
      for (const limit of [1, 3, 17, 50]) {
        const { calls, pages } = await allCallPages(store, {}, limit);
        expect(calls).toEqual(expected);
        expect(pages).toBe(Math.max(1, Math.ceil(17 / limit)));
      }
      const filtered = await allCallPages(store, { model: 'gpt-4o-mini', userId: 'user-9' }, 2);
      expect(filtered.calls).toEqual(
        callRowsOf(many)
          .filter((row) => row.request_model === 'gpt-4o-mini')
          .sort(newestCallFirst),
      );
      expect(filtered.calls).toHaveLength(7);
    });

    it('answers every call in a window, for analytics', async () => {
      const store = await openStore();
      const f = filterFixture();
      const all = Object.values(f);
      await store.commit(commitOf(all));
      const rows = all.flatMap(callRowsOf);
      const windows: StatisticsWindow[] = [
        {},
        { sinceMs: T + 2000 },
        { untilMs: T + 3010 },
        { sinceMs: T + 3010, untilMs: T + 3210 },
        { sinceMs: T + 9000 },
      ];
      const expectedCounts = [8, 6, 4, 2, 0];
      for (const [index, window] of windows.entries()) {
        const expected = rows.filter((row) => matchesCallFilter(row, window)).sort(byCallId);
        expect(expected).toHaveLength(expectedCounts[index]!);
        expect(await collect(store.callFigures(window))).toEqual(expected.map(callFiguresOf).sort(callsOldestFirst));
      }
    });

    it('replaces what it holds of a trace with a later commit: running → completed, renamed session id', async () => {
      const store = await openStore();
      const traceId = traceIdOf(51);
      const { root, calls } = spansOf({
        trace: 51,
        sessionId: 's-renamed',
        startMs: T,
        durationMs: 800,
        task: 'summarize',
        model: 'gpt-4o-mini',
        userId: 'user-1',
        conversationId: 'conv-9',
        calls: [{ offsetMs: 10, durationMs: 500, requestModel: 'gpt-4o-mini', inputTokens: 100, outputTokens: 10, prompt: 'first' }],
      });
      const builder = new SessionBuilder({ prices: PRICES });
      // The call arrives first, running: the session is known by its trace id until its root comes.
      const [early] = builder.ingest([{ ...calls[0]!, endTimeUnixMs: 0 }], T + 100);
      expect(early).toMatchObject({ session_id: traceId, status: 'active', user_id: null });
      expect(early!.llm_calls[0]!.status).toBe('running');
      await store.commit(commitOf([early!]));
      expect(await store.session(traceId)).toEqual(early);
      const [late] = builder.ingest([calls[0]!, root], T + 900);
      expect(late).toMatchObject({ session_id: 's-renamed', status: 'completed', user_id: 'user-1' });
      await store.commit(commitOf([late!]));
      expect(await store.session('s-renamed')).toEqual(late);
      expect(await store.session(traceId)).toBeUndefined();
      expect((await store.sessions({}, 10)).sessions).toEqual([late]);
      expect(await store.sessions({ status: ['active'] }, 10)).toEqual({ sessions: [], nextCursor: null });
      expect((await store.llmCalls({}, 10)).calls).toEqual(callRowsOf(late!));
      expect((await store.llmCalls({ sessionId: traceId }, 10)).calls).toEqual([]);
      expect((await store.llmCalls({ status: ['running'] }, 10)).calls).toEqual([]);
      expect(await collect(store.callFigures({}))).toEqual(callRowsOf(late!).map(callFiguresOf));
      expect(await store.conversation('conv-9', 10)).toEqual({ sessions: [late], total: 1 });
      expect(await collect(store.sessionFigures({}))).toEqual(figuresOf([late!]));
    });

    it('appends the span records of running traces, gives them back for a restart, and drops them when the trace settles (durable stores; the memory store keeps none)', async () => {
      let store = await openStore();
      const traceId = traceIdOf(61);
      const { root, calls } = spansOf({
        trace: 61,
        sessionId: 's-run-1',
        startMs: T,
        durationMs: null,
        model: 'gpt-4o-mini',
        calls: [{ requestModel: 'gpt-4o-mini', durationMs: null, prompt: 'héllo 🎉' }],
      });
      const builder = new SessionBuilder({ prices: PRICES });
      const [early] = builder.ingest([pendingMarker({ ...root, endTimeUnixMs: 0 }), calls[0]!], T + 100);
      const firstRecords = builder.takeUnsaved(traceId)!;
      expect(firstRecords.spans).toHaveLength(2);
      const other = built({ trace: 62, sessionId: 's-run-2', startMs: T + 10, durationMs: null, model: 'gpt-4o' });
      await store.commit(commitOf([early!, other.session], { running: [firstRecords, other.snapshot] }));
      const held = async (): Promise<TraceSnapshot[]> =>
        [...(await store.runningTraces())].sort((a, b) => (a.traceId < b.traceId ? -1 : 1));
      expect(await held()).toEqual(store.durable ? [firstRecords, other.snapshot] : []);
      // The trace goes on: its call ends and a second one starts. Only the new records are committed, and appended.
      const second = span({
        traceId,
        parentSpanId: root.spanId,
        name: 'chat gpt-4o-mini',
        kind: 3,
        startTimeUnixMs: T + 50,
        endTimeUnixMs: 0,
        attributes: { [GEN_AI.operationName]: 'chat', [GEN_AI.requestModel]: 'gpt-4o-mini', [GEN_AI.usageInputTokens]: 7 },
      });
      const [later] = builder.ingest([{ ...calls[0]!, endTimeUnixMs: T + 40 }, second], T + 5000.5);
      const laterRecords = builder.takeUnsaved(traceId)!;
      expect(laterRecords).toMatchObject({ traceId, lastSeenMs: T + 5000.5 });
      expect(laterRecords.spans).toHaveLength(2);
      await store.commit(commitOf([later!], { running: [laterRecords] }));
      const appended: TraceSnapshot = { traceId, lastSeenMs: T + 5000.5, spans: [...firstRecords.spans, ...laterRecords.spans] };
      expect(await held()).toEqual(store.durable ? [appended, other.snapshot] : []);
      // A restart: the records alone rebuild the session as it stood.
      if (store.durable) {
        store = await reopen(store);
        const stored = await held();
        expect(stored).toEqual([appended, other.snapshot]);
        expect(new SessionBuilder({ prices: PRICES }).restore(stored[0]!)).toEqual(later);
        expect(new SessionBuilder({ prices: PRICES }).restore(stored[1]!)).toEqual(other.session);
      }
      // Settled: the records go, the session stays.
      await store.commit(commitOf([], { settled: [traceId] }));
      expect(await store.runningTraces()).toEqual(store.durable ? [other.snapshot] : []);
      await store.commit(commitOf([], { settled: [traceIdOf(62), traceIdOf(999)] }));
      expect(await store.runningTraces()).toEqual([]);
      if (store.durable) expect(await store.session('s-run-1')).toEqual(later);
    });

    it('keeps sessions that left the live window when durable; the memory store forgets them', async () => {
      const store = await openStore();
      const f = filterFixture();
      await store.commit(commitOf(Object.values(f)));
      await store.commit(
        commitOf([], { settled: [f.alpha.trace_id, f.gamma.trace_id], leftLiveWindow: [f.alpha.trace_id, f.gamma.trace_id] }),
      );
      if (store.durable) {
        expect(await store.session('s-alpha')).toEqual(f.alpha);
        expect(ids((await store.sessions({}, 10)).sessions)).toEqual(ids([f.foreign, f.epsilon, f.delta, f.gamma, f.beta, f.alpha]));
        expect((await store.llmCalls({ sessionId: 's-gamma' }, 10)).calls).toEqual(callRowsOf(f.gamma).sort(newestCallFirst));
        expect((await store.conversation('conv-1', 10)).total).toBe(3);
      } else {
        expect(await store.session('s-alpha')).toBeUndefined();
        expect(await store.session('s-gamma')).toBeUndefined();
        expect(ids((await store.sessions({}, 10)).sessions)).toEqual(ids([f.foreign, f.epsilon, f.delta, f.beta]));
        expect((await store.llmCalls({ sessionId: 's-gamma' }, 10)).calls).toEqual([]);
        expect((await collect(store.callFigures({}))).map((row) => row.session_id).sort()).toEqual(
          ['s-beta', 's-delta', 's-delta', 's-epsilon', traceIdOf(6)].sort(),
        );
        expect(await store.conversation('conv-1', 10)).toEqual({ sessions: [f.beta, f.epsilon], total: 2 });
        expect((await collect(store.sessionFigures({}))).map((summary) => summary.session_id).sort()).toEqual(
          ['s-beta', 's-delta', 's-epsilon', traceIdOf(6)].sort(),
        );
      }
    });

    it('keeps what was committed across a restart when durable', async () => {
      let store = await openStore();
      const f = filterFixture();
      await store.commit(commitOf(Object.values(f)));
      store = await reopen(store);
      if (store.durable) {
        expect((await store.sessions({}, 10)).sessions).toEqual([f.foreign, f.epsilon, f.delta, f.gamma, f.beta, f.alpha]);
        expect((await store.llmCalls({}, 100)).calls).toEqual(Object.values(f).flatMap(callRowsOf).sort(newestCallFirst));
      } else {
        expect((await store.sessions({}, 10)).sessions).toEqual([]);
      }
    });

    it('deletes sessions that started before a cutoff, in batches, with their calls and held spans', async () => {
      const store = await openStore();
      const specs = Array.from({ length: 7 }, (_, index): SessionSpec => ({
        trace: 70 + index,
        sessionId: `s-old-${index}`,
        startMs: T + index * 1000,
        durationMs: index === 1 ? null : 100,
        calls: [
          { requestModel: 'gpt-4o-mini', inputTokens: index, outputTokens: 1 },
          { offsetMs: 50, requestModel: 'gpt-4o', inputTokens: 1 },
        ],
      }));
      const made = specs.map(built);
      await store.commit(
        commitOf(
          made.map((entry) => entry.session),
          { running: [made[1]!.snapshot, made[6]!.snapshot] },
        ),
      );
      // Sessions 0–4 started before the cutoff; 5 starts exactly at it and stays.
      const cutoff = T + 5000;
      expect(await store.deleteBefore(cutoff, 2)).toBe(2);
      expect(await store.deleteBefore(cutoff, 2)).toBe(2);
      expect(await store.deleteBefore(cutoff, 2)).toBe(1);
      expect(await store.deleteBefore(cutoff, 2)).toBe(0);
      const kept = [made[6]!.session, made[5]!.session];
      expect((await store.sessions({}, 100)).sessions).toEqual(kept);
      for (const index of [0, 1, 2, 3, 4]) expect(await store.session(`s-old-${index}`)).toBeUndefined();
      expect((await store.llmCalls({}, 100)).calls).toEqual(kept.flatMap(callRowsOf).sort(newestCallFirst));
      expect(await collect(store.callFigures({}))).toEqual(kept.flatMap(callRowsOf).map(callFiguresOf).sort(callsOldestFirst));
      expect((await collect(store.sessionFigures({}))).map((summary) => summary.session_id).sort()).toEqual(['s-old-5', 's-old-6']);
      expect(await store.runningTraces()).toEqual(store.durable ? [made[6]!.snapshot] : []);
      // Everything, in one batch large enough.
      expect(await store.deleteBefore(T + 10 ** 9, 1000)).toBe(2);
      expect(await store.sessions({}, 100)).toEqual({ sessions: [], nextCursor: null });
      expect(await collect(store.callFigures({}))).toEqual([]);
      expect(await store.runningTraces()).toEqual([]);
    });

    it('keeps numbers exactly: token counts up to 2^53 − 1, fractional durations, costs', async () => {
      const store = await openStore();
      const max = Number.MAX_SAFE_INTEGER;
      const huge = sessionOf({
        trace: 81,
        sessionId: 's-numbers',
        startMs: T + 0.25,
        durationMs: 1234.5678,
        model: 'gpt-4o-mini',
        task: 'numbers',
        calls: [
          { offsetMs: 0.5, durationMs: 333.333, requestModel: 'gpt-4o-mini', inputTokens: max, outputTokens: max },
          { offsetMs: 400.125, durationMs: 0.001, requestModel: 'gpt-4o', inputTokens: 1, outputTokens: 3 },
          { offsetMs: 500, durationMs: 12.5, requestModel: 'gpt-4o-mini', inputTokens: 7, outputTokens: 0 },
        ],
      });
      const rows = callRowsOf(huge);
      // The fixture says what it tests.
      expect(huge.llm_calls[0]).toMatchObject({ input_tokens: max, output_tokens: max });
      expect(rows[0]!.total_tokens).toBe(max);
      expect(huge.token_counts.input).toBe(max);
      expect(Number.isInteger(huge.duration_ms)).toBe(false);
      expect(Number.isInteger(rows[1]!.duration_ms)).toBe(false);
      expect(rows[1]!.cost_usd).toBeGreaterThan(0);
      expect(Number.isInteger(huge.cost_usd)).toBe(false);
      await store.commit(commitOf([huge]));
      expect(await store.session('s-numbers')).toEqual(huge);
      expect((await store.sessions({ task: 'numbers' }, 10)).sessions).toEqual([huge]);
      expect((await store.llmCalls({ sessionId: 's-numbers' }, 10)).calls).toEqual([...rows].sort(newestCallFirst));
      expect(await collect(store.callFigures({}))).toEqual(rows.map(callFiguresOf).sort(callsOldestFirst));
      expect(await collect(store.sessionFigures({}))).toEqual(figuresOf([huge]));
    });

    it('keeps text exactly: unicode everywhere, and metadata keys such as __proto__ stay data', async () => {
      const store = await openStore();
      const odd = sessionOf({
        trace: 91,
        sessionId: 'sess-ünï-🎉-日本',
        startMs: T,
        task: 'tâche ✓',
        model: 'gpt-4o-mini',
        processorType: 'тип',
        conversationId: 'conv-😀',
        userId: 'usér-ß',
        content: 'Line 1\nLine 2\t"quoted" \\ back\'slash — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷽',
        result: 'R\u00e9sultat\u2028ok',
        // A computed key: `'__proto__': …` in a literal would set the prototype, not a key.
        metadata: {
          ['__proto__']: '{"polluted":true}',
          constructor: 'not a function',
          'clé-🔑': 'välue',
          options: '{"temperature":0.2,"nested":{"a":[1,"two",null]}}',
          empty: '',
        },
        calls: [{ requestModel: 'gpt-4o-mini', prompt: '¿Qué tal? 👋🏽', response: 'Très bien — 很好', inputTokens: 5, outputTokens: 5 }],
      });
      expect(Object.prototype.hasOwnProperty.call(odd.metadata, '__proto__')).toBe(true);
      await store.commit(commitOf([odd]));
      const back = (await store.session('sess-ünï-🎉-日本'))!;
      expect(back).toEqual(odd);
      expect(Object.keys(back.metadata).sort()).toEqual(Object.keys(odd.metadata).sort());
      expect(Object.getPrototypeOf(back.metadata)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(back.metadata, '__proto__')?.value).toEqual({ polluted: true });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(back.metadata.constructor).toBe('not a function');
      expect((await store.sessions({ processorType: 'тип', conversationId: 'conv-😀', text: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢' }, 10)).sessions).toEqual([odd]);
      expect((await store.llmCalls({ userId: 'usér-ß', text: '👋🏽' }, 10)).calls).toEqual(callRowsOf(odd));
      expect(await store.conversation('conv-😀', 10)).toEqual({ sessions: [odd], total: 1 });
    });

    it('keeps text a span may carry that databases find awkward: NUL, lone surrogates in metadata (U+FFFD in PostgreSQL, which cannot hold them), control characters', async () => {
      const store = await openStore();
      const awkward = sessionOf({
        trace: 92,
        sessionId: 's-awkward',
        startMs: T,
        model: 'gpt-4o-mini',
        content: 'before\u0000after, and \\u0000 as six characters',
        result: '\u0001\u001f\u007f\\',
        // A lone surrogate: as a key, and in JSON the session decodes (string values are made well-formed on admission).
        metadata: {
          ['nul\u0000key']: 'a\u0000b',
          plain: '\\\u0000',
          ['lone\ud800']: 'x',
          json: '{"k\\udc00":"v\\ud800","ok":"\\ud83d\\ude00"}',
        },
        calls: [{ requestModel: 'gpt-4o-mini', prompt: 'p\u0000', response: '\u0000', inputTokens: 1 }],
      });
      expect(awkward.content_preview).toBe('before\u0000after, and \\u0000 as six characters');
      expect(awkward.metadata).toEqual({
        'nul\u0000key': 'a\u0000b',
        plain: '\\\u0000',
        'lone\ud800': 'x',
        json: { 'k\udc00': 'v\ud800', ok: '😀' },
      });
      await store.commit(commitOf([awkward]));
      // PostgreSQL cannot hold U+0000 or a lone surrogate: there each becomes U+FFFD, in keys too, and nothing else changes.
      const stored = store.kind === 'postgres' ? asPostgresKeepsIt(awkward) : awkward;
      if (store.kind === 'postgres') {
        expect(stored.content_preview).toBe('before\ufffdafter, and \\u0000 as six characters');
        expect(stored.metadata).toEqual({
          'nul\ufffdkey': 'a\ufffdb',
          plain: '\\\ufffd',
          'lone\ufffd': 'x',
          json: { 'k\ufffd': 'v\ufffd', ok: '😀' },
        });
      }
      expect(await store.session('s-awkward')).toEqual(stored);
      expect((await store.llmCalls({}, 10)).calls).toEqual(callRowsOf(stored));
      expect(await collect(store.callFigures({}))).toEqual(callRowsOf(stored).map(callFiguresOf));
      expect((await store.sessions({ text: 'after' }, 10)).sessions).toEqual([stored]);
      // A NUL in a query finds what a NUL was stored as, and breaks nothing.
      expect((await store.sessions({ text: 'before\u0000AFTER' }, 10)).sessions).toEqual([stored]);
      expect((await store.llmCalls({ text: 'P\u0000' }, 10)).calls).toEqual(callRowsOf(stored));
      expect(await store.session('s-awkward\u0000')).toBeUndefined();
      expect(await store.conversation('c\u0000', 10)).toEqual({ sessions: [], total: 0 });
      // The held spans of a running trace too.
      const running = built({
        trace: 93,
        sessionId: 's-awkward-running',
        startMs: T,
        durationMs: null,
        content: 'x\u0000',
        metadata: { ['k\ud800']: '{"a\\ud800":1}' },
      });
      await store.commit(commitOf([running.session], { running: [running.snapshot] }));
      expect(await store.session('s-awkward-running')).toEqual(
        store.kind === 'postgres' ? asPostgresKeepsIt(running.session) : running.session,
      );
      expect(await store.runningTraces()).toEqual(
        store.durable ? [store.kind === 'postgres' ? asPostgresKeepsIt(running.snapshot) : running.snapshot] : [],
      );
    });

    it('takes a large group commit in one go', async () => {
      const store = await openStore();
      const sessions = Array.from({ length: 400 }, (_, index) =>
        sessionOf({
          trace: 1000 + index,
          sessionId: `bulk-${String(index).padStart(3, '0')}`,
          startMs: T + Math.floor(index / 10),
          userId: `user-${index % 7}`,
          calls: [{ requestModel: 'gpt-4o-mini', inputTokens: index, outputTokens: 1 }],
        }),
      );
      await store.commit(commitOf(sessions));
      const { sessions: visited, pages } = await allSessionPages(store, {}, 150);
      expect(ids(visited)).toEqual(ids([...sessions].sort(newestFirst)));
      expect(pages).toBe(3);
      expect((await allCallPages(store, { userId: 'user-3' }, 1000)).calls).toEqual(
        sessions
          .flatMap(callRowsOf)
          .filter((row) => row.user_id === 'user-3')
          .sort(newestCallFirst),
      );
    });

    describe('replicas sharing it', () => {
      it('is shared when durable and opened with a replica id; the memory store never is', async () => {
        const alone = await openStore();
        expect({ replicaId: alone.replicaId, shared: alone.shared }).toEqual({ replicaId: '', shared: false });
        expect(await alone.foreignRecords([traceIdOf(1)], new Map())).toEqual([]);
        const replica = await openStore({ replicaId: 'replica-a' });
        expect({ replicaId: replica.replicaId, shared: replica.shared }).toEqual(
          replica.durable ? { replicaId: 'replica-a', shared: true } : { replicaId: '', shared: false },
        );
      });

      it('gives a restarting replica the traces it (or a receiver without id) appended to and did not settle, with every record of them — not the traces only others hold', async () => {
        const a = await openStore({ replicaId: 'a' });
        const b = await openStore({ replicaId: 'b' });
        const legacy = await openStore();
        const ofA = recordsOf(201, ['a1', 'a2'], T + 10);
        const ofB = recordsOf(201, ['b1'], T + 20);
        const onlyB = recordsOf(202, ['b2'], T + 5);
        const old = recordsOf(203, ['l1'], T + 1);
        await legacy.commit(commitOf([], { running: [old] }));
        await a.commit(commitOf([], { running: [ofA] }));
        await b.commit(commitOf([], { running: [ofB, onlyB] }));
        if (!a.durable) {
          expect(await a.runningTraces()).toEqual([]);
          return;
        }
        const split: TraceSnapshot = { traceId: traceIdOf(201), lastSeenMs: T + 20, spans: [...ofA.spans, ...ofB.spans] };
        expect((await a.runningTraces()).sort(byTraceId)).toEqual([split, old]);
        expect((await b.runningTraces()).sort(byTraceId)).toEqual([split, onlyB, old]);
        // A receiver without id appends untagged records, and takes back only those.
        expect(await legacy.runningTraces()).toEqual([old]);
        const restarted = await reopen(a, { replicaId: 'a' });
        expect((await restarted.runningTraces()).sort(byTraceId)).toEqual([split, old]);
      });

      it("answers the other replicas' records of the given traces beyond the cursor, one entry per trace and replica, never its own or untagged ones", async () => {
        const a = await openStore({ replicaId: 'a' });
        const b = await openStore({ replicaId: 'b' });
        const c = await openStore({ replicaId: 'c' });
        const legacy = await openStore();
        const traceId = traceIdOf(211);
        const ofA = recordsOf(211, ['a1'], T + 1);
        const ofB = recordsOf(211, ['b1', 'b2'], T + 2);
        const ofBElsewhere = recordsOf(212, ['b3'], T + 3);
        const ofC = recordsOf(211, ['c1'], T + 4);
        await legacy.commit(commitOf([], { running: [recordsOf(211, ['l1'])] }));
        await a.commit(commitOf([], { running: [ofA] }));
        await b.commit(commitOf([], { running: [ofB, ofBElsewhere] }));
        await c.commit(commitOf([], { running: [ofC] }));
        if (!a.shared) {
          expect(await a.foreignRecords([traceId], new Map())).toEqual([]);
          return;
        }
        const first = await a.foreignRecords([traceId], new Map());
        expect(withoutSeq(first)).toEqual([
          { traceId, replica: 'b', lastSeenMs: T + 2, spans: ofB.spans },
          { traceId, replica: 'c', lastSeenMs: T + 4, spans: ofC.spans },
        ]);
        expect(withoutSeq(await b.foreignRecords([traceId], new Map()))).toEqual([
          { traceId, replica: 'a', lastSeenMs: T + 1, spans: ofA.spans },
          { traceId, replica: 'c', lastSeenMs: T + 4, spans: ofC.spans },
        ]);
        // Nothing new beyond the cursor.
        const cursor = cursorAfter(first);
        expect(await a.foreignRecords([traceId], cursor)).toEqual([]);
        // b goes on: only its new records come, for the traces asked about (the one a never read from the start).
        const later = recordsOf(211, ['b4'], T + 9);
        await b.commit(commitOf([], { running: [later] }));
        const next = await a.foreignRecords([traceId, traceIdOf(212), traceIdOf(999)], cursor);
        expect(withoutSeq(next)).toEqual([
          { traceId, replica: 'b', lastSeenMs: T + 9, spans: later.spans },
          { traceId: traceIdOf(212), replica: 'b', lastSeenMs: T + 3, spans: ofBElsewhere.spans },
        ]);
        expect(next.find((entry) => entry.traceId === traceId)!.seq).toBeGreaterThan(cursor.get(traceId)!.get('b')!);
        expect(await a.foreignRecords([traceId, traceIdOf(212)], cursorAfter(next, cursor))).toEqual([]);
        expect(await a.foreignRecords([], new Map())).toEqual([]);
      });

      it('keeps the records of a trace a replica settles while another still holds it running, and lets them go with the last settle', async () => {
        const a = await openStore({ replicaId: 'a' });
        const b = await openStore({ replicaId: 'b' });
        const traceId = traceIdOf(221);
        const ofA = recordsOf(221, ['a1'], T + 1);
        const ofB = recordsOf(221, ['b1'], T + 2);
        await a.commit(commitOf([], { running: [ofA] }));
        await b.commit(commitOf([], { running: [ofB] }));
        // a's session ends: its last records go in with the settle, for b to merge.
        const lastOfA = recordsOf(221, ['a-last'], T + 50);
        await a.commit(commitOf([], { running: [lastOfA], settled: [traceId] }));
        if (!a.durable) {
          expect(await b.runningTraces()).toEqual([]);
          return;
        }
        // a is done with it (a restart does not bring it back); b holds it, and can merge a's records.
        expect(await a.runningTraces()).toEqual([]);
        expect(await b.runningTraces()).toEqual([{ traceId, lastSeenMs: T + 50, spans: [...ofA.spans, ...ofB.spans, ...lastOfA.spans] }]);
        if (a.shared) {
          expect(withoutSeq(await b.foreignRecords([traceId], new Map()))).toEqual([
            { traceId, replica: 'a', lastSeenMs: T + 50, spans: [...ofA.spans, ...lastOfA.spans] },
          ]);
        }
        // b ends it too: every record goes.
        await b.commit(commitOf([], { settled: [traceId] }));
        expect(await b.runningTraces()).toEqual([]);
        expect(await b.foreignRecords([traceId], new Map())).toEqual([]);
        // A trace no other replica holds goes at the first settle.
        await a.commit(commitOf([], { running: [recordsOf(222, ['a2'])] }));
        await a.commit(commitOf([], { settled: [traceIdOf(222)] }));
        expect(await a.runningTraces()).toEqual([]);
        expect(await b.foreignRecords([traceIdOf(222)], new Map())).toEqual([]);
        // A replica appending to a trace it settled (a late span revived its session) holds it again.
        const first = recordsOf(223, ['a3'], T + 1);
        const ofBToo = recordsOf(223, ['b3'], T + 2);
        await a.commit(commitOf([], { running: [first] }));
        await b.commit(commitOf([], { running: [ofBToo] }));
        await a.commit(commitOf([], { settled: [traceIdOf(223)] }));
        expect(await a.runningTraces()).toEqual([]);
        const revived = recordsOf(223, ['a4'], T + 3);
        await a.commit(commitOf([], { running: [revived] }));
        expect(await a.runningTraces()).toEqual([
          { traceId: traceIdOf(223), lastSeenMs: T + 3, spans: [...first.spans, ...ofBToo.spans, ...revived.spans] },
        ]);
        // Retention takes the records and who held them with the session.
        const session = built({ trace: 223, sessionId: 's-retained', startMs: T, durationMs: null }).session;
        await a.commit(commitOf([session]));
        expect(await a.deleteBefore(T + 1000, 10)).toBe(1);
        expect(await a.runningTraces()).toEqual([]);
        expect(await b.runningTraces()).toEqual([]);
      });

      it('does not replace a row with one built from fewer spans, nor its calls; as many or more replace it', async () => {
        const store = await openStore();
        const spec = (calls: SessionSpec['calls'], durationMs: number | null = null): SessionSpec => ({
          trace: 231,
          sessionId: 's-split',
          startMs: T,
          durationMs,
          model: 'gpt-4o-mini',
          calls,
        });
        const fuller = sessionOf(
          spec([
            { requestModel: 'gpt-4o-mini', inputTokens: 5 },
            { offsetMs: 20, requestModel: 'gpt-4o', inputTokens: 7 },
          ]),
        );
        // Another replica's view of the same trace: part of its spans (its call has an id of its own).
        const partial = sessionOf(spec([{ requestModel: 'gpt-4o-mini', inputTokens: 5 }]));
        const counts = (spanCount: number, ...more: [string, number][]): Map<string, number> =>
          new Map([[traceIdOf(231), spanCount], ...more]);
        await store.commit(commitOf([fuller], { spanCounts: counts(3) }));
        const other = sessionOf({ trace: 232, sessionId: 's-other', startMs: T + 1, calls: [{ requestModel: 'gpt-4o', inputTokens: 1 }] });
        // In one commit: the partial row is refused (with its call), the other is written (with its call).
        await store.commit(commitOf([partial, other], { spanCounts: counts(2, [other.trace_id, 2]) }));
        expect(await store.session('s-split')).toEqual(fuller);
        expect(await store.session('s-other')).toEqual(other);
        expect((await store.llmCalls({}, 10)).calls).toEqual([...callRowsOf(fuller), ...callRowsOf(other)].sort(newestCallFirst));
        // A row without a count counts 0: it does not replace one built from spans either.
        await store.commit(commitOf([partial]));
        expect(await store.session('s-split')).toEqual(fuller);
        // As many spans (the same replica's next version: abandoned, settled) replace it.
        const ended = sessionOf(
          spec(
            [
              { requestModel: 'gpt-4o-mini', inputTokens: 5 },
              { offsetMs: 20, requestModel: 'gpt-4o', inputTokens: 7 },
            ],
            100,
          ),
        );
        await store.commit(commitOf([ended], { spanCounts: counts(3) }));
        expect(await store.session('s-split')).toEqual(ended);
        // More spans replace it too.
        await store.commit(commitOf([partial], { spanCounts: counts(4) }));
        expect(await store.session('s-split')).toEqual(partial);
      });
    });
  });
}
