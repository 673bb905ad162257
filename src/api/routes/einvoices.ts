import { invalidInput } from '../../errors/tenantgate-error.js';
import { tenantOf } from '../auth.js';
import {
  EINVOICE_STATUSES,
  eInvoiceDocument,
  listEInvoices,
} from '../einvoice-queries.js';
import type { ApiRoutes } from '../context.js';
import {
  eInvoiceListItemSchema,
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

  server.get<{
    Querystring: {
      direction?: 'OUTBOUND' | 'INBOUND';
      status?: string;
      before?: string;
      limit?: number;
    };
  }>(
    '/v1/einvoices',
    {
      schema: {
        tags,
        summary: "The company's e-invoices, newest first",
        headers: tenantHeaders,
        querystring: {
          type: 'object',
          properties: {
            direction: { type: 'string', enum: ['OUTBOUND', 'INBOUND'] },
            status: { type: 'string', enum: EINVOICE_STATUSES },
            before: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
          },
        },
        response: {
          200: { type: 'array', items: eInvoiceListItemSchema },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { companyId } = tenantOf(request);
      const before = request.query.before
        ? new Date(request.query.before)
        : undefined;
      if (before && Number.isNaN(before.getTime())) {
        throw invalidInput('before', 'date-time', 'before: not a date');
      }
      return listEInvoices(ctx.app.db, companyId, {
        ...request.query,
        before,
      });
    },
  );

  server.get<{ Params: { id: string } }>(
    '/v1/einvoices/:id/document',
    {
      schema: {
        tags,
        summary: 'The UBL 2.1 document (application/xml)',
        headers: tenantHeaders,
        params: idParams,
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const { companyId } = tenantOf(request);
      const xml = await eInvoiceDocument(
        ctx.app.db,
        companyId,
        request.params.id,
      );
      return reply.type('application/xml; charset=utf-8').send(xml);
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
