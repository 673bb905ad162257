import type { FastifyRequest } from 'fastify';
import { tenantOf } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import {
  accountSchema,
  createAccountBody,
  disableBody,
  idParams,
  problemResponses,
  rotateBody,
  tenantHeaders,
} from '../schemas.js';

const tags = ['integration accounts'];
const one = { 200: accountSchema, ...problemResponses };

interface IdRequest {
  Params: { id: string };
}

/**
 * Integration accounts of the request's company. Secrets go in (create,
 * rotate) and never come out: the response schema has no secret field.
 */
export const accountRoutes: ApiRoutes = (server, ctx) => {
  const scoped = (request: FastifyRequest) => ({
    ...tenantOf(request),
    accounts: ctx.services(request).accounts,
  });

  server.post<{
    Body: {
      kind: string;
      environment: string;
      secret: string;
      providerConfig?: unknown;
    };
  }>(
    '/v1/accounts',
    {
      schema: {
        tags,
        summary: 'Create an integration account (the secret is write-only)',
        headers: tenantHeaders,
        body: createAccountBody,
        response: { 201: accountSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { companyId, accounts } = scoped(request);
      const account = await accounts.create({ ...request.body, companyId });
      return reply.code(201).send(account);
    },
  );

  server.get(
    '/v1/accounts',
    {
      schema: {
        tags,
        summary: "The company's integration accounts",
        headers: tenantHeaders,
        response: {
          200: { type: 'array', items: accountSchema },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { companyId, accounts } = scoped(request);
      return accounts.list(companyId);
    },
  );

  server.get<IdRequest>(
    '/v1/accounts/:id',
    {
      schema: {
        tags,
        summary: 'One integration account',
        headers: tenantHeaders,
        params: idParams,
        response: one,
      },
    },
    async (request) => {
      const { companyId, accounts } = scoped(request);
      return accounts.show(companyId, request.params.id);
    },
  );

  server.post<IdRequest & { Body: { secret: string } }>(
    '/v1/accounts/:id/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the secret',
        headers: tenantHeaders,
        params: idParams,
        body: rotateBody,
        response: one,
      },
    },
    async (request) => {
      const { companyId, accounts } = scoped(request);
      return accounts.rotate(companyId, request.params.id, request.body.secret);
    },
  );

  server.post<IdRequest & { Body: { reason: string } }>(
    '/v1/accounts/:id/disable',
    {
      schema: {
        tags,
        summary: 'Disable (no fallback to legacy credentials)',
        headers: tenantHeaders,
        params: idParams,
        body: disableBody,
        response: one,
      },
    },
    async (request) => {
      const { companyId, accounts } = scoped(request);
      return accounts.disable(
        companyId,
        request.params.id,
        request.body.reason,
      );
    },
  );

  server.post<IdRequest>(
    '/v1/accounts/:id/enable',
    {
      schema: {
        tags,
        summary: 'Enable again',
        headers: tenantHeaders,
        params: idParams,
        response: one,
      },
    },
    async (request) => {
      const { companyId, accounts } = scoped(request);
      return accounts.enable(companyId, request.params.id);
    },
  );
};
