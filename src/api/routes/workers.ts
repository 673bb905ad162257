import { WorkerRegistry } from '../../workers/registry.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import { problemResponses } from '../schemas.js';

const environment = { type: 'string', enum: ['staging', 'production'] };
const flag = {
  type: 'object',
  properties: { value: { type: 'boolean' }, source: { type: 'string' } },
} as const;

const registrationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    role: { type: 'string', enum: ['api', 'worker', 'start', 'cli'] },
    environment,
    host: { type: 'string' },
    pid: { type: 'integer' },
    version: { type: 'string' },
    flags: { type: 'object', additionalProperties: flag },
    paths: {
      type: 'object',
      additionalProperties: { type: 'string', enum: ['V1', 'V2'] },
    },
    pathsUsed: {
      type: 'object',
      description:
        'Per operation, the path the process last used and when (none run: {})',
      additionalProperties: {
        type: 'object',
        properties: {
          path: { type: 'string', enum: ['V1', 'V2'] },
          at: { type: 'string', format: 'date-time' },
        },
      },
    },
    startedAt: { type: 'string', format: 'date-time' },
    heartbeatAt: { type: 'string', format: 'date-time' },
    stoppedAt: { type: ['string', 'null'], format: 'date-time' },
    live: { type: 'boolean' },
  },
} as const;

/** Three beats of the default TENANTGATE_HEARTBEAT_MS (10 s). */
const DEFAULT_STALE_MS = 30_000;

/**
 * The processes registered in this deployment environment (API,
 * workers, `npm start`): host, version, effective flags, the V1/V2
 * path they give each operation, the path each operation last took
 * there, and whether they are live (heartbeat within `staleMs`, not
 * stopped). Operator keys only.
 */
export const workerRoutes: ApiRoutes = (server, ctx) => {
  server.addHook('onRequest', async (request) => requireOperator(request));
  server.get<{ Querystring: { environment?: string; staleMs?: number } }>(
    '/v1/workers',
    {
      schema: {
        tags: ['readiness (operator)'],
        summary: 'Registered processes with their heartbeat and V1/V2 paths',
        querystring: {
          type: 'object',
          properties: {
            environment,
            staleMs: { type: 'integer', minimum: 1000, maximum: 86_400_000 },
          },
        },
        response: {
          200: { type: 'array', items: registrationSchema },
          ...problemResponses,
        },
      },
    },
    async (request) =>
      new WorkerRegistry(ctx.app.db).list(
        (request.query.environment as 'staging' | 'production') ??
          ctx.app.settings.deploymentEnvironment,
        new Date(),
        request.query.staleMs ?? DEFAULT_STALE_MS,
      ),
  );
};
