import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import type { TenantGate } from '../app.js';
import { runInvariants } from '../audit/audit.js';
import { auditPlatform } from '../audit/platform-audit.js';
import type { Settings } from '../config/settings.js';
import {
  createInboundQueue,
  enqueueInboundPolls,
  INBOUND_QUEUE,
  INBOUND_SCHEDULE_QUEUE,
  startInboundWorker,
} from '../einvoice/inbound-worker.js';
import {
  RECONCILE_QUEUE,
  reconcileAll,
  refreshAllStatuses,
  STATUS_QUEUE,
} from '../einvoice/lifecycle-sweeps.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { CisClient } from '../fiscal/cis-client.js';
import { FiscalService } from '../fiscal/fiscal-service.js';
import {
  FISCAL_QUEUE,
  FISCAL_REQUEUE_CRON,
  FISCAL_REQUEUE_QUEUE,
  createFiscalQueue,
  requeueStrandedReceipts,
  startFiscalWorker,
} from '../fiscal/fiscal-worker.js';
import { maintainLedger } from '../metrics/scheduling.js';
import { ReportingClient } from '../reporting/client.js';
import { reportingFor } from '../reporting/app-reporting.js';
import {
  createReportingQueue,
  enqueueDueCompanies,
  REPORTING_QUEUE,
  REPORTING_SWEEP_QUEUE,
  startReportingWorker,
} from '../reporting/reporting-worker.js';
import { hookFromSettings, type DeployHook } from '../rollout/deploy-hooks.js';
import {
  controllerOf,
  openEnvironmentDatabases,
  probeOf,
} from '../rollout/platform.js';
import { Rollback } from '../rollout/rollback.js';
import { startWatchLoop } from '../rollout/watch-loop.js';
import {
  selectedCapabilities,
  WORKER_CAPABILITIES,
  type CapabilitySelection,
  type WorkerCapability,
} from './capabilities.js';
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

/** How one capability runs in this process, or why it does not. */
export interface CapabilityPlan {
  capability: WorkerCapability;
  on: boolean;
  /**
   * Why it is off: `not selected` (`--only`/`--without`) or the
   * setting it needs, e.g. `TENANTGATE_F2_URL not set`.
   */
  reason?: string;
  /** Queues worked as their jobs arrive. */
  queues: string[];
  /** Queues worked on a cron (time zone: the worker's, see `tz`). */
  schedules: { queue: string; cron: string }[];
  /** Run in this process on an interval (not through pg-boss). */
  loops?: Loop[];
}

/** A task every worker process runs itself, every `everyMs`. */
export interface Loop {
  name: string;
  everyMs: number;
}

/** The loop of the `rollout-watch` capability. */
export const ROLLOUT_WATCH_LOOP = 'rollout-watch';

/** A running `tenantgate worker`. */
export interface WorkerProcess {
  boss: PgBoss;
  /** Whether this process works the fiscal queue (CIS configured). */
  fiscal: boolean;
  /** Queues worked on a schedule. */
  scheduled: string[];
  /** Every capability, on or off, in a fixed order. */
  capabilities: CapabilityPlan[];
  /** Time zone of the crons. */
  tz: string;
  /** Stops every queue, waits for running jobs, then stops pg-boss. */
  stop(): Promise<void>;
}

export interface WorkerProcessOptions extends CapabilitySelection {
  schedules?: ScheduleOptions;
  /** More scheduled jobs. Default none. */
  extraJobs?: ScheduledJob[];
  /** How often idle queues are polled, seconds. Default 2. */
  pollingIntervalSeconds?: number;
  /**
   * A pg-boss, not yet started, to run on instead of one of its own on
   * DATABASE_URL: on the embedded database, pg-boss through
   * `pgBossDb(app.db)` in the same process. The worker starts and
   * stops it. Default: its own, on DATABASE_URL.
   */
  boss?: PgBoss;
}

/** A scheduled job whose run needs the started pg-boss. */
interface ScheduleDef {
  queue: string;
  cron: string;
  run: (boss: PgBoss) => Promise<unknown>;
}

/** What a capability started, and how to stop it. */
interface Started {
  /** Stops taking jobs (before pg-boss stops). */
  stop: () => Promise<void>;
  /** Releases what the running jobs used (after pg-boss stopped). */
  close?: () => void | Promise<void>;
}

/** A capability that can run here, or the setting it lacks. */
type CapabilityDef =
  | { missing: string }
  | {
      queues: string[];
      schedules: ScheduleDef[];
      loops?: Loop[];
      start?: (
        boss: PgBoss,
        pollingIntervalSeconds?: number,
      ) => Promise<Started>;
    };

/**
 * What `tenantgate worker` would run with these options: each
 * capability on, with its queues and crons, or off with the reason.
 * Refuses (before anything starts) a selection naming an unknown or no
 * capability (INVALID_INPUT), and an `only` capability that is not
 * configured (CONFIG_INVALID naming the setting).
 */
export function planWorker(
  app: TenantGate,
  options: WorkerProcessOptions = {},
): CapabilityPlan[] {
  return definedCapabilities(app, options).map(({ plan }) => plan);
}

/**
 * Refuses the embedded database with CONFIG_INVALID naming DATABASE_URL:
 * pg-boss needs PostgreSQL. `tenantgate worker` calls it before it
 * opens anything, so a refused worker leaves no registry row behind.
 */
export function assertWorkerDatabase(
  settings: Pick<Settings, 'databaseUrl'>,
): void {
  if (settings.databaseUrl !== undefined) return;
  throw new TenantGateError(
    'CONFIG_INVALID',
    'DATABASE_URL: the worker needs PostgreSQL (pg-boss)',
    { field: 'DATABASE_URL', rule: 'postgres-required' },
  );
}

/**
 * The worker process: pg-boss on the platform's PostgreSQL and every
 * selected capability that is configured (WORKER_CAPABILITIES): the
 * fiscal queue, inbox polling, Fiskalizacija 2.0 reporting, the
 * reconciliation and status sweeps, the daily checks, the ledger, the
 * probe and the rollout watch. Logs what it runs (`worker.started`)
 * and each capability left off with the reason
 * (`worker.capability_off`). pg-boss needs
 * PostgreSQL: on the embedded database, without `boss`, this refuses
 * with CONFIG_INVALID.
 */
export async function startWorkerProcess(
  app: TenantGate,
  options: WorkerProcessOptions = {},
): Promise<WorkerProcess> {
  const url = app.settings.databaseUrl;
  if (options.boss === undefined) assertWorkerDatabase(app.settings);
  const defined = definedCapabilities(app, options);
  const tz = options.schedules?.tz ?? SCHEDULE_DEFAULTS.tz;
  const boss = options.boss ?? new PgBoss({ connectionString: url, max: 4 });
  boss.on('error', (error: Error) =>
    app.logger.error({ event: 'worker.queue_error', reason: error.message }),
  );
  await boss.start();

  const running: Running = { stops: [], closes: [] };
  const stop = async () => {
    for (const s of running.stops.splice(0)) await s();
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    for (const close of running.closes.splice(0)) await close();
  };
  let jobs: ScheduledJob[];
  try {
    jobs = await startCapabilities(boss, defined, running, options);
    running.stops.push(
      await startScheduledJobs(boss, jobs, app.logger, {
        tz,
        pollingIntervalSeconds: options.pollingIntervalSeconds,
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const capabilities = defined.map(({ plan }) => plan);
  logPlan(app, capabilities, jobs, tz);
  const fiscal = capabilities.some((c) => c.capability === 'fiscal' && c.on);
  return {
    boss,
    fiscal,
    scheduled: jobs.map((j) => j.queue),
    capabilities,
    tz,
    stop,
  };
}

/** What to stop before pg-boss stops, and to close after. */
interface Running {
  stops: (() => Promise<void>)[];
  closes: (() => void | Promise<void>)[];
}

/**
 * Starts the queues of every capability that runs, recording how to
 * stop each in `running`; returns every scheduled job to place (the
 * capabilities' and `extraJobs`).
 */
async function startCapabilities(
  boss: PgBoss,
  defined: readonly { def?: CapabilityDef }[],
  running: Running,
  options: WorkerProcessOptions,
): Promise<ScheduledJob[]> {
  const jobs: ScheduledJob[] = [];
  for (const { def } of defined) {
    if (!def || 'missing' in def) continue;
    const started = await def.start?.(boss, options.pollingIntervalSeconds);
    if (started) running.stops.push(started.stop);
    if (started?.close) running.closes.push(started.close);
    for (const s of def.schedules) {
      jobs.push({ queue: s.queue, cron: s.cron, run: () => s.run(boss) });
    }
  }
  return [...jobs, ...(options.extraJobs ?? [])];
}

/**
 * The daily checks and the ledger maintenance of the platform, and the
 * rollout probe where probe companies are configured.
 */
export function platformJobs(
  app: TenantGate,
  schedules: ScheduleOptions = {},
): ScheduledJob[] {
  const probe = probeJob(app, schedules);
  return [
    ...(probe ? [probe] : []),
    dailyChecksJob(app, schedules),
    ledgerJob(app, schedules),
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

/** Each capability's plan and, where it runs, its definition. */
function definedCapabilities(
  app: TenantGate,
  options: WorkerProcessOptions,
): { plan: CapabilityPlan; def?: CapabilityDef }[] {
  const selected = new Set(selectedCapabilities(options));
  return WORKER_CAPABILITIES.map((capability) => {
    const off = { capability, on: false, queues: [], schedules: [] };
    if (!selected.has(capability)) {
      return { plan: { ...off, reason: 'not selected' } };
    }
    const def = capabilityDef(app, capability, options.schedules ?? {});
    if ('missing' in def) {
      if (options.only?.includes(capability)) {
        throw new TenantGateError(
          'CONFIG_INVALID',
          `${def.missing}: the worker was asked to run ${capability}`,
          { field: def.missing, rule: 'required-by-worker', capability },
        );
      }
      return { plan: { ...off, reason: `${def.missing} not set` }, def };
    }
    const plan: CapabilityPlan = {
      capability,
      on: true,
      queues: def.queues,
      schedules: def.schedules.map(({ queue, cron }) => ({ queue, cron })),
      ...(def.loops ? { loops: def.loops } : {}),
    };
    return { plan, def };
  });
}

function capabilityDef(
  app: TenantGate,
  capability: WorkerCapability,
  schedules: ScheduleOptions,
): CapabilityDef {
  const crons = app.settings.workerCrons;
  switch (capability) {
    case 'fiscal':
      return fiscalCapability(app);
    case 'inbound':
      return inboundCapability(app, crons.inbound);
    case 'reporting':
      return reportingCapability(app, crons.reporting);
    case 'reconcile':
      return sweepCapability(RECONCILE_QUEUE, crons.reconcile, () =>
        reconcileAll({
          db: app.db,
          reconciler: app.reconciler,
          logger: app.logger,
        }),
      );
    case 'status':
      return sweepCapability(STATUS_QUEUE, crons.status, () =>
        refreshAllStatuses({
          db: app.db,
          statusTracker: app.statusTracker,
          logger: app.logger,
        }),
      );
    case 'checks':
      return jobCapability(dailyChecksJob(app, schedules));
    case 'ledger':
      return jobCapability(ledgerJob(app, schedules));
    case 'probe': {
      const probe = probeJob(app, schedules);
      return probe
        ? jobCapability(probe)
        : { missing: 'TENANTGATE_PROBE_*_COMPANY' };
    }
    case 'rollout-watch':
      return rolloutWatchCapability(app);
  }
}

/**
 * The rollout watch: every TENANTGATE_ROLLOUT_WATCH_MS, the tick of
 * `tenantgate rollout watch` over each environment's database
 * (STAGING_DATABASE_URL, PRODUCTION_DATABASE_URL; unset: the
 * platform's) with the deploy hook of the settings. Every worker
 * process ticks: stage changes run one at a time (RolloutStore), so
 * one breach rolls back once. Off, naming the setting, when the deploy
 * hook lacks one.
 */
function rolloutWatchCapability(app: TenantGate): CapabilityDef {
  let hook: DeployHook;
  try {
    hook = hookFromSettings(app.settings);
  } catch (error) {
    const field = error instanceof TenantGateError && error.details?.field;
    if (typeof field !== 'string') throw error;
    return { missing: field };
  }
  const everyMs = app.settings.rolloutWatchMs;
  const urls = app.settings.environmentDatabases;
  return {
    queues: [],
    schedules: [],
    loops: [{ name: ROLLOUT_WATCH_LOOP, everyMs }],
    start: async () => {
      const dbs = await openEnvironmentDatabases(app, urls);
      const rollback = new Rollback(controllerOf(app, dbs), hook);
      const loop = startWatchLoop(
        () => rollback.watchOnce(),
        app.logger.child({ worker: ROLLOUT_WATCH_LOOP }),
        { intervalMs: everyMs },
      );
      return { stop: () => loop.stop(), close: () => dbs.close() };
    },
  };
}

/** The fiscal queue and its requeue sweep, where CIS is configured. */
function fiscalCapability(app: TenantGate): CapabilityDef {
  const fiscal = fiscalServiceOf(app);
  if (!fiscal) return { missing: 'TENANTGATE_CIS_URL' };
  const deps = (boss: PgBoss) => ({
    db: app.db,
    boss,
    fiscal,
    logger: app.logger,
  });
  return {
    queues: [FISCAL_QUEUE],
    schedules: [
      {
        // Receipts stored QUEUED whose job was never inserted (or is gone).
        queue: FISCAL_REQUEUE_QUEUE,
        cron: FISCAL_REQUEUE_CRON,
        run: (boss) => requeueStrandedReceipts(deps(boss)),
      },
    ],
    start: async (boss) => {
      await createFiscalQueue(boss);
      return { stop: await startFiscalWorker(deps(boss)) };
    },
  };
}

/** Every inbox polled through the gate: the fan-out and the polls. */
function inboundCapability(app: TenantGate, cron: string): CapabilityDef {
  const accountEnvironment = app.settings.accountEnvironment;
  return {
    queues: [INBOUND_QUEUE],
    schedules: [
      {
        queue: INBOUND_SCHEDULE_QUEUE,
        cron,
        run: (boss) =>
          enqueueInboundPolls({ db: app.db, boss, accountEnvironment }),
      },
    ],
    start: async (boss, pollingIntervalSeconds) => {
      await createInboundQueue(boss);
      const stop = await startInboundWorker(
        {
          db: app.db,
          boss,
          inbound: app.inbound,
          logger: app.logger,
          accountEnvironment,
        },
        { pollingIntervalSeconds },
      );
      return { stop };
    },
  };
}

/**
 * Fiskalizacija 2.0 reports, where TENANTGATE_F2_URL is set: the
 * report queue, and its sweep on the worker's schedule (in its time
 * zone, like every other cron here).
 */
function reportingCapability(app: TenantGate, cron: string): CapabilityDef {
  const { url, caFile } = app.settings.f2;
  if (!url) return { missing: 'TENANTGATE_F2_URL' };
  const ca = caFile ? readCa(caFile, 'TENANTGATE_F2_CA_FILE') : undefined;
  return {
    queues: [REPORTING_QUEUE],
    schedules: [
      {
        queue: REPORTING_SWEEP_QUEUE,
        cron,
        run: async (boss) => {
          const queued = await enqueueDueCompanies({ db: app.db, boss });
          app.logger.info({ event: 'reporting.sweep', queued });
          return queued;
        },
      },
    ],
    start: async (boss, pollingIntervalSeconds) => {
      const client = new ReportingClient({ url, ca });
      const reporting = reportingFor(app, () => client);
      try {
        await createReportingQueue(boss);
        const stop = await startReportingWorker(
          { db: app.db, boss, reporting, logger: app.logger },
          { sweepCron: null, pollingIntervalSeconds },
        );
        return { stop, close: () => client.close() };
      } catch (error) {
        client.close();
        throw error;
      }
    },
  };
}

/** A sweep over every company on a cron, with no queue of its own. */
function sweepCapability(
  queue: string,
  cron: string,
  run: () => Promise<unknown>,
): CapabilityDef {
  return { queues: [], schedules: [{ queue, cron, run }] };
}

function jobCapability(job: ScheduledJob): CapabilityDef {
  return sweepCapability(job.queue, job.cron, job.run);
}

function probeJob(
  app: TenantGate,
  schedules: ScheduleOptions,
): ScheduledJob | undefined {
  if (!app.settings.probe) return undefined;
  return {
    queue: PROBE_QUEUE,
    cron: schedules.probeCron ?? SCHEDULE_DEFAULTS.probeCron,
    run: () => probeOf(app),
  };
}

function dailyChecksJob(
  app: TenantGate,
  schedules: ScheduleOptions,
): ScheduledJob {
  return {
    queue: DAILY_CHECKS_QUEUE,
    cron: schedules.dailyChecksCron ?? SCHEDULE_DEFAULTS.dailyChecksCron,
    run: () => dailyChecksOf(app),
  };
}

function ledgerJob(app: TenantGate, schedules: ScheduleOptions): ScheduledJob {
  return {
    queue: LEDGER_QUEUE,
    cron: schedules.ledgerCron ?? SCHEDULE_DEFAULTS.ledgerCron,
    run: () =>
      maintainLedger(app.db, app.logger, {
        retentionDays: app.settings.eventRetentionDays,
      }),
  };
}

/** One line per capability left off, then what runs. */
function logPlan(
  app: TenantGate,
  capabilities: readonly CapabilityPlan[],
  jobs: readonly ScheduledJob[],
  tz: string,
): void {
  for (const c of capabilities) {
    if (c.on) continue;
    const log = c.reason === 'not selected' ? 'info' : 'warn';
    app.logger[log]({
      event: 'worker.capability_off',
      capability: c.capability,
      reason: c.reason,
    });
  }
  app.logger.info({
    event: 'worker.started',
    capabilities: capabilities.filter((c) => c.on).map((c) => c.capability),
    fiscal: capabilities.some((c) => c.capability === 'fiscal' && c.on),
    queues: capabilities.flatMap((c) => c.queues),
    scheduled: jobs.map((j) => `${j.queue} ${j.cron}`),
    loops: capabilities
      .flatMap((c) => c.loops ?? [])
      .map((l) => `${l.name} every ${l.everyMs} ms`),
    tz,
  });
}

function fiscalServiceOf(app: TenantGate): FiscalService | null {
  const url = app.settings.cis.url;
  if (!url) return null;
  const caFile = app.settings.cis.caFile;
  const client = new CisClient({
    url,
    ca: caFile ? readCa(caFile, 'TENANTGATE_CIS_CA_FILE') : undefined,
  });
  return new FiscalService({
    db: app.db,
    gate: app.gate,
    logger: app.logger,
    cis: () => client,
    accountEnvironment: app.settings.accountEnvironment,
  });
}

/** A configured CA file, or CONFIG_INVALID naming its setting. */
function readCa(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TenantGateError(
      'CONFIG_INVALID',
      `${field}: the CA file cannot be read`,
      { field, rule: 'readable-file' },
      { cause: error },
    );
  }
}
