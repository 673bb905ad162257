import { TenantGateError } from '../errors/tenantgate-error.js';
import type { TenantGate } from '../app.js';
import type { Settings } from '../config/settings.js';
import type { RolloutController } from '../rollout/controller.js';
import {
  hookFromSettings,
  noHook,
  type DeployHook,
} from '../rollout/deploy-hooks.js';
import { controllerOf } from '../rollout/platform.js';
import { Rollback } from '../rollout/rollback.js';
import type { ApiApp } from './context.js';

/**
 * Where the API's rollout routes get the controller and the deploy
 * hook. Built per request (both hold no state beyond the database), so
 * a settings change takes effect without a restart of the wiring.
 */
export interface RolloutWiring {
  controller(): RolloutController;
  /** The hook a rollback runs after the flag store. */
  hook(): DeployHook;
}

/**
 * The rollout of the running platform: `controllerOf` over its one
 * database (what the CLI uses) and the deploy hook its settings name.
 * An app that brings its own wiring (`app.rollout`: another layout of
 * databases, a test clock) uses that instead.
 */
export function rolloutOf(app: ApiApp): RolloutWiring {
  if (app.rollout) return app.rollout;
  const separate = separateDatabaseSetting(app);
  if (separate !== undefined) {
    // The platform's one database would be read and written for both
    // environments: the wrong flags, the state out of production's.
    const refuse = (): never => {
      throw new TenantGateError(
        'SERVICE_UNAVAILABLE',
        `rollout: ${separate} is set and the API reads one database: ` +
          'use `tenantgate rollout` with the same settings',
        { field: separate, rule: 'one-database' },
      );
    };
    return { controller: refuse, hook: refuse };
  }
  return {
    // controllerOf reads the database, the vault (secret probe of the
    // audit), the account environment and the logger: all in ApiApp.
    controller: () => controllerOf(app as TenantGate),
    hook: () =>
      app.settings.deployHook
        ? hookFromSettings(app.settings as Settings)
        : noHook,
  };
}

/** The rollback service over the wiring's controller and hook. */
export function rollbackOf(wiring: RolloutWiring): Rollback {
  return new Rollback(wiring.controller(), wiring.hook());
}

/**
 * STAGING_DATABASE_URL or PRODUCTION_DATABASE_URL when either names a
 * database other than the platform's own; undefined otherwise.
 */
function separateDatabaseSetting(app: ApiApp): string | undefined {
  const own = app.settings.databaseUrl;
  const urls = app.settings.environmentDatabases;
  if (urls?.staging !== undefined && urls.staging !== own) {
    return 'STAGING_DATABASE_URL';
  }
  if (urls?.production !== undefined && urls.production !== own) {
    return 'PRODUCTION_DATABASE_URL';
  }
  return undefined;
}
