import { randomBytes, randomUUID } from 'node:crypto';
import { operator, type Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { insertCompany } from '../support/builders.js';

/** A vault over one fresh random master key. */
export function freshVault(): Vault {
  return new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`));
}

export const silentLogger = createLogger('silent');

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
