// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** How a component is doing. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One component's health, with what it was judged on. */
export interface ComponentHealth {
  status: HealthStatus;
  details: Record<string, unknown>;
}

/** Something whose health `/readyz` reports. */
export type HealthCheck = () => ComponentHealth;

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

const componentSchema = {
  type: 'object',
  required: ['status', 'details'],
  properties: { status: { enum: ['healthy', 'degraded', 'unhealthy'] }, details: { type: 'object', additionalProperties: true } },
} as const;

/**
 * `/healthz`: the process serves. `/readyz`: each component's health and the worst of them; 200 while
 * healthy or degraded (still serving), 503 when unhealthy, so a load balancer stops sending.
 */
export async function healthRoutes(
  app: FastifyInstance,
  { checks }: { readonly checks: Readonly<Record<string, HealthCheck>> },
): Promise<void> {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process serves', response: { 200: { type: 'object', properties: { status: { const: 'ok' } } } } } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: ingest, store and fan-out, each healthy, degraded or unhealthy, with details',
        response: {
          200: {
            type: 'object',
            required: ['status', 'components'],
            properties: {
              status: componentSchema.properties.status,
              components: { type: 'object', additionalProperties: componentSchema },
            },
          },
          503: {
            type: 'object',
            required: ['status', 'components'],
            properties: {
              status: componentSchema.properties.status,
              components: { type: 'object', additionalProperties: componentSchema },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      const components: Record<string, ComponentHealth> = {};
      let status: HealthStatus = 'healthy';
      for (const [name, check] of Object.entries(checks)) {
        let health: ComponentHealth;
        try {
          health = check();
        } catch (error) {
          health = { status: 'unhealthy', details: { error: (error as Error).message } };
        }
        components[name] = health;
        if (RANK[health.status] > RANK[status]) status = health.status;
      }
      void reply.code(status === 'unhealthy' ? 503 : 200);
      return { status, components };
    },
  );
}
