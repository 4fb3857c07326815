/**
 * Caps on live connections (WebSocket and SSE): in all, and per client address, so one client —
 * a runaway script, a page opened in a hundred tabs — cannot take every connection the receiver is
 * willing to hold. A connection is counted from its request until its socket closes; one over a cap
 * is refused before the WebSocket upgrade or the stream begins.
 */
import type { FastifyInstance } from 'fastify';
import { LlmMonitorError } from '../errors.js';

/** Options of {@link installLiveConnectionLimits}. */
export interface LiveConnectionLimitOptions {
  /** The paths of the live streams. */
  readonly paths: readonly string[];
  /** Most live connections in all (`live_max_clients`). */
  readonly maxClients: number;
  /** Most live connections from one address (`live_max_clients_per_address`). */
  readonly maxClientsPerAddress: number;
  /** Where refusals are counted (the self-metrics read it). */
  readonly refusals: LiveConnectionRefusals;
}

/** Counts of refusals, by reason, for the self-metrics. */
export interface LiveConnectionRefusals {
  total: number;
  per_address: number;
}

/** Adds the caps to `app`, counting refusals in `options.refusals`. */
export function installLiveConnectionLimits(app: FastifyInstance, options: LiveConnectionLimitOptions): void {
  const paths = new Set(options.paths);
  const byAddress = new Map<string, number>();
  let open = 0;
  const refusals = options.refusals;
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || !paths.has(request.url.split('?', 1)[0]!)) return;
    const address = request.ip;
    const fromAddress = byAddress.get(address) ?? 0;
    const refuse = (reason: keyof LiveConnectionRefusals, message: string): never => {
      refusals[reason] += 1;
      void reply.header('retry-after', '10');
      if (request.headers.upgrade !== undefined) {
        void reply.header('connection', 'close');
        reply.raw.once('finish', () => request.raw.socket.destroy());
      }
      throw new LlmMonitorError('LLMMON_ERR_TOO_MANY_LIVE_CLIENTS', message);
    };
    if (open >= options.maxClients)
      refuse('total', `the receiver holds ${open} live connections, its limit (live_max_clients); retry later or read over REST`);
    if (fromAddress >= options.maxClientsPerAddress)
      refuse(
        'per_address',
        `${address} holds ${fromAddress} live connections, the limit per address (live_max_clients_per_address); close some first`,
      );
    open += 1;
    byAddress.set(address, fromAddress + 1);
    request.raw.socket.once('close', () => {
      open -= 1;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left <= 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
}
