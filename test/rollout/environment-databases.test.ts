import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import { operator, type Database } from '../../src/db/database.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ReadinessReport } from '../../src/rollout/checks.js';
import {
  controllerOf,
  readinessOf,
  type EnvironmentDatabases,
} from '../../src/rollout/platform.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { openTestPglite, openTestPostgres } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { registerSecret } from '../support/known-secrets.js';
import { DAY_MS, NOW, PREREQ_FLAGS, flagOnAt } from './support.js';

const run = promisify(execFile);
const statusOf = (report: ReadinessReport, id: string) =>
  report.checks.find((c) => c.id === id)?.status;

/** Prerequisite flags on in staging's database only, 8 days back. */
async function stagingFlagsOn(staging: Database, at = NOW) {
  for (const flag of PREREQ_FLAGS) {
    await flagOnAt(
      staging,
      'staging',
      flag,
      new Date(at.getTime() - 8 * DAY_MS),
    );
  }
}

function platformOver(db: Database): TenantGate {
  return {
    db,
    vault: new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`)),
    logger: createLogger('silent'),
    settings: loadSettings({}),
  } as TenantGate;
}

describe('Issue 7: each environment in its own database [pglite x2]', () => {
  let staging: Database;
  let production: Database;
  let dbs: EnvironmentDatabases;

  beforeAll(async () => {
    staging = await openTestPglite();
    production = await openTestPglite();
    dbs = { staging, production, shared: false, close: async () => undefined };
  });
  afterAll(async () => {
    await staging?.close();
    await production?.close();
  });

  it('reads flags and audits from each environment database', async () => {
    await stagingFlagsOn(staging);
    const app = platformOver(production);

    const report = await readinessOf(app, { now: () => NOW }, dbs);

    for (const flag of PREREQ_FLAGS) {
      expect(statusOf(report, `flags.staging.${flag}`)).toBe('READY');
      expect(statusOf(report, `flags.production.${flag}`)).toBe('NOT_READY');
    }
    const labels = new Set(
      report.checks
        .filter((c) => c.section === 'database')
        .map((c) => c.id.split('.')[1]),
    );
    expect([...labels].sort()).toEqual(['production', 'staging']);
  });

  it("keeps the rollout's state and evidence in production's database", async () => {
    const controller = controllerOf(platformOver(production), dbs);

    const report = await controller.advance({ actor: 'ops@example.hr' });

    expect(report).toMatchObject({ advanced: false, blockedBy: 'gates' });
    const count = (db: Database) =>
      db.transaction(operator, (tx) =>
        tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM "GateEvaluation"',
        ),
      );
    expect((await count(production))[0]?.n).toBe(report.gates.length);
    expect((await count(staging))[0]?.n).toBe(0);
  });
});

const url = process.env.TEST_DATABASE_URL;

(url ? describe : describe.skip)(
  'Issue 7: tenantgate readiness with --staging-database-url [postgres x2]',
  { timeout: 120_000 },
  () => {
    const stagingName = `test_staging_${randomBytes(5).toString('hex')}`;
    const stagingUrl = withDatabase(url as string, stagingName);
    const keys = `v1:${randomBytes(32).toString('base64')}`;
    let admin: pg.Client;
    let staging: PostgresDatabase;
    let production: { db: PostgresDatabase; drop: () => Promise<void> };

    beforeAll(async () => {
      registerSecret('CLI test master key', keys.slice(3));
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        `CREATE DATABASE ${stagingName} TEMPLATE ${inject('postgresTemplate')}`,
      );
      staging = new PostgresDatabase(stagingUrl);
      production = await openTestPostgres();
      await stagingFlagsOn(staging, new Date());
    }, 60_000);
    afterAll(async () => {
      await staging?.close();
      await admin?.query(`DROP DATABASE IF EXISTS ${stagingName} WITH (FORCE)`);
      await admin?.end();
      await production?.drop();
    });

    async function readiness(...args: string[]): Promise<ReadinessReport> {
      const productionUrl = String(production.db.pool.options.connectionString);
      const result = await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'readiness', '--json', ...args],
        {
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: productionUrl,
            TENANTGATE_VAULT_KEYS: keys,
            LOG_LEVEL: 'silent',
          },
        },
      ).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
      return JSON.parse(result.stdout) as ReadinessReport;
    }

    it('evaluates staging in its own database, production in DATABASE_URL', async () => {
      const separate = await readiness('--staging-database-url', stagingUrl);
      const shared = await readiness();

      const flag = 'FF_INTEGRATION_ACCOUNT_OUTBOUND';
      expect(statusOf(separate, `flags.staging.${flag}`)).toBe('READY');
      expect(statusOf(separate, `flags.production.${flag}`)).toBe('NOT_READY');
      expect(
        separate.checks.some((c) => c.id.startsWith('database.staging.')),
      ).toBe(true);
      // Without the option, staging is read from DATABASE_URL: not on.
      expect(statusOf(shared, `flags.staging.${flag}`)).toBe('NOT_READY');
      expect(
        shared.checks.some((c) => c.id.startsWith('database.shared.')),
      ).toBe(true);
    });

    it('refuses a staging database TenantGate never migrated', async () => {
      const emptyName = `test_empty_${randomBytes(5).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${emptyName}`);
      try {
        const emptyUrl = withDatabase(url as string, emptyName);
        const productionUrl = String(
          production.db.pool.options.connectionString,
        );
        const failed = await run(
          process.execPath,
          [
            '--import',
            'tsx',
            'src/cli/main.ts',
            'rollout',
            'status',
            '--staging-database-url',
            emptyUrl,
          ],
          {
            env: {
              PATH: process.env.PATH,
              DATABASE_URL: productionUrl,
              TENANTGATE_VAULT_KEYS: keys,
              LOG_LEVEL: 'silent',
            },
          },
        ).then(
          () => ({ code: 0, stderr: '' }),
          (e: { code: number; stderr: string }) => e,
        );

        expect(failed.code).toBe(2);
        expect(failed.stderr.trim()).toMatch(
          /^error CONFIG_INVALID: --staging-database-url: the database is not migrated .*rule migrated-database\]$/,
        );
        expect(failed.stderr).not.toContain(emptyName);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${emptyName} WITH (FORCE)`);
      }
    });
  },
);
