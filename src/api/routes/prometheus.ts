import type { Registry } from 'prom-client';
import { StoreFlagSource } from '../../flags/store-flag-source.js';
import { createPrometheusRegistry } from '../../metrics/prometheus.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';

/**
 * `/metrics` in the Prometheus text format, from the operation ledger
 * and the flag source. Operator keys only (Prometheus sends them as a
 * bearer token); no per-tenant labels.
 */
export const prometheusRoutes: ApiRoutes = (server, ctx) => {
  server.addHook('onRequest', async (request) => requireOperator(request));
  let registry: Registry | undefined;

  server.get(
    '/metrics',
    { schema: { tags: ['readiness (operator)'], hide: true } },
    async (_request, reply) => {
      const flags = ctx.app.flags;
      registry ??= createPrometheusRegistry({
        db: ctx.app.db,
        flags: flags instanceof StoreFlagSource ? flags : undefined,
      });
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
};
