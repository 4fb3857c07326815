/**
 * PostgreSQL going away under a running receiver, for real: the receiver reaches the database
 * through a TCP proxy this test can cut. While it is cut, ingest answers 503 with Retry-After and
 * `/readyz` says the store is unhealthy; once it is back the receiver finds it by itself, commits what
 * it could not, and takes requests again — nothing acknowledged is lost, nothing unstored is acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import pg from 'pg';
import { ATTR_SESSION_ID, ATTR_SPAN_TYPE, GEN_AI, SPAN_TYPE } from '@llm-monitor/semconv';
import type { ProcessingSession } from '@llm-monitor/sessions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, withSearchPath } from '../../../test/support/services.js';
import { until } from '../../../test/support/wait.js';
import { buildReceiver } from '../src/index.js';
import type { Receiver } from '../src/index.js';
import { nanos } from './otlp-wire.js';

const url = await postgresUrl('the PostgreSQL outage test (history-postgres-outage.test.ts)');
const schema = `llmmon_outage_${randomBytes(6).toString('hex')}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A TCP proxy to PostgreSQL that can be cut (every connection closed, new ones refused) and restored. */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connect(target);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as { port: number }).port;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

const NOW = Date.now();

function sessionRequest(n: number): string {
  const traceId = `0a${n.toString(16).padStart(30, '0')}`;
  const text = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [text('service.name', 'outage-test')] },
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: `${n.toString(16).padStart(8, '0')}00000001`,
                name: 'llm_monitor.session answer',
                kind: 1,
                startTimeUnixNano: String(nanos(NOW + n)),
                endTimeUnixNano: String(nanos(NOW + n + 500)),
                attributes: [
                  text(ATTR_SPAN_TYPE, SPAN_TYPE.session),
                  text(ATTR_SESSION_ID, `outage-${n}`),
                  text(GEN_AI.requestModel, 'gpt-4o-mini'),
                ],
                status: { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  });
}

(url ? describe : describe.skip)('PostgreSQL going away and coming back', () => {
  let proxy: CuttableProxy;
  let receiver: Receiver;
  let otlpUrl: string;
  let apiUrl: string;

  beforeAll(async () => {
    await admin(`CREATE SCHEMA ${schema}`);
    const target = new URL(url!);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(url!);
    proxied.host = `127.0.0.1:${await proxy.listen()}`;
    receiver = await buildReceiver({
      storageUrl: withSearchPath(proxied.toString(), schema),
      logLevel: 'silent',
      port: 0,
      otlpPort: 0,
      otlpGrpcPort: 0,
    });
    ({ apiUrl, otlpTracesUrl: otlpUrl } = await receiver.listen());
  });

  afterAll(async () => {
    await receiver?.close();
    await proxy?.close();
    if (url) await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  const post = (n: number) => fetch(otlpUrl, { method: 'POST', body: sessionRequest(n), headers: { 'content-type': 'application/json' } });
  const storeStatus = async (): Promise<string> =>
    ((await (await fetch(`${apiUrl}/readyz`)).json()) as { components: { store: { status: string } } }).components.store.status;

  it('answers 503 while it is away, recovers by itself, and loses nothing it acknowledged', { timeout: 30_000 }, async () => {
    expect((await post(1)).status).toBe(200);

    proxy.cut();
    const refused = await post(2);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { message: string }).message).toMatch(/^LLMMON_ERR_STORE_UNAVAILABLE: /);
    expect(await storeStatus()).toBe('unhealthy');
    // Refused before being read while the store is known to be away.
    const early = await post(3);
    expect(early.status).toBe(503);
    // History queries say so too, rather than answering half.
    expect((await fetch(`${apiUrl}/api/monitoring/sessions/recent`)).status).toBe(503);

    proxy.restore();
    await until('the store healthy again', async () => (await storeStatus()) === 'healthy', 15_000, 100);
    expect((await post(4)).status).toBe(200);

    const listed = (await (await fetch(`${apiUrl}/api/monitoring/sessions/recent?limit=100`)).json()) as { sessions: ProcessingSession[] };
    const ids = listed.sessions.map((session) => session.session_id);
    // Acknowledged: stored. The session of the request refused at commit was kept for the next
    // commit and stored once the database was back (its sender would have retried it anyway).
    expect(ids).toEqual(expect.arrayContaining(['outage-1', 'outage-2', 'outage-4']));
    // Refused before it was read: never ingested.
    expect(ids).not.toContain('outage-3');
  });
});
