-- TenantGate: integration state audit (Phase 5 rollout prerequisites).
--
-- Plain PostgreSQL, read-only, one statement. Run it with psql against
-- the platform's database:
--
--   psql "$DATABASE_URL" -f scripts/audit-integration-state.sql
--
-- One row per check: check_id, status ('READY' / 'NOT READY'), count
-- and up to five sample ids (in byte order). Enforcement may be enabled
-- only when every row says READY. `tenantgate audit` runs the same
-- checks (same ids) plus one that needs the vault:
-- account.active_secret_unreadable.
--
-- (The checklist says `npx tsx scripts/audit-integration-state.sql`;
-- tsx cannot run SQL. Use psql, or `tenantgate audit`.)
--
-- Account environment: TEST by default. For a deployment whose accounts
-- talk to the production endpoints, change 'TEST' to 'PROD' in the
-- `settings` line just below the header.
--
-- Run it as the database owner, or as tenantgate_operator; as the app
-- role, row-level security would show it at most one company.

WITH settings AS (
  SELECT 'TEST'::text AS account_environment
),
linked_rows AS (
  SELECT 'EInvoice' AS tbl, id, "companyId", "integrationAccountId"
    FROM "EInvoice" WHERE "integrationAccountId" IS NOT NULL
  UNION ALL
  SELECT 'FiscalRequest', id, "companyId", "integrationAccountId"
    FROM "FiscalRequest" WHERE "integrationAccountId" IS NOT NULL
  UNION ALL
  SELECT 'ProviderSyncState', id, "companyId", "integrationAccountId"
    FROM "ProviderSyncState"
),
-- Issued = SENT and every status after it.
issued_without_account AS (
  SELECT id FROM "EInvoice"
  WHERE status IN ('SENT', 'DELIVERED', 'ACCEPTED', 'REJECTED', 'ARCHIVED')
    AND "integrationAccountId" IS NULL
),
success_without_account AS (
  SELECT id FROM "FiscalRequest"
  WHERE status = 'SUCCESS' AND "integrationAccountId" IS NULL
),
fiscalization_without_cis_account AS (
  SELECT c.id FROM "Company" c
  WHERE c."fiscalizationEnabled" AND NOT EXISTS (
    SELECT 1 FROM "IntegrationAccount" a, settings s
    WHERE a."companyId" = c.id AND a.kind = 'FISCALIZATION_CIS'
      AND a.status = 'ACTIVE' AND a.environment = s.account_environment)
),
-- The right kind: the company's default intermediary ("eInvoiceKind"),
-- or any EINVOICE_* kind when it has none.
einvoicing_without_einvoice_account AS (
  SELECT c.id FROM "Company" c
  WHERE c."eInvoicingEnabled" AND NOT EXISTS (
    SELECT 1 FROM "IntegrationAccount" a, settings s
    WHERE a."companyId" = c.id AND a.status = 'ACTIVE'
      AND a.environment = s.account_environment
      AND (a.kind = c."eInvoiceKind" OR (
        c."eInvoiceKind" IS NULL AND a.kind LIKE 'EINVOICE\_%')))
),
-- Possible only where the composite foreign keys are NOT VALID.
account_company_mismatch AS (
  SELECT r.id FROM linked_rows r
  JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
  WHERE a."companyId" <> r."companyId"
),
account_wrong_kind AS (
  SELECT r.id FROM linked_rows r
  JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
  WHERE (r.tbl = 'FiscalRequest' AND a.kind <> 'FISCALIZATION_CIS')
     OR (r.tbl <> 'FiscalRequest' AND a.kind = 'FISCALIZATION_CIS')
),
account_missing AS (
  SELECT r.id FROM linked_rows r
  WHERE NOT EXISTS (
    SELECT 1 FROM "IntegrationAccount" a
    WHERE a.id = r."integrationAccountId")
),
active_without_secret AS (
  SELECT id FROM "IntegrationAccount"
  WHERE status = 'ACTIVE'
    AND ("secretEnvelope" IS NULL OR "secretEnvelope" = '')
),
results (ord, check_id, count, samples) AS (
  SELECT 1, 'einvoice.issued_without_account',
    (SELECT count(*) FROM issued_without_account),
    ARRAY(SELECT id FROM issued_without_account
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 2, 'fiscal.success_without_account',
    (SELECT count(*) FROM success_without_account),
    ARRAY(SELECT id FROM success_without_account
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 3, 'company.fiscalization_without_cis_account',
    (SELECT count(*) FROM fiscalization_without_cis_account),
    ARRAY(SELECT id FROM fiscalization_without_cis_account
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 4, 'company.einvoicing_without_einvoice_account',
    (SELECT count(*) FROM einvoicing_without_einvoice_account),
    ARRAY(SELECT id FROM einvoicing_without_einvoice_account
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 5, 'row.account_company_mismatch',
    (SELECT count(*) FROM account_company_mismatch),
    ARRAY(SELECT id FROM account_company_mismatch
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 6, 'row.account_wrong_kind',
    (SELECT count(*) FROM account_wrong_kind),
    ARRAY(SELECT id FROM account_wrong_kind
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 7, 'row.account_missing',
    (SELECT count(*) FROM account_missing),
    ARRAY(SELECT id FROM account_missing
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 8, 'account.active_without_secret',
    (SELECT count(*) FROM active_without_secret),
    ARRAY(SELECT id FROM active_without_secret
      ORDER BY id COLLATE "C" LIMIT 5)
)
SELECT
  check_id,
  CASE WHEN count = 0 THEN 'READY' ELSE 'NOT READY' END AS status,
  count::int AS count,
  array_to_string(samples, ', ') AS samples
FROM results
ORDER BY ord;
