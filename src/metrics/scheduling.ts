import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import {
  applyRetention,
  rollUpHours,
  type RetentionReport,
  type RollupReport,
} from './rollup.js';
import { latestCheckRuns, type CheckRun } from '../workers/scheduled-checks.js';

/** What one scheduled ledger maintenance run did. */
export interface LedgerMaintenanceReport {
  rollup: RollupReport;
  /** Null when no retention is configured: every raw event is kept. */
  retention: RetentionReport | null;
}

/**
 * The hourly ledger job: rolls up the hours completed since the last
 * run, then applies the retention setting (raw events older than
 * `retentionDays` and already rolled up; never invoices).
 */
export async function maintainLedger(
  db: Database,
  logger: Logger,
  options: { retentionDays: number | undefined; now?: Date },
): Promise<LedgerMaintenanceReport> {
  const rollup = await rollUpHours(db, { now: options.now });
  const retention =
    options.retentionDays === undefined
      ? null
      : await applyRetention(db, {
          days: options.retentionDays,
          now: options.now,
        });
  logger.info({
    event: 'ledger.maintained',
    hoursRolledUp: rollup.hours,
    rolledUpTo: rollup.rolledUpTo?.toISOString() ?? null,
    rawEventsDeleted: retention?.deleted ?? 0,
  });
  return { rollup, retention };
}

/**
 * Gauges of the latest run of each scheduled check: whether it was
 * READY, how many checks failed, and when it ran (an alert fires when
 * the daily run is missing or not READY).
 */
export function addScheduledCheckGauges(
  registry: Registry,
  db: Database,
): void {
  let pending: ReturnType<typeof latestCheckRuns> | undefined;
  const runs = () => {
    pending ??= latestCheckRuns(db).finally(() => {
      setTimeout(() => (pending = undefined), 0);
    });
    return pending;
  };
  const gauge = (name: string, help: string, value: (r: CheckRun) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['check'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await runs()) this.set({ check: r.check }, value(r));
      },
    });
  gauge(
    'tenantgate_scheduled_check_ready',
    'Latest scheduled run of the check: 1 when every check was READY.',
    (r) => (r.ready ? 1 : 0),
  );
  gauge(
    'tenantgate_scheduled_check_failing',
    'Checks not READY in the latest scheduled run.',
    (r) => r.failing.length,
  );
  gauge(
    'tenantgate_scheduled_check_last_run_timestamp_seconds',
    'When the check last ran on its schedule.',
    (r) => r.at.getTime() / 1000,
  );
}
