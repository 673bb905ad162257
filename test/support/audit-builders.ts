import { randomUUID } from 'node:crypto';
import { insertCompany } from './builders.js';
import {
  operator,
  owner,
  type Database,
  type Queryable,
} from '../../src/db/database.js';

/**
 * Builders for the audit's crafted states. They insert in operator
 * scope, like TenantGate itself; `{ legacy: true }` inserts as the owner
 * with foreign-key triggers off, which is how a row of a database
 * adopted with NOT VALID keys can look (e.g. linked to another
 * company's account, or to an account that no longer exists).
 */
export interface InsertOptions {
  legacy?: boolean;
}

export type AccountKind =
  | 'EINVOICE_EPOSLOVANJE'
  | 'EINVOICE_FINA'
  | 'EINVOICE_IE_RACUNI'
  | 'EINVOICE_MOJ_ERACUN'
  | 'FISCALIZATION_CIS';

export interface AccountRow {
  id: string;
  companyId: string;
  kind: AccountKind;
  environment: 'TEST' | 'PROD';
  status: 'ACTIVE' | 'DISABLED' | 'EXPIRED' | 'REVOKED';
  secretEnvelope: string | null;
}

/** The envelope prefix the tests' secret probe refuses to open. */
export const BROKEN_ENVELOPE = 'broken:';

/** A secret probe for tests: every envelope opens but broken ones. */
export function testSecretProbe(account: { secretEnvelope: string }) {
  return !account.secretEnvelope.startsWith(BROKEN_ENVELOPE);
}

/**
 * An integration account. Defaults: environment TEST, status ACTIVE, a
 * secret envelope that the test probe opens.
 */
export async function insertAccount(
  db: Database,
  fields: Pick<AccountRow, 'companyId' | 'kind'> & Partial<AccountRow>,
): Promise<AccountRow> {
  const row: AccountRow = {
    id: `acct_${randomUUID()}`,
    environment: 'TEST',
    status: 'ACTIVE',
    secretEnvelope: 'sealed:test',
    ...fields,
  };
  await db.transaction(operator, (tx) =>
    insertRow(tx, 'IntegrationAccount', { ...row }),
  );
  return row;
}

/**
 * An ACTIVE account without a secret, as an adopted database may hold
 * one: the CHECK that forbids it is re-added NOT VALID.
 */
export async function insertActiveAccountWithoutSecret(
  db: Database,
  fields: Pick<AccountRow, 'companyId' | 'kind'>,
): Promise<AccountRow> {
  const row: AccountRow = {
    id: `acct_${randomUUID()}`,
    environment: 'TEST',
    status: 'ACTIVE',
    secretEnvelope: null,
    ...fields,
  };
  await db.transaction(owner, async (tx) => {
    await tx.query(`ALTER TABLE "IntegrationAccount"
      DROP CONSTRAINT "IntegrationAccount_active_has_secret"`);
    await insertRow(tx, 'IntegrationAccount', { ...row });
    await tx.query(`ALTER TABLE "IntegrationAccount"
      ADD CONSTRAINT "IntegrationAccount_active_has_secret"
      CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL) NOT VALID`);
  });
  return row;
}

export interface EInvoiceRow {
  id: string;
  companyId: string;
  status: string;
  integrationAccountId: string | null;
}

/** An outbound e-invoice. Defaults: status SENT, no account. */
export async function insertEInvoice(
  db: Database,
  fields: Pick<EInvoiceRow, 'companyId'> & Partial<EInvoiceRow>,
  options: InsertOptions = {},
): Promise<EInvoiceRow> {
  const row: EInvoiceRow = {
    id: `einv_${randomUUID()}`,
    status: 'SENT',
    integrationAccountId: null,
    ...fields,
  };
  await insertAs(db, options, 'EInvoice', {
    ...row,
    direction: 'OUTBOUND',
    number: `R-${row.id.slice(5, 13)}`,
    issueDate: '2026-01-05',
    idempotencyKey: row.id,
    documentHash: 'sha256:test',
    sellerOib: '00000000001',
    ublXml: '<Invoice/>',
  });
  return row;
}

export interface FiscalRequestRow {
  id: string;
  companyId: string;
  status: string;
  integrationAccountId: string | null;
}

/** A fiscal request. Defaults: status SUCCESS, no account. */
export async function insertFiscalRequest(
  db: Database,
  fields: Pick<FiscalRequestRow, 'companyId'> & Partial<FiscalRequestRow>,
  options: InsertOptions = {},
): Promise<FiscalRequestRow> {
  const row: FiscalRequestRow = {
    id: `fr_${randomUUID()}`,
    status: 'SUCCESS',
    integrationAccountId: null,
    ...fields,
  };
  await insertAs(db, options, 'FiscalRequest', { ...row });
  return row;
}

export interface ProviderSyncStateRow {
  id: string;
  companyId: string;
  integrationAccountId: string;
}

/** An inbound poll cursor of one account. */
export async function insertProviderSyncState(
  db: Database,
  fields: Omit<ProviderSyncStateRow, 'id'> & { id?: string },
  options: InsertOptions = {},
): Promise<ProviderSyncStateRow> {
  const row: ProviderSyncStateRow = { id: `pss_${randomUUID()}`, ...fields };
  await insertAs(db, options, 'ProviderSyncState', { ...row });
  return row;
}

/**
 * The inbox cursor of a company polling with its legacy key (V1): no
 * account, kept per company and intermediary kind.
 */
export async function insertLegacyInboxCursor(
  db: Database,
  companyId: string,
): Promise<{ id: string }> {
  const id = `pss_${randomUUID()}`;
  await db.transaction(operator, (tx) =>
    insertRow(tx, 'ProviderSyncState', {
      id,
      companyId,
      providerKind: 'EINVOICE_FINA',
    }),
  );
  return { id };
}

/**
 * A company that satisfies every check: both entitlements, ACTIVE CIS
 * and FINA accounts in TEST, a sent e-invoice, a successful fiscal
 * request and an inbound cursor, each linked to the right account; plus
 * a draft and a failed request without an account, which are fine.
 */
export async function insertReadyCompany(db: Database): Promise<{
  companyId: string;
  cis: AccountRow;
  fina: AccountRow;
}> {
  const company = await insertCompany(db, {
    fiscalizationEnabled: true,
    eInvoicingEnabled: true,
    eInvoiceKind: 'EINVOICE_FINA',
  });
  const companyId = company.id;
  const cis = await insertAccount(db, {
    companyId,
    kind: 'FISCALIZATION_CIS',
  });
  const fina = await insertAccount(db, { companyId, kind: 'EINVOICE_FINA' });
  await insertEInvoice(db, { companyId, integrationAccountId: fina.id });
  await insertEInvoice(db, { companyId, status: 'DRAFT' });
  await insertFiscalRequest(db, { companyId, integrationAccountId: cis.id });
  await insertFiscalRequest(db, { companyId, status: 'FAILED' });
  await insertProviderSyncState(db, {
    companyId,
    integrationAccountId: fina.id,
  });
  return { companyId, cis, fina };
}

/**
 * Empties the tables the audit reads. The audit looks across companies,
 * so each test starts from an empty database rather than its own
 * companies.
 */
export async function resetAuditTables(db: Database): Promise<void> {
  await db.transaction(owner, (tx) =>
    tx.query(`TRUNCATE "ProviderSyncState", "FiscalRequest", "EInvoice",
      "IntegrationAccount", "Company" CASCADE`),
  );
}

async function insertAs(
  db: Database,
  options: InsertOptions,
  table: string,
  row: Record<string, unknown>,
): Promise<void> {
  if (!options.legacy) {
    await db.transaction(operator, (tx) => insertRow(tx, table, row));
    return;
  }
  await db.transaction(owner, async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await insertRow(tx, table, row);
  });
}

async function insertRow(
  tx: Queryable,
  table: string,
  row: Record<string, unknown>,
): Promise<void> {
  const columns = Object.keys(row);
  await tx.query(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')})
     VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    Object.values(row),
  );
}
