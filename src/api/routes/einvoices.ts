import { tenantOf } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import {
  eInvoiceSchema,
  idParams,
  problemResponses,
  sendBody,
  sendOutcomeSchema,
  tenantHeaders,
} from '../schemas.js';

const tags = ['e-invoices'];

/** Outbound e-invoices of the request's company, through the gate. */
export const eInvoiceRoutes: ApiRoutes = (server, ctx) => {
  server.post<{
    Body: { ublXml: string; idempotencyKey?: string; accountId?: string };
  }>(
    '/v1/einvoices',
    {
      schema: {
        tags,
        summary:
          'Send a UBL 2.1 e-invoice (201 sent now, 200 a duplicate of an earlier send)',
        headers: tenantHeaders,
        body: sendBody,
        response: {
          200: sendOutcomeSchema,
          201: sendOutcomeSchema,
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { companyId, actor } = tenantOf(request);
      const outcome = await ctx.app.outbound.send({
        companyId,
        ublXml: request.body.ublXml,
        idempotencyKey: request.body.idempotencyKey,
        accountId: request.body.accountId,
        origin: 'user',
        actor,
        correlationId: request.id,
      });
      return reply.code(outcome.duplicate ? 200 : 201).send(outcome);
    },
  );

  server.get<{ Params: { id: string } }>(
    '/v1/einvoices/:id',
    {
      schema: {
        tags,
        summary: "An e-invoice's status",
        headers: tenantHeaders,
        params: idParams,
        response: { 200: eInvoiceSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { companyId } = tenantOf(request);
      return ctx.app.outbound.find(companyId, request.params.id);
    },
  );
};
