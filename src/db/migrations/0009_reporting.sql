-- Fiskalizacija 2.0 reporting (issue #9): one row per report the
-- platform owes the Tax Administration for an e-invoice of a company:
-- the e-invoice itself (EvidentirajERacun, I outgoing / U incoming), a
-- payment of it (EvidentirajNaplatu) or its rejection
-- (EvidentirajOdbijanje). Rows the intermediary reports instead are
-- kept as INTERMEDIARY so the decision is visible and nothing is sent.

-- The composite key the report rows reference, so a report can never
-- point at another tenant's e-invoice.
ALTER TABLE "EInvoice"
  ADD CONSTRAINT "EInvoice_company_id_key" UNIQUE ("companyId", id);

CREATE TABLE "EInvoiceReport" (
  id text PRIMARY KEY,
  "companyId" text NOT NULL REFERENCES "Company" (id),
  "einvoiceId" text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('I', 'U')),
  kind text NOT NULL CHECK (kind IN ('EINVOICE', 'PAYMENT', 'REJECTION')),
  status text NOT NULL DEFAULT 'PENDING' CHECK (status IN (
    'PENDING', 'PROCESSING', 'REPORTED', 'FAILED', 'DEAD',
    'INTERMEDIARY')),
  -- the last calendar day (Europe/Zagreb) the report is due on
  deadline date NOT NULL,
  -- per kind: PAYMENT {paidOn, amount, method}, REJECTION {rejectedOn,
  -- reasonType, reason}; EINVOICE {}
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  "idempotencyKey" text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  "lastError" jsonb,
  "messageId" text,
  "requestXml" text,
  "responseXml" text,
  -- true when the Tax Administration answered S008 (already recorded)
  "alreadyRecorded" boolean NOT NULL DEFAULT false,
  "integrationAccountId" text,
  "leaseUntil" timestamptz,
  "reportedAt" timestamptz,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "updatedAt" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "EInvoiceReport_company_idempotency_key"
    UNIQUE ("companyId", "idempotencyKey"),
  CONSTRAINT "EInvoiceReport_einvoice_same_company"
    FOREIGN KEY ("companyId", "einvoiceId")
    REFERENCES "EInvoice" ("companyId", id),
  CONSTRAINT "EInvoiceReport_account_same_company"
    FOREIGN KEY ("companyId", "integrationAccountId")
    REFERENCES "IntegrationAccount" ("companyId", id),
  CONSTRAINT "EInvoiceReport_reported_at"
    CHECK (status <> 'REPORTED' OR "reportedAt" IS NOT NULL)
);
CREATE INDEX "EInvoiceReport_einvoice_idx"
  ON "EInvoiceReport" ("companyId", "einvoiceId");
CREATE INDEX "EInvoiceReport_open_idx"
  ON "EInvoiceReport" ("companyId", deadline)
  WHERE status IN ('PENDING', 'PROCESSING', 'FAILED');
CREATE INDEX "EInvoiceReport_account_idx"
  ON "EInvoiceReport" ("integrationAccountId");

GRANT SELECT, INSERT, UPDATE ON "EInvoiceReport"
  TO tenantgate_app, tenantgate_operator;

ALTER TABLE "EInvoiceReport" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON "EInvoiceReport" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY operator_all ON "EInvoiceReport" TO tenantgate_operator
  USING (true) WITH CHECK (true);
