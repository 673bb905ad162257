import { FLAG_NAMES } from '../../config/settings.js';
import { FlagStore } from '../../flags/flag-store.js';
import { setOperatorFlag } from '../../rollout/enforcement-owner.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import { problemResponses } from '../schemas.js';

const tags = ['flags (operator)'];

const environment = { type: 'string', enum: ['staging', 'production'] };
const companyIds = { type: 'array', items: { type: 'string' } };

const valueProperties = {
  enabled: { type: 'boolean' },
  cohortPercent: { type: ['number', 'null'] },
  allowCompanyIds: companyIds,
  denyCompanyIds: companyIds,
} as const;

const flagRowSchema = {
  type: 'object',
  properties: {
    flag: { type: 'string' },
    environment,
    companyId: { type: ['string', 'null'] },
    ...valueProperties,
    updatedAt: { type: 'string', format: 'date-time' },
    updatedBy: { type: 'string' },
  },
} as const;

const valueSchema = {
  type: ['object', 'null'],
  properties: valueProperties,
} as const;

const changeSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    flag: { type: 'string' },
    environment,
    companyId: { type: ['string', 'null'] },
    actor: { type: 'string' },
    reason: { type: 'string' },
    oldValue: valueSchema,
    newValue: valueSchema,
  },
} as const;

interface SetBody {
  environment?: string;
  companyId?: string;
  enabled: boolean;
  reason: string;
  cohortPercent?: number | null;
  allowCompanyIds?: string[];
  denyCompanyIds?: string[];
  overrideRollout?: boolean;
}

/**
 * The flag store: values, history, and changes with a reason. Operator
 * keys only; the key is recorded as the actor of every change. The
 * environment defaults to the deployment's own.
 */
export const flagRoutes: ApiRoutes = (server, ctx) => {
  const store = new FlagStore(ctx.app.db);
  const defaultEnv = () => ctx.app.settings.deploymentEnvironment;
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.get<{ Querystring: { environment?: string } }>(
    '/v1/flags',
    {
      schema: {
        tags,
        summary: 'Stored flag values (environment-wide and per company)',
        querystring: {
          type: 'object',
          properties: { environment },
        },
        response: {
          200: { type: 'array', items: flagRowSchema },
          ...problemResponses,
        },
      },
    },
    async (request) => store.list(request.query.environment ?? defaultEnv()),
  );

  server.get<{
    Querystring: { flag?: string; environment?: string; limit?: number };
  }>(
    '/v1/flags/history',
    {
      schema: {
        tags,
        summary: 'Every change, newest first, with actor and reason',
        querystring: {
          type: 'object',
          properties: {
            flag: { type: 'string', enum: FLAG_NAMES },
            environment,
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
        response: {
          200: { type: 'array', items: changeSchema },
          ...problemResponses,
        },
      },
    },
    async (request) =>
      store.history({
        flag: request.query.flag,
        environment: request.query.environment ?? defaultEnv(),
        limit: request.query.limit,
      }),
  );

  server.put<{ Params: { flag: string }; Body: SetBody }>(
    '/v1/flags/:flag',
    {
      schema: {
        tags,
        summary: 'Set a flag (a reason is required; the key is the actor)',
        params: {
          type: 'object',
          properties: { flag: { type: 'string', enum: FLAG_NAMES } },
          required: ['flag'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            environment,
            companyId: { type: 'string', minLength: 1 },
            reason: { type: 'string', minLength: 1, maxLength: 1000 },
            ...valueProperties,
            overrideRollout: {
              type: 'boolean',
              description:
                'Switch FF_ENFORCE_INTEGRATION_ACCOUNT on although the ' +
                "rollout's stage does not enforce in the environment " +
                '(otherwise 409 ENFORCEMENT_OWNED_BY_ROLLOUT); recorded ' +
                'in the reason. Default false.',
            },
          },
          required: ['enabled', 'reason'],
        },
        response: { 200: changeSchema, ...problemResponses },
      },
    },
    async (request) => {
      const principal = request.principal;
      const actor = `operator-key:${principal?.keyId ?? 'unknown'}`;
      const change = await setOperatorFlag(ctx.app.db, {
        ...request.body,
        flag: request.params.flag,
        environment: request.body.environment ?? defaultEnv(),
        actor,
      });
      request.log.info({
        event: 'api.flag_changed',
        flag: change.flag,
        environment: change.environment,
        companyId: change.companyId,
        actor,
        overrideRollout: request.body.overrideRollout === true,
      });
      return change;
    },
  );
};
