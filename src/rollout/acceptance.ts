import { operator, type Database } from '../db/database.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import { ISSUED_EINVOICE_STATUSES } from '../audit/checks.js';
import type { LedgerMetrics } from '../metrics/metrics.js';
import type { ReadinessReport } from './checks.js';
import type { GateResult, GateStatus } from './rollout-store.js';
import type { Operation } from '../accounts/kinds.js';
import { WorkerRegistry, type Registration } from '../workers/registry.js';

/** Thresholds of the acceptance criteria. */
export interface AcceptanceOptions {
  /** Legitimate operations a stage needs before it can pass. Default 100. */
  minOperations: number;
  /** Lowest share of successful operations. Default 0.99. */
  minSuccessRate: number;
}

export const ACCEPTANCE_DEFAULTS: AcceptanceOptions = {
  minOperations: 100,
  minSuccessRate: 0.99,
};

const errorCount = (m: LedgerMetrics, name: string) =>
  m.errorsByName.find((e) => e.errorName === name)?.count ?? 0;

/** A "must be zero" criterion; zero over too few operations is open. */
function zero(
  gate: string,
  count: number,
  m: LedgerMetrics,
  o: AcceptanceOptions,
): GateResult {
  const status: GateStatus =
    count > 0
      ? 'FAIL'
      : m.sampleSize >= o.minOperations
        ? 'PASS'
        : 'INCONCLUSIVE';
  return {
    gate,
    status,
    numbers: { count, sampleSize: m.sampleSize, minSample: o.minOperations },
  };
}

/** Zero IntegrationRequiredError from legitimate (non-probe) operations. */
export function noIntegrationRequired(
  m: LedgerMetrics,
  o: AcceptanceOptions,
): GateResult {
  return zero(
    'no_integration_required',
    errorCount(m, 'IntegrationRequiredError'),
    m,
    o,
  );
}

/**
 * All workers on V2, from the registry of running processes: no process
 * of the environment that heartbeat within `staleMs` (and did not stop)
 * puts an operation on V1. An operation's path is the one the process
 * last used for it when that use falls at or after `since` (the stage's
 * window; default any time), else the path its flags give (an
 * operation it has not run in the window). Samples name the worker and
 * its V1 operations. None live: INCONCLUSIVE (nobody to judge). The
 * ledger's paths are the second signal (`allV2`).
 */
export async function workersOnV2(
  db: Database,
  environment: DeploymentEnvironment,
  now: Date,
  staleMs: number,
  since: Date = new Date(0),
): Promise<GateResult> {
  const all = await new WorkerRegistry(db).list(environment, now, staleMs);
  const live = all.filter((w) => w.live);
  const onV1 = live
    .map((w) => ({ w, v1: v1Operations(w, since) }))
    .filter((x) => x.v1.length > 0);
  const status: GateStatus =
    live.length === 0 ? 'INCONCLUSIVE' : onV1.length > 0 ? 'FAIL' : 'PASS';
  return {
    gate: 'all_workers_v2',
    status,
    numbers: {
      live: live.length,
      onV1: onV1.length,
      stale: all.length - live.length,
      staleAfterMs: staleMs,
      samples: onV1.slice(0, 5).map(({ w, v1 }) => {
        const ops = v1.map((x) => (x.used ? `${x.op} (used)` : x.op));
        return `${w.role} ${w.host}:${w.pid} ${w.id} V1 for ${ops.join(',')}`;
      }),
    },
  };
}

/**
 * The operations a registration puts on V1: by its last use at or after
 * `since` (`used`), else by its flags.
 */
function v1Operations(
  w: Registration,
  since: Date,
): { op: Operation; used: boolean }[] {
  return (Object.keys(w.paths) as Operation[]).flatMap((op) => {
    const use = w.pathsUsed[op];
    const recent = use !== undefined && use.at >= since;
    const path = recent ? use.path : w.paths[op];
    return path === 'V1' ? [{ op, used: recent }] : [];
  });
}

/** Every operation on V2: zero V1. */
export function allV2(m: LedgerMetrics, o: AcceptanceOptions): GateResult {
  return zero('all_v2', m.legacyPath.count, m, o);
}

/** Zero operations that enforcement would have blocked. */
export function noWouldBlock(
  m: LedgerMetrics,
  o: AcceptanceOptions,
): GateResult {
  return zero('no_would_block', m.wouldBlock.count, m, o);
}

/** No legacy path fallbacks. */
export function noFallback(m: LedgerMetrics, o: AcceptanceOptions): GateResult {
  return zero('no_fallback', m.fallback.count, m, o);
}

/** Operations succeed: the success share is at least `minSuccessRate`. */
export function operationsSucceed(
  m: LedgerMetrics,
  o: AcceptanceOptions,
): GateResult {
  const successShare =
    m.sampleSize === 0 ? null : 1 - m.failures.count / m.sampleSize;
  const status: GateStatus =
    m.sampleSize < o.minOperations || successShare === null
      ? 'INCONCLUSIVE'
      : successShare >= o.minSuccessRate
        ? 'PASS'
        : 'FAIL';
  return {
    gate: 'operations_succeed',
    status,
    numbers: {
      failures: m.failures.count,
      sampleSize: m.sampleSize,
      successShare,
      minSuccessRate: o.minSuccessRate,
    },
  };
}

/** The stage has run for at least `minMs`. */
export function watchWindowElapsed(
  startedAt: Date,
  now: Date,
  minMs: number,
): GateResult {
  const elapsedMs = now.getTime() - startedAt.getTime();
  return {
    gate: 'watch_window_elapsed',
    status: elapsedMs >= minMs ? 'PASS' : 'INCONCLUSIVE',
    numbers: {
      startedAt: startedAt.toISOString(),
      elapsedHours: elapsedMs / 3_600_000,
      requiredHours: minMs / 3_600_000,
    },
  };
}

/**
 * Issued e-invoices and successful fiscal requests created in the
 * window carry an integrationAccountId (in the environment's database).
 */
export async function newRecordsHaveAccount(
  db: Database,
  since: Date,
  until: Date,
): Promise<GateResult> {
  const issued = ISSUED_EINVOICE_STATUSES.map((s) => `'${s}'`).join(', ');
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ missing: number; total: number; samples: string[] }>(
      `WITH fresh AS (
         SELECT id, "integrationAccountId" FROM "EInvoice"
          WHERE status IN (${issued}) AND "createdAt" >= $1
            AND "createdAt" < $2
         UNION ALL
         SELECT id, "integrationAccountId" FROM "FiscalRequest"
          WHERE status = 'SUCCESS' AND "createdAt" >= $1
            AND "createdAt" < $2)
       SELECT (SELECT count(*) FROM fresh)::int AS total,
         (SELECT count(*) FROM fresh
           WHERE "integrationAccountId" IS NULL)::int AS missing,
         ARRAY(SELECT id FROM fresh WHERE "integrationAccountId" IS NULL
           ORDER BY id COLLATE "C" LIMIT 5) AS samples`,
      [since, until],
    ),
  );
  const row = rows[0] ?? { missing: 0, total: 0, samples: [] };
  return {
    gate: 'new_records_have_account',
    status: row.missing > 0 ? 'FAIL' : 'PASS',
    numbers: { ...row },
  };
}

/**
 * A probe's legacy attempt was blocked in the window: enforcement is
 * live. Probes are not legitimate operations, so this reads them apart.
 */
export async function probeBlocked(
  db: Database,
  environment: DeploymentEnvironment,
  since: Date,
  until: Date,
): Promise<GateResult> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ blocked: number; probes: number }>(
      `SELECT count(*)::int AS probes,
         (count(*) FILTER (WHERE outcome = 'BLOCKED'
           AND "errorName" = 'IntegrationRequiredError'))::int AS blocked
         FROM "OperationEvent"
        WHERE origin = 'probe' AND environment = $1
          AND at >= $2 AND at < $3`,
      [environment, since, until],
    ),
  );
  const row = rows[0] ?? { blocked: 0, probes: 0 };
  return {
    gate: 'probe_blocked',
    status: row.blocked > 0 ? 'PASS' : 'INCONCLUSIVE',
    numbers: { ...row },
  };
}

/** Each readiness check as an entry gate: READY passes. */
export function readinessGates(report: ReadinessReport): GateResult[] {
  return report.checks.map((c) => ({
    gate: `readiness.${c.id}`,
    status:
      c.status === 'READY'
        ? 'PASS'
        : c.status === 'NOT_READY'
          ? 'FAIL'
          : 'INCONCLUSIVE',
    numbers: { ...c.numbers, threshold: c.threshold, samples: c.samples },
  }));
}
