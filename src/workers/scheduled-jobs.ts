import type PgBoss from 'pg-boss';
import type { Logger } from '../logging/logger.js';

/** The spec's "run daily" checks (invariants and audit). */
export const DAILY_CHECKS_QUEUE = 'daily-checks';
/** Hourly rollups of the ledger and the retention setting. */
export const LEDGER_QUEUE = 'ledger-maintenance';
/** The rollout probe of this environment. */
export const PROBE_QUEUE = 'rollout-probe';

/** A job pg-boss runs on a cron schedule, once across all workers. */
export interface ScheduledJob {
  queue: string;
  /** Cron expression (five fields). */
  cron: string;
  run: () => Promise<unknown>;
}

/** When the scheduled jobs run. */
export interface ScheduleOptions {
  /** Default `15 3 * * *`: daily at 03:15. */
  dailyChecksCron?: string;
  /** Default `5 * * * *`: five minutes past each hour. */
  ledgerCron?: string;
  /** Default every 15 minutes (`0,15,30,45 * * * *`). */
  probeCron?: string;
  /** Time zone of the crons. Default `Europe/Zagreb`. */
  tz?: string;
}

export const SCHEDULE_DEFAULTS = {
  dailyChecksCron: '15 3 * * *',
  ledgerCron: '5 * * * *',
  probeCron: '0,15,30,45 * * * *',
  tz: 'Europe/Zagreb',
} as const;

/**
 * Creates each job's queue, (re)places its schedule and works it.
 * pg-boss makes one job per cron tick whatever the number of worker
 * processes; a failed run is retried twice. Returns a stop function.
 */
export async function startScheduledJobs(
  boss: PgBoss,
  jobs: readonly ScheduledJob[],
  logger: Logger,
  options: { tz?: string; pollingIntervalSeconds?: number } = {},
): Promise<() => Promise<void>> {
  const ids: string[] = [];
  for (const job of jobs) {
    const log = logger.child({ worker: job.queue });
    await boss.createQueue(job.queue, {
      name: job.queue,
      retryLimit: 2,
      retryDelay: 60,
    });
    await boss.schedule(
      job.queue,
      job.cron,
      {},
      {
        tz: options.tz ?? SCHEDULE_DEFAULTS.tz,
      },
    );
    ids.push(
      await boss.work(
        job.queue,
        { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 },
        async (batch) => {
          for (const item of batch) {
            const started = Date.now();
            try {
              await job.run();
              log.info({
                event: 'job.done',
                jobId: item.id,
                durationMs: Date.now() - started,
              });
            } catch (error) {
              log.error({
                event: 'job.failed',
                jobId: item.id,
                reason: error instanceof Error ? error.message : 'unknown',
              });
              throw error;
            }
          }
        },
      ),
    );
  }
  return async () => {
    for (const id of ids) await boss.offWork({ id });
  };
}
