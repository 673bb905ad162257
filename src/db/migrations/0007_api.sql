-- HTTP API keys (issue #8). Only the SHA-256 of a token is stored: the
-- token is 32 random bytes, so a plain hash is enough (no slow KDF).
-- `operator` keys act across companies; `tenant` keys on one company.
CREATE TABLE "ApiKey" (
  id text PRIMARY KEY,
  "keyHash" text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('operator', 'tenant')),
  "companyId" text REFERENCES "Company" (id),
  label text,
  "createdAt" timestamptz NOT NULL DEFAULT now(),
  "revokedAt" timestamptz,
  "lastUsedAt" timestamptz,
  CONSTRAINT "ApiKey_company_for_tenant"
    CHECK ((kind = 'tenant') = ("companyId" IS NOT NULL))
);
CREATE INDEX "ApiKey_company_idx" ON "ApiKey" ("companyId");

-- Keys are looked up by hash before the tenant is known, so lookup and
-- administration run as the operator. A tenant sees its own keys only.
GRANT SELECT, INSERT ON "ApiKey" TO tenantgate_operator;
GRANT UPDATE ("revokedAt", "lastUsedAt") ON "ApiKey" TO tenantgate_operator;
GRANT SELECT ON "ApiKey" TO tenantgate_app;

ALTER TABLE "ApiKey" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON "ApiKey" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true));
CREATE POLICY operator_all ON "ApiKey" TO tenantgate_operator
  USING (true) WITH CHECK (true);
