import { randomUUID } from 'node:crypto';
import { operator, type Database } from '../../src/db/database.js';
import { insertCompany } from '../support/builders.js';

/** The tables that carry "companyId" and are scoped by row-level security. */
export const TENANT_TABLES = [
  'Company',
  'IntegrationAccount',
  'EInvoice',
  'FiscalRequest',
  'ProviderSyncState',
  'OperationEvent',
] as const;

export type TenantTable = (typeof TENANT_TABLES)[number];

/** A company with one row in every tenant table. */
export interface SeededTenant {
  companyId: string;
  accountId: string;
  /** A second account (FINA) with no rows linked to it. */
  spareAccountId: string;
  eInvoiceId: string;
  fiscalRequestId: string;
  syncStateId: string;
}

/**
 * Inserts a company and one row of each tenant table for it (operator
 * scope), all linked to its own ePoslovanje account, plus a spare FINA
 * account (an account has one ProviderSyncState at most).
 */
export async function seedTenant(db: Database): Promise<SeededTenant> {
  const company = await insertCompany(db);
  const ids: SeededTenant = {
    companyId: company.id,
    accountId: `ia_${randomUUID()}`,
    spareAccountId: `ia_${randomUUID()}`,
    eInvoiceId: `ei_${randomUUID()}`,
    fiscalRequestId: `fr_${randomUUID()}`,
    syncStateId: `ps_${randomUUID()}`,
  };
  await db.transaction(operator, async (tx) => {
    await tx.query(
      `INSERT INTO "IntegrationAccount" (id, "companyId", kind, environment,
         "secretEnvelope")
       VALUES ($1, $2, 'EINVOICE_EPOSLOVANJE', 'TEST', 'sealed:test')`,
      [ids.accountId, ids.companyId],
    );
    await tx.query(
      `INSERT INTO "IntegrationAccount" (id, "companyId", kind, environment,
         "secretEnvelope")
       VALUES ($1, $2, 'EINVOICE_FINA', 'TEST', 'sealed:test')`,
      [ids.spareAccountId, ids.companyId],
    );
    await tx.query(eInvoiceInsert, [
      ids.eInvoiceId,
      ids.companyId,
      company.oib,
      ids.accountId,
    ]);
    await tx.query(fiscalRequestInsert, [
      ids.fiscalRequestId,
      ids.companyId,
      ids.accountId,
    ]);
    await tx.query(syncStateInsert, [
      ids.syncStateId,
      ids.companyId,
      ids.accountId,
    ]);
    await tx.query(operationEventInsert, [ids.companyId, ids.accountId]);
  });
  return ids;
}

/** $1 id, $2 companyId, $3 seller OIB, $4 integrationAccountId. */
export const eInvoiceInsert = `INSERT INTO "EInvoice" (id, "companyId",
    direction, status, number, "issueDate", "idempotencyKey",
    "documentHash", "sellerOib", "ublXml", "integrationAccountId")
  VALUES ($1, $2, 'OUTBOUND', 'SENT', 'R-1', '2025-12-01', $1, 'hash', $3,
    '<Invoice/>', $4)`;

/** $1 id, $2 companyId, $3 integrationAccountId. */
export const fiscalRequestInsert = `INSERT INTO "FiscalRequest" (id,
    "companyId", status, "integrationAccountId")
  VALUES ($1, $2, 'QUEUED', $3)`;

/** $1 id, $2 companyId, $3 integrationAccountId. */
export const syncStateInsert = `INSERT INTO "ProviderSyncState" (id,
    "companyId", "integrationAccountId")
  VALUES ($1, $2, $3)`;

/** $1 companyId, $2 integrationAccountId. */
export const operationEventInsert = `INSERT INTO "OperationEvent"
    (environment, "companyId", "integrationAccountId", operation, path,
     outcome, "durationMs", origin)
  VALUES ('staging', $1, $2, 'EINVOICE_SEND', 'V2', 'SUCCESS', 1, 'user')`;

/** The column that names a row's company in `table`. */
export function companyColumn(table: TenantTable): string {
  return table === 'Company' ? 'id' : '"companyId"';
}

/** The error a rejected statement threw, with its SQLSTATE. */
export async function sqlError(
  run: () => Promise<unknown>,
): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: String(code), message: String(message) };
  }
  throw new Error('the statement succeeded');
}
