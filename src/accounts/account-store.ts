import type { Queryable } from '../db/database.js';
import type { AccountEnvironment, AccountStatus, Kind } from './kinds.js';

/** An integration account as anyone outside the vault may see it. */
export interface IntegrationAccount {
  id: string;
  companyId: string;
  kind: Kind;
  environment: AccountEnvironment;
  status: AccountStatus;
  statusReason: string | null;
  providerConfig: Record<string, unknown>;
  keyVersion: string | null;
  certSubject: string | null;
  certSerial: string | null;
  certNotAfter: Date | null;
  certOib: string | null;
  createdAt: Date;
  updatedAt: Date;
  rotatedAt: Date | null;
  lastUsedAt: Date | null;
  secretVerifiedAt: Date | null;
}

/** Every column but the secret: the envelope never leaves this file. */
const PUBLIC_COLUMNS = `id, "companyId", kind, environment, status,
  "statusReason", "providerConfig", "keyVersion", "certSubject",
  "certSerial", "certNotAfter", "certOib", "createdAt", "updatedAt",
  "rotatedAt", "lastUsedAt", "secretVerifiedAt"`;

export interface NewAccountRow {
  id: string;
  companyId: string;
  kind: Kind;
  environment: AccountEnvironment;
  providerConfig: Record<string, unknown>;
  secretEnvelope: string;
  keyVersion: string;
}

export async function insertAccount(
  tx: Queryable,
  row: NewAccountRow,
): Promise<IntegrationAccount> {
  const rows = await tx.query<IntegrationAccount>(
    `INSERT INTO "IntegrationAccount" (id, "companyId", kind, environment,
       status, "providerConfig", "secretEnvelope", "keyVersion")
     VALUES ($1, $2, $3, $4, 'ACTIVE', $5, $6, $7)
     RETURNING ${PUBLIC_COLUMNS}`,
    [
      row.id,
      row.companyId,
      row.kind,
      row.environment,
      JSON.stringify(row.providerConfig),
      row.secretEnvelope,
      row.keyVersion,
    ],
  );
  return rows[0] as IntegrationAccount;
}

export async function findAccount(
  tx: Queryable,
  id: string,
): Promise<IntegrationAccount | undefined> {
  const rows = await tx.query<IntegrationAccount>(
    `SELECT ${PUBLIC_COLUMNS} FROM "IntegrationAccount" WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Accounts visible in the transaction's scope, oldest first. */
export async function listAccounts(
  tx: Queryable,
  filter: { companyId?: string } = {},
): Promise<IntegrationAccount[]> {
  return tx.query<IntegrationAccount>(
    `SELECT ${PUBLIC_COLUMNS} FROM "IntegrationAccount"
      WHERE ($1::text IS NULL OR "companyId" = $1)
      ORDER BY "companyId", kind, environment`,
    [filter.companyId ?? null],
  );
}

export async function replaceSecret(
  tx: Queryable,
  id: string,
  secretEnvelope: string,
  keyVersion: string,
): Promise<IntegrationAccount | undefined> {
  const rows = await tx.query<IntegrationAccount>(
    `UPDATE "IntegrationAccount"
        SET "secretEnvelope" = $2, "keyVersion" = $3, "rotatedAt" = now(),
            "updatedAt" = now(), "secretVerifiedAt" = now()
      WHERE id = $1
      RETURNING ${PUBLIC_COLUMNS}`,
    [id, secretEnvelope, keyVersion],
  );
  return rows[0];
}

/** Replaces the non-secret provider config (already validated). */
export async function setProviderConfig(
  tx: Queryable,
  id: string,
  providerConfig: Record<string, unknown>,
): Promise<IntegrationAccount | undefined> {
  const rows = await tx.query<IntegrationAccount>(
    `UPDATE "IntegrationAccount"
        SET "providerConfig" = $2, "updatedAt" = now()
      WHERE id = $1
      RETURNING ${PUBLIC_COLUMNS}`,
    [id, JSON.stringify(providerConfig)],
  );
  return rows[0];
}

export async function setStatus(
  tx: Queryable,
  id: string,
  status: AccountStatus,
  reason: string | null,
): Promise<IntegrationAccount | undefined> {
  const rows = await tx.query<IntegrationAccount>(
    `UPDATE "IntegrationAccount"
        SET status = $2, "statusReason" = $3, "updatedAt" = now()
      WHERE id = $1
      RETURNING ${PUBLIC_COLUMNS}`,
    [id, status, reason],
  );
  return rows[0];
}

/** Sealed secrets for verification, one batch at a time (operator). */
export async function sealedSecretsAfter(
  tx: Queryable,
  afterId: string,
  limit: number,
): Promise<
  {
    id: string;
    companyId: string;
    status: AccountStatus;
    secretEnvelope: string | null;
  }[]
> {
  return tx.query(
    `SELECT id, "companyId", status, "secretEnvelope"
       FROM "IntegrationAccount" WHERE id > $1 ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
}

export async function markVerified(
  tx: Queryable,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE "IntegrationAccount" SET "secretVerifiedAt" = now()
      WHERE id = ANY($1::text[])`,
    [ids],
  );
}

/** Certificate metadata of a FISCALIZATION_CIS account. */
export interface CertificateColumns {
  certSubject: string;
  certSerial: string;
  certNotAfter: Date;
  certOib: string;
}

/**
 * Records the certificate of a CIS account and the status it implies
 * (EXPIRED once `certNotAfter` has passed), optionally with a new
 * sealed secret.
 */
export async function setCertificate(
  tx: Queryable,
  id: string,
  cert: CertificateColumns,
  status: AccountStatus,
  secret?: { envelope: string; keyVersion: string },
): Promise<IntegrationAccount | undefined> {
  const rows = await tx.query<IntegrationAccount>(
    `UPDATE "IntegrationAccount"
        SET "certSubject" = $2, "certSerial" = $3, "certNotAfter" = $4,
            "certOib" = $5, status = $6,
            "statusReason" = CASE WHEN $6 = 'EXPIRED'
              THEN 'certificate expired' END,
            "secretEnvelope" = COALESCE($7, "secretEnvelope"),
            "keyVersion" = COALESCE($8, "keyVersion"),
            "rotatedAt" = CASE WHEN $7::text IS NULL THEN "rotatedAt"
              ELSE now() END,
            "updatedAt" = now()
      WHERE id = $1
      RETURNING ${PUBLIC_COLUMNS}`,
    [
      id,
      cert.certSubject,
      cert.certSerial,
      cert.certNotAfter,
      cert.certOib,
      status,
      secret?.envelope ?? null,
      secret?.keyVersion ?? null,
    ],
  );
  return rows[0];
}
