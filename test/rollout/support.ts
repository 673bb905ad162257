import { afterEach, beforeEach, describe } from 'vitest';
import { runAudit } from '../../src/audit/audit.js';
import { operator, type Database } from '../../src/db/database.js';
import type { DeploymentEnvironment } from '../../src/flags/flag-value.js';
import type { ReadinessSources } from '../../src/rollout/checks.js';
import { simulatedV2Worker } from '../../src/workers/registry.js';
import { testSecretProbe } from '../support/audit-builders.js';
import {
  openTestPglite,
  openTestPostgres,
  type BackendName,
} from '../support/databases.js';

export const DAY_MS = 86_400_000;
export const NOW = new Date('2026-03-01T12:00:00Z');

/** How the two environments are stored. */
export type Layout = 'shared' | 'separate';

export interface RolloutDatabases {
  staging: Database;
  production: Database;
  backend: BackendName;
  layout: Layout;
}

async function openOne(
  backend: BackendName,
): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (backend === 'pglite') {
    const db = await openTestPglite();
    return { db, drop: () => db.close() };
  }
  return openTestPostgres();
}

/**
 * Defines the suite per database backend and per layout (both
 * environments in one database, or one database each), with fresh
 * databases for every test: flags and ledger are global, so tests must
 * not share them.
 */
export function describeRollout(
  name: string,
  body: (ctx: () => RolloutDatabases) => void,
  layouts: readonly Layout[] = ['shared', 'separate'],
): void {
  const backends: BackendName[] = ['pglite', 'postgres'];
  for (const backend of backends) {
    for (const layout of layouts) {
      const skip = backend === 'postgres' && !process.env.TEST_DATABASE_URL;
      const suite = skip ? describe.skip : describe;
      suite(`${name} [${backend}, ${layout}]`, () => {
        let current: RolloutDatabases | undefined;
        let drops: (() => Promise<void>)[] = [];
        beforeEach(async () => {
          const a = await openOne(backend);
          const b = layout === 'separate' ? await openOne(backend) : a;
          drops = layout === 'separate' ? [a.drop, b.drop] : [a.drop];
          current = {
            staging: a.db,
            production: b.db,
            backend,
            layout,
          };
        });
        afterEach(async () => {
          for (const drop of drops) await drop();
        });
        body(() => {
          if (!current) throw new Error('databases not open yet');
          return current;
        });
      });
    }
  }
}

/** Back-dates a flag as switched on environment-wide at `at`. */
export async function flagOnAt(
  db: Database,
  environment: DeploymentEnvironment,
  flag: string,
  at: Date,
  enabled = true,
): Promise<void> {
  const value = {
    enabled,
    cohortPercent: null,
    allowCompanyIds: [],
    denyCompanyIds: [],
  };
  await db.transaction(operator, async (tx) => {
    await tx.query(
      `INSERT INTO "FlagChange" (at, flag, environment, "companyId", actor,
         reason, "oldValue", "newValue")
       VALUES ($1, $2, $3, '', 'test', 'crafted history', NULL, $4)`,
      [at.toISOString(), flag, environment, JSON.stringify(value)],
    );
  });
}

export const PREREQ_FLAGS = [
  'FF_INTEGRATION_ACCOUNT_OUTBOUND',
  'FF_INTEGRATION_ACCOUNT_INBOUND',
  'FF_INTEGRATION_ACCOUNT_FISCAL',
] as const;

/** Every prerequisite flag on since `daysAgo` days before NOW. */
export async function allFlagsOnFor(
  dbs: RolloutDatabases,
  daysAgo: number,
): Promise<void> {
  for (const env of ['staging', 'production'] as const) {
    for (const flag of PREREQ_FLAGS) {
      await flagOnAt(
        dbs[env],
        env,
        flag,
        new Date(NOW.getTime() - daysAgo * DAY_MS),
      );
    }
  }
}

/**
 * Inserts `count` legitimate V2 successes per operation (EINVOICE_SEND,
 * FISCALIZATION) spread evenly over the `spanMs` before `until`, in one
 * statement.
 */
export async function insertHealthy(
  db: Database,
  environment: DeploymentEnvironment,
  count: number,
  until: Date = NOW,
  spanMs = 6 * DAY_MS,
): Promise<void> {
  // Healthy traffic comes from a live worker on V2 (the registry), and
  // staging's probe shows enforcement live (its legacy attempt blocked).
  await simulatedV2Worker(db, environment, until);
  if (environment === 'staging')
    await insertBlockedProbe(db, environment, until);
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "durationMs", origin)
       SELECT $1::timestamptz - make_interval(secs => 60 + i * $3::float8),
              $2, 'co_ledger', op, 'V2', 'SUCCESS', 10, 'user'
         FROM generate_series(0, $4::int - 1) AS i,
              unnest(ARRAY['EINVOICE_SEND', 'FISCALIZATION']) AS op`,
      [until.toISOString(), environment, spanMs / 1000 / count, count],
    ),
  );
}

/** A probe whose legacy attempt was blocked, a minute before `at`. */
export async function insertBlockedProbe(
  db: Database,
  environment: DeploymentEnvironment,
  at: Date,
): Promise<void> {
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "errorName", "durationMs", origin)
       VALUES ($1::timestamptz - interval '1 minute', $2, 'co_probe',
         'EINVOICE_SEND', NULL, 'BLOCKED', 'IntegrationRequiredError', 1,
         'probe')`,
      [at.toISOString(), environment],
    ),
  );
}

/** Inserts healthy traffic into both environments. */
export async function healthyBoth(
  dbs: RolloutDatabases,
  count = 100,
): Promise<void> {
  await insertHealthy(dbs.staging, 'staging', count);
  await insertHealthy(dbs.production, 'production', count);
}

/** The readiness sources of the test databases (audits included). */
export async function sourcesOf(
  dbs: RolloutDatabases,
): Promise<ReadinessSources> {
  const audit = (db: Database) =>
    runAudit(db, {
      accountEnvironment: 'TEST',
      secretProbe: testSecretProbe,
      now: () => NOW,
    });
  const audits =
    dbs.layout === 'shared'
      ? [{ label: 'shared', report: await audit(dbs.production) }]
      : [
          { label: 'staging', report: await audit(dbs.staging) },
          { label: 'production', report: await audit(dbs.production) },
        ];
  return {
    databases: { staging: dbs.staging, production: dbs.production },
    audits,
  };
}
