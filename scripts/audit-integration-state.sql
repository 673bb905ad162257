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
-- The three link checks in one read of the rows that link to an
-- account, in each table whose rows may: each row left-joined to the
-- account its link names (the columns of a are NULL when no account
-- has that id); every row that breaks at least one, with a flag per
-- check. A link to another company's account, or to none, is possible
-- only where the composite foreign keys are NOT VALID.
link_offenders AS MATERIALIZED (
  SELECT r.id,
    COALESCE(a."companyId" <> r."companyId", FALSE) AS company_mismatch,
    COALESCE(a.kind = 'FISCALIZATION_CIS', FALSE) AS wrong_kind,
    a.id IS NULL AS missing
  FROM "EInvoice" r
  LEFT JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
  WHERE r."integrationAccountId" IS NOT NULL
    AND (a."companyId" <> r."companyId"
      OR a.kind = 'FISCALIZATION_CIS'
      OR a.id IS NULL)
  UNION ALL
  SELECT r.id,
    COALESCE(a."companyId" <> r."companyId", FALSE),
    COALESCE(a.kind <> 'FISCALIZATION_CIS', FALSE),
    a.id IS NULL
  FROM "FiscalRequest" r
  LEFT JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
  WHERE r."integrationAccountId" IS NOT NULL
    AND (a."companyId" <> r."companyId"
      OR a.kind <> 'FISCALIZATION_CIS'
      OR a.id IS NULL)
  UNION ALL
  SELECT r.id,
    COALESCE(a."companyId" <> r."companyId", FALSE),
    COALESCE(a.kind = 'FISCALIZATION_CIS', FALSE),
    a.id IS NULL
  FROM "ProviderSyncState" r
  LEFT JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
  WHERE r."integrationAccountId" IS NOT NULL
    AND (a."companyId" <> r."companyId"
      OR a.kind = 'FISCALIZATION_CIS'
      OR a.id IS NULL)
),
link_counts AS (
  SELECT
    count(*) FILTER (WHERE company_mismatch) AS company_mismatch,
    count(*) FILTER (WHERE wrong_kind) AS wrong_kind,
    count(*) FILTER (WHERE missing) AS missing
  FROM link_offenders
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
    (SELECT company_mismatch FROM link_counts),
    ARRAY(SELECT id FROM link_offenders WHERE company_mismatch
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 6, 'row.account_wrong_kind',
    (SELECT wrong_kind FROM link_counts),
    ARRAY(SELECT id FROM link_offenders WHERE wrong_kind
      ORDER BY id COLLATE "C" LIMIT 5)
  UNION ALL
  SELECT 7, 'row.account_missing',
    (SELECT missing FROM link_counts),
    ARRAY(SELECT id FROM link_offenders WHERE missing
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
