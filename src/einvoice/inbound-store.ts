import { createHash, randomUUID } from 'node:crypto';
import type { EInvoiceKind } from '../accounts/kinds.js';
import { tenant, type Database, type Queryable } from '../db/database.js';

/**
 * Whose inbox cursor: the integration account's (V2), or, for a poll
 * with the company's legacy key (V1), the company's for that kind.
 */
export interface SyncKey {
  companyId: string;
  accountId: string | null;
  kind: EInvoiceKind;
}

/** A received document, ready to store. */
export interface InboundRow {
  providerRef: string;
  status: 'DELIVERED' | 'ERROR';
  documentType: 'INVOICE' | 'CREDIT_NOTE';
  number: string;
  issueDate: string;
  sellerOib: string;
  buyerOib: string | null;
  buyerName: string | null;
  currency: string;
  netAmount: string | null;
  vatAmount: string | null;
  totalAmount: string | null;
  /** The UBL exactly as the intermediary delivered it. */
  ublXml: string;
  receivedAt: string;
  lastError: Record<string, unknown> | null;
}

/** A stored inbound e-invoice, as listings show it. */
export interface InboundRecord {
  id: string;
  companyId: string;
  status: string;
  number: string;
  issueDate: string;
  sellerOib: string;
  buyerOib: string | null;
  currency: string;
  totalAmount: string | null;
  providerKind: string;
  providerRef: string;
  integrationAccountId: string | null;
  createdAt: Date;
}

export interface SyncState {
  cursor: string | null;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: Record<string, unknown> | null;
  documentsReceived: number;
}

const CONFLICT_TARGET = {
  account: `("integrationAccountId")`,
  legacy: `("companyId", "providerKind") WHERE "integrationAccountId" IS NULL`,
};

function target(key: SyncKey): string {
  return key.accountId === null
    ? CONFLICT_TARGET.legacy
    : CONFLICT_TARGET.account;
}

/** The cursor and bookkeeping of one inbox, if it was ever polled. */
export async function readSyncState(
  tx: Queryable,
  key: SyncKey,
): Promise<SyncState | undefined> {
  const rows = await tx.query<SyncState & { documentsReceived: unknown }>(
    `SELECT cursor, "lastPolledAt", "lastSuccessAt", "lastError",
            "documentsReceived"
       FROM "ProviderSyncState"
      WHERE "companyId" = $1
        AND (("integrationAccountId" IS NULL AND $3::text IS NULL
              AND "providerKind" = $2::text)
          OR "integrationAccountId" = $3::text)`,
    [key.companyId, key.kind, key.accountId],
  );
  const row = rows[0];
  return row
    ? { ...row, documentsReceived: Number(row.documentsReceived) }
    : undefined;
}

/**
 * Stores the documents (a document already stored for the company and
 * intermediary is skipped, whatever its number) and moves the cursor
 * from `from` to `to`, in the caller's transaction, so that the cursor
 * never runs ahead of what is stored. If another poll moved the cursor
 * meanwhile, it is left where that poll put it.
 */
export async function commitPage(
  tx: Queryable,
  key: SyncKey,
  page: { from: string | null; to: string | null; rows: InboundRow[] },
): Promise<{ inserted: string[]; duplicates: number }> {
  const inserted: string[] = [];
  for (const row of page.rows) {
    const id = await insertInbound(tx, key, row);
    if (id) inserted.push(id);
  }
  await tx.query(
    `INSERT INTO "ProviderSyncState" AS s (id, "companyId",
       "integrationAccountId", "providerKind", cursor, "lastPolledAt",
       "lastSuccessAt", "documentsReceived")
     VALUES ($1, $2, $3, $4, $5, now(), now(), $6)
     ON CONFLICT ${target(key)} DO UPDATE SET cursor = EXCLUDED.cursor,
       "providerKind" = EXCLUDED."providerKind",
       "lastPolledAt" = now(), "lastSuccessAt" = now(), "lastError" = NULL,
       "documentsReceived" = s."documentsReceived" + EXCLUDED."documentsReceived",
       "updatedAt" = now()
     WHERE s.cursor IS NOT DISTINCT FROM $7`,
    [
      `pss_${randomUUID()}`,
      key.companyId,
      key.accountId,
      key.kind,
      page.to,
      inserted.length,
      page.from,
    ],
  );
  return { inserted, duplicates: page.rows.length - inserted.length };
}

/** A failed page: the error is kept, the cursor is not touched. */
export async function recordPollFailure(
  tx: Queryable,
  key: SyncKey,
  error: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `INSERT INTO "ProviderSyncState" AS s (id, "companyId",
       "integrationAccountId", "providerKind", "lastPolledAt", "lastError")
     VALUES ($1, $2, $3, $4, now(), $5)
     ON CONFLICT ${target(key)} DO UPDATE SET "lastPolledAt" = now(),
       "lastError" = EXCLUDED."lastError", "updatedAt" = now()`,
    [
      `pss_${randomUUID()}`,
      key.companyId,
      key.accountId,
      key.kind,
      JSON.stringify(error),
    ],
  );
}

async function insertInbound(
  tx: Queryable,
  key: SyncKey,
  row: InboundRow,
): Promise<string | undefined> {
  const id = `ei_${randomUUID()}`;
  const hash = createHash('sha256').update(row.ublXml).digest('hex');
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO "EInvoice" (id, "companyId", direction, status,
       "documentType", number, "issueDate", "idempotencyKey",
       "documentHash", "sellerOib", "buyerOib", "buyerName", currency,
       "netAmount", "vatAmount", "totalAmount", "ublXml", "providerKind",
       "providerRef", "integrationAccountId", "sentAt", "lastError")
     VALUES ($1, $2, 'INBOUND', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
       $13, $14, $15, $16, $17, $18, $19, $20, $21)
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [
      id,
      key.companyId,
      row.status,
      row.documentType,
      row.number,
      row.issueDate,
      `inbound:${key.kind}:${row.providerRef}`,
      hash,
      row.sellerOib,
      row.buyerOib,
      row.buyerName,
      row.currency,
      row.netAmount,
      row.vatAmount,
      row.totalAmount,
      row.ublXml,
      key.kind,
      row.providerRef,
      key.accountId,
      Number.isNaN(Date.parse(row.receivedAt)) ? null : row.receivedAt,
      row.lastError === null ? null : JSON.stringify(row.lastError),
    ],
  );
  return rows[0]?.id;
}

/** The company's received e-invoices, newest first. */
export async function listInbound(
  db: Database,
  companyId: string,
  limit = 100,
): Promise<InboundRecord[]> {
  return db.transaction(tenant(companyId), (tx) =>
    tx.query<InboundRecord>(
      `SELECT id, "companyId", status, number,
              to_char("issueDate", 'YYYY-MM-DD') AS "issueDate",
              "sellerOib", "buyerOib", currency,
              "totalAmount"::text AS "totalAmount", "providerKind",
              "providerRef", "integrationAccountId", "createdAt"
         FROM "EInvoice"
        WHERE "companyId" = $1 AND direction = 'INBOUND'
        ORDER BY "createdAt" DESC, id
        LIMIT $2`,
      [companyId, limit],
    ),
  );
}
