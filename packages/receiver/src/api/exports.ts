/** What the list endpoints share: answer bounds, export format negotiation, export downloads. */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Most rows one export holds. */
export const MAX_EXPORT = 10_000;

/**
 * Longest answer a list or export gives, in characters of JSON (or CSV): sessions carry their
 * streamed text and timelines, so a count alone does not bound an answer. A page cut here says where
 * the rest begins (`next_cursor`, `X-Next-Cursor`), so nothing is lost, only paged.
 */
export const MAX_ANSWER_LENGTH = 32 * 1024 * 1024;

/** The quality an `Accept` header gives a media type (0 when absent). */
function quality(accept: string, mediaType: string): number {
  for (const part of accept.split(',')) {
    const [type, ...parameters] = part.trim().toLowerCase().split(';');
    if (type?.trim() !== mediaType) continue;
    const q = parameters.map((parameter) => /^\s*q=([\d.]+)\s*$/.exec(parameter)?.[1]).find((value) => value !== undefined);
    return q === undefined ? 1 : Number(q);
  }
  return 0;
}

/** The export format a request asks for: `format`, else an `Accept` preferring CSV to JSON; `undefined` for a page. */
export function exportFormat(request: FastifyRequest, format: 'json' | 'csv' | undefined): 'json' | 'csv' | undefined {
  if (format) return format;
  const accept = request.headers.accept ?? '';
  return quality(accept, 'text/csv') > quality(accept, 'application/json') ? 'csv' : undefined;
}

/**
 * Sends rows as a download (`llm-monitor-<name>-<time>.<format>`). An export cut at its limit says
 * where the rest begins in `X-Next-Cursor`. It bypasses the page schema: it is the rows themselves.
 */
export function sendExport<T>(reply: FastifyReply, name: string, format: 'json' | 'csv', rows: readonly T[], nextCursor: string | null, toCsv: (rows: readonly T[]) => string): FastifyReply {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  void reply.header('content-disposition', `attachment; filename="llm-monitor-${name}-${stamp}.${format}"`);
  if (nextCursor) void reply.header('x-next-cursor', nextCursor);
  if (format === 'csv') return reply.type('text/csv; charset=utf-8').serializer((payload: unknown) => payload as string).send(toCsv(rows));
  return reply.type('application/json; charset=utf-8').serializer((payload: unknown) => JSON.stringify(payload)).send(rows);
}
