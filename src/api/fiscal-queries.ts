import { tenant, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { receiptQrUrl } from '../fiscal/qr.js';

/** A fiscalization request as the API shows it: no XML, no receipt. */
export interface FiscalRequestView {
  id: string;
  companyId: string;
  status: 'QUEUED' | 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'DEAD';
  invoiceNumber: string | null;
  zki: string | null;
  jir: string | null;
  attempts: number;
  lateDelivery: boolean;
  /** By when a receipt CIS has not accepted must be delivered late. */
  deliverBy: Date | null;
  integrationAccountId: string | null;
  issuedAt: Date | null;
  total: string | null;
  /** The verification link of the QR code, once there is a JIR. */
  qrUrl: string | null;
  /** The last failure's catalogue code and name, never its details. */
  lastError: { code: string; name: string } | null;
  createdAt: Date;
  updatedAt: Date;
}

interface Row extends Omit<FiscalRequestView, 'qrUrl' | 'lastError'> {
  lastError: { code?: string; name?: string } | null;
}

const COLUMNS = `id, "companyId", status, "invoiceNumber", zki, jir,
  attempts, "lateDelivery", "deliverBy", "integrationAccountId",
  "issuedAt", receipt->>'total' AS total, "lastError", "createdAt",
  "updatedAt"`;

function view(row: Row): FiscalRequestView {
  const issuedAt = row.issuedAt === null ? null : new Date(row.issuedAt);
  return {
    ...row,
    issuedAt,
    qrUrl:
      row.jir && issuedAt && row.total
        ? receiptQrUrl(row.jir, issuedAt, row.total)
        : null,
    lastError: row.lastError
      ? {
          code: String(row.lastError.code ?? 'INTERNAL'),
          name: String(row.lastError.name ?? 'InternalError'),
        }
      : null,
  };
}

/**
 * One of the company's fiscalization requests. Read in the tenant's
 * scope (row-level security) and filtered by company in the query as
 * well: another company's id is answered as not found.
 */
export async function findFiscalRequest(
  db: Database,
  companyId: string,
  id: string,
): Promise<FiscalRequestView> {
  const rows = await db.transaction(tenant(companyId), (tx) =>
    tx.query<Row>(
      `SELECT ${COLUMNS} FROM "FiscalRequest"
        WHERE "companyId" = $1 AND id = $2`,
      [companyId, id],
    ),
  );
  if (!rows[0]) {
    throw new TenantGateError(
      'FISCAL_REQUEST_NOT_FOUND',
      'No such fiscalization request',
      { companyId, fiscalRequestId: id },
    );
  }
  return view(rows[0]);
}

export interface FiscalListFilter {
  status?: string;
  /** Only rows created before this instant (the next page). */
  before?: Date;
  /** Default 50. */
  limit?: number;
}

/** The company's fiscalization requests, newest first. */
export async function listFiscalRequests(
  db: Database,
  companyId: string,
  filter: FiscalListFilter,
): Promise<FiscalRequestView[]> {
  const rows = await db.transaction(tenant(companyId), (tx) =>
    tx.query<Row>(
      `SELECT ${COLUMNS} FROM "FiscalRequest"
        WHERE "companyId" = $1
          AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR "createdAt" < $3)
        ORDER BY "createdAt" DESC, id DESC
        LIMIT $4`,
      [
        companyId,
        filter.status ?? null,
        filter.before?.toISOString() ?? null,
        filter.limit ?? 50,
      ],
    ),
  );
  return rows.map(view);
}
