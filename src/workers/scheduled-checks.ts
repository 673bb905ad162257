import { operator, type Database } from '../db/database.js';
import type { AuditReport } from '../audit/report.js';
import type { Logger } from '../logging/logger.js';

/** The checks that run on a schedule. */
export type ScheduledCheck = 'invariants' | 'audit';

/** One stored run of a scheduled check, with its report as evidence. */
export interface CheckRun {
  id: string;
  check: ScheduledCheck;
  at: Date;
  ready: boolean;
  /** Ids of the checks not READY. */
  failing: string[];
  /** Failing now and not in the previous run of the same check. */
  regressed: string[];
  report: AuditReport;
}

interface CheckRunRow {
  id: string;
  check: ScheduledCheck;
  at: Date | string;
  ready: boolean;
  failing: string[];
  regressed: string[];
  report: AuditReport;
}

/**
 * Stores a run and compares it with the previous run of the same
 * check: a check failing now that was READY then (or the first run
 * failing) is a regression.
 */
export async function recordCheckRun(
  db: Database,
  check: ScheduledCheck,
  report: AuditReport,
  at: Date,
): Promise<CheckRun> {
  const failing = report.checks
    .filter((c) => c.status !== 'READY')
    .map((c) => c.id as string);
  return db.transaction(operator, async (tx) => {
    const [previous] = await tx.query<{ failing: string[] }>(
      `SELECT failing FROM "ScheduledCheckRun" WHERE "check" = $1
        ORDER BY at DESC, id DESC LIMIT 1`,
      [check],
    );
    const before = new Set(previous?.failing ?? []);
    const regressed = failing.filter((id) => !before.has(id));
    const [row] = await tx.query<CheckRunRow>(
      `INSERT INTO "ScheduledCheckRun" ("check", at, ready, failing,
         regressed, report)
       VALUES ($1, $2, $3, $4::text[], $5::text[], $6::jsonb)
       RETURNING id::text AS id, "check", at, ready, failing, regressed,
         report`,
      [check, at, report.ready, failing, regressed, JSON.stringify(report)],
    );
    return fromRow(row as CheckRunRow);
  });
}

/** The latest run of each scheduled check (none run yet: absent). */
export async function latestCheckRuns(db: Database): Promise<CheckRun[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<CheckRunRow>(
      `SELECT DISTINCT ON ("check") id::text AS id, "check", at, ready,
              failing, regressed, report
         FROM "ScheduledCheckRun" ORDER BY "check", at DESC, id DESC`,
    ),
  );
  return rows.map(fromRow);
}

/** What a run of the daily checks needs; the reports come from callers. */
export interface DailyCheckDeps {
  db: Database;
  logger: Logger;
  /** Runs the invariants (`runInvariants`). */
  invariants: () => Promise<AuditReport>;
  /** Runs the full audit (`auditPlatform`). */
  audit: () => Promise<AuditReport>;
  /** Told of every run with a regression (the alert). */
  onRegression?: (run: CheckRun) => Promise<void>;
  now?: () => Date;
}

/**
 * The spec's "run daily": the invariants and the audit, each stored
 * with its report. A regression is logged as `checks.regression`
 * (severity P1) and handed to `onRegression`.
 */
export async function runDailyChecks(
  deps: DailyCheckDeps,
): Promise<CheckRun[]> {
  const at = (deps.now ?? (() => new Date()))();
  const runs = [
    await recordCheckRun(deps.db, 'invariants', await deps.invariants(), at),
    await recordCheckRun(deps.db, 'audit', await deps.audit(), at),
  ];
  for (const run of runs) {
    const fields = {
      event: run.regressed.length > 0 ? 'checks.regression' : 'checks.ran',
      check: run.check,
      runId: run.id,
      ready: run.ready,
      failing: run.failing,
      regressed: run.regressed,
    };
    if (run.regressed.length === 0) {
      deps.logger.info(fields, 'scheduled check ran');
      continue;
    }
    deps.logger.error(
      { ...fields, severity: 'P1' },
      'scheduled check regressed',
    );
    await deps.onRegression?.(run);
  }
  return runs;
}

/** A Slack-compatible message about a regressed run. */
export function regressionMessage(run: CheckRun): { text: string } {
  const lines = run.report.checks
    .filter((c) => run.regressed.includes(c.id))
    .map((c) => `• ${c.id}: ${c.count} rows (e.g. ${c.samples.join(', ')})`);
  return {
    text: [
      `[P1] TenantGate ${run.check} check regressed (run ${run.id}, ` +
        `${run.at.toISOString()})`,
      ...lines,
    ].join('\n'),
  };
}

/** Posts `regressionMessage` to a Slack-compatible webhook. */
export function webhookAlert(
  url: string,
  logger: Logger,
  timeoutMs = 5_000,
): (run: CheckRun) => Promise<void> {
  return async (run) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(regressionMessage(run)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
    } catch (error) {
      logger.warn({
        event: 'checks.alert_failed',
        runId: run.id,
        reason: error instanceof Error ? error.message : 'unknown',
      });
    }
  };
}

function fromRow(row: CheckRunRow): CheckRun {
  return {
    id: row.id,
    check: row.check,
    at: new Date(row.at),
    ready: row.ready,
    failing: row.failing,
    regressed: row.regressed,
    report:
      typeof row.report === 'string'
        ? (JSON.parse(row.report) as AuditReport)
        : row.report,
  };
}
