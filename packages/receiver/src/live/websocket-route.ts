/**
 * `/ws/monitoring`: on connect a snapshot (statistics and running sessions), then one batch of events
 * per tick. A client sends `{"type":"subscribe", ...}` to choose what it gets and
 * `{"type":"unsubscribe"}` to stop; pings find dead connections; a client that cannot keep up is
 * closed with code 1013 and a reason, instead of growing the server's memory.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { LIVE_CLOSE_CODES, LIVE_ERROR_CODES } from '@llm-monitor/sessions';
import type { LiveServerMessage } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import type { LiveHub, LiveSubscription } from './live-hub.js';
import { describeSubscription, subscriptionOfMessage, subscriptionOfQuery } from './subscriptions.js';
import type { LiveParameters } from './subscriptions.js';

/** Path of the live WebSocket. */
export const WEBSOCKET_PATH = '/ws/monitoring';

/** Options of {@link websocketRoute}. */
export interface WebSocketRouteOptions {
  readonly hub: LiveHub;
  /** Bytes a client may have waiting before it is dropped as too slow. */
  readonly maxBufferedBytes: number;
  /** Milliseconds between pings; a client that missed the last one is dropped. */
  readonly pingIntervalMs: number;
}

/** Close code for a client that cannot keep up (1013, "try again later"); the shared `LIVE_CLOSE_CODES` hold it. */
export const CLOSE_TOO_SLOW = LIVE_CLOSE_CODES.TOO_SLOW;

/** A client's message before it is checked: any JSON object. */
type ClientMessage = LiveParameters & { readonly type?: unknown };

/** Batches go through {@link serialized}; every other message the server sends goes through here. */
function send(socket: WebSocket, message: Exclude<LiveServerMessage, { type: 'batch' }>): void {
  socket.send(JSON.stringify(message));
}

/** The error message of a refused message or subscription. */
function refusal(message: string): Extract<LiveServerMessage, { type: 'error' }> {
  return { type: 'error', code: LIVE_ERROR_CODES.BAD_PARAMETER, message };
}

/**
 * Batches shared by many clients (those that want everything) are serialised once, with or without
 * the tick's statistics (one object for every client of a tick): the once-a-second batch that
 * carries them was serialised per client, which at 1,000 clients delayed its events by ~45 ms. The
 * text is encoded to bytes once too: `ws` encodes a string on every `send`, so a batch sent to 1,000
 * clients was encoded 1,000 times.
 */
const batches = new WeakMap<readonly unknown[], Buffer>();
const batchesWithStatistics = new WeakMap<readonly unknown[], { readonly statistics: unknown; readonly bytes: Buffer }>();

function serialized(events: readonly unknown[], statistics: unknown): Buffer {
  if (statistics) {
    const cached = batchesWithStatistics.get(events);
    if (cached?.statistics === statistics) return cached.bytes;
    const bytes = Buffer.from(JSON.stringify({ type: 'batch', events, statistics }), 'utf8');
    batchesWithStatistics.set(events, { statistics, bytes });
    return bytes;
  }
  let bytes = batches.get(events);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify({ type: 'batch', events }), 'utf8');
    batches.set(events, bytes);
  }
  return bytes;
}

/** Registers the WebSocket endpoint on the API server. */
export async function websocketRoute(app: FastifyInstance, options: WebSocketRouteOptions): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.get<{ Querystring: LiveParameters }>(WEBSOCKET_PATH, { websocket: true, schema: { hide: true } }, (socket, request) => {
    let alive = true;
    // The URL may carry the subscription, so a reconnecting client is filtered from its first message.
    let initial: LiveSubscription;
    try {
      initial = subscriptionOfQuery(request.query);
    } catch (error) {
      send(socket, refusal((error as Error).message));
      socket.close(LIVE_CLOSE_CODES.BAD_SUBSCRIPTION, 'bad subscription');
      return;
    }
    const client = {
      subscription: initial,
      transport: 'websocket' as const,
      deliver: (events: readonly unknown[], statistics: unknown) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > options.maxBufferedBytes) {
          options.hub.droppedTooSlow('websocket', events.length);
          closeFirmly(CLOSE_TOO_SLOW, `client too slow: ${socket.bufferedAmount} bytes waiting`);
          disconnect();
          return;
        }
        // A text frame from the shared bytes: nothing is copied or encoded per client.
        socket.send(serialized(events, statistics), { binary: false });
      },
      close: () => closeFirmly(LIVE_CLOSE_CODES.SHUTTING_DOWN, 'server shutting down'),
    };
    /** Closes with a code and reason; a client that does not answer the close within a second is cut off. */
    const closeFirmly = (code: number, reason: string): void => {
      socket.close(code, reason);
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    const disconnect = options.hub.connect(client);
    send(socket, { type: 'snapshot', ...options.hub.snapshot(client.subscription) });

    const ping = setInterval(() => {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, options.pingIntervalMs);
    ping.unref();
    socket.on('pong', () => {
      alive = true;
    });

    socket.on('message', (data) => {
      let message: ClientMessage;
      try {
        message = JSON.parse(data.toString()) as ClientMessage;
        if (typeof message !== 'object' || message === null) throw new Error('not an object');
      } catch {
        send(socket, refusal('messages are JSON objects with a type: subscribe or unsubscribe'));
        return;
      }
      try {
        if (message.type === 'subscribe') {
          client.subscription = subscriptionOfMessage(message);
          options.hub.resubscribed(client);
          send(socket, { type: 'subscribed', subscription: describeSubscription(client.subscription) });
        } else if (message.type === 'unsubscribe') {
          client.subscription = { active: false };
          options.hub.resubscribed(client);
          send(socket, { type: 'unsubscribed' });
        } else {
          throw new LlmMonitorError(
            LIVE_ERROR_CODES.BAD_PARAMETER,
            `unknown message type ${JSON.stringify(message.type)}: use subscribe or unsubscribe`,
          );
        }
      } catch (error) {
        // Whatever went wrong, it was reading the client's message: the client is told so.
        send(socket, refusal((error as Error).message));
      }
    });
    socket.on('close', () => {
      clearInterval(ping);
      disconnect();
    });
    socket.on('error', () => {
      clearInterval(ping);
      disconnect();
    });
  });
}
