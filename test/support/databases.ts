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
    drop: async () => {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
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
