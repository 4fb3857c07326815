// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { StatisticsAccumulator, statisticsReportSchema } from '@llm-monitor/sessions';
import type { HistoryStore } from '@llm-monitor/sessions';
import { apiErrorSchema } from './api-errors.js';
import { WINDOW_QUERY_PROPERTIES, windowParameters } from './query-parameters.js';

/** `GET /api/monitoring/statistics`, optionally over a window of start times. */
export async function statisticsRoutes(app: FastifyInstance, { history }: { readonly history: HistoryStore }): Promise<void> {
  app.get<{ Querystring: { since?: string; until?: string; window?: string } }>(
    '/api/monitoring/statistics',
    {
      schema: {
        summary:
          'Counts, success rate, processing time and time-to-first-token percentiles, tokens; overall and by model, task and processor type',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...WINDOW_QUERY_PROPERTIES,
          },
        },
        response: { 200: statisticsReportSchema, 400: apiErrorSchema, 503: apiErrorSchema },
      },
    },
    async (request) => {
      const window = windowParameters(request.query, Date.now());
      // Read through in chunks: counts, sums and durations are kept, never the sessions.
      const accumulator = new StatisticsAccumulator(window);
      for await (const chunk of history.sessionFigures(window)) for (const session of chunk) accumulator.add(session);
      return accumulator.report();
    },
  );
}
