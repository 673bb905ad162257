import { operator, type Database } from '../db/database.js';
import { toTenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import type { ReconcileOutcome, SendReconciler } from './reconcile.js';
import type { StatusTracker } from './status-tracking.js';

/** The worker's scheduled reconciliation of sends of unknown outcome. */
export const RECONCILE_QUEUE = 'einvoice-reconcile';
/** The worker's scheduled status polling of issued documents. */
export const STATUS_QUEUE = 'einvoice-status';

/** What one reconciliation sweep did, over every company. */
export interface ReconcileSweep {
  companies: number;
  outcomes: Record<ReconcileOutcome, number>;
  /** Companies whose documents could not be read at all. */
  failedCompanies: number;
}

/** What one status sweep did, over every company. */
export interface StatusSweep {
  companies: number;
  polled: number;
  /** Documents whose status moved forward. */
  moved: number;
  /** Polls that failed (left as they were, tried on the next sweep). */
  failed: number;
  failedCompanies: number;
}

/**
 * Companies with an outbound document SEND_UNKNOWN or SENDING: the
 * reconciler decides, per document, whether a SENDING one is stale.
 */
export async function companiesToReconcile(db: Database): Promise<string[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ companyId: string }>(
      `SELECT DISTINCT "companyId" FROM "EInvoice"
        WHERE direction = 'OUTBOUND'
          AND status IN ('SEND_UNKNOWN', 'SENDING')
        ORDER BY 1`,
    ),
  );
  return rows.map((r) => r.companyId);
}

/** Companies with an issued document still SENT or DELIVERED. */
export async function companiesToTrack(db: Database): Promise<string[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ companyId: string }>(
      `SELECT DISTINCT "companyId" FROM "EInvoice"
        WHERE direction = 'OUTBOUND' AND status IN ('SENT', 'DELIVERED')
          AND "providerRef" IS NOT NULL AND "providerKind" IS NOT NULL
        ORDER BY 1`,
    ),
  );
  return rows.map((r) => r.companyId);
}

/**
 * Reconciles every company's pending sends (SendReconciler, through
 * the gate, origin `worker`). A company whose documents cannot be read
 * is logged and skipped: the others still run, and the next sweep
 * tries it again.
 */
export async function reconcileAll(deps: {
  db: Database;
  reconciler: SendReconciler;
  logger: Logger;
}): Promise<ReconcileSweep> {
  const companies = await companiesToReconcile(deps.db);
  const sweep: ReconcileSweep = {
    companies: companies.length,
    outcomes: {
      FOUND: 0,
      RESENT: 0,
      WAITING: 0,
      NOT_RECEIVED: 0,
      FAILED: 0,
    },
    failedCompanies: 0,
  };
  sweep.failedCompanies = await eachCompany(
    companies,
    deps.logger,
    'einvoice.reconcile_failed',
    async (companyId) => {
      const results = await deps.reconciler.reconcileCompany(companyId, {
        origin: 'worker',
      });
      for (const r of results) sweep.outcomes[r.outcome] += 1;
    },
  );
  deps.logger.info({ event: 'einvoice.reconcile_sweep', ...sweep });
  return sweep;
}

/**
 * Polls the status of every company's issued documents (StatusTracker,
 * through the gate, origin `worker`), a company at a time, skipping a
 * company whose documents cannot be read as reconcileAll does.
 */
export async function refreshAllStatuses(deps: {
  db: Database;
  statusTracker: StatusTracker;
  logger: Logger;
}): Promise<StatusSweep> {
  const companies = await companiesToTrack(deps.db);
  const sweep: StatusSweep = {
    companies: companies.length,
    polled: 0,
    moved: 0,
    failed: 0,
    failedCompanies: 0,
  };
  sweep.failedCompanies = await eachCompany(
    companies,
    deps.logger,
    'einvoice.status_failed',
    async (companyId) => {
      const changes = await deps.statusTracker.refreshCompany(companyId, {
        origin: 'worker',
      });
      sweep.polled += changes.length;
      sweep.moved += changes.filter((c) => c.to !== c.from).length;
      sweep.failed += changes.filter((c) => c.error).length;
    },
  );
  deps.logger.info({ event: 'einvoice.status_sweep', ...sweep });
  return sweep;
}

/**
 * Runs `fn` for each company in turn; a company whose run throws is
 * logged as `event` and skipped. Returns how many were skipped.
 */
async function eachCompany(
  companies: readonly string[],
  logger: Logger,
  event: string,
  fn: (companyId: string) => Promise<void>,
): Promise<number> {
  let failed = 0;
  for (const companyId of companies) {
    try {
      await fn(companyId);
    } catch (error) {
      failed += 1;
      const e = toTenantGateError(error);
      logger.error({ event, companyId, code: e.code, reason: e.message });
    }
  }
  return failed;
}
