import type { Queryable } from '../db/database.js';
import {
  checkResult,
  SAMPLE_LIMIT,
  type CheckId,
  type CheckKind,
  type CheckResult,
} from './report.js';

/**
 * E-invoice statuses that count as issued: SENT and every status after
 * it (the spec says "SENT/DELIVERED"; an ACCEPTED invoice was sent too).
 */
export const ISSUED_EINVOICE_STATUSES = [
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
  'ARCHIVED',
] as const;

/** A check answered by one SQL statement over the database. */
export interface SqlCheck {
  id: CheckId;
  title: string;
  kind: CheckKind;
  /**
   * A `SELECT` of the offending rows' ids (column `id`). When
   * `usesAccountEnvironment`, `$1` is the deployment's account
   * environment (`TEST` or `PROD`).
   */
  offenders: string;
  usesAccountEnvironment: boolean;
}

const issuedList = ISSUED_EINVOICE_STATUSES.map((s) => `'${s}'`).join(', ');

/** Rows that carry an account link, with their table name. */
const LINKED_ROWS = `
  SELECT 'EInvoice' AS tbl, id, "companyId", "integrationAccountId"
    FROM "EInvoice" WHERE "integrationAccountId" IS NOT NULL
  UNION ALL
  SELECT 'FiscalRequest', id, "companyId", "integrationAccountId"
    FROM "FiscalRequest" WHERE "integrationAccountId" IS NOT NULL
  UNION ALL
  SELECT 'ProviderSyncState', id, "companyId", "integrationAccountId"
    FROM "ProviderSyncState" WHERE "integrationAccountId" IS NOT NULL`;

/**
 * Every check that SQL alone answers, in report order. The secret check
 * needs the vault and lives in `secret-check.ts`.
 */
export const SQL_CHECKS: readonly SqlCheck[] = [
  {
    id: 'einvoice.issued_without_account',
    title: 'No SENT/DELIVERED EInvoices without integrationAccountId',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "EInvoice"
      WHERE status IN (${issuedList}) AND "integrationAccountId" IS NULL`,
  },
  {
    id: 'fiscal.success_without_account',
    title: 'No SUCCESS FiscalRequests without integrationAccountId',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "FiscalRequest"
      WHERE status = 'SUCCESS' AND "integrationAccountId" IS NULL`,
  },
  {
    id: 'company.fiscalization_without_cis_account',
    title:
      'All companies with fiscalization enabled have active FISCALIZATION_CIS account',
    kind: 'readiness',
    usesAccountEnvironment: true,
    offenders: `
      SELECT c.id FROM "Company" c
      WHERE c."fiscalizationEnabled" AND NOT EXISTS (
        SELECT 1 FROM "IntegrationAccount" a
        WHERE a."companyId" = c.id AND a.kind = 'FISCALIZATION_CIS'
          AND a.status = 'ACTIVE' AND a.environment = $1::text)`,
  },
  {
    id: 'company.einvoicing_without_einvoice_account',
    title:
      'All companies with e-invoicing enabled have active EINVOICE_* account',
    kind: 'readiness',
    usesAccountEnvironment: true,
    offenders: `
      SELECT c.id FROM "Company" c
      WHERE c."eInvoicingEnabled" AND NOT EXISTS (
        SELECT 1 FROM "IntegrationAccount" a
        WHERE a."companyId" = c.id AND a.status = 'ACTIVE'
          AND a.environment = $1::text
          AND (a.kind = c."eInvoiceKind" OR (
            c."eInvoiceKind" IS NULL AND a.kind LIKE 'EINVOICE\\_%')))`,
  },
  {
    id: 'row.account_company_mismatch',
    title: "No rows linked to another company's IntegrationAccount",
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT r.id FROM (${LINKED_ROWS}) r
      JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
      WHERE a."companyId" <> r."companyId"`,
  },
  {
    id: 'row.account_wrong_kind',
    title: 'No rows linked to an IntegrationAccount of the wrong kind',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT r.id FROM (${LINKED_ROWS}) r
      JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
      WHERE (r.tbl = 'FiscalRequest' AND a.kind <> 'FISCALIZATION_CIS')
         OR (r.tbl <> 'FiscalRequest' AND a.kind = 'FISCALIZATION_CIS')`,
  },
  {
    id: 'row.account_missing',
    title: 'No rows linked to a missing IntegrationAccount',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT r.id FROM (${LINKED_ROWS}) r
      WHERE NOT EXISTS (
        SELECT 1 FROM "IntegrationAccount" a
        WHERE a.id = r."integrationAccountId")`,
  },
  {
    id: 'account.active_without_secret',
    title: 'No ACTIVE IntegrationAccounts without a secret',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "IntegrationAccount"
      WHERE status = 'ACTIVE'
        AND ("secretEnvelope" IS NULL OR "secretEnvelope" = '')`,
  },
];

/**
 * One statement that counts a check's offenders and keeps the first few
 * ids in byte order (the same on every collation). The CTE is read
 * twice, so PostgreSQL materializes it once.
 */
export function checkStatement(check: SqlCheck): string {
  return `WITH offenders AS (${check.offenders})
SELECT (SELECT count(*) FROM offenders)::int AS count,
  ARRAY(SELECT id FROM offenders
    ORDER BY id COLLATE "C" LIMIT ${SAMPLE_LIMIT}) AS samples`;
}

/** Runs one SQL check. Operator scope: it must see every company. */
export async function runSqlCheck(
  tx: Queryable,
  check: SqlCheck,
  accountEnvironment: 'TEST' | 'PROD',
): Promise<CheckResult> {
  const params = check.usesAccountEnvironment ? [accountEnvironment] : [];
  const rows = await tx.query<{ count: number; samples: string[] }>(
    checkStatement(check),
    params,
  );
  const row = rows[0] ?? { count: 0, samples: [] };
  return checkResult(check, row.count, row.samples);
}
