import { FLAG_NAMES, type FlagName } from '../config/settings.js';
import { operator, type Database, type Scope } from '../db/database.js';
import { invalidInput, TenantGateError } from '../errors/tenantgate-error.js';
import {
  COHORT_FLAG,
  isFullyOn,
  type DeploymentEnvironment,
  type EffectiveValue,
  type FlagRow,
  type FlagValue,
  type StoredFlag,
} from './flag-value.js';

/** The service reads flags as the app role, with no tenant selected. */
const READER: Scope = { role: 'tenant', companyId: '' };

const ENVIRONMENTS: readonly DeploymentEnvironment[] = [
  'staging',
  'production',
];

/** Who changes a flag and why: both required. */
export interface ChangeAuthor {
  actor: string;
  reason: string;
}

export interface FlagTarget {
  flag: string;
  environment: string;
  /** A company override; omitted for the environment-wide value. */
  companyId?: string;
}

export interface SetFlagInput extends FlagTarget, ChangeAuthor {
  enabled: boolean;
  /** Enforcement flag only: 0..100. Default null (every company). */
  cohortPercent?: number | null;
  /** Enforcement flag only. Default none. */
  allowCompanyIds?: string[];
  /** Enforcement flag only. Default none. */
  denyCompanyIds?: string[];
}

/** One entry of the append-only history. */
export interface FlagChange {
  id: string;
  at: Date;
  flag: FlagName;
  environment: DeploymentEnvironment;
  companyId: string | null;
  actor: string;
  reason: string;
  oldValue: FlagValue | null;
  newValue: FlagValue | null;
}

/** Every stored flag, indexed for synchronous evaluation. */
export type FlagSnapshot = Map<string, StoredFlag>;

export function snapshotKey(
  flag: FlagName,
  environment: DeploymentEnvironment,
): string {
  return `${environment}/${flag}`;
}

/** A process's effective values at a moment, recorded for history. */
export interface ProcessRecord {
  environment: DeploymentEnvironment;
  processId: string;
  host: string;
  pid: number;
  cause: 'start' | 'change';
  values: Record<FlagName, EffectiveValue>;
}

interface FlagDbRow {
  flag: FlagName;
  environment: DeploymentEnvironment;
  companyId: string;
  enabled: boolean;
  cohortPercent: number | null;
  allowCompanyIds: string[];
  denyCompanyIds: string[];
  updatedAt: Date | string;
  updatedBy: string;
}

/**
 * The flag store: values per (flag, deployment environment) with
 * optional company overrides, and the append-only history of every
 * change. Changes run as the operator role; reads as the app role.
 */
export class FlagStore {
  constructor(private readonly db: Database) {}

  /** Every stored row, environment-wide rows first. */
  async list(environment?: string): Promise<FlagRow[]> {
    const env = environment === undefined ? null : checkEnv(environment);
    const rows = await this.db.transaction(READER, (tx) =>
      tx.query<FlagDbRow>(
        `SELECT * FROM "Flag"
          WHERE $1::text IS NULL OR environment = $1
          ORDER BY environment, flag, "companyId"`,
        [env],
      ),
    );
    return rows.map(toFlagRow);
  }

  /** Every stored value, indexed by flag and environment. */
  async snapshot(): Promise<FlagSnapshot> {
    const snapshot: FlagSnapshot = new Map();
    for (const row of await this.list()) {
      const key = snapshotKey(row.flag, row.environment);
      const entry = snapshot.get(key) ?? {
        environmentWide: null,
        overrides: new Map<string, FlagValue>(),
      };
      if (row.companyId === null) {
        snapshot.set(key, { ...entry, environmentWide: valueOf(row) });
      } else {
        (entry.overrides as Map<string, FlagValue>).set(
          row.companyId,
          valueOf(row),
        );
        snapshot.set(key, entry);
      }
    }
    return snapshot;
  }

  /**
   * Refuses a change `set` would refuse on its input alone (flag,
   * environment, author, value), without touching the database.
   */
  check(input: SetFlagInput): void {
    checkValue(checkTarget(input), input);
    checkAuthor(input);
  }

  /**
   * Sets a value and appends its change, in one transaction. Refused
   * without an actor and a reason. Unguarded: operators change flags
   * through `setOperatorFlag` (src/rollout/enforcement-owner.ts), which
   * leaves switching enforcement on to the rollout controller.
   */
  async set(input: SetFlagInput): Promise<FlagChange> {
    const target = checkTarget(input);
    const author = checkAuthor(input);
    const value = checkValue(target, input);
    return this.db.transaction(operator, async (tx) => {
      await requireCompanies(tx, 'companyId', [target.companyId]);
      await requireCompanies(tx, 'allowCompanyIds', value.allowCompanyIds);
      await requireCompanies(tx, 'denyCompanyIds', value.denyCompanyIds);
      const old = await lockRow(tx, target);
      await tx.query(
        `INSERT INTO "Flag" (flag, environment, "companyId", enabled,
           "cohortPercent", "allowCompanyIds", "denyCompanyIds",
           "updatedBy")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (flag, environment, "companyId") DO UPDATE SET
           enabled = EXCLUDED.enabled,
           "cohortPercent" = EXCLUDED."cohortPercent",
           "allowCompanyIds" = EXCLUDED."allowCompanyIds",
           "denyCompanyIds" = EXCLUDED."denyCompanyIds",
           "updatedBy" = EXCLUDED."updatedBy",
           "updatedAt" = now()`,
        [
          target.flag,
          target.environment,
          target.companyId,
          value.enabled,
          value.cohortPercent,
          value.allowCompanyIds,
          value.denyCompanyIds,
          author.actor,
        ],
      );
      return appendChange(tx, target, author, old, value);
    });
  }

  /**
   * Removes a stored value (an override, or the environment-wide value
   * so that `FF_*` variables decide again) and appends the change.
   */
  async clear(input: FlagTarget & ChangeAuthor): Promise<FlagChange> {
    const target = checkTarget(input);
    const author = checkAuthor(input);
    return this.db.transaction(operator, async (tx) => {
      const old = await lockRow(tx, target);
      await tx.query(
        `DELETE FROM "Flag"
          WHERE flag = $1 AND environment = $2 AND "companyId" = $3`,
        [target.flag, target.environment, target.companyId],
      );
      return appendChange(tx, target, author, old, null);
    });
  }

  /** The history, newest first. Default limit 100. */
  async history(
    filter: { flag?: string; environment?: string; limit?: number } = {},
  ): Promise<FlagChange[]> {
    const flag = filter.flag === undefined ? null : checkFlag(filter.flag);
    const env =
      filter.environment === undefined ? null : checkEnv(filter.environment);
    const rows = await this.db.transaction(READER, (tx) =>
      tx.query<ChangeDbRow>(
        `SELECT * FROM "FlagChange"
          WHERE ($1::text IS NULL OR flag = $1)
            AND ($2::text IS NULL OR environment = $2)
          ORDER BY at DESC, id DESC
          LIMIT $3`,
        [flag, env, filter.limit ?? 100],
      ),
    );
    return rows.map(toChange);
  }

  /**
   * Since when the flag has been on for every company in the
   * environment without a break, or null when it is not on now.
   * Evidence: environment-wide store changes and what each process
   * recorded it ran with (so env-driven deployments count too). Any
   * off in either restarts the clock; removing the stored value counts
   * as off until a process records what it runs with.
   */
  async onSince(flag: string, environment: string): Promise<Date | null> {
    const name = checkFlag(flag);
    const env = checkEnv(environment);
    const rows = await this.db.transaction(READER, (tx) =>
      tx.query<{ at: Date | string; is_on: boolean }>(
        `SELECT at, is_on FROM (
           SELECT at, id, 0 AS src,
                  COALESCE(("newValue"->>'enabled')::boolean
                    AND COALESCE(("newValue"->>'cohortPercent')::int, 100)
                      = 100
                    AND jsonb_array_length(
                      COALESCE("newValue"->'denyCompanyIds', '[]')) = 0,
                    false) AS is_on
             FROM "FlagChange"
            WHERE flag = $1 AND environment = $2 AND "companyId" = ''
           UNION ALL
           SELECT at, id, 1 AS src,
                  COALESCE(("values"->$1->>'value')::boolean, false) AS is_on
             FROM "ProcessFlagSnapshot"
            WHERE environment = $2
         ) timeline
         ORDER BY at, src, id`,
        [name, env],
      ),
    );
    let since: Date | null = null;
    for (const row of rows) {
      if (!row.is_on) since = null;
      else since ??= new Date(row.at);
    }
    return since;
  }

  /** Appends what a process runs with. */
  async recordProcess(record: ProcessRecord): Promise<void> {
    await this.db.transaction(READER, (tx) =>
      tx.query(
        `INSERT INTO "ProcessFlagSnapshot"
           (environment, "processId", host, pid, cause, "values")
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          record.environment,
          record.processId,
          record.host,
          record.pid,
          record.cause,
          JSON.stringify(record.values),
        ],
      ),
    );
  }

  /** What processes recorded, newest first. Default limit 100. */
  async processRecords(
    environment: string,
    limit = 100,
  ): Promise<(ProcessRecord & { at: Date })[]> {
    const env = checkEnv(environment);
    const rows = await this.db.transaction(READER, (tx) =>
      tx.query<ProcessRecord & { at: Date | string }>(
        `SELECT at, environment, "processId", host, pid, cause, "values"
           FROM "ProcessFlagSnapshot" WHERE environment = $1
          ORDER BY at DESC, id DESC LIMIT $2`,
        [env, limit],
      ),
    );
    return rows.map((r) => ({ ...r, at: new Date(r.at) }));
  }
}

/** Whether a stored value means "on for everyone" (see `onSince`). */
export { isFullyOn };

type Queryable = Parameters<Parameters<Database['transaction']>[1]>[0];

interface Target {
  flag: FlagName;
  environment: DeploymentEnvironment;
  companyId: string;
}

interface ChangeDbRow {
  id: string;
  at: Date | string;
  flag: FlagName;
  environment: DeploymentEnvironment;
  companyId: string;
  actor: string;
  reason: string;
  oldValue: FlagValue | null;
  newValue: FlagValue | null;
}

async function lockRow(
  tx: Queryable,
  target: Target,
): Promise<FlagValue | null> {
  const rows = await tx.query<FlagDbRow>(
    `SELECT * FROM "Flag"
      WHERE flag = $1 AND environment = $2 AND "companyId" = $3
      FOR UPDATE`,
    [target.flag, target.environment, target.companyId],
  );
  const row = rows[0];
  return row ? valueOf(toFlagRow(row)) : null;
}

async function appendChange(
  tx: Queryable,
  target: Target,
  author: ChangeAuthor,
  oldValue: FlagValue | null,
  newValue: FlagValue | null,
): Promise<FlagChange> {
  const rows = await tx.query<ChangeDbRow>(
    `INSERT INTO "FlagChange" (flag, environment, "companyId", actor,
       reason, "oldValue", "newValue")
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING *`,
    [
      target.flag,
      target.environment,
      target.companyId,
      author.actor,
      author.reason,
      oldValue === null ? null : JSON.stringify(oldValue),
      newValue === null ? null : JSON.stringify(newValue),
    ],
  );
  return toChange(rows[0] as ChangeDbRow);
}

function toFlagRow(row: FlagDbRow): FlagRow {
  return {
    ...valueOf(row),
    flag: row.flag,
    environment: row.environment,
    companyId: row.companyId === '' ? null : row.companyId,
    updatedAt: new Date(row.updatedAt),
    updatedBy: row.updatedBy,
  };
}

function valueOf(row: FlagValue): FlagValue {
  return {
    enabled: row.enabled,
    cohortPercent: row.cohortPercent,
    allowCompanyIds: [...row.allowCompanyIds],
    denyCompanyIds: [...row.denyCompanyIds],
  };
}

function toChange(row: ChangeDbRow): FlagChange {
  return {
    id: String(row.id),
    at: new Date(row.at),
    flag: row.flag,
    environment: row.environment,
    companyId: row.companyId === '' ? null : row.companyId,
    actor: row.actor,
    reason: row.reason,
    oldValue: row.oldValue,
    newValue: row.newValue,
  };
}

/** A flag name of the routing table, or a ValidationError naming it. */
export function checkFlag(flag: string): FlagName {
  if ((FLAG_NAMES as readonly string[]).includes(flag)) {
    return flag as FlagName;
  }
  throw invalidInput(
    'flag',
    'known-flag',
    `flag: ${flag} is not one of ${FLAG_NAMES.join(', ')}`,
  );
}

/** `staging` or `production`, or a ValidationError naming the field. */
export function checkEnv(environment: string): DeploymentEnvironment {
  if ((ENVIRONMENTS as readonly string[]).includes(environment)) {
    return environment as DeploymentEnvironment;
  }
  throw invalidInput(
    'environment',
    'deployment-environment',
    `environment: staging or production (got '${environment}')`,
  );
}

function checkTarget(input: FlagTarget): Target {
  const companyId = input.companyId ?? '';
  if (input.companyId !== undefined && companyId.trim() === '') {
    throw invalidInput('companyId', 'required', 'companyId: empty');
  }
  return {
    flag: checkFlag(input.flag),
    environment: checkEnv(input.environment),
    companyId,
  };
}

function checkAuthor(input: ChangeAuthor): ChangeAuthor {
  if (!input.reason || input.reason.trim() === '') {
    throw invalidInput(
      'reason',
      'required',
      'reason: every flag change needs a reason',
    );
  }
  if (!input.actor || input.actor.trim() === '') {
    throw invalidInput(
      'actor',
      'required',
      'actor: every flag change names who made it',
    );
  }
  return { actor: input.actor.trim(), reason: input.reason.trim() };
}

function checkValue(target: Target, input: SetFlagInput): FlagValue {
  const value: FlagValue = {
    enabled: input.enabled,
    cohortPercent: input.cohortPercent ?? null,
    allowCompanyIds: [...new Set(input.allowCompanyIds ?? [])],
    denyCompanyIds: [...new Set(input.denyCompanyIds ?? [])],
  };
  const hasCohort =
    value.cohortPercent !== null ||
    value.allowCompanyIds.length > 0 ||
    value.denyCompanyIds.length > 0;
  if (hasCohort && target.flag !== COHORT_FLAG) {
    throw invalidInput(
      'cohort',
      'enforcement-flag-only',
      'cohort: a cohort, an allow list or a deny list applies only to ' +
        `the enforcement flag ${COHORT_FLAG}`,
    );
  }
  if (hasCohort && target.companyId !== '') {
    throw invalidInput(
      'cohort',
      'environment-wide-only',
      'cohort: a company override is on or off, not a cohort',
    );
  }
  const p = value.cohortPercent;
  if (p !== null && !(Number.isInteger(p) && p >= 0 && p <= 100)) {
    throw invalidInput(
      'cohortPercent',
      'integer-0-100',
      'cohortPercent: an integer from 0 to 100',
    );
  }
  const both = value.allowCompanyIds.filter((id) =>
    value.denyCompanyIds.includes(id),
  );
  if (both.length > 0) {
    throw invalidInput(
      'allowCompanyIds',
      'not-also-denied',
      'allowCompanyIds: a company is both allowed and denied',
      { companyIds: both },
    );
  }
  return value;
}

/**
 * Refuses a company id (in `field`) that names no company: a typo in
 * an override, allow or deny list would otherwise be stored silently.
 * The empty id is the environment-wide row, not a company.
 */
async function requireCompanies(
  tx: Queryable,
  field: string,
  ids: readonly string[],
): Promise<void> {
  const wanted = ids.filter((id) => id !== '');
  if (wanted.length === 0) return;
  const found = await tx.query<{ id: string }>(
    'SELECT id FROM "Company" WHERE id = ANY($1::text[])',
    [wanted],
  );
  const known = new Set(found.map((row) => row.id));
  const missing = wanted.find((id) => !known.has(id));
  if (missing === undefined) return;
  throw new TenantGateError(
    'COMPANY_NOT_FOUND',
    `${field}: no company ${missing}`,
    { field, rule: 'existing-company', companyId: missing },
  );
}
