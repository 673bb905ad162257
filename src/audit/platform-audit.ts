import { accountBinding } from '../accounts/account-service.js';
import type { TenantGate } from '../app.js';
import { runAudit } from './audit.js';
import { vaultSecretMemory } from './secret-check.js';
import type { AuditReport } from './report.js';

/**
 * The audit of a running platform: every check, with the vault telling
 * whether each ACTIVE account's secret opens. What `tenantgate audit`,
 * the API, the readiness checklist and `npm start` all print.
 */
export function auditPlatform(
  app: Pick<TenantGate, 'db' | 'vault'> & {
    settings: Pick<TenantGate['settings'], 'accountEnvironment'>;
  },
): Promise<AuditReport> {
  return runAudit(app.db, {
    accountEnvironment: app.settings.accountEnvironment,
    secretProbe: (a) =>
      app.vault.canOpen(a.secretEnvelope, accountBinding(a.companyId, a.id)),
    secretMemory: vaultSecretMemory(app.vault),
  });
}
