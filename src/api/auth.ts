import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  companyNotFound,
  invalidInput,
  TenantGateError,
} from '../errors/tenantgate-error.js';
import type { ApiKeyService, Principal } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook; null only on public routes. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** A route anyone may call without a token (health, docs). */
    public?: boolean;
  }
}

/** The header an operator key uses to name the tenant it acts for. */
export const TENANT_HEADER = 'x-tenant-id';

/**
 * The onRequest hook: every non-public route needs
 * `Authorization: Bearer <token>` of a live key. A path no route serves
 * is answered 404 ROUTE_NOT_FOUND with or without one.
 */
export function authHook(keys: ApiKeyService) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    request.principal = null;
    if (request.routeOptions.config.public || request.is404) return;
    const token = bearerToken(request.headers.authorization);
    const principal = token ? await keys.authenticate(token) : null;
    if (!principal) {
      throw new TenantGateError(
        'AUTH_REQUIRED',
        'Authorization: a live bearer token is required',
      );
    }
    request.principal = principal;
    request.log = request.log.child({
      apiKeyId: principal.keyId,
      principal: principal.kind,
    });
  };
}

function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) {
    throw new TenantGateError('AUTH_REQUIRED', 'Authorization: required');
  }
  return request.principal;
}

/** Refuses tenant keys: companies, readiness and keys are operator acts. */
export function requireOperator(request: FastifyRequest): void {
  if (principalOf(request).kind !== 'operator') {
    throw new TenantGateError(
      'FORBIDDEN',
      'This route needs an operator key',
      {},
    );
  }
}

/** The company a request acts on, and who acts. */
export interface TenantContext {
  companyId: string;
  /** `tenant-key:<id>` or `operator-key:<id>`: recorded as the actor. */
  actor: string;
}

/**
 * The company of the request. A tenant key acts on its own company only
 * (a header naming another is answered as if that company did not
 * exist); an operator key must name the tenant in `X-Tenant-Id`.
 */
export function tenantOf(request: FastifyRequest): TenantContext {
  const principal = principalOf(request);
  const named = headerValue(request.headers[TENANT_HEADER]);
  if (principal.kind === 'tenant') {
    if (named !== undefined && named !== principal.companyId) {
      throw companyNotFound(named);
    }
    return {
      companyId: principal.companyId,
      actor: `tenant-key:${principal.keyId}`,
    };
  }
  if (!named) {
    throw invalidInput(
      'X-Tenant-Id',
      'required',
      'X-Tenant-Id: an operator key must name the company it acts for',
    );
  }
  const context = {
    companyId: named,
    actor: `operator-key:${principal.keyId}`,
  };
  request.log.info({
    event: 'api.operator_acting_for_tenant',
    companyId: named,
    actor: context.actor,
  });
  return context;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value[0];
  return value === '' ? undefined : value;
}
