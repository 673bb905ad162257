import { auditPlatform } from '../../audit/platform-audit.js';
import { runInvariants } from '../../audit/audit.js';
import { operationSummary, specPathUsage } from '../../audit/path-usage.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import {
  accountSchema,
  auditReportSchema,
  operationSummarySchema,
  pathUsageSchema,
  problemResponses,
} from '../schemas.js';

const tags = ['readiness (operator)'];

/**
 * The readiness report, the invariants, the spec's V1/V2 usage and the
 * operation events: the same objects `tenantgate audit --json` and
 * `npm start` print. Operator keys only (they look across companies).
 */
export const readinessRoutes: ApiRoutes = (server, ctx) => {
  const { app } = ctx;
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.get(
    '/v1/readiness/audit',
    {
      schema: {
        tags,
        summary: "The spec's readiness checks, READY or NOT_READY",
        response: { 200: auditReportSchema, ...problemResponses },
      },
    },
    async () => auditPlatform(app),
  );

  server.get(
    '/v1/readiness/invariants',
    {
      schema: {
        tags,
        summary: 'The database invariants',
        response: { 200: auditReportSchema, ...problemResponses },
      },
    },
    async () =>
      runInvariants(app.db, {
        accountEnvironment: app.settings.accountEnvironment,
      }),
  );

  server.get(
    '/v1/readiness/path-usage',
    {
      schema: {
        tags,
        summary: "The spec's V1 vs V2 path usage, last 24 hours by hour",
        response: { 200: pathUsageSchema, ...problemResponses },
      },
    },
    async () => specPathUsage(app.db),
  );

  server.get(
    '/v1/readiness/accounts',
    {
      schema: {
        tags,
        summary: 'Every integration account, per company (no secrets)',
        response: {
          200: { type: 'array', items: accountSchema },
          ...problemResponses,
        },
      },
    },
    async (request) => ctx.services(request).accounts.list(),
  );

  server.get(
    '/v1/readiness/operations',
    {
      schema: {
        tags,
        summary: 'Operation events by operation, path and outcome',
        response: { 200: operationSummarySchema, ...problemResponses },
      },
    },
    async () => operationSummary(app.db),
  );
};
