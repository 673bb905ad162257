-- The prior system's schema, as a platform looks before TenantGate:
-- Prisma-style tables, legacy credentials on the company, a certificate
-- table, an IntegrationAccount table without composite keys or a
-- secret check, and plain foreign keys.
CREATE TABLE "Company" (
  id text PRIMARY KEY,
  name text NOT NULL,
  oib text NOT NULL UNIQUE,
  "fiscalizationEnabled" boolean NOT NULL DEFAULT false,
  "eInvoicingEnabled" boolean NOT NULL DEFAULT false,
  "eInvoiceProvider" text,
  "eInvoiceApiKeyEncrypted" text,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "FiscalCertificate" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  environment text NOT NULL,
  "certSubject" text,
  "certSerial" text,
  "certNotBefore" timestamptz,
  "certNotAfter" timestamptz,
  "oibExtracted" text,
  "certSha256" text,
  "encryptedP12" text,
  status text NOT NULL DEFAULT 'PENDING',
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  UNIQUE ("companyId", environment)
);

CREATE TABLE "IntegrationAccount" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  kind text NOT NULL,
  environment text NOT NULL,
  status text NOT NULL DEFAULT 'ACTIVE',
  "secretEnvelope" text,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "EInvoice" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  direction text NOT NULL,
  status text NOT NULL,
  number text NOT NULL,
  "issueDate" date NOT NULL,
  "buyerOib" text,
  currency text NOT NULL DEFAULT 'EUR',
  "totalAmount" numeric(18, 2),
  "providerRef" text,
  "integrationAccountId" text REFERENCES "IntegrationAccount" (id),
  "sentAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "FiscalRequest" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  "certificateId" text,
  "messageType" text NOT NULL DEFAULT 'RACUN',
  status text NOT NULL,
  "invoiceNumber" text,
  zki text,
  jir text,
  attempts integer NOT NULL DEFAULT 0,
  "integrationAccountId" text REFERENCES "IntegrationAccount" (id),
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "ProviderSyncState" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  provider text NOT NULL,
  "integrationAccountId" text,
  cursor text,
  "lastPolledAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now()
);
