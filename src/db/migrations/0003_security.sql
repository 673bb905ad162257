-- Row-level security: the app role sees one company, the one named by
-- app.company_id (set with SET LOCAL per transaction; '' = no tenant).
-- The operator role sees every company, explicitly.
GRANT USAGE ON SCHEMA public TO tenantgate_app, tenantgate_operator;

GRANT SELECT ON "Company" TO tenantgate_app;
GRANT UPDATE ("fiscalizationEnabled", "eInvoicingEnabled", "eInvoiceKind",
  "premisesCode", "deviceCode", "updatedAt") ON "Company" TO tenantgate_app;
GRANT SELECT, INSERT, UPDATE ON "IntegrationAccount", "EInvoice",
  "FiscalRequest", "ProviderSyncState" TO tenantgate_app;
GRANT SELECT, INSERT ON "OperationEvent" TO tenantgate_app;

GRANT SELECT, INSERT, UPDATE ON "Company", "IntegrationAccount", "EInvoice",
  "FiscalRequest", "ProviderSyncState" TO tenantgate_operator;
GRANT SELECT, INSERT ON "OperationEvent" TO tenantgate_operator;

ALTER TABLE "Company" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "IntegrationAccount" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "EInvoice" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "FiscalRequest" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "ProviderSyncState" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "OperationEvent" ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_company ON "Company" TO tenantgate_app
  USING (id = current_setting('app.company_id', true))
  WITH CHECK (id = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "IntegrationAccount" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "EInvoice" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "FiscalRequest" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "ProviderSyncState" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));
CREATE POLICY tenant_rows ON "OperationEvent" TO tenantgate_app
  USING ("companyId" = current_setting('app.company_id', true))
  WITH CHECK ("companyId" = current_setting('app.company_id', true));

CREATE POLICY operator_all ON "Company" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "IntegrationAccount" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "EInvoice" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "FiscalRequest" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "ProviderSyncState" TO tenantgate_operator
  USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON "OperationEvent" TO tenantgate_operator
  USING (true) WITH CHECK (true);

-- The gate must tell "another tenant's account" (TenantViolationError)
-- from "no such account", which row-level security would hide. This
-- returns only the owning company id, nothing else of the row.
CREATE FUNCTION tenantgate_account_owner(account_id text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT "companyId" FROM "IntegrationAccount" WHERE id = account_id
$$;
REVOKE ALL ON FUNCTION tenantgate_account_owner(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantgate_account_owner(text)
  TO tenantgate_app, tenantgate_operator;
