import {
  ISSUED_EINVOICE_STATUSES,
  runSqlChecks,
  SQL_CHECKS,
} from '../audit/checks.js';
import type { CheckId } from '../audit/report.js';
import { owner, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';

/** An invariant that the database can enforce as a constraint. */
export interface HardeningConstraint {
  name: string;
  table: string;
  /** The constraint body after `ADD CONSTRAINT name`. */
  definition: string;
  /** Audit checks that must be clean before `VALIDATE CONSTRAINT`. */
  checks: readonly CheckId[];
  /**
   * Added by hardening and removed by its rollback. False for the
   * schema's own keys (created NOT VALID on an adopted database).
   */
  ownedByHardening: boolean;
  /**
   * Refuses legacy (V1) writes, so it is added only once enforcement is
   * on: before that, V1 sends still store issued rows without account.
   */
  needsEnforcement: boolean;
}

const issued = ISSUED_EINVOICE_STATUSES.map((s) => `'${s}'`).join(', ');
const sameCompany = `FOREIGN KEY ("companyId", "integrationAccountId")
  REFERENCES "IntegrationAccount" ("companyId", id)`;
const linkChecks: CheckId[] = [
  'row.account_company_mismatch',
  'row.account_missing',
];

/** Every constraint hardening manages, in the order it applies them. */
export const HARDENING_CONSTRAINTS: readonly HardeningConstraint[] = [
  {
    name: 'EInvoice_account_same_company',
    table: 'EInvoice',
    definition: sameCompany,
    checks: linkChecks,
    ownedByHardening: false,
    needsEnforcement: false,
  },
  {
    name: 'FiscalRequest_account_same_company',
    table: 'FiscalRequest',
    definition: sameCompany,
    checks: linkChecks,
    ownedByHardening: false,
    needsEnforcement: false,
  },
  {
    name: 'ProviderSyncState_account_same_company',
    table: 'ProviderSyncState',
    definition: sameCompany,
    checks: linkChecks,
    ownedByHardening: false,
    needsEnforcement: false,
  },
  {
    name: 'IntegrationAccount_active_has_secret',
    table: 'IntegrationAccount',
    definition: `CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL)`,
    checks: ['account.active_without_secret'],
    ownedByHardening: false,
    needsEnforcement: false,
  },
  {
    name: 'EInvoice_issued_has_account',
    table: 'EInvoice',
    definition: `CHECK (status NOT IN (${issued})
      OR "integrationAccountId" IS NOT NULL)`,
    checks: ['einvoice.issued_without_account'],
    ownedByHardening: true,
    needsEnforcement: true,
  },
  {
    name: 'FiscalRequest_success_has_account',
    table: 'FiscalRequest',
    definition: `CHECK (status <> 'SUCCESS'
      OR "integrationAccountId" IS NOT NULL)`,
    checks: ['fiscal.success_without_account'],
    ownedByHardening: true,
    needsEnforcement: true,
  },
];

/** Where one constraint stands after a run. */
export interface ConstraintState {
  name: string;
  table: string;
  /**
   * `enforced`: present and validated, every row obeys it.
   * `pending`: present NOT VALID (new rows obey it) or not added yet.
   * `removed`: taken away by a rollback.
   */
  status: 'enforced' | 'pending' | 'removed';
  /** What this run did. */
  action: 'none' | 'added' | 'validated' | 'added-and-validated' | 'dropped';
  /** Why it is pending, in words with the numbers. */
  why: string | null;
  checks: { id: CheckId; count: number; samples: string[] }[];
}

export interface HardenReport {
  generatedAt: string;
  constraints: ConstraintState[];
  /** True when every constraint is enforced. */
  complete: boolean;
}

export interface HardenOptions {
  /** Whether enforcement is on (FF_ENFORCE_INTEGRATION_ACCOUNT). */
  enforcementOn: boolean;
  /** The deployment's account environment, for the audit checks. */
  accountEnvironment: 'TEST' | 'PROD';
  now?: () => Date;
}

/**
 * Turns the invariants into constraints: adds each one `NOT VALID` (new
 * rows must obey it at once; existing rows are not scanned under a
 * lock), then `VALIDATE CONSTRAINT` only when the audit's matching
 * checks are clean. Says for each constraint whether the database
 * enforces it, and if not, why.
 */
export async function harden(
  deps: { db: Database; logger: Logger },
  options: HardenOptions,
): Promise<HardenReport> {
  const generatedAt = (options.now ?? (() => new Date()))().toISOString();
  const constraints: ConstraintState[] = [];
  for (const constraint of HARDENING_CONSTRAINTS) {
    const state = await hardenOne(deps.db, constraint, options);
    deps.logger.info({
      event: 'migration.harden.constraint',
      constraint: state.name,
      status: state.status,
      action: state.action,
    });
    constraints.push(state);
  }
  return {
    generatedAt,
    constraints,
    complete: constraints.every((c) => c.status === 'enforced'),
  };
}

/**
 * Removes the constraints hardening added (the schema's own keys stay).
 * Instant: dropping a CHECK scans nothing.
 */
export async function rollbackHardening(deps: {
  db: Database;
  logger: Logger;
}): Promise<HardenReport> {
  const constraints: ConstraintState[] = [];
  for (const c of HARDENING_CONSTRAINTS.filter((x) => x.ownedByHardening)) {
    const existed = await deps.db.transaction(owner, async (tx) => {
      await limitLocks(deps.db, tx);
      const found = await constraintState(tx, c);
      await tx.query(
        `ALTER TABLE "${c.table}" DROP CONSTRAINT IF EXISTS "${c.name}"`,
      );
      return found !== undefined;
    });
    deps.logger.info({
      event: 'migration.harden.rolled_back',
      constraint: c.name,
      existed,
    });
    constraints.push({
      name: c.name,
      table: c.table,
      status: 'removed',
      action: existed ? 'dropped' : 'none',
      why: null,
      checks: [],
    });
  }
  return {
    generatedAt: new Date().toISOString(),
    constraints,
    complete: false,
  };
}

async function hardenOne(
  db: Database,
  c: HardeningConstraint,
  options: HardenOptions,
): Promise<ConstraintState> {
  const base = { name: c.name, table: c.table };
  let existing = await db.transaction(owner, (tx) => constraintState(tx, c));
  if (existing === 'validated') {
    return {
      ...base,
      status: 'enforced',
      action: 'none',
      why: null,
      checks: [],
    };
  }

  const checks = await auditChecks(db, c.checks, options.accountEnvironment);
  const dirty = checks.filter((x) => x.count > 0);
  let added = false;
  if (existing === undefined) {
    if (c.needsEnforcement && !options.enforcementOn) {
      return {
        ...base,
        status: 'pending',
        action: 'none',
        why:
          'not added: enforcement is off, and legacy (V1) operations ' +
          'still store rows this constraint would refuse',
        checks,
      };
    }
    await db.transaction(owner, async (tx) => {
      await limitLocks(db, tx);
      await tx.query(
        `ALTER TABLE "${c.table}" ADD CONSTRAINT "${c.name}"
         ${c.definition} NOT VALID`,
      );
    });
    added = true;
    existing = 'not-valid';
  }

  if (dirty.length > 0) {
    const why = dirty
      .map((x) => `${x.id}: ${x.count} row(s), e.g. ${x.samples.join(', ')}`)
      .join('; ');
    return {
      ...base,
      status: 'pending',
      action: added ? 'added' : 'none',
      why: `NOT VALID until the audit is clean (${why})`,
      checks,
    };
  }

  // VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on.
  await db.transaction(owner, (tx) =>
    tx.query(`ALTER TABLE "${c.table}" VALIDATE CONSTRAINT "${c.name}"`),
  );
  return {
    ...base,
    status: 'enforced',
    action: added ? 'added-and-validated' : 'validated',
    why: null,
    checks,
  };
}

/** `validated`, `not-valid`, or undefined when the constraint is absent. */
async function constraintState(
  tx: Queryable,
  c: { name: string; table: string },
): Promise<'validated' | 'not-valid' | undefined> {
  const rows = await tx.query<{ convalidated: boolean }>(
    `SELECT con.convalidated FROM pg_constraint con
     JOIN pg_class rel ON rel.oid = con.conrelid
     JOIN pg_namespace ns ON ns.oid = rel.relnamespace
     WHERE con.conname = $1 AND rel.relname = $2
       AND ns.nspname = current_schema()`,
    [c.name, c.table],
  );
  const row = rows[0];
  if (!row) return undefined;
  return row.convalidated ? 'validated' : 'not-valid';
}

async function auditChecks(
  db: Database,
  ids: readonly CheckId[],
  accountEnvironment: 'TEST' | 'PROD',
): Promise<ConstraintState['checks']> {
  const results = await runSqlChecks(
    db,
    SQL_CHECKS.filter((c) => ids.includes(c.id)),
    accountEnvironment,
  );
  return results.map((r) => ({ id: r.id, count: r.count, samples: r.samples }));
}

/**
 * ADD/DROP CONSTRAINT take an ACCESS EXCLUSIVE lock for an instant;
 * behind a long transaction that instant could queue every writer, so
 * give up after a second instead (PostgreSQL; PGlite has one session).
 */
async function limitLocks(db: Database, tx: Queryable): Promise<void> {
  if (db.kind === 'postgres') {
    await tx.query("SET LOCAL lock_timeout = '1s'");
  }
}
