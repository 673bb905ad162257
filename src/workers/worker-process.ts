import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import type { TenantGate } from '../app.js';
import { runInvariants } from '../audit/audit.js';
import { auditPlatform } from '../audit/platform-audit.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { CisClient } from '../fiscal/cis-client.js';
import { FiscalService } from '../fiscal/fiscal-service.js';
import {
  FISCAL_REQUEUE_CRON,
  FISCAL_REQUEUE_QUEUE,
  createFiscalQueue,
  requeueStrandedReceipts,
  startFiscalWorker,
} from '../fiscal/fiscal-worker.js';
import { maintainLedger } from '../metrics/scheduling.js';
import { probeOf } from '../rollout/platform.js';
import {
  runDailyChecks,
  webhookAlert,
  type CheckRun,
} from './scheduled-checks.js';
import {
  DAILY_CHECKS_QUEUE,
  LEDGER_QUEUE,
  PROBE_QUEUE,
  SCHEDULE_DEFAULTS,
  startScheduledJobs,
  type ScheduledJob,
  type ScheduleOptions,
} from './scheduled-jobs.js';

/** A running `tenantgate worker`. */
export interface WorkerProcess {
  boss: PgBoss;
  /** Whether this process works the fiscal queue (CIS configured). */
  fiscal: boolean;
  /** Queues worked on a schedule. */
  scheduled: string[];
  stop(): Promise<void>;
}

export interface WorkerProcessOptions {
  schedules?: ScheduleOptions;
  /** More scheduled jobs (the probe sender). Default none. */
  extraJobs?: ScheduledJob[];
  /** How often idle queues are polled, seconds. Default 2. */
  pollingIntervalSeconds?: number;
}

/**
 * The worker process: pg-boss on the platform's PostgreSQL, the fiscal
 * queue (when TENANTGATE_CIS_URL is set) and the scheduled jobs (daily
 * invariants and audit, hourly ledger rollups and retention). pg-boss
 * needs PostgreSQL: on the embedded database this refuses with
 * CONFIG_INVALID.
 */
export async function startWorkerProcess(
  app: TenantGate,
  options: WorkerProcessOptions = {},
): Promise<WorkerProcess> {
  const url = app.settings.databaseUrl;
  if (url === undefined) {
    throw new TenantGateError(
      'CONFIG_INVALID',
      'DATABASE_URL: the worker needs PostgreSQL (pg-boss)',
      { field: 'DATABASE_URL', rule: 'postgres-required' },
    );
  }
  const boss = new PgBoss({ connectionString: url, max: 4 });
  boss.on('error', (error: Error) =>
    app.logger.error({ event: 'worker.queue_error', reason: error.message }),
  );
  await boss.start();

  const stops: (() => Promise<void>)[] = [];
  const fiscal = fiscalServiceOf(app);
  const fiscalDeps = fiscal && { db: app.db, boss, fiscal, logger: app.logger };
  if (fiscalDeps) {
    await createFiscalQueue(boss);
    stops.push(await startFiscalWorker(fiscalDeps));
  }
  const jobs = [...platformJobs(app, options.schedules)];
  if (fiscalDeps) {
    // Receipts stored QUEUED whose job was never inserted (or is gone).
    jobs.push({
      queue: FISCAL_REQUEUE_QUEUE,
      cron: FISCAL_REQUEUE_CRON,
      run: () => requeueStrandedReceipts(fiscalDeps),
    });
  }
  jobs.push(...(options.extraJobs ?? []));
  stops.push(
    await startScheduledJobs(boss, jobs, app.logger, {
      tz: options.schedules?.tz,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
    }),
  );
  app.logger.info({
    event: 'worker.started',
    fiscal: fiscal !== null,
    scheduled: jobs.map((j) => `${j.queue} ${j.cron}`),
  });

  return {
    boss,
    fiscal: fiscal !== null,
    scheduled: jobs.map((j) => j.queue),
    stop: async () => {
      for (const stop of stops) await stop();
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}

/**
 * The daily checks and the ledger maintenance of the platform, and the
 * rollout probe where probe companies are configured.
 */
export function platformJobs(
  app: TenantGate,
  schedules: ScheduleOptions = {},
): ScheduledJob[] {
  const probe: ScheduledJob[] = app.settings.probe
    ? [
        {
          queue: PROBE_QUEUE,
          cron: schedules.probeCron ?? SCHEDULE_DEFAULTS.probeCron,
          run: () => probeOf(app),
        },
      ]
    : [];
  return [
    ...probe,
    {
      queue: DAILY_CHECKS_QUEUE,
      cron: schedules.dailyChecksCron ?? SCHEDULE_DEFAULTS.dailyChecksCron,
      run: () => dailyChecksOf(app),
    },
    {
      queue: LEDGER_QUEUE,
      cron: schedules.ledgerCron ?? SCHEDULE_DEFAULTS.ledgerCron,
      run: () =>
        maintainLedger(app.db, app.logger, {
          retentionDays: app.settings.eventRetentionDays,
        }),
    },
  ];
}

/**
 * Runs the invariants and the audit of the platform now, stores both,
 * and alerts the configured webhook on a regression.
 */
export function dailyChecksOf(app: TenantGate): Promise<CheckRun[]> {
  const webhook = app.settings.alertWebhookUrl;
  return runDailyChecks({
    db: app.db,
    logger: app.logger,
    invariants: () =>
      runInvariants(app.db, {
        accountEnvironment: app.settings.accountEnvironment,
      }),
    audit: () => auditPlatform(app),
    onRegression: webhook ? webhookAlert(webhook, app.logger) : undefined,
  });
}

function fiscalServiceOf(app: TenantGate): FiscalService | null {
  const url = app.settings.cis.url;
  if (!url) return null;
  const caFile = app.settings.cis.caFile;
  const client = new CisClient({
    url,
    ca: caFile ? readFileSync(caFile) : undefined,
  });
  return new FiscalService({
    db: app.db,
    gate: app.gate,
    logger: app.logger,
    cis: () => client,
    accountEnvironment: app.settings.accountEnvironment,
  });
}
