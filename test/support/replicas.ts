/**
 * Several `llm-monitor` processes acting as one, as the scale-out tests run them: each a real child
 * process on free ports, sharing a PostgreSQL schema and a Redis channel; what their `/readyz` says
 * of the fan-out; a WebSocket client of one; and a PostgreSQL client for the schema's lifecycle.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { startMonitor } from './monitor-process.js';
import type { MonitorProcess } from './monitor-process.js';
import { until } from './wait.js';

/** Runs `work` with a PostgreSQL client of `url`, closed afterwards. */
export async function withPg<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** How a replica is started. */
export interface ReplicaOptions {
  readonly replicaId: string;
  readonly storageUrl: string;
  /** Redis for the fan-out; none: a receiver on its own. */
  readonly redisUrl?: string;
  readonly channel?: string;
}

/** Starts one replica on free ports (API, OTLP/HTTP, OTLP/gRPC). */
export function startReplica({ replicaId, storageUrl, redisUrl, channel }: ReplicaOptions): Promise<MonitorProcess> {
  const fanout = redisUrl ? ['--redis-url', redisUrl, ...(channel ? ['--redis-channel', channel] : [])] : [];
  return startMonitor([
    '--port',
    '0',
    '--otlp-port',
    '0',
    '--otlp-grpc-port',
    '0',
    '--storage-url',
    storageUrl,
    '--replica-id',
    replicaId,
    ...fanout,
  ]);
}

/** What `/readyz` says of the live fan-out. */
export interface FanoutHealth {
  status: string;
  reason: string | null;
  details: { replication: { state: string; replicas: { replica_id: string }[] } };
}

/** A replica's `/readyz`: the overall status and its components. */
export interface Readiness {
  status: string;
  components: { fanout: FanoutHealth; store: { status: string } };
}

export async function readiness(replica: MonitorProcess): Promise<Readiness> {
  return (await (await fetch(`${replica.apiUrl}/readyz`)).json()) as Readiness;
}

/** Waits until the replica's fan-out is healthy and hears every one of `peers`. */
export async function hearsPeers(replica: MonitorProcess, peers: readonly string[], timeoutMs = 30_000): Promise<void> {
  await until(
    `${replica.apiUrl} connected to Redis and hearing ${peers.join(', ')}`,
    async () => {
      const fanout = (await readiness(replica)).components.fanout;
      const heard = new Set(fanout.details.replication.replicas.map((peer) => peer.replica_id));
      return fanout.status === 'healthy' && peers.every((peer) => heard.has(peer));
    },
    timeoutMs,
    100,
  );
}

/** An event of the live stream, as far as the tests read it. */
export interface LiveStreamEvent {
  type: string;
  session_id?: string;
  session?: { session_id: string; status?: string; task?: string | null };
  stage?: string;
  text?: string;
  total?: number;
}

/** A WebSocket client of a replica's live stream that records every message. */
export interface LiveStreamClient {
  readonly socket: WebSocket;
  readonly messages: { type: string; events?: LiveStreamEvent[] }[];
  /** Every event received so far, in order. */
  events(): LiveStreamEvent[];
}

export async function liveClient(replica: MonitorProcess): Promise<LiveStreamClient> {
  const socket = new WebSocket(`${replica.apiUrl.replace('http', 'ws')}/ws/monitoring`);
  const messages: LiveStreamClient['messages'] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as LiveStreamClient['messages'][number]));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages, events: () => messages.flatMap((message) => message.events ?? []) };
}

/** The session an event is about. */
export function sessionOfEvent(event: LiveStreamEvent): string | undefined {
  return event.session_id ?? event.session?.session_id;
}
