import type { Queryable } from '../db/database.js';
import { LEGACY_PROVIDER_KINDS, type EInvoiceKind } from '../accounts/kinds.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { RequestAuthoriser } from '../vault/vault.js';
import type { SecretBinding } from '../vault/envelope.js';

/**
 * The legacy adapter of the migration tooling: the one place in
 * `migration/` that reads the prior system's credential columns. Listed
 * in the guardrail's LEGACY_ADAPTERS.
 */

/** A company's legacy credentials, still sealed. */
export interface LegacyCompany {
  id: string;
  oib: string;
  eInvoiceProvider: string | null;
  eInvoiceApiKeyEncrypted: string | null;
  hasLegacyCertificateColumn: boolean;
}

/** A row of the prior system's certificate table, its PKCS#12 sealed. */
export interface LegacyCertificate {
  id: string;
  companyId: string;
  environment: 'TEST' | 'PROD';
  status: string;
  certSerial: string | null;
  certNotAfter: Date | null;
  /**
   * The PKCS#12 and its password, sealed for the company with purpose
   * `legacy-fiscal-certificate`; null when the row has no file.
   */
  encryptedP12: string | null;
}

/** The vault capability provisioning needs to read a legacy API key. */
export interface LegacyKeyVault {
  apiKeyAuthoriser(envelope: string, binding: SecretBinding): RequestAuthoriser;
}

/** Companies with any legacy credential, in id order after `afterId`. */
export async function legacyCompaniesAfter(
  tx: Queryable,
  afterId: string,
  limit: number,
): Promise<LegacyCompany[]> {
  return tx.query<LegacyCompany>(
    `SELECT c.id, c.oib, c."eInvoiceProvider", c."eInvoiceApiKeyEncrypted",
       c."fiscalCertificateEncrypted" IS NOT NULL
         AS "hasLegacyCertificateColumn"
     FROM "Company" c
     WHERE c.id > $1
       AND (c."eInvoiceApiKeyEncrypted" IS NOT NULL
         OR c."eInvoiceProvider" IS NOT NULL
         OR c."fiscalCertificateEncrypted" IS NOT NULL
         OR EXISTS (SELECT 1 FROM "FiscalCertificate" f
                    WHERE f."companyId" = c.id))
     ORDER BY c.id
     LIMIT $2`,
    [afterId, limit],
  );
}

/** The legacy certificates of some companies. */
export async function legacyCertificatesOf(
  tx: Queryable,
  companyIds: readonly string[],
): Promise<LegacyCertificate[]> {
  return tx.query<LegacyCertificate>(
    `SELECT id, "companyId", environment, status, "certSerial",
       "certNotAfter", "encryptedP12"
     FROM "FiscalCertificate" WHERE "companyId" = ANY($1::text[])
     ORDER BY "companyId", environment`,
    [companyIds],
  );
}

/**
 * Whether two certificate serials are the same number. The account
 * records the file's serial in decimal; the prior system's row may hold
 * it in decimal or in hex (with or without colons or `0x`).
 */
export function sameSerial(
  decimal: string | null,
  legacy: string | null,
): boolean {
  if (decimal === null || legacy === null) return decimal === legacy;
  const text = legacy.trim();
  if (text === decimal) return true;
  const hex = text.replace(/^0x/i, '').replace(/:/g, '');
  if (!/^[0-9a-f]+$/i.test(hex)) return false;
  return BigInt(`0x${hex}`).toString() === decimal;
}

/** The binding a legacy certificate's PKCS#12 is sealed with. */
export function legacyCertificateBinding(companyId: string): SecretBinding {
  return { purpose: 'legacy-fiscal-certificate', companyId };
}

/** The e-invoice kind a legacy provider name maps to, if any. */
export function legacyProviderKind(
  provider: string | null,
): EInvoiceKind | undefined {
  return LEGACY_PROVIDER_KINDS[provider ?? ''];
}

/** Why a legacy key cannot be used: a stable reason code. */
export type LegacyKeyFailure = 'legacy-key-unreadable' | 'legacy-key-invalid';

/**
 * Opens a company's legacy API key through the vault's authoriser
 * capability and returns the header value it would send: the key. A key
 * that does not open, or is not a usable header value, is a failure
 * reason, never an exception.
 */
export function readLegacyApiKey(
  vault: LegacyKeyVault,
  company: { id: string; eInvoiceApiKeyEncrypted: string },
): { key: string } | { failure: LegacyKeyFailure } {
  const binding: SecretBinding = {
    purpose: 'legacy-einvoice-key',
    companyId: company.id,
  };
  try {
    const headers: Record<string, string> = {};
    vault
      .apiKeyAuthoriser(company.eInvoiceApiKeyEncrypted, binding)
      .authorise(headers);
    const key = headers.authorization;
    if (!key) return { failure: 'legacy-key-invalid' };
    return { key };
  } catch (error) {
    if (!(error instanceof TenantGateError)) throw error;
    if (error.code === 'VAULT_SECRET_INVALID') {
      return { failure: 'legacy-key-invalid' };
    }
    return { failure: 'legacy-key-unreadable' };
  }
}

/** A company's legacy provider and key, for the backfill's proof. */
export interface LegacyKeyOwner {
  companyId: string;
  eInvoiceProvider: string | null;
  eInvoiceApiKeyEncrypted: string | null;
}

/** The legacy provider and sealed key of some companies. */
export async function legacyKeysOf(
  tx: Queryable,
  companyIds: readonly string[],
): Promise<LegacyKeyOwner[]> {
  return tx.query<LegacyKeyOwner>(
    `SELECT id AS "companyId", "eInvoiceProvider",
       "eInvoiceApiKeyEncrypted"
     FROM "Company" WHERE id = ANY($1::text[])`,
    [companyIds],
  );
}

/** How many companies still hold each kind of legacy credential. */
export async function legacyCredentialCounts(
  tx: Queryable,
): Promise<{ withLegacyKey: number; withLegacyCertificate: number }> {
  const rows = await tx.query<{ keys: number; certs: number }>(
    `SELECT
       (SELECT count(*)::int FROM "Company"
        WHERE "eInvoiceApiKeyEncrypted" IS NOT NULL) AS keys,
       (SELECT count(DISTINCT "companyId")::int FROM "FiscalCertificate")
         AS certs`,
  );
  return {
    withLegacyKey: rows[0]?.keys ?? 0,
    withLegacyCertificate: rows[0]?.certs ?? 0,
  };
}

/** An entitlement a company has no ACTIVE account for. */
export interface UnbackedEntitlement {
  companyId: string;
  entitlement: 'fiscalization' | 'einvoicing';
  /**
   * `account-not-active`: the account exists but is EXPIRED or
   * DISABLED (an expired or revoked credential);
   * `legacy-credential-not-provisioned`: the company holds a legacy
   * credential provisioning could not use (see its report);
   * `no-legacy-credential`: the company never had one.
   */
  reason:
    | 'account-not-active'
    | 'legacy-credential-not-provisioned'
    | 'no-legacy-credential';
}

/** The e-invoice account rule of the audit's readiness check. */
const EINVOICE_ACCOUNT = `a."companyId" = p.id AND a.environment = $1
  AND (a.kind = p."eInvoiceKind"
    OR (p."eInvoiceKind" IS NULL AND a.kind LIKE 'EINVOICE\\_%'))`;
const CIS_ACCOUNT = `a."companyId" = p.id AND a.environment = $1
  AND a.kind = 'FISCALIZATION_CIS'`;

/**
 * One page of companies (by id after `afterId`) with an entitlement
 * on: the entitlements among them that have no ACTIVE account in
 * `environment` (what the audit's readiness checks count), each with
 * why, and the page's last company id ('' when there are no more).
 */
export async function entitlementsWithoutActiveAccount(
  tx: Queryable,
  environment: string,
  afterId: string,
  limit: number,
): Promise<{ entitlements: UnbackedEntitlement[]; lastId: string }> {
  const last = await tx.query<{ id: string }>(
    `SELECT max(id) AS id FROM (
       SELECT id FROM "Company"
       WHERE id > $1 AND ("fiscalizationEnabled" OR "eInvoicingEnabled")
       ORDER BY id LIMIT $2) page`,
    [afterId, limit],
  );
  const lastId = last[0]?.id ?? '';
  if (!lastId) return { entitlements: [], lastId };
  const entitlements = await tx.query<UnbackedEntitlement>(
    `WITH p AS (
       SELECT * FROM "Company" WHERE id > $2 AND id <= $3)
     SELECT p.id AS "companyId", 'fiscalization' AS entitlement,
       CASE
         WHEN EXISTS (SELECT 1 FROM "IntegrationAccount" a
                      WHERE ${CIS_ACCOUNT}) THEN 'account-not-active'
         WHEN p."fiscalCertificateEncrypted" IS NOT NULL
           OR EXISTS (SELECT 1 FROM "FiscalCertificate" f
                      WHERE f."companyId" = p.id)
           THEN 'legacy-credential-not-provisioned'
         ELSE 'no-legacy-credential' END AS reason
     FROM p
     WHERE p."fiscalizationEnabled" AND NOT EXISTS (
       SELECT 1 FROM "IntegrationAccount" a
       WHERE ${CIS_ACCOUNT} AND a.status = 'ACTIVE')
     UNION ALL
     SELECT p.id, 'einvoicing',
       CASE
         WHEN EXISTS (SELECT 1 FROM "IntegrationAccount" a
                      WHERE ${EINVOICE_ACCOUNT}) THEN 'account-not-active'
         WHEN p."eInvoiceApiKeyEncrypted" IS NOT NULL
           OR p."eInvoiceProvider" IS NOT NULL
           THEN 'legacy-credential-not-provisioned'
         ELSE 'no-legacy-credential' END
     FROM p
     WHERE p."eInvoicingEnabled" AND NOT EXISTS (
       SELECT 1 FROM "IntegrationAccount" a
       WHERE ${EINVOICE_ACCOUNT} AND a.status = 'ACTIVE')
     ORDER BY 1, 2`,
    [environment, afterId, lastId],
  );
  return { entitlements, lastId };
}
