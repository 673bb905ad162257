import type { ErrorCode } from '../errors/catalogue.js';
import { invalidInput, toTenantGateError } from '../errors/tenantgate-error.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import {
  envelopeKeyVersion,
  envelopePrefix,
  type SecretBinding,
} from './envelope.js';
import type { Vault } from './vault.js';

/** A sealed value rotation could not re-wrap; it is left as it was. */
export interface RotationFailure {
  table: 'IntegrationAccount' | 'Company';
  id: string;
  column: string;
  code: ErrorCode;
}

/**
 * What a rotation run did. Counts are per sealed value (a company has
 * up to two legacy ones).
 */
export interface RotationReport {
  activeKeyVersion: string;
  scanned: number;
  rewrapped: number;
  alreadyCurrent: number;
  /**
   * Values changed by someone else (a secret rotation) between read and
   * write: the newer value is kept, never overwritten.
   */
  changedConcurrently: number;
  failed: RotationFailure[];
  /**
   * Sealed values still not on the active version when the run ended
   * (failures, concurrent changes sealed with an old version, values
   * written meanwhile by instances still on an old key). Retire an old
   * master key only when this is 0.
   */
  remaining: number;
}

export interface RotationOptions {
  /** Rows read and written per transaction. Default 100. */
  batchSize?: number;
}

interface SealedColumn {
  table: RotationFailure['table'];
  column: string;
  /** SQL for the owning company of a row. */
  companyIdSql: string;
  /** Column recording the envelope's key version, if the table has one. */
  keyVersionColumn?: string;
  binding(row: SealedRow): SecretBinding;
}

interface SealedRow {
  id: string;
  companyId: string;
  envelope: string;
  keyVersion: string | null;
}

type Tally = Omit<RotationReport, 'activeKeyVersion' | 'remaining'>;

const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: 'IntegrationAccount',
    column: 'secretEnvelope',
    companyIdSql: '"companyId"',
    keyVersionColumn: 'keyVersion',
    binding: (row) => ({
      purpose: 'integration-account',
      companyId: row.companyId,
      accountId: row.id,
    }),
  },
  {
    table: 'Company',
    column: 'eInvoiceApiKeyEncrypted',
    companyIdSql: 'id',
    binding: (row) => ({
      purpose: 'legacy-einvoice-key',
      companyId: row.companyId,
    }),
  },
  {
    table: 'Company',
    column: 'fiscalCertificateEncrypted',
    companyIdSql: 'id',
    binding: (row) => ({
      purpose: 'legacy-fiscal-certificate',
      companyId: row.companyId,
    }),
  },
];

/**
 * Re-wraps every sealed value (IntegrationAccount."secretEnvelope" and
 * the legacy Company columns) whose master key version is not the
 * vault's active one. Only the wrapped data key changes; secrets and
 * "rotatedAt" (which means secret rotation) stay as they are.
 *
 * Runs in batches, each in its own operator transaction, and writes
 * with `WHERE <column> = <value read>`, so a secret rotated meanwhile is
 * never overwritten. The vault's ring must still hold the old versions;
 * readers keep working throughout, as both versions open. A value that
 * does not open is reported in `failed` and left alone; a database
 * error aborts the run (batches done so far stay done, and a rerun
 * carries on).
 */
export async function rotateMasterKey(
  db: Database,
  vault: Vault,
  opts: RotationOptions = {},
): Promise<RotationReport> {
  const batchSize = opts.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalidInput(
      'batchSize',
      'positive-integer',
      'batchSize must be a positive integer',
    );
  }
  const tally: Tally = {
    scanned: 0,
    rewrapped: 0,
    alreadyCurrent: 0,
    changedConcurrently: 0,
    failed: [],
  };

  for (const target of SEALED_COLUMNS) {
    await rotateColumn(db, vault, target, batchSize, tally);
  }

  const remaining = await countRemaining(db, vault.activeKeyVersion);
  return { activeKeyVersion: vault.activeKeyVersion, ...tally, remaining };
}

async function rotateColumn(
  db: Database,
  vault: Vault,
  target: SealedColumn,
  batchSize: number,
  tally: Tally,
): Promise<void> {
  let after = '';
  for (;;) {
    const rows = await db.transaction(operator, async (tx) => {
      const page = await readPage(tx, target, after, batchSize);
      for (const row of page) await rotateRow(tx, vault, target, row, tally);
      return page;
    });
    if (rows.length < batchSize) return;
    after = (rows.at(-1) as SealedRow).id;
  }
}

async function readPage(
  tx: Queryable,
  target: SealedColumn,
  after: string,
  limit: number,
): Promise<SealedRow[]> {
  const keyVersion = target.keyVersionColumn
    ? `"${target.keyVersionColumn}"`
    : 'NULL';
  return tx.query<SealedRow>(
    `SELECT id, ${target.companyIdSql} AS "companyId",
            "${target.column}" AS envelope, ${keyVersion} AS "keyVersion"
       FROM "${target.table}"
      WHERE "${target.column}" IS NOT NULL AND id > $1
      ORDER BY id
      LIMIT $2`,
    [after, limit],
  );
}

async function rotateRow(
  tx: Queryable,
  vault: Vault,
  target: SealedColumn,
  row: SealedRow,
  tally: Tally,
): Promise<void> {
  tally.scanned += 1;
  const active = vault.activeKeyVersion;

  let rewrapped: string;
  try {
    const current =
      envelopeKeyVersion(row.envelope) === active &&
      (!target.keyVersionColumn || row.keyVersion === active);
    if (current) {
      tally.alreadyCurrent += 1;
      return;
    }
    rewrapped = vault.rewrap(row.envelope, target.binding(row));
  } catch (error) {
    const { code } = toTenantGateError(error);
    tally.failed.push({
      table: target.table,
      id: row.id,
      column: target.column,
      code,
    });
    return;
  }

  const written = await writeRewrapped(tx, target, row, rewrapped, active);
  if (written) tally.rewrapped += 1;
  else tally.changedConcurrently += 1;
}

async function writeRewrapped(
  tx: Queryable,
  target: SealedColumn,
  row: SealedRow,
  envelope: string,
  keyVersion: string,
): Promise<boolean> {
  const setVersion = target.keyVersionColumn
    ? `, "${target.keyVersionColumn}" = $4`
    : '';
  const params = [envelope, row.id, row.envelope];
  if (target.keyVersionColumn) params.push(keyVersion);
  const updated = await tx.query(
    `UPDATE "${target.table}"
        SET "${target.column}" = $1, "updatedAt" = now()${setVersion}
      WHERE id = $2 AND "${target.column}" = $3
      RETURNING id`,
    params,
  );
  return updated.length === 1;
}

async function countRemaining(
  db: Database,
  activeVersion: string,
): Promise<number> {
  const prefix = envelopePrefix(activeVersion);
  return db.transaction(operator, async (tx) => {
    let total = 0;
    for (const target of SEALED_COLUMNS) {
      const column = `"${target.column}"`;
      const staleVersion = target.keyVersionColumn
        ? ` OR "${target.keyVersionColumn}" IS DISTINCT FROM $2`
        : '';
      const [row] = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${target.table}"
          WHERE ${column} IS NOT NULL
            AND (left(${column}, length($1::text)) <> $1::text${staleVersion})`,
        target.keyVersionColumn ? [prefix, activeVersion] : [prefix],
      );
      total += row?.n ?? 0;
    }
    return total;
  });
}
