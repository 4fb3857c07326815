import type { FastifyInstance } from 'fastify';
import { isEnded, processingSessionSchema } from '@llm-monitor/sessions';
import type { ProcessingSession, SessionStore } from '@llm-monitor/sessions';
import { LlmMonitorError } from '../errors.js';
import { apiErrorSchema } from './api-errors.js';

/** Options of {@link sessionRoutes}. */
export interface SessionRoutesOptions {
  readonly store: SessionStore;
}

const sessionList = { type: 'array', items: processingSessionSchema } as const;

/** `GET /api/monitoring/sessions/{session_id}`, `/sessions/active` and `/sessions/recent`. */
export async function sessionRoutes(app: FastifyInstance, { store }: SessionRoutesOptions): Promise<void> {
  app.get<{ Params: { session_id: string } }>(
    '/api/monitoring/sessions/:session_id',
    {
      schema: {
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

  app.get('/api/monitoring/sessions/active', { schema: { response: { 200: sessionList } } }, async () => {
    const active: ProcessingSession[] = [];
    for (const session of store.values()) if (!isEnded(session.status)) active.push(session);
    return active.sort((a, b) => b.start_time.localeCompare(a.start_time));
  });

  app.get<{ Querystring: { limit: number } }>(
    '/api/monitoring/sessions/recent',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        },
        response: { 200: sessionList, 400: apiErrorSchema },
      },
    },
    async (request) => {
      const sessions = [...store.values()].sort((a, b) => b.start_time.localeCompare(a.start_time));
      return sessions.slice(0, request.query.limit);
    },
  );
}
