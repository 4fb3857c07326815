// The route schemas carry OpenAPI fields (summary, description) that @fastify/swagger declares.
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** How a component is doing. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One component's health, with what it was judged on. */
export interface ComponentHealth {
  status: HealthStatus;
  /** Why it is not healthy, in words an operator can act on (none while healthy). */
  reason?: string;
  /** When what it was judged on was measured, if not now (a periodic measurement). */
  checkedAt?: Date;
  details: Record<string, unknown>;
}

/** A component as `/readyz` shows it. */
interface ComponentReport {
  status: HealthStatus;
  reason: string | null;
  checked_at: string;
  details: Record<string, unknown>;
}

/** Something whose health `/readyz` reports. */
export type HealthCheck = () => ComponentHealth;

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

const componentSchema = {
  type: 'object',
  required: ['status', 'reason', 'checked_at', 'details'],
  properties: {
    status: { enum: ['healthy', 'degraded', 'unhealthy'] },
    reason: { type: ['string', 'null'], description: 'why the component is not healthy; null while healthy' },
    checked_at: { type: 'string', format: 'date-time', description: 'when what the status was judged on was measured' },
    details: { type: 'object', additionalProperties: true },
  },
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
        summary:
          'Readiness: ingest, store, fan-out, memory, event loop and auth, each healthy, degraded or unhealthy, with the reason and when it was checked',
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
      const components: Record<string, ComponentReport> = {};
      let status: HealthStatus = 'healthy';
      for (const [name, check] of Object.entries(checks)) {
        const now = new Date();
        let health: ComponentHealth;
        try {
          health = check();
        } catch (error) {
          health = { status: 'unhealthy', reason: `its health check failed: ${(error as Error).message}`, details: {} };
        }
        components[name] = {
          status: health.status,
          reason: health.status === 'healthy' ? null : (health.reason ?? 'no reason given'),
          checked_at: (health.checkedAt ?? now).toISOString(),
          details: health.details,
        };
        if (RANK[health.status] > RANK[status]) status = health.status;
      }
      void reply.code(status === 'unhealthy' ? 503 : 200);
      return { status, components };
    },
  );
}
