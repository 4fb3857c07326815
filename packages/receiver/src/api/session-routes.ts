// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cursorAfter, isEnded, newestFirst, parseCursor, processingSessionSchema, querySessions, withinJsonLength } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionFilter, SessionPage, SessionStore } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import { apiErrorSchema } from './api-errors.js';
import { sessionsToCsv } from './csv.js';
import { badParameter, statusParameter, windowParameters } from './query-parameters.js';

/** Options of {@link sessionRoutes}. */
export interface SessionRoutesOptions {
  readonly store: SessionStore;
}

/** Most sessions one export holds. */
export const MAX_EXPORT = 10_000;

/**
 * Longest answer a list or export gives, in characters of JSON (or CSV): sessions carry their
 * streamed text and timelines, so a count alone does not bound an answer. A page cut here says where
 * the rest begins (`next_cursor`, `X-Next-Cursor`), so nothing is lost, only paged.
 */
export const MAX_ANSWER_LENGTH = 32 * 1024 * 1024;

/** Most running sessions `/sessions/active` lists (newest first); `X-Total-Count` tells how many run. */
export const MAX_ACTIVE_LISTED = 1000;

const sessionList = { type: 'array', items: processingSessionSchema } as const;

interface RecentQuery {
  limit?: number;
  cursor?: string;
  status?: string;
  model?: string;
  task?: string;
  processor_type?: string;
  conversation?: string;
  since?: string;
  until?: string;
  window?: string;
  q?: string;
  format?: 'json' | 'csv';
}

const recentQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_EXPORT, description: 'sessions per page (default 50, at most 1,000) or per export (default 1,000, at most 10,000)' },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
    status: { type: 'string', description: 'comma-separated: active, completed, failed, abandoned' },
    model: { type: 'string' },
    task: { type: 'string' },
    processor_type: { type: 'string' },
    conversation: { type: 'string', description: 'conversation id' },
    since: { type: 'string', description: 'started at or after: ISO 8601 or ms since the epoch' },
    until: { type: 'string', description: 'started before: ISO 8601 or ms since the epoch' },
    window: { type: 'string', description: 'started within this long before now: 30s, 15m, 1h, 7d' },
    q: { type: 'string', maxLength: 500, description: 'text in the content or result preview (case-insensitive)' },
    format: { enum: ['json', 'csv'], description: 'download an export instead of a page (also by Accept: text/csv)' },
  },
} as const;

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
function exportFormat(request: FastifyRequest, format: 'json' | 'csv' | undefined): 'json' | 'csv' | undefined {
  if (format) return format;
  const accept = request.headers.accept ?? '';
  return quality(accept, 'text/csv') > quality(accept, 'application/json') ? 'csv' : undefined;
}

/** A page cut to {@link MAX_ANSWER_LENGTH}: when cut, the next page starts after the last session kept. */
function bounded(page: SessionPage): SessionPage {
  const kept = withinJsonLength(page.sessions, MAX_ANSWER_LENGTH);
  return kept.cut ? { sessions: kept.items, nextCursor: cursorAfter(kept.items.at(-1)!) } : page;
}

/** Session routes: one session, running sessions, recent sessions (paged, filtered, exported). */
export async function sessionRoutes(app: FastifyInstance, { store }: SessionRoutesOptions): Promise<void> {
  app.get<{ Params: { session_id: string } }>(
    '/api/monitoring/sessions/:session_id',
    {
      schema: {
        summary: 'One session: its timeline, stages, tokens, LLM calls, metadata and error',
        params: { type: 'object', properties: { session_id: { type: 'string', minLength: 1, maxLength: 256 } } },
        response: { 200: processingSessionSchema, 404: apiErrorSchema },
      },
    },
    async (request) => {
      const session = store.get(request.params.session_id);
      if (!session) {
        throw new LlmMonitorError('LLMMON_ERR_SESSION_NOT_FOUND', `no session with id ${JSON.stringify(request.params.session_id)}`);
      }
      return session;
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/monitoring/sessions/active',
    {
      schema: {
        summary: 'Running sessions, newest first (at most `limit`, and at most 32 MiB of JSON); X-Total-Count tells how many run',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_ACTIVE_LISTED, description: `sessions listed (default and most ${MAX_ACTIVE_LISTED})` } },
        },
        response: { 200: sessionList, 400: apiErrorSchema },
      },
    },
    async (request, reply) => {
      const active: ProcessingSession[] = [];
      for (const session of store.values()) if (!isEnded(session.status)) active.push(session);
      active.sort(newestFirst);
      void reply.header('x-total-count', String(active.length));
      return withinJsonLength(active.slice(0, request.query.limit ?? MAX_ACTIVE_LISTED), MAX_ANSWER_LENGTH).items;
    },
  );

  app.get<{ Querystring: RecentQuery }>(
    '/api/monitoring/sessions/recent',
    {
      schema: {
        summary: 'Recent sessions, newest first: a page, or an export (CSV or JSON) as a download',
        querystring: recentQuerySchema,
        response: {
          200: {
            type: 'object',
            required: ['sessions', 'next_cursor'],
            properties: { sessions: sessionList, next_cursor: { type: ['string', 'null'] } },
          },
          400: apiErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const window = windowParameters(query, Date.now());
      const filter: SessionFilter = {
        ...window,
        ...(query.status === undefined ? {} : { status: statusParameter(query.status) }),
        ...(query.model === undefined ? {} : { model: query.model }),
        ...(query.task === undefined ? {} : { task: query.task }),
        ...(query.processor_type === undefined ? {} : { processorType: query.processor_type }),
        ...(query.conversation === undefined ? {} : { conversationId: query.conversation }),
        ...(query.q === undefined ? {} : { text: query.q }),
      };
      const after = query.cursor === undefined ? undefined : parseCursor(query.cursor);
      if (query.cursor !== undefined && !after) throw badParameter('cursor', query.cursor, 'a cursor this API gave out');
      const format = exportFormat(request, query.format);
      if (format) {
        const { sessions, nextCursor } = bounded(querySessions(store.values(), filter, query.limit ?? 1000, after));
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        void reply.header('content-disposition', `attachment; filename="llm-monitor-sessions-${stamp}.${format}"`);
        // An export is cut at its limit: the cursor of the rest, for the next download.
        if (nextCursor) void reply.header('x-next-cursor', nextCursor);
        // An export bypasses the page schema: it is the sessions themselves, as a file.
        if (format === 'csv') return reply.type('text/csv; charset=utf-8').serializer((payload: unknown) => payload as string).send(sessionsToCsv(sessions));
        return reply.type('application/json; charset=utf-8').serializer((payload: unknown) => JSON.stringify(payload)).send(sessions);
      }
      const limit = query.limit ?? 50;
      if (limit > 1000) throw badParameter('limit', query.limit, 'at most 1000 for a page (exports take up to 10000)');
      const page = bounded(querySessions(store.values(), filter, limit, after));
      return { sessions: page.sessions, next_cursor: page.nextCursor };
    },
  );

  app.get<{ Params: { conversation_id: string } }>(
    '/api/monitoring/conversations/:conversation_id',
    {
      schema: {
        summary: 'The sessions of one conversation, oldest first (at most 32 MiB of JSON: `truncated` says when the newest were left out)',
        params: { type: 'object', properties: { conversation_id: { type: 'string', minLength: 1, maxLength: 256 } } },
        response: {
          200: {
            type: 'object',
            required: ['conversation_id', 'sessions', 'sessions_total', 'truncated'],
            properties: { conversation_id: { type: 'string' }, sessions: sessionList, sessions_total: { type: 'integer' }, truncated: { type: 'boolean' } },
          },
          404: apiErrorSchema,
        },
      },
    },
    async (request) => {
      const id = request.params.conversation_id;
      const sessions = [...store.values()].filter((session) => session.conversation_id === id).sort((a, b) => -newestFirst(a, b));
      if (sessions.length === 0) throw new LlmMonitorError('LLMMON_ERR_CONVERSATION_NOT_FOUND', `no session of conversation ${JSON.stringify(id)}`);
      const kept = withinJsonLength(sessions, MAX_ANSWER_LENGTH);
      return { conversation_id: id, sessions: kept.items, sessions_total: sessions.length, truncated: kept.cut };
    },
  );
}
