import type { TenantGate } from '../app.js';
import { auditPlatform } from '../audit/platform-audit.js';
import {
  evaluateReadiness,
  type ReadinessOptions,
  type ReadinessReport,
} from './checks.js';
import { RolloutController } from './controller.js';

/**
 * The readiness report of the running platform: both environments in
 * its one database. What `npm start` prints (see `printReadiness`).
 */
export async function readinessOf(
  app: TenantGate,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const report = await auditPlatform(app);
  return evaluateReadiness(
    {
      databases: { staging: app.db, production: app.db },
      audits: [{ label: 'shared', report }],
    },
    options,
  );
}

/** The controller over the running platform's one database. */
export function controllerOf(app: TenantGate): RolloutController {
  return new RolloutController({
    control: app.db,
    databases: { staging: app.db, production: app.db },
    audits: async () => {
      const report = await auditPlatform(app);
      return [{ label: 'shared', report }];
    },
    logger: app.logger,
  });
}
