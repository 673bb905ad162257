-- The gate's resolution cache (issue #2) and the audit's verified
-- secrets (issue #6).

-- Every change that can alter a route notifies the channel with the
-- company id, so each process drops that company's cached routes. Only
-- the columns the gate reads count: bookkeeping ("lastUsedAt",
-- "secretVerifiedAt", ...) notifies nobody.
CREATE FUNCTION tenantgate_notify_route_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify('tenantgate_routes', OLD."companyId");
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify('tenantgate_routes', NEW."companyId");
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "IntegrationAccount_route_insert_delete"
  AFTER INSERT OR DELETE ON "IntegrationAccount"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_notify_route_account();
CREATE TRIGGER "IntegrationAccount_route_update"
  AFTER UPDATE ON "IntegrationAccount"
  FOR EACH ROW WHEN (
    OLD.id IS DISTINCT FROM NEW.id
    OR OLD."companyId" IS DISTINCT FROM NEW."companyId"
    OR OLD.kind IS DISTINCT FROM NEW.kind
    OR OLD.environment IS DISTINCT FROM NEW.environment
    OR OLD.status IS DISTINCT FROM NEW.status
    OR OLD."providerConfig" IS DISTINCT FROM NEW."providerConfig"
    OR OLD."secretEnvelope" IS DISTINCT FROM NEW."secretEnvelope")
  EXECUTE FUNCTION tenantgate_notify_route_account();

CREATE FUNCTION tenantgate_notify_route_company() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tenantgate_routes', OLD.id);
  IF TG_OP = 'UPDATE' THEN
    PERFORM pg_notify('tenantgate_routes', NEW.id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Company_route_delete"
  AFTER DELETE ON "Company"
  FOR EACH ROW EXECUTE FUNCTION tenantgate_notify_route_company();
CREATE TRIGGER "Company_route_update"
  AFTER UPDATE ON "Company"
  FOR EACH ROW WHEN (
    OLD.id IS DISTINCT FROM NEW.id
    OR OLD."eInvoiceKind" IS DISTINCT FROM NEW."eInvoiceKind"
    OR OLD."eInvoiceProvider" IS DISTINCT FROM NEW."eInvoiceProvider"
    OR OLD."eInvoiceApiKeyEncrypted"
      IS DISTINCT FROM NEW."eInvoiceApiKeyEncrypted"
    OR OLD."fiscalCertificateEncrypted"
      IS DISTINCT FROM NEW."fiscalCertificateEncrypted")
  EXECUTE FUNCTION tenantgate_notify_route_company();

-- TRUNCATE has no rows: every cached route goes (empty payload).
CREATE FUNCTION tenantgate_notify_route_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tenantgate_routes', '');
  RETURN NULL;
END $$;

CREATE TRIGGER "IntegrationAccount_route_truncate"
  AFTER TRUNCATE ON "IntegrationAccount"
  FOR EACH STATEMENT EXECUTE FUNCTION tenantgate_notify_route_all();
CREATE TRIGGER "Company_route_truncate"
  AFTER TRUNCATE ON "Company"
  FOR EACH STATEMENT EXECUTE FUNCTION tenantgate_notify_route_all();

-- What the secret check last saw open: the SHA-256 (hex) of the
-- account's binding and envelope, and the check value of the master
-- key that opened it. An unchanged envelope whose key is still in the
-- ring need not be opened again.
ALTER TABLE "IntegrationAccount"
  ADD COLUMN "secretVerifiedDigest" text,
  ADD COLUMN "secretVerifiedKeyCheck" text;
