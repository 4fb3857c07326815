// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { callCursorAfter, llmCallRowSchema, parseCursor, withinJsonLength } from '@llm-monitor/sessions';
import type { HistoryStore, LlmCallFilter, LlmCallRow } from '@llm-monitor/sessions';
import { apiErrorSchema } from './api-errors.js';
import { callsToCsv } from './csv.js';
import { exportFormat, MAX_ANSWER_LENGTH, MAX_EXPORT, sendExport } from './exports.js';
import { badParameter, WINDOW_QUERY_PROPERTIES, windowParameters } from './query-parameters.js';

interface CallQuery {
  session?: string;
  conversation?: string;
  user?: string;
  model?: string;
  status?: string;
  since?: string;
  until?: string;
  window?: string;
  q?: string;
  limit?: number;
  cursor?: string;
  format?: 'json' | 'csv';
}

const CALL_STATUSES: readonly LlmCallRow['status'][] = ['running', 'ok', 'error'];

function callStatusParameter(value: string): LlmCallRow['status'][] {
  const statuses = value.split(',').map((item) => item.trim());
  for (const status of statuses)
    if (!CALL_STATUSES.includes(status as LlmCallRow['status'])) throw badParameter('status', status, `one of ${CALL_STATUSES.join(', ')}`);
  return statuses as LlmCallRow['status'][];
}

/** `GET /api/monitoring/llm-calls`: the LLM call log, filtered, paged, exported. */
export async function llmCallRoutes(app: FastifyInstance, { history }: { readonly history: HistoryStore }): Promise<void> {
  app.get<{ Querystring: CallQuery }>(
    '/api/monitoring/llm-calls',
    {
      schema: {
        summary:
          'The LLM call log, newest first: one row per model call with tokens, cost, latency and previews; a page, or an export (CSV or JSON) with every field',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            session: { type: 'string', maxLength: 256, description: 'session id' },
            conversation: { type: 'string', maxLength: 256, description: 'conversation id' },
            user: { type: 'string', maxLength: 256, description: 'user id' },
            model: { type: 'string', maxLength: 256, description: 'the answering or requested model' },
            status: { type: 'string', description: 'comma-separated: running, ok, error' },
            ...WINDOW_QUERY_PROPERTIES,
            q: { type: 'string', maxLength: 500, description: 'text in the prompt or response preview (case-insensitive)' },
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_EXPORT,
              description: 'calls per page (default 50, at most 1,000) or per export (default 1,000, at most 10,000)',
            },
            cursor: { type: 'string', description: 'next_cursor of the previous page' },
            format: { enum: ['json', 'csv'], description: 'download an export instead of a page (also by Accept: text/csv)' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['calls', 'next_cursor'],
            properties: { calls: { type: 'array', items: llmCallRowSchema }, next_cursor: { type: ['string', 'null'] } },
          },
          400: apiErrorSchema,
          503: apiErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const filter: LlmCallFilter = {
        ...windowParameters(query, Date.now()),
        ...(query.session === undefined ? {} : { sessionId: query.session }),
        ...(query.conversation === undefined ? {} : { conversationId: query.conversation }),
        ...(query.user === undefined ? {} : { userId: query.user }),
        ...(query.model === undefined ? {} : { model: query.model }),
        ...(query.status === undefined || query.status === '' ? {} : { status: callStatusParameter(query.status) }),
        ...(query.q === undefined ? {} : { text: query.q }),
      };
      const after = query.cursor === undefined ? undefined : parseCursor(query.cursor);
      if (query.cursor !== undefined && !after) throw badParameter('cursor', query.cursor, 'a cursor this API gave out');
      const format = exportFormat(request, query.format);
      const limit = query.limit ?? (format ? 1000 : 50);
      if (!format && limit > 1000) throw badParameter('limit', query.limit, 'at most 1000 for a page (exports take up to 10000)');
      const page = await history.llmCalls(filter, limit, after);
      const kept = withinJsonLength(page.calls, MAX_ANSWER_LENGTH);
      const nextCursor = kept.cut ? callCursorAfter(kept.items.at(-1)!) : page.nextCursor;
      if (format) return sendExport(reply, 'llm-calls', format, kept.items, nextCursor, callsToCsv);
      return { calls: kept.items, next_cursor: nextCursor };
    },
  );
}
