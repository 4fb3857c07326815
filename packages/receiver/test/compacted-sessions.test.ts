/**
 * An ended session whose trace let its spans go is compacted in the live window: its details are
 * deflated and inflated when read. Nothing a user sees changes — the REST answer is the same JSON,
 * in the same key order — and late spans of its trace are refused as too late, with a reason.
 */
import { describe, expect, it, afterEach } from 'vitest';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { MemorySessionStore, MemoryHistoryStore, SessionPipeline } from '@llm-monitor/sessions';
import { decodeTraceRequestProtobuf } from '../src/otlp/decode-protobuf.js';
import {
  compactedBytesOf,
  compactedSession,
  DETAIL_KEYS,
  expandedSession,
  isCompacted,
  SUMMARY_KEYS,
} from '../src/pipeline/compacted-session.js';
import type { Receiver } from '../src/index.js';
import { requestOf, sessionIdOf, sessionRequests } from '../../../test/support/session-requests.mjs';
import { LiveHub } from '../src/live/live-hub.js';
import { subscriptionOf } from '../src/live/subscriptions.js';
import type { LiveEvent } from '@llm-monitor/sessions';
import { buildQuietReceiver } from './quiet-receiver.js';

const TRACE_MARK = 'c0ba1ade';
const SESSION_MARK = 'compacted-';
const made = await sessionRequests({ sessionsPerRequest: 4, traceMark: TRACE_MARK, sessionMark: SESSION_MARK });
const protobuf = made.template('protobuf');

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** Sessions built from a real request (our instrumentation's spans, protobuf) as the receiver builds them. */
function builtSessions(): ProcessingSession[] {
  const pipeline = new SessionPipeline();
  pipeline.ingest(decodeTraceRequestProtobuf(requestOf(protobuf, 1)).spans, Date.now());
  const sessions = [...pipeline.store.values()];
  expect(sessions).toHaveLength(made.sessionsPerRequest);
  return sessions;
}

describe('a compacted session', () => {
  it('is the same session: the same JSON in the same key order, the same fields, smaller', () => {
    for (const session of builtSessions()) {
      const compact = compactedSession(session);
      expect(isCompacted(compact)).toBe(true);
      expect(isCompacted(session)).toBe(false);
      expect(JSON.stringify(compact)).toBe(JSON.stringify(session));
      expect(expandedSession(compact)).toEqual(session);
      expect(compact.stages).toEqual(session.stages);
      expect(compact.llm_calls).toEqual(session.llm_calls);
      expect(compact.status).toBe(session.status);
      expect(compactedSession(compact)).toBe(compact);
      expect(compactedBytesOf(compact)).toBeGreaterThan(0);
      expect(compactedBytesOf(compact)).toBeLessThan(JSON.stringify(session).length / 3);
    }
  });

  it('places every field of the session model: kept as it is, or deflated with the details', () => {
    // A session with every optional field: a new field of the model shows here and must be placed.
    const [session] = builtSessions();
    const whole = { ...session!, limits_hit: [{ limit: 'max_steps_per_session', item: 'step', count: 1 }] };
    const placed = new Set<string>([...SUMMARY_KEYS, ...DETAIL_KEYS]);
    expect(Object.keys(whole).filter((key) => !placed.has(key))).toEqual([]);
    const compact = compactedSession(whole as ProcessingSession);
    expect(compact.limits_hit).toEqual(whole.limits_hit);
    expect(JSON.stringify(compact)).toBe(JSON.stringify(whole));
    // A field the lists do not know still survives, deflated.
    const grown = { ...session!, future_field: { kept: true } } as ProcessingSession;
    expect(JSON.parse(JSON.stringify(compactedSession(grown)))).toMatchObject({ future_field: { kept: true } });
  });

  it('takes the place of its whole form in the memory history, which held the same object', async () => {
    const history = new MemoryHistoryStore();
    const [session] = builtSessions();
    await history.commit({ sessions: [session!], running: [], settled: [], leftLiveWindow: [] });
    const compact = compactedSession(session!);
    history.adopt(compact);
    expect(await history.session(session!.session_id)).toBe(compact);
    // Another trace's session of the same id is not replaced.
    history.adopt({ ...expandedSession(compact), trace_id: 'f'.repeat(32) });
    expect(await history.session(session!.session_id)).toBe(compact);
  });
});

describe('a receiver', () => {
  it('compacts ended sessions after release_spans_after_seconds, answers them as before and refuses their late spans', async () => {
    receiver = await buildQuietReceiver({ releaseSpansAfterSeconds: 0.3, sweepIntervalSeconds: 0.1 });
    const { apiUrl, otlpTracesUrl } = await receiver.listen();
    const jsonBody = requestOf(made.template('json'), 1);
    const post = async (): Promise<{ status: number; rejected: number; message: string }> => {
      const response = await fetch(otlpTracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody });
      const answer = (await response.json()) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
      return {
        status: response.status,
        rejected: Number(answer.partialSuccess?.rejectedSpans ?? 0),
        message: answer.partialSuccess?.errorMessage ?? '',
      };
    };
    expect(await post()).toMatchObject({ status: 200, rejected: 0 });
    const sessionId = sessionIdOf(SESSION_MARK, 1, 0);
    const detail = async (): Promise<string> => {
      const response = await fetch(`${apiUrl}/api/monitoring/sessions/${sessionId}`);
      expect(response.status).toBe(200);
      return response.text();
    };
    const before = await detail();
    expect(JSON.parse(before)).toMatchObject({ status: 'completed' });

    await expect.poll(() => receiver!.pipeline.stats().sessionsCompacted, { timeout: 5000, interval: 50 }).toBe(made.sessionsPerRequest);
    expect(isCompacted(receiver.pipeline.store.get(sessionId)!)).toBe(true);
    expect(receiver.pipeline.stats()).toMatchObject({ spans: 0, releasedTraces: made.sessionsPerRequest });
    expect(await detail()).toBe(before);
    // The same request again: every span is late now.
    expect(await post()).toMatchObject({
      status: 200,
      rejected: made.spansPerRequest,
      message: expect.stringMatching(/already ended or removed/),
    });
    expect(await detail()).toBe(before);
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^llm_monitor_receiver_sessions_compacted_total ${made.sessionsPerRequest}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^llm_monitor_receiver_held_traces\\{kind="released"\\} ${made.sessionsPerRequest}$`, 'm'));
  });
});

describe('the live hub', () => {
  it('still tells the removal of a session compacted while a client watched, and nothing else of it', async () => {
    const store = new MemorySessionStore();
    // Statistics every 10 ms: what clients were told is pruned every 10 of those.
    const hub = new LiveHub(store, { tickMs: 5, statisticsEveryMs: 10 });
    const received: LiveEvent[] = [];
    const disconnect = hub.connect({
      subscription: subscriptionOf(undefined, {}),
      deliver: (events) => received.push(...events),
      close: () => undefined,
    });
    const [session] = builtSessions();
    store.upsert({ ...session!, status: 'active', end_time: null }, 0);
    store.upsert(session!, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const toldBefore = received.length;
    expect(received.some((event) => event.type === 'session_completed')).toBe(true);
    store.replace(session!.session_id, compactedSession(session!));
    // Past a pruning of what clients were told.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(received).toHaveLength(toldBefore);
    store.evictOldest();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.at(-1)).toEqual({
      type: 'session_removed',
      session_id: session!.session_id,
    });
    disconnect();
  });
});
