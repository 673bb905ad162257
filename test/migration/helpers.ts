import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { operator, type Database } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import { createLogger } from '../../src/logging/logger.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { insertCompany } from '../support/builders.js';
import { withDatabase } from '../support/global-setup.js';

/** A vault over one fresh random master key. */
export function freshVault(): Vault {
  return new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`));
}

export const silentLogger = createLogger('silent');

/**
 * An empty database (no TenantGate schema) on each backend: in-memory
 * PGlite, or a scratch PostgreSQL database named after `label`,
 * dropped by `drop`.
 */
export async function emptyDatabase(
  backend: 'pglite' | 'postgres',
  label: string,
): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (backend === 'pglite') {
    const db = await PgliteDatabase.open('memory://');
    return { db, drop: () => db.close() };
  }
  const url = process.env.TEST_DATABASE_URL as string;
  const name = `tenantgate_${label}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const db = new PostgresDatabase(withDatabase(url, name), { max: 3 });
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A random API key that is a valid header value. */
export function apiKey(label = 'key'): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/**
 * A company of the prior system: a legacy e-invoice key sealed on the
 * company (`key: null` leaves the provider without a key). Defaults:
 * provider eposlovanje, e-invoicing on, a fresh key.
 */
export async function legacyCompany(
  db: Database,
  vault: Vault,
  options: {
    provider?: string | null;
    key?: string | null;
    envelope?: string;
    fields?: Record<string, unknown>;
  } = {},
): Promise<{ id: string; key: string | null }> {
  const id = `co_${randomUUID()}`;
  const key = options.key === undefined ? apiKey() : options.key;
  const envelope =
    options.envelope ??
    (key === null
      ? null
      : vault.seal(key, { purpose: 'legacy-einvoice-key', companyId: id }));
  await insertCompany(db, {
    id,
    eInvoicingEnabled: true,
    eInvoiceProvider:
      options.provider === undefined ? 'eposlovanje' : options.provider,
    eInvoiceApiKeyEncrypted: envelope,
    ...options.fields,
  });
  return { id, key };
}

/** A row of the prior system's certificate table. */
export async function legacyCertificate(
  db: Database,
  companyId: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const id = `cert_${randomUUID()}`;
  const row: Record<string, unknown> = {
    id,
    companyId,
    environment: 'TEST',
    status: 'ACTIVE',
    certSerial: randomBytes(8).toString('hex'),
    certNotAfter: new Date(Date.now() + 365 * 86_400_000),
    ...fields,
  };
  const columns = Object.keys(row);
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "FiscalCertificate"
         (${columns.map((c) => `"${c}"`).join(', ')})
       VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(row),
    ),
  );
  return id;
}

/** Accounts of one company, with their provenance source. */
export async function accountsOf(db: Database, companyId: string) {
  return db.transaction(operator, (tx) =>
    tx.query<{
      id: string;
      kind: string;
      environment: string;
      status: string;
      secretEnvelope: string;
      source: string | null;
    }>(
      `SELECT a.id, a.kind, a.environment, a.status, a."secretEnvelope",
         p.source
       FROM "IntegrationAccount" a
       LEFT JOIN "AccountProvenance" p ON p."integrationAccountId" = a.id
       WHERE a."companyId" = $1 ORDER BY a."createdAt"`,
      [companyId],
    ),
  );
}

/**
 * Inserts `count` e-invoices of one company in one statement. Defaults:
 * OUTBOUND, status SENT, no provider kind, no account, created and
 * updated a year ago (so a changed "updatedAt" shows).
 */
export async function insertInvoices(
  db: Database,
  companyId: string,
  options: {
    count?: number;
    status?: string;
    providerKind?: string | null;
    accountId?: string | null;
    prefix?: string;
  } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? `einv_${randomUUID()}_`;
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ id: string }>(
      `INSERT INTO "EInvoice" (id, "companyId", direction, status, number,
         "issueDate", "idempotencyKey", "documentHash", "sellerOib",
         "ublXml", "providerKind", "integrationAccountId", "createdAt",
         "updatedAt", "totalAmount")
       SELECT $1 || lpad(g::text, 7, '0'), $2, 'OUTBOUND', $3, 'R-' || g,
         DATE '2025-06-01', $1 || g, 'sha256:x', '00000000001',
         '<Invoice/>', $4, $5,
         TIMESTAMPTZ '2025-06-01 10:00:00+00',
         TIMESTAMPTZ '2025-06-02 10:00:00+00', 100.00
       FROM generate_series(1, $6::int) g
       RETURNING id`,
      [
        prefix,
        companyId,
        options.status ?? 'SENT',
        options.providerKind ?? null,
        options.accountId ?? null,
        options.count ?? 1,
      ],
    ),
  );
  return rows.map((r) => r.id);
}

/** Every column of some e-invoices, by id. */
export async function invoiceRows(db: Database, ids: string[]) {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<Record<string, unknown> & { id: string }>(
      `SELECT * FROM "EInvoice" WHERE id = ANY($1::text[]) ORDER BY id`,
      [ids],
    ),
  );
  return new Map(rows.map((r) => [r.id, r]));
}
