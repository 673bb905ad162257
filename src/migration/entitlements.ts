import { randomUUID } from 'node:crypto';
import type { AccountEnvironment } from '../accounts/kinds.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import {
  entitlementsWithoutActiveAccount,
  type UnbackedEntitlement,
} from './legacy-credentials.js';

export type { UnbackedEntitlement } from './legacy-credentials.js';

export type Entitlement = UnbackedEntitlement['entitlement'];
export type UnbackedReason = UnbackedEntitlement['reason'];

/** Entitlements without an ACTIVE account, and what a run did. */
export interface EntitlementsReport {
  mode: 'dry-run' | 'apply';
  runId: string;
  accountEnvironment: AccountEnvironment;
  /** Every entitlement found without an ACTIVE account. */
  entitlements: UnbackedEntitlement[];
  byEntitlement: Record<Entitlement, number>;
  byReason: Partial<Record<UnbackedReason, number>>;
  /** Switched off (apply), or to switch off (dry run). */
  suspended: number;
  /** Found, then given an ACTIVE account (or switched off) meanwhile. */
  changedMeanwhile: number;
}

export interface SuspendOptions {
  /** Switch the entitlements off. Default false: a dry run. */
  apply?: boolean;
  accountEnvironment: AccountEnvironment;
  /** Companies per transaction. Default 1000. */
  batchSize?: number;
}

/**
 * Lists the entitlements (fiscalization, e-invoicing) that companies
 * have no ACTIVE account for in the deployment's environment — the
 * audit's readiness offenders — with why (no credential ever, a legacy
 * credential provisioning could not use, an EXPIRED or DISABLED
 * account), and with `apply` switches them off: such a company cannot
 * fiscalize or send e-invoices through TenantGate anyway, and the
 * gate refuses it either way. An operator step after provisioning;
 * the report (`--json`) is the record of what was switched off, and
 * `tenantgate companies set ID --fiscalization on` (or
 * `--einvoicing on`) switches one back on once it has credentials.
 * One transaction per batch of companies; each update repeats the
 * condition, so an account created meanwhile keeps its entitlement.
 */
export async function suspendUnbackedEntitlements(
  deps: { db: Database; logger: Logger },
  options: SuspendOptions,
): Promise<EntitlementsReport> {
  const apply = options.apply ?? false;
  const batchSize = options.batchSize ?? 1000;
  const report: EntitlementsReport = {
    mode: apply ? 'apply' : 'dry-run',
    runId: `ent_${randomUUID()}`,
    accountEnvironment: options.accountEnvironment,
    entitlements: [],
    byEntitlement: { fiscalization: 0, einvoicing: 0 },
    byReason: {},
    suspended: 0,
    changedMeanwhile: 0,
  };
  let after = '';
  for (;;) {
    const page = await deps.db.transaction(operator, async (tx) => {
      const found = await entitlementsWithoutActiveAccount(
        tx,
        options.accountEnvironment,
        after,
        batchSize,
      );
      const switched = apply
        ? await switchOff(tx, found.entitlements, options.accountEnvironment)
        : found.entitlements.length;
      return { ...found, switched };
    });
    if (!page.lastId) break;
    after = page.lastId;
    for (const e of page.entitlements) {
      report.entitlements.push(e);
      report.byEntitlement[e.entitlement]++;
      report.byReason[e.reason] = (report.byReason[e.reason] ?? 0) + 1;
    }
    report.suspended += page.switched;
    report.changedMeanwhile += page.entitlements.length - page.switched;
    if (apply && page.switched > 0) {
      deps.logger.warn({
        event: 'migration.entitlements_suspended',
        runId: report.runId,
        upToCompanyId: page.lastId,
        suspended: page.switched,
      });
    }
  }
  return report;
}

/**
 * Switches the entitlements off where the company still has no
 * ACTIVE account for them (the same rule as the audit's).
 */
async function switchOff(
  tx: Queryable,
  entitlements: readonly UnbackedEntitlement[],
  environment: AccountEnvironment,
): Promise<number> {
  const ids = (entitlement: Entitlement) =>
    entitlements
      .filter((e) => e.entitlement === entitlement)
      .map((e) => e.companyId);
  const fiscal = await tx.query(
    `UPDATE "Company" c SET "fiscalizationEnabled" = false,
       "updatedAt" = now()
     WHERE c.id = ANY($1::text[]) AND c."fiscalizationEnabled"
       AND NOT EXISTS (SELECT 1 FROM "IntegrationAccount" a
         WHERE a."companyId" = c.id AND a.kind = 'FISCALIZATION_CIS'
           AND a.status = 'ACTIVE' AND a.environment = $2)
     RETURNING c.id`,
    [ids('fiscalization'), environment],
  );
  const einvoicing = await tx.query(
    `UPDATE "Company" c SET "eInvoicingEnabled" = false,
       "updatedAt" = now()
     WHERE c.id = ANY($1::text[]) AND c."eInvoicingEnabled"
       AND NOT EXISTS (SELECT 1 FROM "IntegrationAccount" a
         WHERE a."companyId" = c.id AND a.status = 'ACTIVE'
           AND a.environment = $2
           AND (a.kind = c."eInvoiceKind" OR (
             c."eInvoiceKind" IS NULL AND a.kind LIKE 'EINVOICE\\_%')))
     RETURNING c.id`,
    [ids('einvoicing'), environment],
  );
  return fiscal.length + einvoicing.length;
}
