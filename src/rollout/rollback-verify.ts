import { operator, type Database } from '../db/database.js';
import { ERROR_CATALOGUE, eventErrorLayer } from '../errors/catalogue.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import type { ReadinessCheck, ReadinessStatus } from './checks.js';

/** The thresholds of the rollback verification. */
export interface RollbackVerifyOptions {
  /**
   * Legitimate operations since the rollback needed before it can be
   * READY. Default 50 (the rollback criteria's minimum sample).
   */
  minOperations: number;
  /** Lowest success rate still READY. Default 0.99 (the spec's 99%). */
  minSuccessRate: number;
}

export const ROLLBACK_VERIFY_DEFAULTS: RollbackVerifyOptions = {
  minOperations: 50,
  minSuccessRate: 0.99,
};

/** The stable id of the check. */
export const ROLLBACK_VERIFIED = 'rollback.verified';

interface Tally {
  total: number;
  v1: number;
  v2: number;
  successes: number;
  required: number;
  failures: number;
  counterpart: number;
}

interface GroupRow {
  path: string | null;
  outcome: string;
  errorName: string | null;
  errorLayer: string | null;
  count: string | number;
}

const COUNTERPART_NAMES = Object.values(ERROR_CATALOGUE)
  .filter((e) => e.layer === 'counterpart')
  .map((e) => e.name);

const WHERE = `environment = $1 AND origin <> 'probe'
  AND at >= $2 AND at <= $3`;

/**
 * The spec's "Verify rollback" after a rollback in `environment`: from
 * the legitimate (non-probe) operations of the ledger since the
 * rollback, enforcement no longer blocks (no IntegrationRequiredError,
 * so V1 is usable again; the V1 count shows it in use) and operations
 * resume (success rate at least `minSuccessRate`, counterpart failures
 * counted apart and left out of the rate). Any IntegrationRequiredError
 * is NOT_READY whatever the sample; fewer than `minOperations`
 * operations is INCONCLUSIVE, never READY. Read-only.
 */
export async function verifyRollback(
  db: Database,
  environment: DeploymentEnvironment,
  window: { since: Date; until: Date },
  o: RollbackVerifyOptions = ROLLBACK_VERIFY_DEFAULTS,
): Promise<ReadinessCheck> {
  const params = [environment, window.since, window.until];
  const groups = await db.transaction(operator, (tx) =>
    tx.query<GroupRow>(
      `SELECT path, outcome, "errorName", "errorLayer", count(*) AS count
         FROM "OperationEvent" WHERE ${WHERE}
        GROUP BY 1, 2, 3, 4`,
      params,
    ),
  );
  const t = tally(groups);
  const judged = t.total - t.counterpart;
  const rate = judged === 0 ? null : t.successes / judged;
  const status = statusOf(t, rate, o);
  return {
    id: ROLLBACK_VERIFIED,
    section: 'rollback',
    environment,
    title: 'Verify rollback: V1 in use again, operations resume',
    status,
    numbers: {
      since: window.since.toISOString(),
      until: window.until.toISOString(),
      sampleSize: t.total,
      v1: t.v1,
      v2: t.v2,
      integrationRequired: t.required,
      successes: t.successes,
      failures: t.failures,
      counterpartFailures: t.counterpart,
      successRate: rate,
    },
    threshold:
      `integrationRequired = 0, successRate >= ${o.minSuccessRate} ` +
      `(counterpart failures apart), sampleSize >= ${o.minOperations}`,
    samples:
      status === 'NOT_READY' ? await samplesOf(db, params, t.required) : [],
  };
}

function tally(groups: readonly GroupRow[]): Tally {
  const t: Tally = {
    total: 0,
    v1: 0,
    v2: 0,
    successes: 0,
    required: 0,
    failures: 0,
    counterpart: 0,
  };
  for (const g of groups) {
    const n = Number(g.count);
    t.total += n;
    if (g.path === 'V1') t.v1 += n;
    if (g.path === 'V2') t.v2 += n;
    if (g.errorName === 'IntegrationRequiredError') t.required += n;
    if (g.outcome === 'SUCCESS') t.successes += n;
    else if (eventErrorLayer(g) === 'counterpart') t.counterpart += n;
    else t.failures += n;
  }
  return t;
}

function statusOf(
  t: Tally,
  rate: number | null,
  o: RollbackVerifyOptions,
): ReadinessStatus {
  // Enforcement still blocking is a failure whatever the sample size.
  if (t.required > 0) return 'NOT_READY';
  if (t.total < o.minOperations || rate === null) return 'INCONCLUSIVE';
  return rate >= o.minSuccessRate ? 'READY' : 'NOT_READY';
}

/**
 * Up to five offending rows, oldest first: the blocks when there are
 * any, else the failures that are not the counterpart's.
 */
async function samplesOf(
  db: Database,
  params: unknown[],
  required: number,
): Promise<string[]> {
  const offending =
    required > 0
      ? `"errorName" = 'IntegrationRequiredError'`
      : `outcome <> 'SUCCESS' AND coalesce("errorLayer",
           CASE WHEN "errorName" = ANY($4) THEN 'counterpart' END,
           '') <> 'counterpart'`;
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{
      id: string | number;
      at: Date | string;
      companyId: string;
      operation: string;
      path: string | null;
      outcome: string;
      errorName: string | null;
    }>(
      `SELECT id, at, "companyId", operation, path, outcome, "errorName"
         FROM "OperationEvent" WHERE ${WHERE} AND ${offending}
        ORDER BY at, id LIMIT 5`,
      required > 0 ? params : [...params, COUNTERPART_NAMES],
    ),
  );
  return rows.map((r) =>
    [
      `OperationEvent ${String(r.id)}`,
      new Date(r.at).toISOString(),
      r.companyId,
      r.operation,
      r.path ?? 'no path',
      r.outcome,
      r.errorName ?? '',
    ]
      .join(' ')
      .trimEnd(),
  );
}
