import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database, Queryable } from '../db/database.js';
import { listMigrations, migrate } from '../db/migrate.js';
import type { Logger } from '../logging/logger.js';

const ADOPT_SQL = fileURLToPath(new URL('./adopt.sql', import.meta.url));

/** The prior system's tables whose rows adopting must not change. */
export const ADOPTED_TABLES = [
  'Company',
  'IntegrationAccount',
  'EInvoice',
  'FiscalRequest',
  'ProviderSyncState',
  'FiscalCertificate',
] as const;

/** The migrations whose effect adopting reproduces additively. */
const REPRODUCED = ['0001_roles.sql', '0002_schema.sql', '0003_security.sql'];

/**
 * Keys and checks that existing rows might break, all created NOT
 * VALID: new rows obey them at once; `tenantgate harden` validates them
 * once the audit is clean. Unique constraints cannot be NOT VALID: one
 * that existing rows break is reported, not created.
 */
const sameCompany = `FOREIGN KEY ("companyId", "integrationAccountId")
  REFERENCES "IntegrationAccount" ("companyId", id) NOT VALID`;
export const ADOPT_CONSTRAINTS: readonly {
  table: string;
  name: string;
  definition: string;
}[] = [
  {
    table: 'IntegrationAccount',
    name: 'IntegrationAccount_company_id_key',
    definition: 'UNIQUE ("companyId", id)',
  },
  {
    table: 'IntegrationAccount',
    name: 'IntegrationAccount_company_kind_env_key',
    definition: 'UNIQUE ("companyId", kind, environment)',
  },
  {
    table: 'IntegrationAccount',
    name: 'IntegrationAccount_active_has_secret',
    definition: `CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL)
      NOT VALID`,
  },
  {
    table: 'IntegrationAccount',
    name: 'IntegrationAccount_kind_check',
    definition: `CHECK (kind IN ('EINVOICE_EPOSLOVANJE', 'EINVOICE_FINA',
      'EINVOICE_IE_RACUNI', 'EINVOICE_MOJ_ERACUN', 'FISCALIZATION_CIS'))
      NOT VALID`,
  },
  {
    table: 'IntegrationAccount',
    name: 'IntegrationAccount_status_check',
    definition: `CHECK (status IN ('ACTIVE', 'DISABLED', 'EXPIRED',
      'REVOKED')) NOT VALID`,
  },
  {
    table: 'EInvoice',
    name: 'EInvoice_company_idempotency_key',
    definition: 'UNIQUE ("companyId", "idempotencyKey")',
  },
  {
    table: 'EInvoice',
    name: 'EInvoice_account_same_company',
    definition: sameCompany,
  },
  {
    table: 'FiscalRequest',
    name: 'FiscalRequest_account_same_company',
    definition: sameCompany,
  },
  {
    table: 'ProviderSyncState',
    name: 'ProviderSyncState_account_same_company',
    definition: sameCompany,
  },
];

export interface AdoptReport {
  /** `adopted` now, `already` under TenantGate, or a `fresh` database. */
  outcome: 'adopted' | 'already' | 'fresh';
  tablesCreated: string[];
  columnsAdded: { table: string; column: string }[];
  constraints: {
    table: string;
    name: string;
    state: 'added-not-valid' | 'added' | 'present' | 'refused';
    why: string | null;
  }[];
  migrationsApplied: string[];
  /** Per table: rows and a digest of the prior columns, before/after. */
  rows: {
    table: string;
    before: { count: number; digest: string };
    after: { count: number; digest: string };
  }[];
  /** True when no existing row changed in any prior column. */
  rowsUnchanged: boolean;
}

export interface AdoptOptions {
  /**
   * Compare a digest of every row before and after. Default true; it
   * reads every row twice, so a very large platform may skip it.
   */
  verifyRows?: boolean;
}

/**
 * Brings a database of the prior system's shape under TenantGate: adds
 * the missing tables and columns (no defaults on existing rows), the
 * keys and checks NOT VALID, roles, grants and row-level security, then
 * records TenantGate's base migrations as applied and runs the rest.
 * Changes no existing row, which the report proves with digests.
 */
export async function adopt(
  deps: { db: Database; logger: Logger },
  options: AdoptOptions = {},
): Promise<AdoptReport> {
  const report: AdoptReport = {
    outcome: 'adopted',
    tablesCreated: [],
    columnsAdded: [],
    constraints: [],
    migrationsApplied: [],
    rows: [],
    rowsUnchanged: true,
  };
  const state = await deps.db.withOwnerSession(databaseState);
  if (state !== 'legacy') {
    report.outcome = state;
    report.migrationsApplied = (await migrate(deps.db)).applied;
    return report;
  }

  const columnsBefore = await deps.db.withOwnerSession(columnsOf);
  const verify = options.verifyRows ?? true;
  const before = verify
    ? await deps.db.withOwnerSession((s) => digests(s, columnsBefore))
    : new Map<string, { count: number; digest: string }>();

  await deps.db.withOwnerSession(async (s) => {
    await s.query('BEGIN');
    try {
      await s.exec(migrationSql('0001_roles.sql'));
      await s.exec(readFileSync(ADOPT_SQL, 'utf8'));
      report.constraints = await addConstraints(s);
      await s.exec(migrationSql('0003_security.sql'));
      await s.query(`CREATE TABLE IF NOT EXISTS "_TenantGateMigration" (
        name text PRIMARY KEY,
        "appliedAt" timestamptz NOT NULL DEFAULT now())`);
      for (const name of REPRODUCED) {
        await s.query(
          `INSERT INTO "_TenantGateMigration" (name) VALUES ($1)
           ON CONFLICT DO NOTHING`,
          [name],
        );
      }
      await s.query('COMMIT');
    } catch (error) {
      await s.query('ROLLBACK');
      throw error;
    }
  });
  report.migrationsApplied = [
    ...REPRODUCED,
    ...(await migrate(deps.db)).applied,
  ];
  // Fresh statistics for the audit and backfill plans; reads only.
  await deps.db.withOwnerSession(async (s) => {
    for (const table of ADOPTED_TABLES) {
      if (columnsBefore.has(table)) await s.query(`ANALYZE "${table}"`);
    }
  });

  const columnsAfter = await deps.db.withOwnerSession(columnsOf);
  describeChanges(report, columnsBefore, columnsAfter);
  if (verify) {
    const after = await deps.db.withOwnerSession((s) =>
      digests(s, columnsBefore),
    );
    for (const [table, b] of before) {
      const a = after.get(table) ?? { count: -1, digest: '' };
      report.rows.push({ table, before: b, after: a });
      if (a.digest !== b.digest || a.count !== b.count) {
        report.rowsUnchanged = false;
      }
    }
  }
  deps.logger.info({
    event: 'migration.adopt.finished',
    columnsAdded: report.columnsAdded.length,
    tablesCreated: report.tablesCreated.length,
    rowsUnchanged: report.rowsUnchanged,
  });
  return report;
}

function migrationSql(name: string): string {
  const found = listMigrations().find((m) => m.name === name);
  if (!found) throw new Error(`migration ${name} is missing`);
  return found.sql;
}

async function databaseState(
  s: Queryable,
): Promise<'legacy' | 'already' | 'fresh'> {
  const tables = await s.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema()
       AND table_name IN ('Company', '_TenantGateMigration')`,
  );
  const names = new Set(tables.map((t) => t.name));
  if (!names.has('Company')) return 'fresh';
  if (!names.has('_TenantGateMigration')) return 'legacy';
  const done = await s.query(
    `SELECT 1 FROM "_TenantGateMigration" WHERE name = '0002_schema.sql'`,
  );
  return done.length > 0 ? 'already' : 'legacy';
}

async function columnsOf(s: Queryable): Promise<Map<string, string[]>> {
  const rows = await s.query<{ table: string; column: string }>(
    `SELECT table_name AS table, column_name AS column
     FROM information_schema.columns
     WHERE table_schema = current_schema()
     ORDER BY table_name, ordinal_position`,
  );
  const out = new Map<string, string[]>();
  for (const r of rows) {
    out.set(r.table, [...(out.get(r.table) ?? []), r.column]);
  }
  return out;
}

/** Row count and an order-independent digest of the given columns. */
async function digests(
  s: Queryable,
  columns: Map<string, string[]>,
): Promise<Map<string, { count: number; digest: string }>> {
  const out = new Map<string, { count: number; digest: string }>();
  for (const table of ADOPTED_TABLES) {
    const cols = columns.get(table);
    if (!cols) continue;
    const list = cols.map((c) => `"${c}"`).join(', ');
    const rows = await s.query<{ count: number; digest: string | null }>(
      `SELECT count(*)::int AS count,
         md5(string_agg(h, '' ORDER BY h)) AS digest
       FROM (SELECT md5(json_build_array(${list})::text) AS h
             FROM "${table}") t`,
    );
    out.set(table, {
      count: rows[0]?.count ?? 0,
      digest: rows[0]?.digest ?? '',
    });
  }
  return out;
}

async function addConstraints(
  s: Queryable,
): Promise<AdoptReport['constraints']> {
  const out: AdoptReport['constraints'] = [];
  for (const c of ADOPT_CONSTRAINTS) {
    const present = await s.query(
      `SELECT 1 FROM pg_constraint con
       JOIN pg_class rel ON rel.oid = con.conrelid
       WHERE con.conname = $1 AND rel.relname = $2`,
      [c.name, c.table],
    );
    if (present.length > 0) {
      out.push({ table: c.table, name: c.name, state: 'present', why: null });
      continue;
    }
    await s.query('SAVEPOINT adopt_constraint');
    try {
      await s.query(
        `ALTER TABLE "${c.table}" ADD CONSTRAINT "${c.name}" ${c.definition}`,
      );
      await s.query('RELEASE SAVEPOINT adopt_constraint');
      const notValid = c.definition.includes('NOT VALID');
      out.push({
        table: c.table,
        name: c.name,
        state: notValid ? 'added-not-valid' : 'added',
        why: null,
      });
    } catch (error) {
      await s.query('ROLLBACK TO SAVEPOINT adopt_constraint');
      out.push({
        table: c.table,
        name: c.name,
        state: 'refused',
        why: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return out;
}

function describeChanges(
  report: AdoptReport,
  before: Map<string, string[]>,
  after: Map<string, string[]>,
): void {
  for (const [table, cols] of after) {
    const had = before.get(table);
    if (!had) {
      report.tablesCreated.push(table);
      continue;
    }
    for (const column of cols) {
      if (!had.includes(column)) report.columnsAdded.push({ table, column });
    }
  }
}
