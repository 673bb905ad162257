import type PgBoss from 'pg-boss';
import { operator, tenant, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import { companiesWithDueReports, markDead } from './report-store.js';
import type { ReportingService } from './reporting-service.js';

/** The pg-boss queue of companies with reports to make. */
export const REPORTING_QUEUE = 'einvoice-report';

/** The queue whose scheduled job finds companies with reports due. */
export const REPORTING_SWEEP_QUEUE = 'einvoice-report-sweep';

/** A job: report what one company owes now. */
export interface ReportingJob {
  companyId: string;
}

export interface ReportingQueueDeps {
  db: Database;
  boss: PgBoss;
  reporting: ReportingService;
  logger: Logger;
}

export interface ReportingWorkerOptions {
  /** Polling loops of this process. Default 1. */
  concurrency?: number;
  /** How often an idle worker polls, seconds. Default 1. */
  pollingIntervalSeconds?: number;
}

/** Retries of a company's job while reports fail for a passing cause. */
export interface ReportingRetryOptions {
  /** Retries after the first run. Default 8. */
  retryLimit?: number;
  /** Seconds before the first retry, doubled after each. Default 30. */
  retryDelay?: number;
}

/**
 * Creates the queues (idempotent); call once after `boss.start()`. The
 * report queue is `stately`: per company at most one job waits and one
 * runs, so a burst of triggers makes one run. A job whose retries run
 * out leaves its FAILED reports DEAD.
 */
export async function createReportingQueue(
  boss: PgBoss,
  options: ReportingRetryOptions = {},
): Promise<void> {
  await boss.createQueue(REPORTING_QUEUE, {
    name: REPORTING_QUEUE,
    policy: 'stately',
    retryLimit: options.retryLimit ?? 8,
    retryDelay: options.retryDelay ?? 30,
    retryBackoff: true,
    // A worker that died mid-run is presumed gone after this; its job
    // runs again and its reports, once their lease ends, are sent again
    // (S008 marks those that had arrived REPORTED).
    expireInSeconds: 300,
  });
  await boss.createQueue(REPORTING_SWEEP_QUEUE, {
    name: REPORTING_SWEEP_QUEUE,
    policy: 'singleton',
  });
}

/** Queues a run for the company; null when one is already waiting. */
export async function enqueueReporting(
  deps: Pick<ReportingQueueDeps, 'boss'>,
  companyId: string,
): Promise<string | null> {
  const job: ReportingJob = { companyId };
  return deps.boss.send(REPORTING_QUEUE, job, { singletonKey: companyId });
}

/**
 * Queues a run for every company with e-invoices or reports due (the
 * runs find new obligations first). Returns how many were queued.
 */
export async function enqueueDueCompanies(
  deps: Pick<ReportingQueueDeps, 'boss' | 'db'>,
): Promise<number> {
  const companies = await deps.db.transaction(operator, async (tx) => {
    const due = await companiesWithDueReports(tx);
    const unsynced = await tx.query<{ companyId: string }>(
      `SELECT DISTINCT e."companyId" FROM "EInvoice" e
        WHERE NOT EXISTS (
          SELECT 1 FROM "EInvoiceReport" r
           WHERE r."companyId" = e."companyId" AND r."einvoiceId" = e.id
             AND r.kind = 'EINVOICE')`,
    );
    return new Set([...due, ...unsynced.map((row) => row.companyId)]);
  });
  let queued = 0;
  for (const companyId of companies) {
    if (await enqueueReporting(deps, companyId)) queued++;
  }
  return queued;
}

/**
 * Works the queue: each job reports what its company owes now through
 * ReportingService.reportDue (claim → send through the gate → record).
 * Reports that failed for a passing cause (service unavailable, reply
 * lost) fail the job, so pg-boss runs it again with backoff; on the
 * last try they become DEAD. With `sweepCron` (default every 5 minutes)
 * a scheduled job queues every company with something due. Returns a
 * stop function.
 */
export async function startReportingWorker(
  deps: ReportingQueueDeps,
  options: ReportingWorkerOptions & { sweepCron?: string | null } = {},
): Promise<() => Promise<void>> {
  const log = deps.logger.child({ worker: REPORTING_QUEUE });
  const ids: string[] = [];
  for (let i = 0; i < (options.concurrency ?? 1); i++) {
    ids.push(
      await deps.boss.work<ReportingJob>(
        REPORTING_QUEUE,
        {
          batchSize: 1,
          includeMetadata: true,
          pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1,
        },
        async ([job]) => {
          if (!job) return;
          await runJob(deps, log, job.data, job.retryCount >= job.retryLimit);
        },
      ),
    );
  }
  const cron =
    options.sweepCron === undefined ? '*/5 * * * *' : options.sweepCron;
  if (cron !== null) {
    await deps.boss.schedule(REPORTING_SWEEP_QUEUE, cron);
    ids.push(
      await deps.boss.work(REPORTING_SWEEP_QUEUE, async () => {
        const queued = await enqueueDueCompanies(deps);
        log.info({ event: 'reporting.sweep', queued });
      }),
    );
  }
  return async () => {
    for (const id of ids) await deps.boss.offWork({ id });
  };
}

async function runJob(
  deps: ReportingQueueDeps,
  log: Logger,
  job: ReportingJob,
  lastTry: boolean,
): Promise<void> {
  const summary = await deps.reporting.reportDue(job.companyId, {
    origin: 'worker',
  });
  const retry = summary.failures.filter((f) => f.status === 'FAILED');
  log.info({
    event: 'reporting.job_done',
    companyId: job.companyId,
    reported: summary.reported,
    alreadyRecorded: summary.alreadyRecorded,
    failed: summary.failures.length,
    retry: retry.length,
  });
  if (retry.length === 0) return;
  if (!lastTry) {
    throw new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      `${retry.length} reports failed for a passing cause; retried later`,
      { companyId: job.companyId, reports: retry.length },
    );
  }
  await deps.db.transaction(tenant(job.companyId), (tx) =>
    markDead(
      tx,
      retry.map((f) => f.reportId),
    ),
  );
  log.warn({
    event: 'reporting.job_dead',
    companyId: job.companyId,
    dead: retry.length,
  });
}
