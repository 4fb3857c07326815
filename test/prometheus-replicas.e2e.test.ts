/**
 * Metrics stay per replica: two `llm-monitor` processes share Redis (live fan-out) and PostgreSQL
 * (history), so each shows every session, yet each counts in its metrics only the sessions it built
 * itself. A real Prometheus scrapes both under one job, and its sums over the two instances are the
 * workload exactly: 3 sessions sent to replica A plus 2 to replica B make 5, not 10.
 *
 * Each run uses a fresh PostgreSQL schema, its own Redis channel, and a task, model and user unique
 * to the run, so it meets no other run. Without Prometheus, PostgreSQL or Redis the file is skipped,
 * saying so; under CI=true that is a failure.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupLlmMonitor } from '@llm-monitor/node';
import type { ProcessingSession } from '@llm-monitor/sessions';
import type { MonitorProcess } from './support/monitor-process.js';
import { startPrometheus } from './support/prometheus.js';
import type { RunningPrometheus } from './support/prometheus.js';
import { hearsPeers, liveClient, sessionOfEvent, startReplica, withPg } from './support/replicas.js';
import { postgresUrl, redisUrl, withSearchPath } from './support/services.js';
import { toolAvailable } from './support/tools.js';
import { until, waitFor } from './support/wait.js';

const PROMETHEUS = toolAvailable('prometheus', 'prometheus');
const POSTGRES_URL = await postgresUrl('the replica metrics test (two replicas need a shared PostgreSQL)');
const REDIS_URL = await redisUrl('the replica metrics test (two replicas need Redis)');

/** Generous: two receivers, their Redis and PostgreSQL connections and a Prometheus on a shared 2-core machine. */
const SETUP_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 90_000;
const run = randomBytes(5).toString('hex');
const schema = `llmmon_prom_replicas_${run}`;
const channel = `llm-monitor-test:${run}:prometheus`;
const JOB = 'llm-monitor-replicas';
/** Labels unique to this run: the task for the session counters, the model for the token counter, the user for the per-user one. */
const TASK = `replicas-${run}`;
const MODEL = `model-${run}`;
const USER = `user-${run}`;
const TASK_SELECTOR = `job=${JSON.stringify(JOB)},task=${JSON.stringify(TASK)}`;

/** The workload: per replica, the (input, output) tokens of each session sent to it. */
const WORKLOAD = {
  'replica-a': [
    { input: 10, output: 1 },
    { input: 20, output: 2 },
    { input: 30, output: 3 },
  ],
  'replica-b': [
    { input: 40, output: 4 },
    { input: 50, output: 5 },
  ],
} as const;
type ReplicaId = keyof typeof WORKLOAD;
const REPLICA_IDS = Object.keys(WORKLOAD) as ReplicaId[];
const totalOf = (id: ReplicaId, direction: 'input' | 'output'): number =>
  WORKLOAD[id].reduce((sum, session) => sum + session[direction], 0);

type Sample = { metric: Record<string, string>; value: [number, string] };

/** One replica on free ports, on the run's schema and Redis channel. */
const replicaOn = (replicaId: ReplicaId): Promise<MonitorProcess> =>
  startReplica({ replicaId, storageUrl: withSearchPath(POSTGRES_URL!, schema), redisUrl: REDIS_URL!, channel });

async function stopReplica(replica: MonitorProcess): Promise<void> {
  if (!replica.alive()) return;
  const exited = new Promise((resolve) => replica.child.once('exit', resolve));
  replica.child.kill('SIGTERM');
  await exited;
}

/** The ids of this run's sessions a replica lists as completed (its REST list, from the shared history). */
async function completedListed(replica: MonitorProcess): Promise<Set<string>> {
  const response = await fetch(`${replica.apiUrl}/api/monitoring/sessions/recent?limit=50`);
  if (response.status !== 200) return new Set();
  const { sessions } = (await response.json()) as { sessions: ProcessingSession[] };
  return new Set(sessions.filter((item) => item.task === TASK && item.status === 'completed').map((item) => item.session_id));
}

const replicas = new Map<ReplicaId, MonitorProcess>();
const sessionIds = new Map<ReplicaId, string[]>();
let prometheus: RunningPrometheus | undefined;
let schemaCreated = false;

/** The instance label Prometheus gives a replica's target. */
const instanceOf = (id: ReplicaId): string => new URL(replicas.get(id)!.apiUrl).host;

/**
 * The selector's latest sample per series within the last minute. A scrape that times out on a busy
 * machine writes staleness markers, which a plain instant query would show as missing series for a
 * second; a range selection skips them, and the counters only grow, so this is the current value.
 */
const latest = (selector: string): string => `last_over_time(${selector}[1m])`;

/** `sum by (instance) (latest(selector))` as { replica id: value }; instances that are no replica keep their label. */
async function byReplica(selector: string): Promise<Record<string, number>> {
  const result = await prometheus!.query(`sum by (instance) (${latest(selector)})`);
  const names = new Map(REPLICA_IDS.map((id) => [instanceOf(id), id]));
  return Object.fromEntries(
    result.map((sample) => [names.get(sample.metric.instance!) ?? sample.metric.instance!, Number(sample.value[1])]),
  );
}

/** `sum(latest(selector))` as a number, or undefined when no series matches. */
async function total(selector: string): Promise<number | undefined> {
  const result = await prometheus!.query(`sum(${latest(selector)})`);
  return result.length === 0 ? undefined : Number(result[0]!.value[1]);
}

describe.runIf(PROMETHEUS && POSTGRES_URL !== undefined && REDIS_URL !== undefined)(
  'a real Prometheus scraping two replicas that share Redis and PostgreSQL',
  () => {
    beforeAll(async () => {
      await withPg(POSTGRES_URL!, (client) => client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`));
      schemaCreated = true;
      for (const id of REPLICA_IDS) replicas.set(id, await replicaOn(id));
      const a = replicas.get('replica-a')!;
      const b = replicas.get('replica-b')!;
      await hearsPeers(a, ['replica-b']);
      await hearsPeers(b, ['replica-a']);

      // Live clients of both replicas, connected before the workload, see every session end.
      const clients = await Promise.all(REPLICA_IDS.map((id) => liveClient(replicas.get(id)!)));
      try {
        // The workload: each replica gets its own sessions from an application of its own.
        for (const id of REPLICA_IDS) {
          const setup = setupLlmMonitor({
            endpoint: replicas.get(id)!.otlpUrl,
            serviceName: `prometheus-replicas-${id}`,
            progressIntervalMs: 0,
          });
          try {
            const ids: string[] = [];
            for (const tokens of WORKLOAD[id]) {
              const session = setup.monitor.startSession({ task: TASK, model: MODEL, processorType: 'replicas-e2e', userId: USER });
              session.stage('streaming_response');
              session.tokens(tokens.output, 'x'.repeat(tokens.output));
              session.complete({ result: `done at ${id}`, inputTokens: tokens.input, outputTokens: tokens.output });
              ids.push(session.sessionId);
            }
            sessionIds.set(id, ids);
          } finally {
            await setup.shutdown();
          }
        }
        const all = [...sessionIds.values()].flat();
        expect(new Set(all).size).toBe(5);

        // Both replicas see all five: live, over their WebSocket (A's sessions reach B through Redis and
        // the other way round), and in their REST lists.
        for (const [index, id] of REPLICA_IDS.entries()) {
          const client = clients[index]!;
          await until(
            `${id} streams the end of all 5 sessions`,
            () =>
              all.every((sessionId) =>
                client.events().some((event) => event.type === 'session_completed' && sessionOfEvent(event) === sessionId),
              ),
            60_000,
            100,
          );
          await until(
            `${id} lists all 5 sessions completed`,
            async () => {
              const listed = await completedListed(replicas.get(id)!);
              return all.every((sessionId) => listed.has(sessionId));
            },
            60_000,
            250,
          );
        }
      } finally {
        for (const client of clients) client.socket.close();
      }

      // Prometheus starts only now: every scrape it makes sees the finished workload.
      const targets = REPLICA_IDS.map((id) => instanceOf(id));
      prometheus = await startPrometheus(
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          '  evaluation_interval: 1s',
          'scrape_configs:',
          `  - job_name: ${JOB}`,
          '    static_configs:',
          `      - targets: [${targets.map((target) => JSON.stringify(target)).join(', ')}]`,
          '',
        ].join('\n'),
      );
      // Both targets up, and each scraped a few times, so late double counting would show too.
      await waitFor(
        'both replicas scraped at least 3 times and up',
        async () => {
          const up = await prometheus!.query(`up{job="${JOB}"}`);
          const scrapes = await prometheus!.query(`count_over_time(up{job="${JOB}"}[5m])`);
          const ok =
            up.length === 2 &&
            up.every((sample) => sample.value[1] === '1') &&
            scrapes.length === 2 &&
            scrapes.every((sample) => Number(sample.value[1]) >= 3);
          return ok ? true : undefined;
        },
        60_000,
        250,
      );
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await prometheus?.stop();
      for (const replica of replicas.values()) await stopReplica(replica);
      if (schemaCreated) await withPg(POSTGRES_URL!, (client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    }, 60_000);

    it(
      'scrapes both replicas under one job',
      async () => {
        const up: Sample[] = await prometheus!.query(`up{job="${JOB}"}`);
        expect(up.map((sample) => sample.metric.instance).sort()).toEqual(REPLICA_IDS.map((id) => instanceOf(id)).sort());
        // Both were up together before the tests began (beforeAll); a scrape timing out since then on a busy machine is no failure here.
        const wasUp = await prometheus!.query(`max_over_time(up{job="${JOB}"}[5m])`);
        expect(Object.fromEntries(wasUp.map((sample) => [sample.metric.instance, sample.value[1]]))).toEqual(
          Object.fromEntries(REPLICA_IDS.map((id) => [instanceOf(id), '1'])),
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'sums the started sessions over the replicas without double counting: 5, of which A 3 and B 2',
      async () => {
        const metric = `llm_monitor_sessions_started_total{${TASK_SELECTOR}}`;
        expect(await total(metric), `sum(${metric})`).toBe(5);
        expect(await byReplica(metric), `sum by (instance) (${metric})`).toEqual({ 'replica-a': 3, 'replica-b': 2 });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'sums the completed sessions the same way: 5, of which A 3 and B 2',
      async () => {
        const metric = `llm_monitor_sessions_ended_total{${TASK_SELECTOR},status="completed"}`;
        expect(await total(metric), `sum(${metric})`).toBe(5);
        expect(await byReplica(metric), `sum by (instance) (${metric})`).toEqual({ 'replica-a': 3, 'replica-b': 2 });
        // And nothing of this run ended any other way (no abandoned copies of remote sessions).
        const any = `llm_monitor_sessions_ended_total{${TASK_SELECTOR}}`;
        expect(await total(any), `sum(${any})`).toBe(5);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'sums the tokens the same way, by model and by user',
      async () => {
        for (const direction of ['input', 'output'] as const) {
          const expected = { 'replica-a': totalOf('replica-a', direction), 'replica-b': totalOf('replica-b', direction) };
          const byModel = `llm_monitor_tokens_total{job="${JOB}",model="${MODEL}",direction="${direction}"}`;
          expect(await total(byModel), `sum(${byModel})`).toBe(expected['replica-a'] + expected['replica-b']);
          expect(await byReplica(byModel), `sum by (instance) (${byModel})`).toEqual(expected);
          const byUser = `llm_monitor_user_tokens_total{job="${JOB}",user="${USER}",direction="${direction}"}`;
          expect(await total(byUser), `sum(${byUser})`).toBe(expected['replica-a'] + expected['replica-b']);
          expect(await byReplica(byUser), `sum by (instance) (${byUser})`).toEqual(expected);
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "shows each replica's fan-out connected, and its remote sessions gauge",
      async () => {
        expect(await byReplica(`llm_monitor_receiver_fanout_connected{job="${JOB}"}`)).toEqual({ 'replica-a': 1, 'replica-b': 1 });
        const remote = await byReplica(`llm_monitor_receiver_fanout_remote_sessions{job="${JOB}"}`);
        expect(Object.keys(remote).sort()).toEqual([...REPLICA_IDS].sort());
        for (const value of Object.values(remote)) {
          expect(Number.isFinite(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
        }
      },
      TEST_TIMEOUT_MS,
    );
  },
);
