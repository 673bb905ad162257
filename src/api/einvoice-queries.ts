import { tenant, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';

export { EINVOICE_STATUSES } from '../einvoice/statuses.js';

/** One row of an e-invoice list: the status fields and the parties. */
export interface EInvoiceListItem {
  id: string;
  direction: 'OUTBOUND' | 'INBOUND';
  status: string;
  number: string;
  issueDate: string;
  buyerOib: string | null;
  buyerName: string | null;
  totalAmount: string | null;
  currency: string;
  providerKind: string | null;
  providerRef: string | null;
  integrationAccountId: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

export interface EInvoiceListFilter {
  direction?: 'OUTBOUND' | 'INBOUND';
  status?: string;
  /** Only rows created before this instant (the next page). */
  before?: Date;
  /** Default 50. */
  limit?: number;
}

/**
 * The company's e-invoices, newest first, in the tenant's scope (row
 * level security shows no other company's rows).
 */
export async function listEInvoices(
  db: Database,
  companyId: string,
  filter: EInvoiceListFilter,
): Promise<EInvoiceListItem[]> {
  return db.transaction(tenant(companyId), (tx) =>
    tx.query<EInvoiceListItem>(
      `SELECT id, direction, status, number,
              to_char("issueDate", 'YYYY-MM-DD') AS "issueDate",
              "buyerOib", "buyerName", "totalAmount"::text AS "totalAmount",
              currency, "providerKind", "providerRef",
              "integrationAccountId", "createdAt", "sentAt"
         FROM "EInvoice"
        WHERE "companyId" = $1
          AND ($2::text IS NULL OR direction = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::timestamptz IS NULL OR "createdAt" < $4)
        ORDER BY "createdAt" DESC, id DESC
        LIMIT $5`,
      [
        companyId,
        filter.direction ?? null,
        filter.status ?? null,
        filter.before?.toISOString() ?? null,
        filter.limit ?? 50,
      ],
    ),
  );
}

/** The UBL document of one of the company's e-invoices. */
export async function eInvoiceDocument(
  db: Database,
  companyId: string,
  id: string,
): Promise<string> {
  const rows = await db.transaction(tenant(companyId), (tx) =>
    tx.query<{ ublXml: string }>(
      'SELECT "ublXml" FROM "EInvoice" WHERE id = $1',
      [id],
    ),
  );
  if (!rows[0]) {
    throw new TenantGateError('EINVOICE_NOT_FOUND', 'No such e-invoice', {
      companyId,
      eInvoiceId: id,
    });
  }
  return rows[0].ublXml;
}
