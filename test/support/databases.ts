import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { withDatabase } from './global-setup.js';

export type BackendName = 'pglite' | 'postgres';

let warned = false;

/** A fresh migrated PGlite, loaded from the run's template. */
export async function openTestPglite(): Promise<PgliteDatabase> {
  const bytes = readFileSync(inject('pgliteTemplate'));
  const db = await PgliteDatabase.open('memory://', {
    loadDataDir: new Blob([bytes]),
  });
  await db.dropPrivileges();
  return db;
}

/** A fresh PostgreSQL database cloned from the run's template. */
export async function openTestPostgres(): Promise<{
  db: PostgresDatabase;
  /** The new database's URL, for a process that opens it itself. */
  url: string;
  drop: () => Promise<void>;
}> {
  const url = process.env.TEST_DATABASE_URL as string;
  const template = inject('postgresTemplate');
  const name = `tenantgate_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const db = new PostgresDatabase(withDatabase(url, name), { max: 5 });
  return {
    db,
    url: withDatabase(url, name),
    drop: async () => {
      await db.close();
      await dropTestDatabase(admin, name);
      await admin.end();
    },
  };
}

/**
 * The settings that point a whole TenantGate (openTenantGate, the
 * worker) at a fresh database of `backend`: in-memory PGlite, or a new
 * PostgreSQL database that `drop` removes.
 */
export async function appDatabaseSettings(backend: BackendName): Promise<{
  settings: Record<string, string>;
  drop?: () => Promise<void>;
}> {
  if (backend === 'pglite') {
    return { settings: { TENANTGATE_DATA_DIR: 'memory://' } };
  }
  const opened = await openTestPostgres();
  return { settings: { DATABASE_URL: opened.url }, drop: opened.drop };
}

/**
 * Drops a test database. A pool's `end()` resolves once its clients
 * have asked to disconnect, not once their server processes are gone;
 * forcing the drop then would signal those processes, and a client still
 * reading its socket gets FATAL 57P01 ("terminating connection due to
 * administrator command") as an error event: an unhandled error in a
 * pg-boss instance that was stopped correctly. So the drop first waits
 * for the database to have no client connections. Connections still
 * open after `waitMs` were never closed (a test leaks them): they are
 * named on stderr, then terminated by the forced drop.
 */
async function dropTestDatabase(
  admin: pg.Client,
  name: string,
  waitMs = 5_000,
): Promise<void> {
  const leftover = await waitForNoConnections(admin, name, waitMs);
  if (leftover.length > 0) {
    process.stderr.write(
      `\n*** ${name}: ${leftover.length} connection(s) still open at ` +
        `drop (${leftover.join(', ')}); a test did not close them ***\n`,
    );
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** The application names of connections left after waiting. */
async function waitForNoConnections(
  admin: pg.Client,
  name: string,
  waitMs: number,
): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await admin.query<{ app: string }>(
      `SELECT application_name AS app FROM pg_stat_activity
        WHERE datname = $1 AND backend_type = 'client backend'`,
      [name],
    );
    if (rows.length === 0 || Date.now() >= deadline) {
      return rows.map((r) => r.app || 'unnamed');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Defines the suite once per database: PGlite always, PostgreSQL when
 * TEST_DATABASE_URL is set (and says loudly when it is not). Tests
 * share one database per suite and make their own companies, so they
 * never see each other's rows.
 */
export function describeEachDatabase(
  name: string,
  body: (ctx: { db: () => Database; backend: BackendName }) => void,
): void {
  const backends: BackendName[] = ['pglite', 'postgres'];
  for (const backend of backends) {
    const skip = backend === 'postgres' && !process.env.TEST_DATABASE_URL;
    if (skip && !warned) {
      warned = true;
      process.stderr.write(
        '\n*** TEST_DATABASE_URL is not set: the PostgreSQL suites are ' +
          'SKIPPED. .ci/run always sets it. ***\n\n',
      );
    }
    const suite = skip ? describe.skip : describe;
    suite(`${name} [${backend}]`, () => {
      let db: Database | undefined;
      let drop: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        if (backend === 'pglite') {
          db = await openTestPglite();
          drop = () => (db as Database).close();
        } else {
          const opened = await openTestPostgres();
          db = opened.db;
          drop = opened.drop;
        }
      });
      afterAll(async () => {
        await drop?.();
      });
      body({
        db: () => {
          if (!db) throw new Error('database not open yet');
          return db;
        },
        backend,
      });
    });
  }
}
