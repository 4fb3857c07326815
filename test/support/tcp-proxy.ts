/**
 * A TCP proxy a test can cut: it forwards every connection to a target (Redis, say) until `cut()`,
 * which closes every open connection and stops accepting — to the client, the target is gone —
 * and `restore()` listens again on the same port.
 */
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Connections forwarded so far. */
  readonly connections: number;
  /** Closes every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts and forwards again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const serve = (): Server =>
    createServer((client) => {
      connections += 1;
      const upstream = connect({ host: targetHost, port: targetPort });
      open.add(client);
      open.add(upstream);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  let server = serve();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let listening = true;
  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of open) socket.destroy();
    open.clear();
    await closed;
  };
  return {
    port,
    get connections() {
      return connections;
    },
    cut: stop,
    async restore() {
      if (listening) return;
      server = serve();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      listening = true;
    },
    close: stop,
  };
}
