/**
 * Ingest over a history store that fails: OTLP requests are acknowledged only once what they carried
 * is committed. While commits fail, `POST /v1/traces` answers 503 with Retry-After and a
 * google.rpc.Status naming LLMMON_ERR_STORE_UNAVAILABLE, and /readyz says the store is unhealthy;
 * once the database answers again ingest takes requests, and every acknowledged session is there.
 */
import { ATTR_SESSION_ID, ATTR_SPAN_TYPE, ATTR_TASK, GEN_AI, SPAN_TYPE } from '@llm-monitor/semconv';
import { MemoryHistoryStore } from '@llm-monitor/sessions';
import type { HistoryCommit, HistoryStore } from '@llm-monitor/sessions';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test/support/wait.js';
import { buildReceiver, LlmMonitorError } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { encodeTraceRequest, nanos, wire } from './otlp-wire.js';

/** The memory history store, with commits and pings that fail while `broken`. */
class FailingStore extends MemoryHistoryStore implements HistoryStore {
  broken = false;
  readonly commits: HistoryCommit[] = [];
  failedCommits = 0;

  override async commit(commit: HistoryCommit): Promise<void> {
    if (this.broken) {
      this.failedCommits += 1;
      throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'SQLite /data/history.db: database or disk is full (SQLITE_FULL)');
    }
    this.commits.push(commit);
    await super.commit(commit);
  }

  override async ping(): Promise<void> {
    if (this.broken) throw new LlmMonitorError('LLMMON_ERR_STORE_UNAVAILABLE', 'SQLite /data/history.db: still full');
  }
}

let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const NOW = Date.now();

/** One session of ours (a root span and an LLM call) as an OTLP/JSON request. */
function jsonRequest(n: number, sessionId: string): string {
  const traceId = `ab${n.toString(16).padStart(30, '0')}`;
  const root = `${n.toString(16).padStart(8, '0')}00000001`;
  const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [attribute('service.name', 'ingest-test')] },
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: root,
                name: 'llm_monitor.session answer',
                kind: 1,
                startTimeUnixNano: String(nanos(NOW)),
                endTimeUnixNano: String(nanos(NOW + 500)),
                attributes: [
                  attribute(ATTR_SPAN_TYPE, SPAN_TYPE.session),
                  attribute(ATTR_SESSION_ID, sessionId),
                  attribute(ATTR_TASK, 'answer'),
                ],
                status: { code: 1 },
              },
              {
                traceId,
                spanId: `${n.toString(16).padStart(8, '0')}00000002`,
                parentSpanId: root,
                name: 'chat gpt-4o-mini',
                kind: 3,
                startTimeUnixNano: String(nanos(NOW + 10)),
                endTimeUnixNano: String(nanos(NOW + 400)),
                attributes: [
                  attribute(GEN_AI.operationName, 'chat'),
                  attribute(GEN_AI.requestModel, 'gpt-4o-mini'),
                  { key: GEN_AI.usageInputTokens, value: { intValue: '12' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
}

/** A running GenAI call as an OTLP/protobuf request. */
function protobufRequest(n: number): Buffer {
  return encodeTraceRequest([
    {
      resource: wire.attributes({ 'service.name': wire.string('ingest-test') }),
      spans: [
        {
          traceId: `cd${n.toString(16).padStart(30, '0')}`,
          spanId: `${n.toString(16).padStart(8, '0')}000000aa`,
          name: 'chat',
          kind: 3,
          startTimeUnixNano: nanos(NOW),
          endTimeUnixNano: 0n,
          attributes: wire.attributes({ [GEN_AI.requestModel]: wire.string('gpt-4o'), [GEN_AI.operationName]: wire.string('chat') }),
        },
      ],
    },
  ]);
}

async function started(history: FailingStore): Promise<Receiver> {
  receiver = await buildReceiver({ storageUrl: 'memory:', logLevel: 'silent', port: 0, otlpPort: 0, otlpGrpcPort: 0 }, { history });
  // Listening, so that /readyz judges the store alone (the ingest component wants a bound port).
  await receiver.listen();
  return receiver;
}

function postJson(target: Receiver, body: string) {
  return target.otlpServer.inject({ method: 'POST', url: '/v1/traces', payload: body, headers: { 'content-type': 'application/json' } });
}

function postProtobuf(target: Receiver, body: Buffer) {
  return target.otlpServer.inject({
    method: 'POST',
    url: '/v1/traces',
    payload: body,
    headers: { 'content-type': 'application/x-protobuf' },
  });
}

interface Readiness {
  status: string;
  components: {
    store: {
      status: string;
      details: {
        history: { kind: string; healthy: boolean; error: string | null; failedCommits: number; pending: number; commits: number };
      };
    };
  };
}

async function readyz(target: Receiver): Promise<{ statusCode: number; body: Readiness }> {
  const response = await target.apiServer.inject({ method: 'GET', url: '/readyz' });
  return { statusCode: response.statusCode, body: response.json() };
}

describe('ingest over a failing history store', () => {
  it('answers 503 with Retry-After while commits fail, says so in /readyz, and loses nothing it acknowledged', async () => {
    const history = new FailingStore();
    const target = await started(history);

    // Working: acknowledged once committed — the session is in the history store when the answer comes.
    const before = await postJson(target, jsonRequest(1, 's-before'));
    expect(before.statusCode).toBe(200);
    expect(await history.session('s-before')).toEqual(target.pipeline.store.get('s-before'));
    expect(history.commits).toHaveLength(1);
    expect((await readyz(target)).statusCode).toBe(200);

    // The disk fills up. The request that finds out is answered 503: not acknowledged.
    history.broken = true;
    const first = await postJson(target, jsonRequest(2, 's-during'));
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe('5');
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    expect(first.json()).toEqual({ code: 14, message: expect.stringMatching(/^LLMMON_ERR_STORE_UNAVAILABLE: .*SQLITE_FULL/), details: [] });
    expect(await history.session('s-during')).toBeUndefined();

    // Later requests are refused before they are read, in their own encoding.
    const second = await postProtobuf(target, protobufRequest(3));
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('5');
    expect(second.headers['content-type']).toBe('application/x-protobuf');
    // google.rpc.Status: field 1 (code) = 14, then field 2 (message).
    expect([...second.rawPayload.subarray(0, 3)]).toEqual([0x08, 14, 0x12]);
    expect(second.rawPayload.toString('utf8')).toContain('LLMMON_ERR_STORE_UNAVAILABLE');
    expect(target.pipeline.store.get(`cd${(3).toString(16).padStart(30, '0')}`)).toBeUndefined();
    const refusedJson = await postJson(target, jsonRequest(4, 's-refused'));
    expect(refusedJson.statusCode).toBe(503);
    expect(refusedJson.json().message).toMatch(/^LLMMON_ERR_STORE_UNAVAILABLE: /);

    // /readyz: the store component is unhealthy, with why.
    const unready = await readyz(target);
    expect(unready.statusCode).toBe(503);
    expect(unready.body.status).toBe('unhealthy');
    expect(unready.body.components.store.status).toBe('unhealthy');
    expect(unready.body.components.store.details.history).toMatchObject({
      kind: 'memory',
      healthy: false,
      error: expect.stringContaining('SQLITE_FULL'),
      failedCommits: 1,
    });
    expect(unready.body.components.store.details.history.pending).toBeGreaterThanOrEqual(1);

    // The database answers again: within a probe (every second) the writer commits what was pending
    // and ingest takes requests.
    history.broken = false;
    await until('/readyz to answer 200', async () => (await readyz(target)).statusCode === 200, 10_000, 50);
    const ready = await readyz(target);
    expect(ready.body.components.store.status).toBe('healthy');
    expect(ready.body.components.store.details.history).toMatchObject({ healthy: true, error: null, pending: 0 });
    // What the refused request had changed is committed by the probe, though nothing acknowledged it.
    expect(await history.session('s-during')).toEqual(target.pipeline.store.get('s-during'));

    // The senders retry what was refused: now acknowledged, and committed by then.
    for (const [retry, sessionId] of [
      [() => postJson(target, jsonRequest(2, 's-during')), 's-during'],
      [() => postJson(target, jsonRequest(4, 's-refused')), 's-refused'],
    ] as const) {
      const response = await retry();
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({});
      expect(await history.session(sessionId)).toEqual(target.pipeline.store.get(sessionId));
    }
    const retried = await postProtobuf(target, protobufRequest(3));
    expect(retried.statusCode).toBe(200);
    const traceId = `cd${(3).toString(16).padStart(30, '0')}`;
    expect(await history.session(traceId)).toEqual(target.pipeline.store.get(traceId));

    // Nothing acknowledged was lost: every session of the live store is in the history store, as it stands.
    const live = [...target.pipeline.store.values()];
    expect(live.map((session) => session.session_id).sort()).toEqual(['s-before', 's-during', 's-refused', traceId].sort());
    for (const session of live) expect(await history.session(session.session_id)).toEqual(session);
    expect(history.failedCommits).toBeGreaterThanOrEqual(1);
  });

  it('answers a request only after its commit', async () => {
    const history = new FailingStore();
    const target = await started(history);
    let committedBeforeAnswer = false;
    const original = history.commit.bind(history);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    history.commit = async (commit: HistoryCommit) => {
      await held;
      await original(commit);
      committedBeforeAnswer = true;
    };
    let answered = false;
    const pending = postJson(target, jsonRequest(9, 's-held')).then((response) => {
      answered = true;
      return response;
    });
    await until('the session to reach the live store', () => target.pipeline.store.get('s-held') !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    release();
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(committedBeforeAnswer).toBe(true);
  });
});
