-- Migration tooling (issue #6): the prior system's certificate table,
-- provenance of provisioned accounts, and checkpoints of resumable jobs.

-- The prior system kept CIS certificates in their own table, one per
-- company and environment, sealed by its envelope scheme. Created here
-- so that a platform that never had one reads the same way.
CREATE TABLE IF NOT EXISTS "FiscalCertificate" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  environment text NOT NULL CHECK (environment IN ('TEST', 'PROD')),
  "certSubject" text,
  "certSerial" text,
  "certNotBefore" timestamptz,
  "certNotAfter" timestamptz,
  "oibExtracted" text,
  "certSha256" text,
  "encryptedP12" text,
  status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN (
    'PENDING', 'ACTIVE', 'EXPIRED', 'REVOKED')),
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "FiscalCertificate_company_env_key"
    UNIQUE ("companyId", environment)
);

-- A fiscal request of the prior system names the certificate it was
-- signed with: the proof a backfill needs for FISCALIZATION_CIS.
ALTER TABLE "FiscalRequest" ADD COLUMN IF NOT EXISTS "certificateId" text;

-- Where a provisioned account's secret came from. One row per account
-- created by `tenantgate provision`; backfill links historic rows only
-- to accounts with provenance.
CREATE TABLE "AccountProvenance" (
  "integrationAccountId" text PRIMARY KEY,
  "companyId" text NOT NULL,
  kind text NOT NULL,
  environment text NOT NULL,
  -- 'legacy-einvoice-key' (Company."eInvoiceApiKeyEncrypted") or
  -- 'legacy-fiscal-certificate' ("FiscalCertificate".id)
  source text NOT NULL CHECK (source IN (
    'legacy-einvoice-key', 'legacy-fiscal-certificate')),
  "sourceId" text NOT NULL,
  "legacyProvider" text,
  "runId" text NOT NULL,
  "provisionedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "AccountProvenance_account_fk"
    FOREIGN KEY ("companyId", "integrationAccountId")
    REFERENCES "IntegrationAccount" ("companyId", id)
);
CREATE INDEX "AccountProvenance_company_idx"
  ON "AccountProvenance" ("companyId", kind, environment);

-- The last primary key a resumable job finished, per job and table.
CREATE TABLE "MigrationCheckpoint" (
  job text NOT NULL,
  scope text NOT NULL,
  "lastId" text NOT NULL,
  "runId" text NOT NULL,
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job, scope)
);

GRANT SELECT, INSERT, UPDATE ON "FiscalCertificate" TO tenantgate_operator;
GRANT SELECT ON "FiscalCertificate" TO tenantgate_app;
GRANT SELECT, INSERT ON "AccountProvenance"
  TO tenantgate_app, tenantgate_operator;
GRANT SELECT, INSERT, UPDATE, DELETE ON "MigrationCheckpoint"
  TO tenantgate_operator;

ALTER TABLE "FiscalCertificate" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "AccountProvenance" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON "FiscalCertificate" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "AccountProvenance" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY operator_all ON "FiscalCertificate" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "AccountProvenance" TO tenantgate_operator
  USING (true) WITH CHECK (true);
