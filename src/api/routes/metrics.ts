import { ledgerMetrics } from '../../metrics/metrics.js';
import { invalidInput } from '../../errors/tenantgate-error.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import { problemResponses } from '../schemas.js';

const HOUR_MS = 3_600_000;

/** Seven days: the default window, as `tenantgate metrics`. */
const DEFAULT_HOURS = 24 * 7;

/**
 * Ledger metrics over a window (the report `tenantgate metrics --json`
 * prints): errors by name, success rates, V1/V2 per hour, would-block
 * and fallbacks, each with its sample size. Operator keys only.
 */
export const metricsRoutes: ApiRoutes = (server, ctx) => {
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.get<{
    Querystring: { environment?: string; hours?: number; until?: string };
  }>(
    '/v1/metrics',
    {
      schema: {
        tags: ['readiness (operator)'],
        summary: 'Ledger metrics for the last `hours` (default 168)',
        querystring: {
          type: 'object',
          properties: {
            environment: { type: 'string', enum: ['staging', 'production'] },
            hours: { type: 'integer', minimum: 1, maximum: 24 * 366 },
            until: { type: 'string', format: 'date-time' },
          },
        },
        response: { ...problemResponses },
      },
    },
    async (request) => {
      const until = request.query.until
        ? new Date(request.query.until)
        : new Date();
      if (Number.isNaN(until.getTime())) {
        throw invalidInput('until', 'date-time', 'until: not a date');
      }
      const hours = request.query.hours ?? DEFAULT_HOURS;
      return ledgerMetrics(ctx.app.db, {
        environment:
          (request.query.environment as 'staging' | 'production') ??
          ctx.app.settings.deploymentEnvironment,
        since: new Date(until.getTime() - hours * HOUR_MS),
        until,
      });
    },
  );
};
