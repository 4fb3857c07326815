// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { isEnded, newestFirst, parseCursor, processingSessionSchema, withinJsonLength } from '@llm-monitor/sessions';
import type { HistoryStore, ProcessingSession, SessionFilter } from '@llm-monitor/sessions';
import type { LiveSessionView } from '../replication/live-sessions.js';
import { LlmMonitorError } from '../errors.js';
import { apiErrorSchema } from './api-errors.js';
import { sessionsToCsv } from './csv.js';
import { exportFormat, MAX_ANSWER_LENGTH, MAX_EXPORT, sendExport } from './exports.js';
import {
  badParameter,
  SESSION_FILTER_QUERY_PROPERTIES,
  sessionFilterOf,
  WINDOW_QUERY_PROPERTIES,
  windowParameters,
} from './query-parameters.js';
import type { SessionFilterQuery } from './query-parameters.js';
import { expandedSession } from '../pipeline/compacted-session.js';

/** Options of {@link sessionRoutes}. */
export interface SessionRoutesOptions {
  /** The live window (with other replicas' when fanned out): running sessions, and the freshest state of any session it holds. */
  readonly store: LiveSessionView;
  /** Everything within the history retention: lists, exports, conversations. */
  readonly history: HistoryStore;
}

/** Most sessions of one conversation answered. */
const MAX_CONVERSATION_SESSIONS = 10_000;

export { MAX_ANSWER_LENGTH, MAX_EXPORT } from './exports.js';

/** Most running sessions `/sessions/active` lists (newest first); `X-Total-Count` tells how many run. */
export const MAX_ACTIVE_LISTED = 1000;

const sessionList = { type: 'array', items: processingSessionSchema } as const;

interface RecentQuery extends SessionFilterQuery {
  limit?: number;
  cursor?: string;
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
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_EXPORT,
      description: 'sessions per page (default 50, at most 1,000) or per export (default 1,000, at most 10,000)',
    },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
    ...SESSION_FILTER_QUERY_PROPERTIES,
    ...WINDOW_QUERY_PROPERTIES,
    q: { type: 'string', maxLength: 500, description: 'text in the content or result preview (case-insensitive)' },
    format: { enum: ['json', 'csv'], description: 'download an export instead of a page (also by Accept: text/csv)' },
  },
} as const;

/** Session routes: one session, running sessions, recent sessions (paged, filtered, exported). */
export async function sessionRoutes(app: FastifyInstance, { store, history }: SessionRoutesOptions): Promise<void> {
  app.get<{ Params: { session_id: string } }>(
    '/api/monitoring/sessions/:session_id',
    {
      schema: {
        summary: 'One session: its timeline, stages, tokens, LLM calls, metadata and error',
        params: { type: 'object', properties: { session_id: { type: 'string', minLength: 1, maxLength: 256 } } },
        response: { 200: processingSessionSchema, 404: apiErrorSchema, 503: apiErrorSchema },
      },
    },
    async (request) => {
      // The live window first: it holds what the last sweep decided even before it is committed.
      const session = store.get(request.params.session_id) ?? (await history.session(request.params.session_id));
      if (!session) {
        throw new LlmMonitorError('LLMMON_ERR_SESSION_NOT_FOUND', `no session with id ${JSON.stringify(request.params.session_id)}`);
      }
      // A compacted session is inflated once here, not once per field by the serialiser.
      return expandedSession(session);
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
          properties: {
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_ACTIVE_LISTED,
              description: `sessions listed (default and most ${MAX_ACTIVE_LISTED})`,
            },
          },
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
        ...sessionFilterOf(query),
        ...(query.q === undefined ? {} : { text: query.q }),
      };
      const after = query.cursor === undefined ? undefined : parseCursor(query.cursor);
      if (query.cursor !== undefined && !after) throw badParameter('cursor', query.cursor, 'a cursor this API gave out');
      const format = exportFormat(request, query.format);
      if (format) {
        const { sessions, nextCursor } = await history.sessions(filter, query.limit ?? 1000, after, MAX_ANSWER_LENGTH);
        return sendExport(reply, 'sessions', format, sessions, nextCursor, sessionsToCsv);
      }
      const limit = query.limit ?? 50;
      if (limit > 1000) throw badParameter('limit', query.limit, 'at most 1000 for a page (exports take up to 10000)');
      const page = await history.sessions(filter, limit, after, MAX_ANSWER_LENGTH);
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
            properties: {
              conversation_id: { type: 'string' },
              sessions: sessionList,
              sessions_total: { type: 'integer' },
              truncated: { type: 'boolean' },
            },
          },
          404: apiErrorSchema,
        },
      },
    },
    async (request) => {
      const id = request.params.conversation_id;
      const { sessions, total } = await history.conversation(id, MAX_CONVERSATION_SESSIONS, MAX_ANSWER_LENGTH);
      if (sessions.length === 0)
        throw new LlmMonitorError('LLMMON_ERR_CONVERSATION_NOT_FOUND', `no session of conversation ${JSON.stringify(id)}`);
      return { conversation_id: id, sessions, sessions_total: total, truncated: total > sessions.length };
    },
  );
}
