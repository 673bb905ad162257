import { operator } from '../db/database.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import type { RolloutController } from './controller.js';

/** Failed operations of one kind, by error and company. */
export interface FailedOperations {
  operation: string;
  errorName: string | null;
  companyId: string;
  count: number;
  firstAt: string;
  lastAt: string;
}

/** A company or row the audit found without what it needs. */
export interface MissingAccount {
  check: string;
  count: number;
  samples: string[];
  fix: string;
}

/** What failed after a rollback, and what would fix it. */
export interface Investigation {
  environment: DeploymentEnvironment;
  since: string;
  until: string;
  failedOperations: FailedOperations[];
  missingAccounts: MissingAccount[];
  /** The commands that would fix what was found, in order. */
  fixes: string[];
}

const FIXES: Record<string, string> = {
  'company.fiscalization_without_cis_account':
    'tenantgate provision --apply (or add a FISCALIZATION_CIS account)',
  'company.einvoicing_without_einvoice_account':
    'tenantgate provision --apply (or add an EINVOICE_* account)',
  'einvoice.issued_without_account': 'tenantgate backfill --apply',
  'fiscal.success_without_account': 'tenantgate backfill --apply',
};

/**
 * The spec's post-rollback investigation: which legitimate operations
 * failed in the window (default: since the last rollback's stage was
 * entered, up to now), which companies lack accounts, and the backfill
 * or provisioning that would fix them.
 */
export async function investigate(
  controller: RolloutController,
  options: { environment?: DeploymentEnvironment; since?: Date } = {},
): Promise<Investigation> {
  const now = controller.clock();
  const transitions = await controller.store.transitions();
  const lastRollback = [...transitions]
    .reverse()
    .find((t) => t.action === 'rollback');
  const entered = lastRollback
    ? [...transitions]
        .reverse()
        .find(
          (t) =>
            t.toStage === lastRollback.fromStage && t.at <= lastRollback.at,
        )
    : undefined;
  const environment =
    options.environment ??
    (lastRollback?.fromStage === 'STAGING_ENFORCED' ? 'staging' : 'production');
  const since =
    options.since ?? entered?.at ?? new Date(now.getTime() - 86_400_000);

  const db = controller.deps.databases[environment];
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{
      operation: string;
      errorName: string | null;
      companyId: string;
      count: number;
      firstAt: Date | string;
      lastAt: Date | string;
    }>(
      `SELECT operation, "errorName", "companyId", count(*)::int AS count,
              min(at) AS "firstAt", max(at) AS "lastAt"
         FROM "OperationEvent"
        WHERE environment = $1 AND origin <> 'probe'
          AND outcome <> 'SUCCESS' AND at >= $2 AND at <= $3
        GROUP BY 1, 2, 3
        ORDER BY count DESC, "companyId" COLLATE "C"
        LIMIT 100`,
      [environment, since, now],
    ),
  );
  // The environment's own audit (or the one audit of a shared database).
  const audits = (await controller.deps.audits()).filter(
    (a) => a.label === environment || a.label === 'shared',
  );
  const missingAccounts = audits.flatMap(({ report }) =>
    report.checks
      .filter((c) => c.status === 'NOT_READY')
      .map((c) => ({
        check: c.id,
        count: c.count,
        samples: c.samples,
        fix: FIXES[c.id] ?? 'see the audit check',
      })),
  );
  const fixes = [...new Set(missingAccounts.map((m) => m.fix))];
  if (rows.some((r) => r.errorName === 'IntegrationRequiredError')) {
    fixes.push('tenantgate provision --apply for the companies listed');
  }
  return {
    environment,
    since: since.toISOString(),
    until: now.toISOString(),
    failedOperations: rows.map((r) => ({
      ...r,
      firstAt: new Date(r.firstAt).toISOString(),
      lastAt: new Date(r.lastAt).toISOString(),
    })),
    missingAccounts,
    fixes,
  };
}
