import {
  invalidInput,
  TenantGateError,
} from '../../errors/tenantgate-error.js';
import { enqueueReceipt } from '../../fiscal/fiscal-worker.js';
import type { ReceiptInput } from '../../fiscal/receipt.js';
import { tenantOf } from '../auth.js';
import type { ApiRoutes, FiscalWiring } from '../context.js';
import { findFiscalRequest, listFiscalRequests } from '../fiscal-queries.js';
import {
  fiscalListQuery,
  fiscalRequestSchema,
  fiscalResultSchema,
  qrSchema,
  queuedSchema,
  submitBody,
} from '../fiscal-schemas.js';
import { idParams, problemResponses, tenantHeaders } from '../schemas.js';

const tags = ['fiscalization'];

type ReceiptBody = Omit<ReceiptInput, 'issuedAt'> & { issuedAt: string };

interface SubmitBody {
  receipt: ReceiptBody;
  mode?: 'direct' | 'queued';
  accountId?: string;
}

function fiscalOf(wiring: FiscalWiring | undefined): FiscalWiring {
  if (!wiring) {
    throw new TenantGateError(
      'SERVICE_UNAVAILABLE',
      'Fiscalization is not configured in this process',
      { rule: 'fiscal-service' },
    );
  }
  return wiring;
}

/**
 * CIS fiscalization of the request's company: submit a receipt (at
 * once through the gate, or onto the worker's queue), read a request's
 * status, and its QR verification link. Reads run in the tenant's scope
 * (row-level security) and filter by company in the query too.
 */
export const fiscalRoutes: ApiRoutes = (server, ctx) => {
  server.post<{ Body: SubmitBody }>(
    '/v1/fiscal/receipts',
    {
      schema: {
        tags,
        summary:
          'Fiscalize a receipt: direct (201 with the JIR, 200 when it already had one) or queued (202)',
        headers: tenantHeaders,
        body: submitBody,
        response: {
          200: fiscalResultSchema,
          201: fiscalResultSchema,
          202: queuedSchema,
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { companyId, actor } = tenantOf(request);
      const fiscal = fiscalOf(ctx.app.fiscal);
      const receipt = { ...request.body.receipt };
      const input: ReceiptInput = {
        ...receipt,
        issuedAt: new Date(receipt.issuedAt),
      };

      if (request.body.mode === 'queued') {
        if (request.body.accountId !== undefined) {
          throw invalidInput(
            'accountId',
            'direct-only',
            'accountId: a queued receipt uses the account the gate resolves',
          );
        }
        const queue = fiscal.queue;
        if (!queue) {
          throw new TenantGateError(
            'SERVICE_UNAVAILABLE',
            'No fiscal queue in this process; submit with mode direct',
            { rule: 'fiscal-queue' },
          );
        }
        // The company must exist before a row is stored for it.
        await ctx.services(request).companies.show(companyId);
        const requestId = await enqueueReceipt(queue, companyId, input);
        request.log.info({
          event: 'api.fiscal_queued',
          companyId,
          fiscalRequestId: requestId,
          actor,
        });
        return reply.code(202).send({ requestId, status: 'QUEUED' });
      }

      const result = await fiscal.service.fiscalize({
        companyId,
        receipt: input,
        accountId: request.body.accountId,
        origin: 'user',
        actor,
        correlationId: request.id,
      });
      return reply
        .code(result.sends === 0 ? 200 : 201)
        .send({ ...result, status: 'SUCCESS' });
    },
  );

  server.get<{
    Querystring: { status?: string; before?: string; limit?: number };
  }>(
    '/v1/fiscal/receipts',
    {
      schema: {
        tags,
        summary: "The company's fiscalization requests, newest first",
        headers: tenantHeaders,
        querystring: fiscalListQuery,
        response: {
          200: { type: 'array', items: fiscalRequestSchema },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { companyId } = tenantOf(request);
      const { before, ...filter } = request.query;
      return listFiscalRequests(ctx.app.db, companyId, {
        ...filter,
        before: before === undefined ? undefined : new Date(before),
      });
    },
  );

  server.get<{ Params: { id: string } }>(
    '/v1/fiscal/receipts/:id',
    {
      schema: {
        tags,
        summary: 'A request: QUEUED, PROCESSING, SUCCESS (JIR), FAILED or DEAD',
        headers: tenantHeaders,
        params: idParams,
        response: { 200: fiscalRequestSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { companyId } = tenantOf(request);
      return findFiscalRequest(ctx.app.db, companyId, request.params.id);
    },
  );

  server.get<{ Params: { id: string } }>(
    '/v1/fiscal/receipts/:id/qr',
    {
      schema: {
        tags,
        summary: "The receipt's QR verification link (409 until it has a JIR)",
        headers: tenantHeaders,
        params: idParams,
        response: { 200: qrSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { companyId } = tenantOf(request);
      const found = await findFiscalRequest(
        ctx.app.db,
        companyId,
        request.params.id,
      );
      if (!found.qrUrl || !found.jir || !found.issuedAt || !found.total) {
        throw new TenantGateError(
          'RECEIPT_NOT_FISCALIZED',
          `The receipt is ${found.status}: no JIR yet`,
          { rule: found.status, fiscalRequestId: found.id },
        );
      }
      return {
        url: found.qrUrl,
        jir: found.jir,
        issuedAt: found.issuedAt,
        total: found.total,
      };
    },
  );
};
