import { operator, type Database } from '../db/database.js';
import { invalidInput } from '../errors/tenantgate-error.js';

const HOUR_MS = 3_600_000;

/** The longest gate window (30 days) plus a day of margin. */
export const MIN_RETENTION_DAYS = 31;

export interface RollupReport {
  /** Hours (re)computed in this run. */
  hours: number;
  /** Every hour before this is in "OperationEventHourly". */
  rolledUpTo: Date | null;
}

/**
 * Rolls complete hours of the ledger into "OperationEventHourly", from
 * where the last run stopped up to the hour that ended at least `lagMs`
 * ago (default 5 minutes: an event is stamped when its transaction
 * starts, so an hour is complete only once its last transactions have
 * committed). Idempotent; concurrent runs wait on the state row.
 * `from` recomputes from that hour on (after events were imported with
 * past timestamps); by default only hours not rolled up yet.
 */
export async function rollUpHours(
  db: Database,
  options: { now?: Date; lagMs?: number; from?: Date } = {},
): Promise<RollupReport> {
  const now = options.now ?? new Date();
  const lag = options.lagMs ?? 5 * 60_000;
  const target = floorHour(new Date(now.getTime() - lag));
  return db.transaction(operator, async (tx) => {
    await tx.query(
      `INSERT INTO "OperationEventRollupState" (id, "rolledUpTo")
       SELECT 1, COALESCE(
         date_trunc('hour', min(at), 'UTC'), $1::timestamptz)
         FROM "OperationEvent"
       ON CONFLICT (id) DO NOTHING`,
      [target],
    );
    const [state] = await tx.query<{ rolledUpTo: Date | string }>(
      `SELECT "rolledUpTo" FROM "OperationEventRollupState"
        WHERE id = 1 FOR UPDATE`,
    );
    const rolled = new Date(state?.rolledUpTo ?? target);
    const from =
      options.from && floorHour(options.from) < rolled
        ? floorHour(options.from)
        : rolled;
    if (from >= target) return { hours: 0, rolledUpTo: from };

    await tx.query(
      `DELETE FROM "OperationEventHourly" WHERE hour >= $1 AND hour < $2`,
      [from, target],
    );
    await tx.query(
      `INSERT INTO "OperationEventHourly" (hour, environment, operation,
         path, outcome, "wouldBlock", fallback, "errorName", origin,
         count, "durationMsSum")
       SELECT date_trunc('hour', at, 'UTC'), environment, operation,
              COALESCE(path, ''), outcome, "wouldBlock", fallback,
              COALESCE("errorName", ''), origin, count(*),
              sum("durationMs")
         FROM "OperationEvent"
        WHERE at >= $1 AND at < $2
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9`,
      [from, target],
    );
    await tx.query(
      `UPDATE "OperationEventRollupState" SET "rolledUpTo" = $1
        WHERE id = 1`,
      [target],
    );
    const hours = Math.round((target.getTime() - from.getTime()) / HOUR_MS);
    return { hours, rolledUpTo: target };
  });
}

export interface RetentionReport {
  deleted: number;
  /** Raw events before this were eligible. */
  cutoff: Date;
}

/**
 * Deletes raw operation events older than `days` (at least 31) that
 * are already rolled up; the rollups keep every number a 7- or 30-day
 * gate reads. Invoices and fiscal requests are never touched.
 */
export async function applyRetention(
  db: Database,
  options: { days: number; now?: Date },
): Promise<RetentionReport> {
  const { days } = options;
  if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
    throw invalidInput(
      'eventRetentionDays',
      `min-${MIN_RETENTION_DAYS}`,
      `eventRetentionDays: at least ${MIN_RETENTION_DAYS} (gates read 30 days)`,
    );
  }
  const now = options.now ?? new Date();
  const byAge = new Date(now.getTime() - days * 24 * HOUR_MS);
  return db.transaction(operator, async (tx) => {
    await tx.query("SELECT set_config('tenantgate.retention', 'on', true)");
    const [state] = await tx.query<{ rolledUpTo: Date | string }>(
      'SELECT "rolledUpTo" FROM "OperationEventRollupState"',
    );
    if (!state) return { deleted: 0, cutoff: byAge };
    const rolled = new Date(state.rolledUpTo);
    const cutoff = rolled < byAge ? rolled : byAge;
    const rows = await tx.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM "OperationEvent" WHERE at < $1 RETURNING 1
       ) SELECT count(*) AS n FROM gone`,
      [cutoff],
    );
    return { deleted: Number(rows[0]?.n ?? 0), cutoff };
  });
}

function floorHour(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
}
