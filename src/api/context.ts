import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountService } from '../accounts/account-service.js';
import type { TenantGate } from '../app.js';
import { CompanyService } from '../companies/company-service.js';
import type { FiscalService } from '../fiscal/fiscal-service.js';
import type { FiscalQueueDeps } from '../fiscal/fiscal-worker.js';
import type { Logger } from '../logging/logger.js';
import type { ApiKeyService } from './api-keys.js';
import type { RolloutWiring } from './rollout-wiring.js';

/**
 * What the API needs of the wired services (src/app.ts `TenantGate`
 * has all of it; tests may hand in the same services over a test DB).
 */
export type ApiApp = Pick<TenantGate, 'db' | 'vault' | 'logger' | 'outbound'> &
  Partial<Pick<TenantGate, 'flags' | 'gate'>> & {
    /**
     * The settings the API reads. Optional ones wire features from the
     * platform's configuration when the app brings no wiring of its own:
     * `cis` and `databaseUrl` fiscalization (with `gate`), `deployHook`
     * the rollback's hook.
     */
    settings: Pick<
      TenantGate['settings'],
      'accountEnvironment' | 'deploymentEnvironment'
    > &
      Partial<
        Pick<
          TenantGate['settings'],
          | 'cis'
          | 'databaseUrl'
          | 'deployHook'
          | 'httpTimeoutMs'
          | 'environmentDatabases'
        >
      >;
    /**
     * The rollout controller and deploy hook. Default: the platform's
     * (`controllerOf` over `db`, the hook of the settings).
     */
    rollout?: RolloutWiring;
    /**
     * Fiscalization. Default: from `settings.cis` (see
     * `fiscal-wiring.ts`), else none: submissions answer 503
     * SERVICE_UNAVAILABLE; status and QR still read the stored rows.
     */
    fiscal?: FiscalWiring;
  };

/** The fiscal services the API submits receipts to. */
export interface FiscalWiring {
  /** Fiscalizes at once (`mode: direct`). */
  service: FiscalService;
  /**
   * The pg-boss queue a worker drains (`mode: queued`). Default none:
   * queued submissions answer 503 SERVICE_UNAVAILABLE.
   */
  queue?: FiscalQueueDeps;
}

/** What a route module gets besides the server. */
export interface ApiContext {
  app: ApiApp;
  keys: ApiKeyService;
  /**
   * Services whose log lines carry the request id: built per request
   * over the request's child logger (they hold no state).
   */
  services(request: FastifyRequest): {
    accounts: AccountService;
    companies: CompanyService;
  };
}

/**
 * One feature's routes. Fiscalization, flags and rollout add theirs by
 * writing one of these and listing it in `routes/index.ts`.
 */
export type ApiRoutes = (server: FastifyInstance, ctx: ApiContext) => void;

export function apiContext(app: ApiApp, keys: ApiKeyService): ApiContext {
  return {
    app,
    keys,
    services: (request) => {
      const logger = request.log as unknown as Logger;
      const deps = { db: app.db, vault: app.vault, logger };
      return {
        accounts: new AccountService(deps),
        companies: new CompanyService(deps),
      };
    },
  };
}
