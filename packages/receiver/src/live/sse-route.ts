/**
 * `/api/monitoring/stream`: the live events as server-sent events, for curl and for proxies that do not
 * pass WebSocket. The same snapshot first, then each event as its own SSE event (named by its type),
 * written once per tick; a comment every 15 s keeps proxies from closing an idle stream; a client that
 * cannot keep up is ended.
 */
import type { FastifyInstance } from 'fastify';
import { LIVE_ERROR_CODES } from '@llm-monitor/sessions';
import { SESSION_FILTER_QUERY_PROPERTIES } from '../api/query-parameters.js';
import type { SessionFilterQuery } from '../api/query-parameters.js';
import type { LiveHub } from './live-hub.js';
import { subscriptionOfQuery } from './subscriptions.js';

/** Path of the SSE stream. */
export const SSE_PATH = '/api/monitoring/stream';

/** Options of {@link sseRoute}. */
export interface SseRouteOptions {
  readonly hub: LiveHub;
  readonly maxBufferedBytes: number;
  /** Milliseconds between keep-alive comments (default 15,000). */
  readonly heartbeatMs?: number;
  /**
   * Milliseconds a dropped client has to take its last event before its connection is destroyed
   * (default 1,000): a client that stopped reading would otherwise hold its socket and the kernel's
   * send buffer for as long as it likes.
   */
  readonly dropGraceMs?: number;
}

function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Bytes of a batch, made once however many clients get it: clients that want everything share one
 * events array (and every client shares the statistics object), as on the WebSocket. Encoded once
 * too: a string written to a socket is encoded on every write.
 */
const eventBytes = new WeakMap<readonly unknown[], Buffer>();
const statisticsTexts = new WeakMap<object, string>();
const withStatistics = new WeakMap<readonly unknown[], { readonly statistics: object; readonly bytes: Buffer }>();

function batchBytes(events: readonly { type: string }[], statistics: object | undefined): Buffer {
  let bytes = eventBytes.get(events);
  if (bytes === undefined) {
    let text = '';
    for (const event of events) text += sseEvent(event.type, event);
    bytes = Buffer.from(text, 'utf8');
    eventBytes.set(events, bytes);
  }
  if (!statistics) return bytes;
  const cached = withStatistics.get(events);
  if (cached?.statistics === statistics) return cached.bytes;
  let statisticsText = statisticsTexts.get(statistics);
  if (statisticsText === undefined) {
    statisticsText = sseEvent('statistics', statistics);
    statisticsTexts.set(statistics, statisticsText);
  }
  const combined = Buffer.concat([bytes, Buffer.from(statisticsText, 'utf8')]);
  withStatistics.set(events, { statistics, bytes: combined });
  return combined;
}

/** Registers the SSE endpoint on the API server. */
export async function sseRoute(app: FastifyInstance, options: SseRouteOptions): Promise<void> {
  app.get<{ Querystring: SessionFilterQuery & { sessions?: string; session?: string } }>(
    SSE_PATH,
    {
      // A HEAD would open a stream that never ends: the route answers GET only.
      exposeHeadRoute: false,
      schema: {
        summary:
          'Live session events as server-sent events: snapshot, session_started, stage_changed, step_started, step_completed, tokens, budget_exceeded, session_completed, session_failed, session_abandoned, session_renamed, session_removed, statistics, error',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            sessions: { type: 'string', description: 'comma-separated session ids' },
            session: { type: 'string', deprecated: true, description: 'deprecated alias of sessions (its old name here)' },
            ...SESSION_FILTER_QUERY_PROPERTIES,
          },
        },
      },
    },
    (request, reply) => {
      const subscription = subscriptionOfQuery(request.query);
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx and similar proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 3000\n\n${sseEvent('snapshot', options.hub.snapshot(subscription))}`);
      let disconnect: () => void = () => undefined;
      const writable = (): boolean => !raw.writableEnded && !raw.destroyed;
      const end = (): void => {
        clearInterval(heartbeat);
        disconnect();
        if (!raw.writableEnded) raw.end();
      };
      /** Ends the stream, and destroys the connection if the client has not taken it by the grace. */
      const drop = (): void => {
        end();
        setTimeout(() => {
          if (!raw.destroyed) raw.destroy();
        }, options.dropGraceMs ?? 1000).unref();
      };
      disconnect = options.hub.connect({
        subscription,
        transport: 'sse',
        deliver: (events, statistics) => {
          if (!writable()) return;
          if (raw.writableLength > options.maxBufferedBytes) {
            options.hub.droppedTooSlow('sse', events.length);
            // Say why before ending, so the client knows not to come straight back as it was.
            raw.write(
              sseEvent('error', {
                code: LIVE_ERROR_CODES.CLIENT_TOO_SLOW,
                message: `client too slow: ${raw.writableLength} bytes waiting`,
              }),
            );
            drop();
            return;
          }
          const chunk = batchBytes(events, statistics);
          if (chunk.length > 0) raw.write(chunk);
        },
        close: () => drop(),
      });
      const heartbeat = setInterval(() => {
        if (writable()) raw.write(': ping\n\n');
      }, options.heartbeatMs ?? 15_000);
      heartbeat.unref();
      request.raw.on('close', end);
    },
  );
}
