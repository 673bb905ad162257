import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { owner, type Database, type Queryable } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Arbitrary, fixed: processes started together wait on this lock. */
const MIGRATION_LOCK_KEY = 7_247_011;

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

/** The SQL migration files, in order. */
export function listMigrations(): { name: string; sql: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({
      name,
      sql: readFileSync(MIGRATIONS_DIR + name, 'utf8'),
    }));
}

/**
 * Applies pending migrations as the database owner, each in its own
 * transaction, under an advisory lock so that processes started together
 * do not race. Safe to run at every start.
 */
export async function migrate(db: Database): Promise<MigrationReport> {
  return db.withOwnerSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await applyPending(session);
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [
        MIGRATION_LOCK_KEY,
      ]);
    }
  });
}

/**
 * The migrations not yet applied to `db`, in order (all of them when
 * TenantGate never migrated it). Read-only.
 */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const done = await db.transaction(owner, async (tx) => {
    const [table] = await tx.query<{ ours: boolean }>(
      `SELECT to_regclass('"_TenantGateMigration"') IS NOT NULL AS ours`,
    );
    if (!table?.ours) return [];
    return tx.query<{ name: string }>(
      'SELECT name FROM "_TenantGateMigration"',
    );
  });
  const doneNames = new Set(done.map((r) => r.name));
  return listMigrations()
    .map((m) => m.name)
    .filter((name) => !doneNames.has(name));
}

async function applyPending(session: Queryable): Promise<MigrationReport> {
  await refuseUnadopted(session);
  await session.query(`CREATE TABLE IF NOT EXISTS "_TenantGateMigration" (
    name text PRIMARY KEY,
    "appliedAt" timestamptz NOT NULL DEFAULT now())`);
  const done = await session.query<{ name: string }>(
    'SELECT name FROM "_TenantGateMigration"',
  );
  const doneNames = new Set(done.map((r) => r.name));
  const applied: string[] = [];

  for (const migration of listMigrations()) {
    if (doneNames.has(migration.name)) continue;
    await session.query('BEGIN');
    try {
      await runScript(session, migration.sql);
      await session.query(
        'INSERT INTO "_TenantGateMigration" (name) VALUES ($1)',
        [migration.name],
      );
      await session.query('COMMIT');
    } catch (error) {
      await session.query('ROLLBACK');
      throw error;
    }
    applied.push(migration.name);
  }
  return { applied, alreadyApplied: doneNames.size };
}

/**
 * A database of the prior system's shape ("Company" exists) on which
 * TenantGate's schema migration was never recorded must go through
 * `tenantgate adopt`: migrating it would fail half-way on the tables
 * that already exist. Refused before anything is written.
 */
async function refuseUnadopted(session: Queryable): Promise<void> {
  const [state] = await session.query<{ legacy: boolean; ours: boolean }>(
    `SELECT to_regclass('"Company"') IS NOT NULL AS legacy,
            to_regclass('"_TenantGateMigration"') IS NOT NULL AS ours`,
  );
  if (!state?.legacy) return;
  if (state.ours) {
    const schema = await session.query(
      `SELECT 1 FROM "_TenantGateMigration" WHERE name = '0002_schema.sql'`,
    );
    if (schema.length > 0) return;
  }
  throw new TenantGateError(
    'DATABASE_NOT_ADOPTED',
    'the database holds the prior system\'s tables ("Company") but was ' +
      'never adopted: run `tenantgate adopt` first (nothing was migrated)',
    { rule: 'adopt-first' },
  );
}

/**
 * A migration file is several statements; without parameters both
 * drivers accept them in one call (simple query protocol).
 */
async function runScript(session: Queryable, sql: string): Promise<void> {
  await session.exec(sql);
}
