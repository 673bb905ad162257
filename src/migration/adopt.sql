-- Brings a database of the prior system's shape to TenantGate's schema
-- (migration 0002) without changing any existing row: columns are
-- added without defaults (a default is set afterwards, for new rows
-- only), missing tables are created, and every foreign key and check
-- that existing rows might break is created NOT VALID. Idempotent.

-- Company
ALTER TABLE "Company"
  ADD COLUMN IF NOT EXISTS "fiscalizationEnabled" boolean,
  ADD COLUMN IF NOT EXISTS "eInvoicingEnabled" boolean,
  ADD COLUMN IF NOT EXISTS "eInvoiceKind" text,
  ADD COLUMN IF NOT EXISTS "premisesCode" text,
  ADD COLUMN IF NOT EXISTS "deviceCode" text,
  ADD COLUMN IF NOT EXISTS "eInvoiceProvider" text,
  ADD COLUMN IF NOT EXISTS "eInvoiceApiKeyEncrypted" text,
  ADD COLUMN IF NOT EXISTS "fiscalCertificateEncrypted" text,
  ADD COLUMN IF NOT EXISTS "createdAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "updatedAt" timestamptz;
ALTER TABLE "Company"
  ALTER COLUMN "fiscalizationEnabled" SET DEFAULT false,
  ALTER COLUMN "eInvoicingEnabled" SET DEFAULT false,
  ALTER COLUMN "createdAt" SET DEFAULT now(),
  ALTER COLUMN "updatedAt" SET DEFAULT now();

-- IntegrationAccount
CREATE TABLE IF NOT EXISTS "IntegrationAccount" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  kind text NOT NULL,
  environment text NOT NULL,
  status text NOT NULL DEFAULT 'ACTIVE'
);
ALTER TABLE "IntegrationAccount"
  ADD COLUMN IF NOT EXISTS "providerConfig" jsonb,
  ADD COLUMN IF NOT EXISTS "secretEnvelope" text,
  ADD COLUMN IF NOT EXISTS "keyVersion" text,
  ADD COLUMN IF NOT EXISTS "certSubject" text,
  ADD COLUMN IF NOT EXISTS "certSerial" text,
  ADD COLUMN IF NOT EXISTS "certNotAfter" timestamptz,
  ADD COLUMN IF NOT EXISTS "certOib" text,
  ADD COLUMN IF NOT EXISTS "statusReason" text,
  ADD COLUMN IF NOT EXISTS "createdAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "updatedAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "rotatedAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "lastUsedAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "secretVerifiedAt" timestamptz;
ALTER TABLE "IntegrationAccount"
  ALTER COLUMN "providerConfig" SET DEFAULT '{}'::jsonb,
  ALTER COLUMN "createdAt" SET DEFAULT now(),
  ALTER COLUMN "updatedAt" SET DEFAULT now();

-- EInvoice
ALTER TABLE "EInvoice"
  ADD COLUMN IF NOT EXISTS "documentType" text,
  ADD COLUMN IF NOT EXISTS "idempotencyKey" text,
  ADD COLUMN IF NOT EXISTS "documentHash" text,
  ADD COLUMN IF NOT EXISTS "sellerOib" text,
  ADD COLUMN IF NOT EXISTS "buyerOib" text,
  ADD COLUMN IF NOT EXISTS "buyerName" text,
  ADD COLUMN IF NOT EXISTS currency text,
  ADD COLUMN IF NOT EXISTS "netAmount" numeric(18, 2),
  ADD COLUMN IF NOT EXISTS "vatAmount" numeric(18, 2),
  ADD COLUMN IF NOT EXISTS "totalAmount" numeric(18, 2),
  ADD COLUMN IF NOT EXISTS "ublXml" text,
  ADD COLUMN IF NOT EXISTS "providerKind" text,
  ADD COLUMN IF NOT EXISTS "providerRef" text,
  ADD COLUMN IF NOT EXISTS "integrationAccountId" text,
  ADD COLUMN IF NOT EXISTS "lastError" jsonb,
  ADD COLUMN IF NOT EXISTS "sentAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "createdAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "updatedAt" timestamptz;
ALTER TABLE "EInvoice"
  ALTER COLUMN "documentType" SET DEFAULT 'INVOICE',
  ALTER COLUMN currency SET DEFAULT 'EUR',
  ALTER COLUMN "createdAt" SET DEFAULT now(),
  ALTER COLUMN "updatedAt" SET DEFAULT now();
CREATE INDEX IF NOT EXISTS "EInvoice_createdAt_idx"
  ON "EInvoice" ("createdAt");
CREATE INDEX IF NOT EXISTS "EInvoice_account_idx"
  ON "EInvoice" ("integrationAccountId");

-- FiscalRequest
ALTER TABLE "FiscalRequest"
  ADD COLUMN IF NOT EXISTS "messageType" text,
  ADD COLUMN IF NOT EXISTS "invoiceNumber" text,
  ADD COLUMN IF NOT EXISTS zki text,
  ADD COLUMN IF NOT EXISTS jir text,
  ADD COLUMN IF NOT EXISTS attempts integer,
  ADD COLUMN IF NOT EXISTS "requestXml" text,
  ADD COLUMN IF NOT EXISTS "responseXml" text,
  ADD COLUMN IF NOT EXISTS "integrationAccountId" text,
  ADD COLUMN IF NOT EXISTS "lastError" jsonb,
  ADD COLUMN IF NOT EXISTS "createdAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "updatedAt" timestamptz;
ALTER TABLE "FiscalRequest"
  ALTER COLUMN "messageType" SET DEFAULT 'RACUN',
  ALTER COLUMN attempts SET DEFAULT 0,
  ALTER COLUMN "createdAt" SET DEFAULT now(),
  ALTER COLUMN "updatedAt" SET DEFAULT now();
CREATE INDEX IF NOT EXISTS "FiscalRequest_account_idx"
  ON "FiscalRequest" ("integrationAccountId");

-- ProviderSyncState
CREATE TABLE IF NOT EXISTS "ProviderSyncState" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id)
);
ALTER TABLE "ProviderSyncState"
  ADD COLUMN IF NOT EXISTS "integrationAccountId" text,
  ADD COLUMN IF NOT EXISTS cursor text,
  ADD COLUMN IF NOT EXISTS "lastPolledAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "createdAt" timestamptz,
  ADD COLUMN IF NOT EXISTS "updatedAt" timestamptz;
ALTER TABLE "ProviderSyncState"
  ALTER COLUMN "createdAt" SET DEFAULT now(),
  ALTER COLUMN "updatedAt" SET DEFAULT now();

-- OperationEvent: new, so created as TenantGate has it.
CREATE TABLE IF NOT EXISTS "OperationEvent" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  environment text NOT NULL CHECK (environment IN ('staging', 'production')),
  "companyId" text NOT NULL,
  "integrationAccountId" text,
  operation text NOT NULL CHECK (operation IN (
    'EINVOICE_SEND', 'EINVOICE_RECEIVE', 'FISCALIZATION', 'EINVOICE_REPORT')),
  kind text,
  path text CHECK (path IN ('V1', 'V2')),
  outcome text NOT NULL CHECK (outcome IN ('SUCCESS', 'FAILURE', 'BLOCKED')),
  "wouldBlock" boolean NOT NULL DEFAULT false,
  fallback boolean NOT NULL DEFAULT false,
  "errorName" text,
  "errorCode" text,
  "errorLayer" text,
  "durationMs" integer NOT NULL,
  origin text NOT NULL CHECK (origin IN ('user', 'worker', 'probe')),
  actor text,
  "correlationId" text,
  "documentId" text
);
CREATE INDEX IF NOT EXISTS "OperationEvent_at_idx" ON "OperationEvent" (at);
CREATE INDEX IF NOT EXISTS "OperationEvent_company_at_idx"
  ON "OperationEvent" ("companyId", at);
CREATE OR REPLACE FUNCTION tenantgate_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'OperationEvent is append-only'
    USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS "OperationEvent_append_only" ON "OperationEvent";
CREATE TRIGGER "OperationEvent_append_only"
  BEFORE UPDATE OR DELETE ON "OperationEvent"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_change();
