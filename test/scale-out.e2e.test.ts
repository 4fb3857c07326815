/**
 * Scale-out: two `llm-monitor` processes on their own ports, sharing the machine's Redis (live
 * fan-out) and PostgreSQL (history), act as one. An application exports to replica A only; a
 * WebSocket client of replica B sees its session live while it runs, and B's REST answers show it.
 * Then B's connection to Redis is cut through a TCP proxy and restored: B goes healthy → degraded →
 * healthy without a restart, and afterwards misses nothing A did meanwhile.
 *
 * Each run uses a fresh PostgreSQL schema and its own Redis channel, so it meets no other run.
 * Without PostgreSQL or Redis the file is skipped, saying so; under CI=true that is a failure.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { credentials, makeGenericClientConstructor, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { LlmMonitorSetup } from '@llm-monitor/node';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { stopMonitorsAfterEach } from './support/monitor-process.js';
import type { MonitorProcess } from './support/monitor-process.js';
import { hearsPeers, liveClient, readiness, sessionOfEvent, startReplica, withPg } from './support/replicas.js';
import type { LiveStreamEvent } from './support/replicas.js';
import { postgresUrl, redisUrl, withSearchPath } from './support/services.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { until } from './support/wait.js';
import { asProtobuf, sdkSpans } from '../packages/receiver/test/otlp-fixtures.js';

const POSTGRES_URL = await postgresUrl('the scale-out tests (two replicas need a shared PostgreSQL)');
const REDIS_URL = await redisUrl('the scale-out tests (two replicas need Redis)');

const TIMEOUT_MS = 90_000;
const run = randomBytes(5).toString('hex');
const schema = `llmmon_scale_${run}`;

/** The OTLP trace service's Export method, with the request and answer left as bytes. */
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const passBytes = { serialize: (bytes: Buffer) => bytes, deserialize: (bytes: Buffer) => bytes };
const TraceService = makeGenericClientConstructor(
  {
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: passBytes.serialize,
      requestDeserialize: passBytes.deserialize,
      responseSerialize: passBytes.serialize,
      responseDeserialize: passBytes.deserialize,
    },
  },
  'TraceService',
);

function grpcExport(client: Client, body: Buffer): Promise<'ok' | ServiceError> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_PATH, passBytes.serialize, passBytes.deserialize, body, new Metadata(), {}, (error) =>
      resolve(error ?? 'ok'),
    );
  });
}

const sawEvent = (
  events: LiveStreamEvent[],
  type: string,
  sessionId: string,
  extra: (event: LiveStreamEvent) => boolean = () => true,
): boolean => events.some((event) => event.type === type && sessionOfEvent(event) === sessionId && extra(event));

/** One replica on the run's schema, fanned out over `redis` on `channel`. */
const replicaOn = (replicaId: string, redis: string, channel: string): Promise<MonitorProcess> =>
  startReplica({ replicaId, storageUrl: withSearchPath(POSTGRES_URL!, schema), redisUrl: redis, channel });

async function getJson<T>(replica: MonitorProcess, path: string): Promise<T> {
  const response = await fetch(`${replica.apiUrl}${path}`);
  expect(response.status, `${path} on ${replica.apiUrl}`).toBe(200);
  return (await response.json()) as T;
}

/** The value of a metric series in a Prometheus text, summed over its label sets that contain `labels`. */
function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let app: LlmMonitorSetup | undefined;
afterEach(async () => {
  await app?.shutdown();
  app = undefined;
});
stopMonitorsAfterEach();

describe.runIf(POSTGRES_URL !== undefined && REDIS_URL !== undefined)('two replicas with Redis and PostgreSQL', () => {
  afterAll(async () => {
    await withPg(POSTGRES_URL!, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });

  it(
    "shows a session sent to replica A live on replica B's WebSocket while it runs, and in B's REST answers",
    async () => {
      await withPg(POSTGRES_URL!, (client) => client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`));
      const channel = `llm-monitor-test:${run}:live`;
      const a = await replicaOn('replica-a', REDIS_URL!, channel);
      const b = await replicaOn('replica-b', REDIS_URL!, channel);
      await hearsPeers(a, ['replica-b']);
      await hearsPeers(b, ['replica-a']);
      const client = await liveClient(b);

      app = setupLlmMonitor({ endpoint: a.otlpUrl, serviceName: 'scale-out-app', captureTokenText: true, progressIntervalMs: 0 });
      const session = app.monitor.startSession({ task: 'scale-out', model: 'gpt-4o-mini' });
      session.stage('initializing');
      session.stage('connecting_to_model');
      await until('B streams the running session started at A', () =>
        sawEvent(client.events(), 'stage_changed', session.sessionId, (event) => event.stage === 'connecting_to_model'),
      );
      expect(sawEvent(client.events(), 'session_started', session.sessionId)).toBe(true);

      // B's REST answers: the live list and the session itself, while it runs.
      const active = await getJson<ProcessingSession[]>(b, '/api/monitoring/sessions/active');
      expect(active.find((item) => item.session_id === session.sessionId)).toMatchObject({ status: 'active', task: 'scale-out' });
      const running = await getJson<ProcessingSession>(b, `/api/monitoring/sessions/${session.sessionId}`);
      expect(running.status).toBe('active');
      expect(running.stages.map((stage) => stage.stage)).toContain('connecting_to_model');

      const call = session.startLlmCall({ operation: 'chat', provider: 'openai', model: 'gpt-4o-mini', prompt: 'Say hello' });
      session.stage('streaming_response');
      session.tokens(3, 'Hello from A');
      call.end({ response: 'Hello from A', inputTokens: 1200, outputTokens: 3 });
      await until('B streams the tokens', () => sawEvent(client.events(), 'tokens', session.sessionId, (event) => event.total === 3));
      session.complete({ result: 'the answer' });
      await until('B streams the end', () => sawEvent(client.events(), 'session_completed', session.sessionId));

      // The history is shared: B lists and shows the session A built, completed.
      await until('B lists the completed session from the shared store', async () => {
        const recent = await getJson<{ sessions: ProcessingSession[] }>(b, '/api/monitoring/sessions/recent?limit=20');
        return recent.sessions.some((item) => item.session_id === session.sessionId && item.status === 'completed');
      });
      const detail = await getJson<ProcessingSession>(b, `/api/monitoring/sessions/${session.sessionId}`);
      expect(detail).toMatchObject({ status: 'completed', task: 'scale-out', service_name: 'scale-out-app' });
      expect(detail.token_counts.streamed).toBe(3);

      // Lists, the call log and analytics answer the same on both replicas.
      const since = new Date(Date.parse(detail.start_time) - 60_000).toISOString();
      for (const path of [
        `/api/monitoring/sessions/recent?limit=20&since=${since}`,
        `/api/monitoring/llm-calls?session=${session.sessionId}`,
        `/api/monitoring/analytics?group_by=model&since=${since}`,
        `/api/monitoring/statistics?since=${since}`,
      ]) {
        const [fromA, fromB] = await Promise.all([getJson<unknown>(a, path), getJson<unknown>(b, path)]);
        expect(fromB, path).toEqual(fromA);
      }
      const calls = await getJson<{ calls: { model: string; input_tokens: number }[] }>(
        b,
        `/api/monitoring/llm-calls?session=${session.sessionId}`,
      );
      expect(calls.calls).toMatchObject([{ model: 'gpt-4o-mini', input_tokens: 1200 }]);

      // Metrics stay per replica: A counted the session, B (which only showed it) did not.
      const metricsA = await (await fetch(`${a.apiUrl}/metrics`)).text();
      const metricsB = await (await fetch(`${b.apiUrl}/metrics`)).text();
      expect(metricValue(metricsA, 'llm_monitor_sessions_started_total', 'task="scale-out"')).toBe(1);
      expect(metricValue(metricsB, 'llm_monitor_sessions_started_total', 'task="scale-out"')).toBe(0);
      expect(metricValue(metricsB, 'llm_monitor_receiver_fanout_connected')).toBe(1);
      client.socket.close();
    },
    TIMEOUT_MS,
  );

  it(
    'goes healthy → degraded → healthy when its Redis connection is cut and restored, and then misses nothing',
    async () => {
      await withPg(POSTGRES_URL!, (client) => client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`));
      const redis = new URL(REDIS_URL!);
      const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
      try {
        const channel = `llm-monitor-test:${run}:cut`;
        const proxied = new URL(REDIS_URL!);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(proxy.port);
        const a = await replicaOn('replica-a', REDIS_URL!, channel);
        const b = await replicaOn('replica-b', proxied.toString(), channel);
        await hearsPeers(a, ['replica-b']);
        await hearsPeers(b, ['replica-a']);
        const pid = b.child.pid;
        const client = await liveClient(b);
        app = setupLlmMonitor({ endpoint: a.otlpUrl, serviceName: 'scale-out-cut', progressIntervalMs: 0 });

        // Before the cut: two sessions B sees start.
        const endsDuringCut = app.monitor.startSession({ task: 'ends-during-cut' });
        endsDuringCut.stage('initializing');
        const runsThrough = app.monitor.startSession({ task: 'runs-through-cut' });
        runsThrough.stage('initializing');
        await until('B sees both sessions start', () =>
          [endsDuringCut, runsThrough].every((session) => sawEvent(client.events(), 'session_started', session.sessionId)),
        );

        await proxy.cut();
        await until(
          'B reports the fan-out degraded',
          async () => {
            const ready = await readiness(b);
            return ready.components.fanout.status === 'degraded';
          },
          15_000,
          50,
        );
        const degraded = await readiness(b);
        expect(degraded.status).toBe('degraded');
        expect(degraded.components.fanout.reason).toMatch(/Redis at .* unreachable/);
        // Still serving: B's own API answers, and A goes on undisturbed.
        expect((await readiness(a)).components.fanout.status).toBe('healthy');

        // While B is cut off, A ends one session, starts and ends another, and moves the third on.
        endsDuringCut.complete({ result: 'done while cut' });
        const wholeDuringCut = app.monitor.startSession({ task: 'whole-during-cut' });
        wholeDuringCut.stage('initializing');
        wholeDuringCut.complete({ result: 'started and ended while cut' });
        runsThrough.stage('connecting_to_model');
        await app.processor.forceFlush();
        await until('A has committed the changes', async () => {
          const recent = await getJson<{ sessions: ProcessingSession[] }>(a, '/api/monitoring/sessions/recent?limit=20');
          return recent.sessions.some((item) => item.session_id === wholeDuringCut.sessionId && item.status === 'completed');
        });
        const eventsBeforeResume = client.events().length;
        expect(sawEvent(client.events(), 'session_completed', endsDuringCut.sessionId)).toBe(false);

        await proxy.restore();
        await until(
          'B reports the fan-out healthy again',
          async () => (await readiness(b)).components.fanout.status === 'healthy',
          20_000,
          100,
        );
        expect(b.child.pid).toBe(pid);
        expect(b.alive()).toBe(true);

        // Nothing missing on B: its live client hears what happened during the cut, and its live view holds it.
        const caughtUp = (): Record<string, boolean> => {
          const events = client.events().slice(eventsBeforeResume);
          return {
            'the end of a session that ended during the cut': sawEvent(events, 'session_completed', endsDuringCut.sessionId),
            'a session started and ended during the cut': sawEvent(events, 'session_completed', wholeDuringCut.sessionId),
            'the stage a running session reached during the cut': sawEvent(
              events,
              'stage_changed',
              runsThrough.sessionId,
              (event) => event.stage === 'connecting_to_model',
            ),
          };
        };
        try {
          await until('B catches up on the cut', () => Object.values(caughtUp()).every(Boolean), 20_000, 50);
        } catch (error) {
          // Say which part is missing, and what B's fan-out reports, before failing.
          throw new Error(
            `${(error as Error).message}: ${JSON.stringify(caughtUp())}; B: ${JSON.stringify((await readiness(b)).components.fanout)}`,
            { cause: error },
          );
        }
        const active = await getJson<ProcessingSession[]>(b, '/api/monitoring/sessions/active');
        const through = active.find((item) => item.session_id === runsThrough.sessionId);
        expect(through?.current_stage).toBe('connecting_to_model');
        expect(active.some((item) => item.session_id === endsDuringCut.sessionId)).toBe(false);

        // And B's live fan-out works again for what comes next.
        runsThrough.complete({ result: 'after the cut' });
        await until('B streams the end after the cut', () => sawEvent(client.events(), 'session_completed', runsThrough.sessionId));
        const metricsB = await (await fetch(`${b.apiUrl}/metrics`)).text();
        expect(metricValue(metricsB, 'llm_monitor_receiver_fanout_connected')).toBe(1);
        client.socket.close();
      } finally {
        await proxy.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'answers 503 / UNAVAILABLE with retry advice while its PostgreSQL is unreachable, and takes spans again when it returns',
    async () => {
      await withPg(POSTGRES_URL!, (client) => client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`));
      const postgres = new URL(POSTGRES_URL!);
      const proxy = await startTcpProxy(postgres.hostname, Number(postgres.port || 5432));
      const proxied = new URL(withSearchPath(POSTGRES_URL!, schema));
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const replica = await startReplica({ replicaId: 'replica-pg', storageUrl: proxied.toString() });
      const grpcPort = /OTLP\/gRPC on http:\/\/[^\s:]+:(\d+)/.exec(replica.output())![1]!;
      const client = new TraceService(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
      try {
        const body = asProtobuf(await sdkSpans());
        const post = () => fetch(replica.otlpUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        expect((await post()).status).toBe(200);
        expect(await grpcExport(client, body)).toBe('ok');

        await proxy.cut();
        // The first export after the cut waits for a commit that fails; from then on the store is
        // known to be down and exports are refused before their body is read.
        let refused: Response | undefined;
        await until(
          'OTLP/HTTP refused with 503',
          async () => {
            const response = await post();
            if (response.status === 503) refused = response;
            return refused !== undefined;
          },
          30_000,
          200,
        );
        expect(refused!.headers.get('retry-after')).toBe('5');
        expect(refused!.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
        const unavailable = await grpcExport(client, body);
        expect(unavailable).toMatchObject({ code: GrpcStatus.UNAVAILABLE });
        expect((unavailable as ServiceError).details).toMatch(/^LLMMON_ERR_STORE_UNAVAILABLE/);
        const retryInfo = (unavailable as ServiceError).metadata.get('grpc-status-details-bin')[0] as Buffer;
        expect(retryInfo.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
        const ready = await readiness(replica);
        expect(ready).toMatchObject({ status: 'unhealthy', components: { store: { status: 'unhealthy' } } });

        await proxy.restore();
        await until('OTLP/HTTP accepted again', async () => (await post()).status === 200, 30_000, 200);
        expect(await grpcExport(client, body)).toBe('ok');
        expect(replica.alive()).toBe(true);
      } finally {
        client.close();
        await proxy.close();
      }
    },
    TIMEOUT_MS,
  );
});
