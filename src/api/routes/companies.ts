import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import {
  companySchema,
  createCompanyBody,
  entitlementsBody,
  idParams,
  problemResponses,
} from '../schemas.js';

const tags = ['companies (operator)'];

interface CreateBody {
  id?: string;
  name: string;
  oib: string;
  fiscalizationEnabled?: boolean;
  eInvoicingEnabled?: boolean;
  eInvoiceKind?: string | null;
}

interface EntitlementsBody {
  fiscalizationEnabled?: boolean;
  eInvoicingEnabled?: boolean;
  eInvoiceKind?: string | null;
}

/** Companies (tenants): operator keys only (registered encapsulated). */
export const companyRoutes: ApiRoutes = (server, ctx) => {
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.post<{ Body: CreateBody }>(
    '/v1/companies',
    {
      schema: {
        tags,
        summary: 'Create a company',
        body: createCompanyBody,
        response: { 201: companySchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const company = await ctx
        .services(request)
        .companies.create(request.body);
      return reply.code(201).send(company);
    },
  );

  server.get(
    '/v1/companies',
    {
      schema: {
        tags,
        summary: 'Every company',
        response: {
          200: { type: 'array', items: companySchema },
          ...problemResponses,
        },
      },
    },
    async (request) => ctx.services(request).companies.list(),
  );

  server.get<{ Params: { id: string } }>(
    '/v1/companies/:id',
    {
      schema: {
        tags,
        summary: 'One company',
        params: idParams,
        response: { 200: companySchema, ...problemResponses },
      },
    },
    async (request) => ctx.services(request).companies.show(request.params.id),
  );

  server.patch<{ Params: { id: string }; Body: EntitlementsBody }>(
    '/v1/companies/:id/entitlements',
    {
      schema: {
        tags,
        summary: 'Switch fiscalization / e-invoicing, set the default kind',
        params: idParams,
        body: entitlementsBody,
        response: { 200: companySchema, ...problemResponses },
      },
    },
    async (request) =>
      ctx
        .services(request)
        .companies.setEntitlements(request.params.id, request.body),
  );
};
