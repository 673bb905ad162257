import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import { idParams, problemResponses } from '../schemas.js';

const tags = ['API keys (operator)'];

const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['operator', 'tenant'] },
    companyId: { type: ['string', 'null'] },
    label: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

interface CreateBody {
  kind: 'operator' | 'tenant';
  companyId?: string;
  label?: string;
}

/**
 * API keys over HTTP, as `tenantgate api-keys`: the token is in the
 * creation answer only; the list never shows a token or its hash.
 */
export const apiKeyRoutes: ApiRoutes = (server, ctx) => {
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.post<{ Body: CreateBody }>(
    '/v1/api-keys',
    {
      schema: {
        tags,
        summary: 'Create a key; the token is shown in this answer only',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['operator', 'tenant'] },
            companyId: { type: 'string', minLength: 1 },
            label: { type: 'string', maxLength: 200 },
          },
          required: ['kind'],
        },
        response: {
          201: {
            type: 'object',
            properties: { key: keySchema, token: { type: 'string' } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const created = await ctx.keys.create(request.body);
      request.log.info({
        event: 'api.api_key_created',
        createdKeyId: created.key.id,
        kind: created.key.kind,
        companyId: created.key.companyId,
      });
      return reply.code(201).send(created);
    },
  );

  server.get(
    '/v1/api-keys',
    {
      schema: {
        tags,
        summary: 'Every key (no tokens, no hashes)',
        response: {
          200: { type: 'array', items: keySchema },
          ...problemResponses,
        },
      },
    },
    async () => ctx.keys.list(),
  );

  server.post<{ Params: { id: string } }>(
    '/v1/api-keys/:id/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a key: its token stops working at once',
        params: idParams,
        response: { 200: keySchema, ...problemResponses },
      },
    },
    async (request) => ctx.keys.revoke(request.params.id),
  );
};
