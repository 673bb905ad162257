CREATE TABLE "Company" (
  id text PRIMARY KEY,
  name text NOT NULL,
  oib text NOT NULL UNIQUE CHECK (oib ~ '^[0-9]{11}$'),
  "fiscalizationEnabled" boolean NOT NULL DEFAULT false,
  "eInvoicingEnabled" boolean NOT NULL DEFAULT false,
  -- the kind of its default intermediary
  "eInvoiceKind" text CHECK ("eInvoiceKind" IN (
    'EINVOICE_EPOSLOVANJE', 'EINVOICE_FINA', 'EINVOICE_IE_RACUNI',
    'EINVOICE_MOJ_ERACUN')),
  "premisesCode" text,
  "deviceCode" text,
  -- legacy (V1) credentials, sealed by the vault
  "eInvoiceProvider" text,
  "eInvoiceApiKeyEncrypted" text,
  "fiscalCertificateEncrypted" text,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "IntegrationAccount" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  kind text NOT NULL CHECK (kind IN (
    'EINVOICE_EPOSLOVANJE', 'EINVOICE_FINA', 'EINVOICE_IE_RACUNI',
    'EINVOICE_MOJ_ERACUN', 'FISCALIZATION_CIS')),
  environment text NOT NULL CHECK (environment IN ('TEST', 'PROD')),
  status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN (
    'ACTIVE', 'DISABLED', 'EXPIRED', 'REVOKED')),
  "providerConfig" jsonb NOT NULL DEFAULT '{}'::jsonb,
  "secretEnvelope" text,
  "keyVersion" text,
  "certSubject" text,
  "certSerial" text,
  "certNotAfter" timestamptz,
  "certOib" text,
  "statusReason" text,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  "rotatedAt" timestamptz,
  "lastUsedAt" timestamptz,
  "secretVerifiedAt" timestamptz,
  CONSTRAINT "IntegrationAccount_company_kind_env_key"
    UNIQUE ("companyId", kind, environment),
  CONSTRAINT "IntegrationAccount_company_id_key" UNIQUE ("companyId", id),
  CONSTRAINT "IntegrationAccount_active_has_secret"
    CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL)
);

CREATE TABLE "EInvoice" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  direction text NOT NULL CHECK (direction IN ('OUTBOUND', 'INBOUND')),
  status text NOT NULL CHECK (status IN (
    'DRAFT', 'PENDING_FISCALIZATION', 'FISCALIZED', 'SENDING',
    'SEND_UNKNOWN', 'SENT', 'DELIVERED', 'ACCEPTED', 'REJECTED',
    'ARCHIVED', 'ERROR')),
  "documentType" text NOT NULL DEFAULT 'INVOICE'
    CHECK ("documentType" IN ('INVOICE', 'CREDIT_NOTE')),
  number text NOT NULL,
  "issueDate" date NOT NULL,
  "idempotencyKey" text NOT NULL,
  "documentHash" text NOT NULL,
  "sellerOib" text NOT NULL,
  "buyerOib" text,
  "buyerName" text,
  currency text NOT NULL DEFAULT 'EUR',
  "netAmount" numeric(18, 2),
  "vatAmount" numeric(18, 2),
  "totalAmount" numeric(18, 2),
  "ublXml" text NOT NULL,
  "providerKind" text,
  "providerRef" text,
  "integrationAccountId" text,
  "lastError" jsonb,
  "sentAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "EInvoice_company_idempotency_key"
    UNIQUE ("companyId", "idempotencyKey"),
  CONSTRAINT "EInvoice_account_same_company"
    FOREIGN KEY ("companyId", "integrationAccountId")
    REFERENCES "IntegrationAccount" ("companyId", id)
);
CREATE INDEX "EInvoice_createdAt_idx" ON "EInvoice" ("createdAt");
CREATE INDEX "EInvoice_account_idx" ON "EInvoice" ("integrationAccountId");

CREATE TABLE "FiscalRequest" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  "messageType" text NOT NULL DEFAULT 'RACUN',
  status text NOT NULL CHECK (status IN (
    'QUEUED', 'PROCESSING', 'SUCCESS', 'FAILED', 'DEAD')),
  "invoiceNumber" text,
  zki text,
  jir text,
  attempts integer NOT NULL DEFAULT 0,
  "requestXml" text,
  "responseXml" text,
  "integrationAccountId" text,
  "lastError" jsonb,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "FiscalRequest_account_same_company"
    FOREIGN KEY ("companyId", "integrationAccountId")
    REFERENCES "IntegrationAccount" ("companyId", id)
);
CREATE INDEX "FiscalRequest_account_idx"
  ON "FiscalRequest" ("integrationAccountId");

CREATE TABLE "ProviderSyncState" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  "integrationAccountId" text NOT NULL,
  cursor text,
  "lastPolledAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "ProviderSyncState_account_key" UNIQUE ("integrationAccountId"),
  CONSTRAINT "ProviderSyncState_account_same_company"
    FOREIGN KEY ("companyId", "integrationAccountId")
    REFERENCES "IntegrationAccount" ("companyId", id)
);

-- Append-only ledger: one row per regulated operation attempt.
CREATE TABLE "OperationEvent" (
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
CREATE INDEX "OperationEvent_at_idx" ON "OperationEvent" (at);
CREATE INDEX "OperationEvent_company_at_idx"
  ON "OperationEvent" ("companyId", at);

CREATE FUNCTION tenantgate_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'OperationEvent is append-only'
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER "OperationEvent_append_only"
  BEFORE UPDATE OR DELETE ON "OperationEvent"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_refuse_change();
