// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { AnalyticsAccumulator, analyticsReportSchema, ANALYTICS_DIMENSIONS } from '@llm-monitor/sessions';
import type { AnalyticsDimension, HistoryStore } from '@llm-monitor/sessions';
import { apiErrorSchema } from './api-errors.js';
import { analyticsToCsv } from './csv.js';
import { exportFormat } from './exports.js';
import { badParameter, WINDOW_QUERY_PROPERTIES, windowParameters } from './query-parameters.js';

interface AnalyticsQueryString {
  group_by?: string;
  since?: string;
  until?: string;
  window?: string;
  top?: number;
  format?: 'json' | 'csv';
}

/** Window analytics cover when none is given: the last day. */
const DEFAULT_WINDOW = '1d';

function groupByParameter(value: string | undefined): AnalyticsDimension[] {
  if (value === undefined || value.trim() === '') return [];
  const dimensions = value.split(',').map((item) => item.trim());
  for (const dimension of dimensions) {
    if (!ANALYTICS_DIMENSIONS.includes(dimension as AnalyticsDimension))
      throw badParameter('group_by', dimension, `one of ${ANALYTICS_DIMENSIONS.join(', ')}`);
  }
  if (dimensions.length > 2) throw badParameter('group_by', value, 'at most two dimensions');
  if (new Set(dimensions).size !== dimensions.length) throw badParameter('group_by', value, 'distinct dimensions');
  return dimensions as AnalyticsDimension[];
}

/** `GET /api/monitoring/analytics`: usage and cost of the call log, grouped. */
export async function analyticsRoutes(app: FastifyInstance, { history }: { readonly history: HistoryStore }): Promise<void> {
  app.get<{ Querystring: AnalyticsQueryString }>(
    '/api/monitoring/analytics',
    {
      schema: {
        summary:
          'Usage and cost of LLM calls grouped by up to two of model, user, task, service, day: sessions, calls, tokens, cost, error rate, p50/p95 duration and time to first token; the most expensive sessions and users',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            group_by: {
              type: 'string',
              description: 'one or two of model, user, task, service, day (comma-separated); none gives totals only',
            },
            ...WINDOW_QUERY_PROPERTIES,
            window: {
              type: 'string',
              description: `started within this long before now (default ${DEFAULT_WINDOW} when since is absent): 30s, 15m, 1h, 7d`,
            },
            top: { type: 'integer', minimum: 0, maximum: 1000, description: 'how many top sessions and users (default 10)' },
            format: { enum: ['json', 'csv'], description: 'download the groups as CSV (or the report as JSON)' },
          },
        },
        response: { 200: analyticsReportSchema, 400: apiErrorSchema, 503: apiErrorSchema },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const groupBy = groupByParameter(query.group_by);
      const window = windowParameters(
        { ...query, window: query.since === undefined ? (query.window ?? DEFAULT_WINDOW) : query.window },
        Date.now(),
      );
      // Read through in chunks: what is kept is per group, session and user, never the month's rows.
      const accumulator = new AnalyticsAccumulator({ groupBy, ...window, top: query.top ?? 10 });
      for await (const chunk of history.callFigures(window)) for (const row of chunk) accumulator.add(row);
      const report = accumulator.report();
      const format = exportFormat(request, query.format);
      if (format) {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        void reply.header('content-disposition', `attachment; filename="llm-monitor-analytics-${stamp}.${format}"`);
        if (format === 'csv')
          return reply
            .type('text/csv; charset=utf-8')
            .serializer((payload: unknown) => payload as string)
            .send(analyticsToCsv(report));
      }
      return report;
    },
  );
}
