import type { TenantGate } from '../app.js';
import { auditPlatform } from '../audit/platform-audit.js';
import type { Database } from '../db/database.js';
import { listMigrations, pendingMigrations } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import {
  evaluateReadiness,
  type ReadinessOptions,
  type ReadinessReport,
  type ReadinessSources,
} from './checks.js';
import { RolloutController } from './controller.js';
import { runProbe, type ProbeReport } from './probe.js';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** Where each environment's flags, ledger and rows live. */
export interface EnvironmentDatabases {
  staging: Database;
  production: Database;
  /** True when both are the platform's own database. */
  shared: boolean;
  /** Closes the databases opened for this (never the platform's). */
  close(): Promise<void>;
}

/** The URL of each environment's database; unset: the platform's. */
export interface EnvironmentDatabaseUrls {
  staging?: string;
  production?: string;
  /**
   * The setting or option each URL came from, named when it cannot be
   * opened. Default STAGING_DATABASE_URL and PRODUCTION_DATABASE_URL.
   */
  sources?: { staging?: string; production?: string };
}

/** Both environments in the platform's one database. */
export function sharedDatabases(
  app: Pick<TenantGate, 'db'>,
): EnvironmentDatabases {
  return {
    staging: app.db,
    production: app.db,
    shared: true,
    close: async () => undefined,
  };
}

/**
 * Opens the database of each environment given a URL (PostgreSQL,
 * already migrated); an environment without one uses the platform's
 * database. The same URL twice opens one database.
 */
export async function openEnvironmentDatabases(
  app: Pick<TenantGate, 'db'>,
  urls: EnvironmentDatabaseUrls,
): Promise<EnvironmentDatabases> {
  if (!urls.staging && !urls.production) return sharedDatabases(app);
  const opened: Database[] = [];
  const open = async (url: string | undefined, setting: string) => {
    if (!url) return app.db;
    const db = await openDatabase(
      { databaseUrl: url, dataDir: '' },
      { migrate: false, setting },
    );
    opened.push(db);
    await requireMigrated(db, setting);
    return db;
  };
  try {
    const staging = await open(
      urls.staging,
      urls.sources?.staging ?? 'STAGING_DATABASE_URL',
    );
    const production =
      urls.production === urls.staging
        ? staging
        : await open(
            urls.production,
            urls.sources?.production ?? 'PRODUCTION_DATABASE_URL',
          );
    return {
      staging,
      production,
      shared: staging === production,
      close: async () => {
        for (const db of opened) await db.close();
      },
    };
  } catch (error) {
    for (const db of opened) await db.close();
    throw error;
  }
}

/**
 * Refuses an environment database that TenantGate's migrations have
 * not (all) run on: its checks would fail on a missing table as an
 * INTERNAL error, or read an older schema. CONFIG_INVALID naming the
 * setting, never the URL.
 */
async function requireMigrated(db: Database, setting: string) {
  const missing = await pendingMigrations(db);
  if (missing.length === 0) return;
  const total = listMigrations().length;
  throw new TenantGateError(
    'CONFIG_INVALID',
    `${setting}: the database is not migrated (${missing.length} of ` +
      `${total} TenantGate migrations missing, first ` +
      `${missing[0]}): run \`tenantgate migrate\` against it first`,
    { field: setting, rule: 'migrated-database' },
  );
}

/** The audits of the environments: one when shared, one each otherwise. */
export async function environmentAudits(
  app: Pick<TenantGate, 'vault' | 'settings'>,
  dbs: Pick<EnvironmentDatabases, 'staging' | 'production'>,
): Promise<ReadinessSources['audits']> {
  const audit = (db: Database) => auditPlatform({ ...app, db });
  if (dbs.staging === dbs.production) {
    return [{ label: 'shared', report: await audit(dbs.production) }];
  }
  return [
    { label: 'staging', report: await audit(dbs.staging) },
    { label: 'production', report: await audit(dbs.production) },
  ];
}

/**
 * The readiness report of the running platform: both environments in
 * its one database, or each in its own (`dbs`). What `npm start`
 * prints (see `printReadiness`).
 */
export async function readinessOf(
  app: TenantGate,
  options: ReadinessOptions = {},
  dbs: EnvironmentDatabases = sharedDatabases(app),
): Promise<ReadinessReport> {
  return evaluateReadiness(
    {
      databases: { staging: dbs.staging, production: dbs.production },
      audits: await environmentAudits(app, dbs),
    },
    options,
  );
}

/**
 * The controller over the running platform: both environments in its
 * one database, or each in its own (`dbs`); the rollout state is kept
 * in production's.
 */
export function controllerOf(
  app: TenantGate,
  dbs: EnvironmentDatabases = sharedDatabases(app),
): RolloutController {
  return new RolloutController({
    control: dbs.production,
    databases: { staging: dbs.staging, production: dbs.production },
    audits: () => environmentAudits(app, dbs),
    logger: app.logger,
  });
}

/**
 * Runs the probe of this process's environment through its gate
 * (TENANTGATE_PROBE_LEGACY_COMPANY and TENANTGATE_PROBE_V2_COMPANY);
 * CONFIG_INVALID when they are not set.
 */
export function probeOf(app: TenantGate): Promise<ProbeReport> {
  const tenants = app.settings.probe;
  if (!tenants) {
    throw new TenantGateError(
      'CONFIG_INVALID',
      'TENANTGATE_PROBE_LEGACY_COMPANY and TENANTGATE_PROBE_V2_COMPANY: ' +
        'both needed to probe',
      { field: 'TENANTGATE_PROBE_LEGACY_COMPANY', rule: 'required' },
    );
  }
  return runProbe(
    {
      gate: app.gate,
      intermediaries: app.intermediaries,
      logger: app.logger,
      environment: app.settings.deploymentEnvironment,
    },
    tenants,
  );
}
