/** What the list endpoints share: answer bounds, export format negotiation, export downloads. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSV, JSON_MEDIA_TYPE, preferredMediaType } from './negotiation.js';

/** Most rows one export holds. */
export const MAX_EXPORT = 10_000;

/**
 * Longest answer a list or export gives, in characters of JSON (or CSV): sessions carry their
 * streamed text and timelines, so a count alone does not bound an answer. A page cut here says where
 * the rest begins (`next_cursor`, `X-Next-Cursor`), so nothing is lost, only paged.
 */
export const MAX_ANSWER_LENGTH = 32 * 1024 * 1024;

/**
 * The export format a request asks for: `format`, else CSV when `Accept` prefers it to JSON;
 * `undefined` for a page. JSON is offered first, so a browser's or curl's wildcard gets the page.
 */
export function exportFormat(request: FastifyRequest, format: 'json' | 'csv' | undefined): 'json' | 'csv' | undefined {
  if (format) return format;
  return preferredMediaType(request.headers.accept, [JSON_MEDIA_TYPE, CSV]) === CSV ? 'csv' : undefined;
}

/**
 * Sends rows as a download (`llm-monitor-<name>-<time>.<format>`). An export cut at its limit says
 * where the rest begins in `X-Next-Cursor`. It bypasses the page schema: it is the rows themselves.
 */
export function sendExport<T>(
  reply: FastifyReply,
  name: string,
  format: 'json' | 'csv',
  rows: readonly T[],
  nextCursor: string | null,
  toCsv: (rows: readonly T[]) => string,
): FastifyReply {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  void reply.header('content-disposition', `attachment; filename="llm-monitor-${name}-${stamp}.${format}"`);
  if (nextCursor) void reply.header('x-next-cursor', nextCursor);
  if (format === 'csv')
    return reply
      .type('text/csv; charset=utf-8')
      .serializer((payload: unknown) => payload as string)
      .send(toCsv(rows));
  return reply
    .type(JSON_MEDIA_TYPE)
    .serializer((payload: unknown) => JSON.stringify(payload))
    .send(rows);
}
