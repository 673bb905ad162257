-- CIS fiscalization (issue #3): what a FiscalRequest needs to be sent
-- again as a late delivery (the prepared receipt, its issue instant and
-- ZKI), the legal deadline for that, and the worker's lease.
ALTER TABLE "FiscalRequest"
  ADD COLUMN IF NOT EXISTS "issuedAt" timestamptz,
  ADD COLUMN IF NOT EXISTS receipt jsonb,
  ADD COLUMN IF NOT EXISTS "messageId" text,
  ADD COLUMN IF NOT EXISTS "lateDelivery" boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS "deliverBy" timestamptz,
  ADD COLUMN IF NOT EXISTS "leaseUntil" timestamptz;

-- The ZKI is a deterministic signature of the receipt: one row (and so
-- at most one kept JIR) per receipt of a company.
CREATE UNIQUE INDEX IF NOT EXISTS "FiscalRequest_company_zki_key"
  ON "FiscalRequest" ("companyId", zki) WHERE zki IS NOT NULL;

CREATE INDEX IF NOT EXISTS "FiscalRequest_pending_idx"
  ON "FiscalRequest" ("companyId", status)
  WHERE status IN ('QUEUED', 'PROCESSING', 'FAILED');
