/**
 * The pieces of the live fan-out across replicas: the message format, the remote window, the joined
 * view, and two fan-outs talking through the machine's Redis (skipped, saying so, without one; a
 * failure under CI=true).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryHistoryStore, MemorySessionStore } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionChange } from '@llm-monitor/sessions';
import { COMPRESS_FROM_BYTES, decodeEnvelope, encodeEnvelope, FanoutMessageError } from '../src/replication/fanout-messages.js';
import type { Envelope } from '../src/replication/fanout-messages.js';
import { CombinedLiveSessions } from '../src/replication/live-sessions.js';
import { FROM_STORE, RemoteSessions } from '../src/replication/remote-sessions.js';
import { RedisFanout } from '../src/replication/redis-fanout.js';
import type { FanoutState } from '../src/replication/redis-fanout.js';
import { redisUrl } from '../../../test/support/services.js';
import { sessionWith } from '../../prometheus-exporter/test/session-fixture.js';
import { until } from '../../../test/support/wait.js';
import { startTcpProxy } from '../../../test/support/tcp-proxy.js';
import { buildQuietReceiver } from './quiet-receiver.js';

/** A running session of ours, its trace named after it (the fan-out's split check reads the trace id). */
const session = (id: string, overrides: Partial<ProcessingSession> = {}): ProcessingSession =>
  sessionWith({
    session_id: id,
    trace_id: `trace-${id}`,
    start_time: new Date().toISOString(),
    current_stage: 'initializing',
    ...overrides,
  });

const envelope = (message: Partial<Envelope>): Envelope =>
  ({ v: 1, replica: 'a', instance: 'i', seq: 1, kind: 'changes', sessions: [], removed: [], renamed: [], ...message }) as Envelope;

describe('fan-out messages', () => {
  it('round-trips, deflating large messages', () => {
    const small = envelope({ sessions: [session('s1')] } as Partial<Envelope>);
    const smallBytes = encodeEnvelope(small);
    expect(smallBytes[0]).toBe('{'.charCodeAt(0));
    expect(decodeEnvelope(smallBytes)).toEqual(small);
    const streamed = Array.from({ length: 2000 }, (_, i) => `token ${i} `);
    const large = envelope({ sessions: [session('s2', { streamed_tokens: streamed })] } as Partial<Envelope>);
    const largeBytes = encodeEnvelope(large);
    expect(Buffer.byteLength(JSON.stringify(large))).toBeGreaterThan(COMPRESS_FROM_BYTES);
    expect(largeBytes[0]).toBe(0);
    expect(largeBytes.length).toBeLessThan(Buffer.byteLength(JSON.stringify(large)) / 3);
    expect(decodeEnvelope(largeBytes)).toEqual(large);
  });

  it('refuses what is not a message, naming the problem', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('not json'), /not JSON/],
      [Buffer.from('[1]'), /format/],
      [Buffer.from(JSON.stringify({ ...envelope({}), v: 2 })), /format 2/],
      [Buffer.from(JSON.stringify({ ...envelope({}), replica: 3 })), /no replica/],
      [Buffer.from(JSON.stringify(envelope({ sessions: [{ session_id: 'x' }] } as unknown as Partial<Envelope>))), /malformed sessions/],
      [Buffer.from(JSON.stringify(envelope({ renamed: [['a']] } as unknown as Partial<Envelope>))), /malformed renamed/],
      [Buffer.from(JSON.stringify({ ...envelope({}), kind: 'rm -rf' })), /unknown kind/],
      [Buffer.from([0, 1, 2, 3]), /cannot inflate/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeEnvelope(bytes)).toThrow(FanoutMessageError);
      expect(() => decodeEnvelope(bytes)).toThrow(message);
    }
  });
});

describe('RemoteSessions', () => {
  it('tells its listeners of sessions put, renamed and removed, and keeps within its bounds', () => {
    const remote = new RemoteSessions({ maxSessions: 2, retentionMs: 1000, staleAfterMs: 5000 });
    const changes: SessionChange[] = [];
    remote.subscribe((change) => changes.push(change));
    remote.put(session('s1'), 'a', 0);
    remote.put(session('s1', { status: 'completed' }), 'a', 10);
    remote.rename('s1', 's1b');
    expect(changes.map((change) => change.type)).toEqual(['started', 'completed', 'renamed']);
    expect(remote.get('s1b')?.status).toBe('completed');
    remote.put(session('s2'), 'b', 20);
    remote.put(session('s3'), 'b', 30);
    // The least recently heard goes first.
    expect([...remote.values()].map((item) => item.session_id)).toEqual(['s2', 's3']);
    // Ended: retention; running: stale after no news.
    remote.put(session('s4', { status: 'completed' }), 'b', 40);
    remote.sweep(1100);
    expect(remote.get('s4')).toBeUndefined();
    expect(remote.get('s3')).toBeDefined();
    remote.sweep(5100);
    expect(remote.size).toBe(0);
  });

  it("lets a replica's copy win over the store's, unless the store knows the session ended", () => {
    const remote = new RemoteSessions({ maxSessions: 10, retentionMs: 1000, staleAfterMs: 5000 });
    remote.put(session('s1', { current_stage: 'streaming_response' }), 'a', 0);
    remote.put(session('s1', { current_stage: 'initializing' }), FROM_STORE, 1);
    expect(remote.get('s1')?.current_stage).toBe('streaming_response');
    remote.put(session('s1', { status: 'completed' }), FROM_STORE, 2, { replace: true });
    expect(remote.get('s1')?.status).toBe('completed');
    expect(remote.forgetOrigin('a')).toBe(0);
  });

  it('forgets every session of a replica that fell silent', () => {
    const remote = new RemoteSessions({ maxSessions: 10, retentionMs: 1000, staleAfterMs: 5000 });
    remote.put(session('s1'), 'a', 0);
    remote.put(session('s2'), 'b', 0);
    expect(remote.forgetOrigin('a')).toBe(1);
    expect([...remote.values()].map((item) => item.session_id)).toEqual(['s2']);
  });
});

describe('CombinedLiveSessions', () => {
  it('shows local and remote sessions, the local one winning an id both hold, and hides remote news of it', () => {
    const local = new MemorySessionStore();
    const remote = new RemoteSessions({ maxSessions: 10, retentionMs: 1000, staleAfterMs: 5000 });
    const combined = new CombinedLiveSessions(local, remote);
    const heard: string[] = [];
    combined.subscribe((change) => heard.push(`${change.type}:${change.session.session_id}:${change.session.current_stage}`));
    local.upsert(session('both', { current_stage: 'local' }), 0);
    remote.put(session('both', { current_stage: 'remote' }), 'a', 0);
    remote.put(session('theirs'), 'a', 0);
    expect(combined.get('both')?.current_stage).toBe('local');
    expect([...combined.values()].map((item) => item.session_id)).toEqual(['both', 'theirs']);
    expect(heard).toEqual(['started:both:local', 'started:theirs:initializing']);
  });
});

const REDIS_URL = await redisUrl('the fan-out tests against Redis');

describe.runIf(REDIS_URL !== undefined)('RedisFanout against Redis', () => {
  const fanouts: RedisFanout[] = [];
  afterEach(async () => {
    await Promise.all(fanouts.map((fanout) => fanout.close()));
    fanouts.length = 0;
  });

  function replica(replicaId: string, channel: string, url = REDIS_URL!, maxTrackedWhileCut?: number) {
    const local = new MemorySessionStore();
    const remote = new RemoteSessions({ maxSessions: 100, retentionMs: 60_000, staleAfterMs: 60_000 });
    const states: FanoutState[] = [];
    const errors: string[] = [];
    const split: string[] = [];
    const fanout = new RedisFanout({
      url,
      channel,
      replicaId,
      ...(maxTrackedWhileCut !== undefined ? { maxTrackedWhileCut } : {}),
      local,
      remote,
      history: new MemoryHistoryStore(),
      holdsTrace: (traceId) => [...local.values()].some((held) => held.trace_id === traceId),
      onSplitTraces: (traces) => split.push(...traces),
      onStateChange: (state) => states.push(state),
      onError: (error, where) => errors.push(`${where}: ${(error as Error).message}`),
    });
    fanouts.push(fanout);
    fanout.start();
    return { local, remote, fanout, states, errors, split };
  }

  it('carries each change once to the other replica, never back to its origin, and refuses junk on the channel', async () => {
    const channel = `llm-monitor-test:${randomBytes(5).toString('hex')}`;
    const a = replica('a', channel);
    const b = replica('b', channel);
    await until('both connected', () => a.fanout.state === 'connected' && b.fanout.state === 'connected');
    const heardByB: string[] = [];
    b.remote.subscribe((change) => heardByB.push(`${change.type}:${change.session.session_id}`));

    // Many changes of one session within one tick travel as its latest state.
    for (let progress = 1; progress <= 50; progress += 1) a.local.upsert(session('s1', { progress }), Date.now());
    await until('B holds s1 at its latest progress', () => b.remote.get('s1')?.progress === 50);
    a.local.upsert(session('s1', { status: 'completed', progress: 100 }), Date.now());
    await until('B hears s1 end', () => b.remote.get('s1')?.status === 'completed');
    a.local.rename('s1', 's1-real');
    await until('B follows the rename', () => b.remote.get('s1-real') !== undefined && b.remote.get('s1') === undefined);
    expect(heardByB.filter((entry) => entry.startsWith('started')).length).toBe(1);
    expect(b.fanout.stats().sessions_received).toBeLessThan(10);
    expect(a.remote.size).toBe(0);

    // A session B holds itself too (a split trace) is reported for merging.
    b.local.upsert(session('s9'), Date.now());
    a.local.upsert(session('s9'), Date.now());
    await until('B reports the split trace', () => b.split.includes('trace-s9'));

    // Junk published on the channel is counted and reported, and changes still flow.
    const publisher = new Redis(REDIS_URL!);
    try {
      await publisher.publish(channel, 'garbage');
      await publisher.publish(channel, JSON.stringify({ v: 99, replica: 'x', instance: 'y', seq: 1, kind: 'changes' }));
    } finally {
      publisher.disconnect();
    }
    await until('B counted both', () => b.fanout.stats().messages_rejected === 2);
    expect(b.errors.some((error) => error.startsWith('receive: not JSON'))).toBe(true);
    a.local.upsert(session('s2'), Date.now());
    await until('changes still flow', () => b.remote.get('s2') !== undefined);

    // Leaving: B lets go of A's sessions.
    await a.fanout.close();
    await until("B forgets A's sessions", () => b.remote.size === 0);
    expect(b.fanout.stats().replicas.map((peer) => peer.replica_id)).toEqual([]);
  });

  it('remembers a bounded number of changes during a cut, and past it publishes its whole window on reconnection', async () => {
    const redis = new URL(REDIS_URL!);
    const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    try {
      const channel = `llm-monitor-test:${randomBytes(5).toString('hex')}`;
      const proxied = new URL(REDIS_URL!);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const a = replica('a', channel, proxied.toString(), 5);
      const b = replica('b', channel);
      await until('both connected', () => a.fanout.state === 'connected' && b.fanout.state === 'connected');
      await proxy.cut();
      await until('A cut off', () => a.fanout.state === 'degraded');
      // Twenty sessions start and end while A is cut off: more than the five it may remember.
      for (let index = 0; index < 20; index += 1) {
        a.local.upsert(session(`cut-${index}`), Date.now());
        a.local.upsert(session(`cut-${index}`, { status: 'completed', progress: 100 }), Date.now());
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      await proxy.restore();
      await until('A connected again', () => a.fanout.state === 'connected', 15_000);
      await until('B holds all twenty, ended', () =>
        Array.from({ length: 20 }, (_, index) => b.remote.get(`cut-${index}`)).every((held) => held?.status === 'completed'),
      );
    } finally {
      await proxy.close();
    }
  });

  it('starts degraded when Redis cannot be reached, and says why', async () => {
    const fanout = new RedisFanout({
      url: 'redis://127.0.0.1:1',
      channel: 'unused',
      replicaId: 'lonely',
      local: new MemorySessionStore(),
      remote: new RemoteSessions({ maxSessions: 10, retentionMs: 1000, staleAfterMs: 1000 }),
      history: new MemoryHistoryStore(),
      holdsTrace: () => false,
      onSplitTraces: () => undefined,
    });
    fanouts.push(fanout);
    fanout.start();
    await until('degraded, naming the refused connection', () => fanout.state === 'degraded' && /ECONNREFUSED/.test(fanout.stats().reason));
    expect(fanout.stats().reason).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1 unreachable \((publisher|subscriber): connect ECONNREFUSED/);
  });
});

describe('a receiver with redis_url', () => {
  it('starts and serves its own sessions when Redis cannot be reached, saying so on /readyz', async () => {
    const receiver = await buildQuietReceiver({ redisUrl: 'redis://127.0.0.1:1', replicaId: 'alone' });
    try {
      const { apiUrl } = await receiver.listen();
      let ready:
        | { status: string; components: { fanout: { status: string; reason: string | null; details: { replication: { state: string } } } } }
        | undefined;
      await until('the fan-out reports degraded', async () => {
        const response = await fetch(`${apiUrl}/readyz`);
        expect(response.status).toBe(200);
        ready = (await response.json()) as typeof ready;
        return ready!.components.fanout.status === 'degraded';
      });
      expect(ready).toMatchObject({ status: 'degraded', components: { fanout: { details: { replication: { state: 'degraded' } } } } });
      expect(ready!.components.fanout.reason).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1 unreachable/);
      expect((await fetch(`${apiUrl}/api/monitoring/sessions/active`)).status).toBe(200);
      expect(await (await fetch(`${apiUrl}/metrics`)).text()).toMatch(/^llm_monitor_receiver_fanout_connected 0$/m);
    } finally {
      await receiver.close();
    }
  });

  it('is off without one: the fan-out component says so and stays healthy', async () => {
    const receiver = await buildQuietReceiver();
    try {
      const { apiUrl } = await receiver.listen();
      const ready = (await (await fetch(`${apiUrl}/readyz`)).json()) as {
        components: { fanout: { status: string; details: { replication: unknown } } };
      };
      expect(ready.components.fanout).toMatchObject({ status: 'healthy', details: { replication: { enabled: false } } });
      expect(receiver.fanout).toBeUndefined();
      expect(await (await fetch(`${apiUrl}/metrics`)).text()).not.toContain('llm_monitor_receiver_fanout_connected');
    } finally {
      await receiver.close();
    }
  });
});
