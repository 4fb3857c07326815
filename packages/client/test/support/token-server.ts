/**
 * A stand-in for a receiver that requires read tokens, on plain node:http and a `ws` server: it
 * checks `Authorization: Bearer <token>` (or its session cookie) on REST requests and on the WebSocket
 * upgrade, answers 401 as the receiver's contract says, and records what every request carried. It
 * knows nothing of the receiver's code, so the client's side is tested on its own.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

export const READ_TOKEN = 'read-token-for-tests';
const SESSION_COOKIE = 'llm_monitor_session';
const SESSION_VALUE = 'session-of-tests';

/** What one request (or upgrade) carried. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly cookie: string | undefined;
}

export interface TokenServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Every REST request, in order. */
  readonly requests: SeenRequest[];
  /** Every WebSocket upgrade request, in order. */
  readonly upgrades: SeenRequest[];
  /** Refuse the next `count` upgrades with `status`, whatever they carry (a proxy in trouble). */
  refuseUpgrades(status: number, count: number): void;
  close(): Promise<void>;
}

const UNAUTHENTICATED_BODY = JSON.stringify({
  statusCode: 401,
  code: 'LLMMON_ERR_UNAUTHENTICATED',
  error: 'Unauthorized',
  message: 'a valid read token is required',
});

function seen(request: IncomingMessage): SeenRequest {
  return {
    method: request.method ?? '',
    path: request.url ?? '',
    authorization: request.headers.authorization,
    cookie: request.headers.cookie,
  };
}

const hasToken = (request: IncomingMessage): boolean => request.headers.authorization === `Bearer ${READ_TOKEN}`;
const hasSession = (request: IncomingMessage): boolean => (request.headers.cookie ?? '').includes(`${SESSION_COOKIE}=${SESSION_VALUE}`);

function refuse(socket: Duplex, status: number, body: string): void {
  const reason = status === 401 ? 'Unauthorized' : 'Service Unavailable';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      (status === 401 ? 'WWW-Authenticate: Bearer realm="llm-monitor"\r\n' : '') +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startTokenServer(): Promise<TokenServer> {
  const requests: SeenRequest[] = [];
  const upgrades: SeenRequest[] = [];
  let refusals = { status: 0, count: 0 };
  const server: Server = createServer((request, response) => {
    requests.push(seen(request));
    request.resume();
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const path = (request.url ?? '').split('?')[0];
    if (path === '/api/auth/session' && request.method === 'GET') {
      json(200, { required: true, authenticated: hasToken(request) || hasSession(request) });
    } else if (path === '/api/auth/session' && request.method === 'POST') {
      if (!hasToken(request)) {
        response
          .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="llm-monitor"' })
          .end(UNAUTHENTICATED_BODY);
      } else {
        response.writeHead(204, { 'set-cookie': `${SESSION_COOKIE}=${SESSION_VALUE}; Path=/; HttpOnly; SameSite=Strict` }).end();
      }
    } else if (!hasToken(request) && !hasSession(request)) {
      response
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="llm-monitor"' })
        .end(UNAUTHENTICATED_BODY);
    } else if (path === '/api/monitoring/statistics') {
      json(200, { sessions_total: 7 });
    } else {
      json(404, { statusCode: 404, code: 'LLMMON_ERR_ROUTE_NOT_FOUND', error: 'Not Found', message: `no route for ${path}` });
    }
  });
  const live = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(seen(request));
    if (refusals.count > 0) {
      refusals = { ...refusals, count: refusals.count - 1 };
      refuse(socket, refusals.status, JSON.stringify({ message: 'try later' }));
      return;
    }
    if (!hasToken(request) && !hasSession(request)) {
      refuse(socket, 401, UNAUTHENTICATED_BODY);
      return;
    }
    live.handleUpgrade(request, socket, head, (client) => {
      client.send(JSON.stringify({ type: 'snapshot', statistics: { sessions_total: 0 }, active_sessions: [], active_total: 0 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    upgrades,
    refuseUpgrades(status, count) {
      refusals = { status, count };
    },
    async close() {
      for (const client of live.clients) client.terminate();
      live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
