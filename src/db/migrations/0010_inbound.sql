-- Inbound e-invoices (issue #4, item 6). Received documents are
-- "EInvoice" rows with direction INBOUND (DESIGN.md: one table, a
-- direction column), status DELIVERED (delivered to this company), the
-- UBL exactly as received in "ublXml", the parsed parties, number and
-- totals in the usual columns, and the intermediary's document id in
-- "providerRef".

-- Deduplication by the intermediary's document id, never by invoice
-- number (two sellers may use the same number). Keyed by company and
-- intermediary kind rather than by account, so that a company moving
-- from its legacy key (V1) to an integration account (V2) of the same
-- intermediary does not receive its inbox a second time; an account is
-- one per (company, kind, environment), so this is at least as strict
-- as (account, document id).
CREATE UNIQUE INDEX "EInvoice_inbound_document_key"
  ON "EInvoice" ("companyId", "providerKind", "providerRef")
  WHERE direction = 'INBOUND';

-- The inbox cursor per integration account; a company polling with its
-- legacy key (V1) has no account, so its cursor is kept per (company,
-- kind) instead.
ALTER TABLE "ProviderSyncState"
  ALTER COLUMN "integrationAccountId" DROP NOT NULL,
  ADD COLUMN "providerKind" text CHECK ("providerKind" IN (
    'EINVOICE_EPOSLOVANJE', 'EINVOICE_FINA', 'EINVOICE_IE_RACUNI',
    'EINVOICE_MOJ_ERACUN')),
  -- the last successful page, and the last failure (cursor unchanged)
  ADD COLUMN "lastSuccessAt" timestamptz,
  ADD COLUMN "lastError" jsonb,
  ADD COLUMN "documentsReceived" bigint NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX "ProviderSyncState_legacy_key"
  ON "ProviderSyncState" ("companyId", "providerKind")
  WHERE "integrationAccountId" IS NULL;

ALTER TABLE "ProviderSyncState"
  ADD CONSTRAINT "ProviderSyncState_account_or_kind"
  CHECK ("integrationAccountId" IS NOT NULL OR "providerKind" IS NOT NULL);
