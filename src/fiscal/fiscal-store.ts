import type { Queryable } from '../db/database.js';
import type { Receipt } from './receipt.js';

/** A FiscalRequest row as the fiscal service reads it. */
export interface FiscalRequestRow {
  id: string;
  companyId: string;
  status: 'QUEUED' | 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'DEAD';
  invoiceNumber: string | null;
  zki: string | null;
  jir: string | null;
  attempts: number;
  messageId: string | null;
  lateDelivery: boolean;
  deliverBy: Date | null;
  integrationAccountId: string | null;
  issuedAt: Date | null;
  receipt: StoredReceipt | null;
  requestXml: string | null;
  responseXml: string | null;
}

/** The prepared receipt as JSON: the instant as an ISO string. */
export type StoredReceipt = Omit<Receipt, 'issuedAt'> & { issuedAt: string };

const COLUMNS = `id, "companyId", status, "invoiceNumber", zki, jir, attempts,
  "messageId", "lateDelivery", "deliverBy", "integrationAccountId",
  "issuedAt", receipt, "requestXml", "responseXml"`;

export function storedReceipt(receipt: Receipt): StoredReceipt {
  return { ...receipt, issuedAt: receipt.issuedAt.toISOString() };
}

export function receiptFromStore(stored: StoredReceipt): Receipt {
  return { ...stored, issuedAt: new Date(stored.issuedAt) };
}

export async function findByZki(
  tx: Queryable,
  zki: string,
): Promise<FiscalRequestRow | undefined> {
  const rows = await tx.query<FiscalRequestRow>(
    `SELECT ${COLUMNS} FROM "FiscalRequest" WHERE zki = $1`,
    [zki],
  );
  return rows[0];
}

export async function findRequest(
  tx: Queryable,
  id: string,
): Promise<FiscalRequestRow | undefined> {
  const rows = await tx.query<FiscalRequestRow>(
    `SELECT ${COLUMNS} FROM "FiscalRequest" WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * Claims the receipt's row for a send: inserts it PROCESSING, or moves
 * an unfinished one (QUEUED, PROCESSING, FAILED) to PROCESSING. Returns
 * the row as it was before (null when new), or `done` when it already
 * has a JIR.
 */
export async function claimForSend(
  tx: Queryable,
  row: {
    id: string;
    companyId: string;
    invoiceNumber: string;
    zki: string;
    issuedAt: Date;
    receipt: StoredReceipt;
    integrationAccountId: string | null;
  },
): Promise<{ previous: FiscalRequestRow | null; id: string }> {
  const previous = await findByZki(tx, row.zki);
  if (previous) {
    await tx.query(
      `UPDATE "FiscalRequest" SET status = 'PROCESSING',
              "integrationAccountId" = $2, "updatedAt" = now()
        WHERE id = $1 AND status <> 'SUCCESS'`,
      [previous.id, row.integrationAccountId],
    );
    return { previous, id: previous.id };
  }
  const queued = await tx.query<{ id: string }>(
    `UPDATE "FiscalRequest"
        SET status = 'PROCESSING', zki = $2, "integrationAccountId" = $3,
            "updatedAt" = now()
      WHERE id = $1 AND status = 'QUEUED'
      RETURNING id`,
    [row.id, row.zki, row.integrationAccountId],
  );
  if (queued[0]) return { previous: null, id: row.id };
  await tx.query(
    `INSERT INTO "FiscalRequest" (id, "companyId", "messageType", status,
       "invoiceNumber", zki, "issuedAt", receipt, "integrationAccountId")
     VALUES ($1, $2, 'RACUN', 'PROCESSING', $3, $4, $5, $6, $7)`,
    [
      row.id,
      row.companyId,
      row.invoiceNumber,
      row.zki,
      row.issuedAt,
      JSON.stringify(row.receipt),
      row.integrationAccountId,
    ],
  );
  return { previous: null, id: row.id };
}

/** A receipt waiting for the worker: QUEUED, no ZKI yet. */
export async function insertQueued(
  tx: Queryable,
  row: {
    id: string;
    companyId: string;
    invoiceNumber: string;
    issuedAt: Date;
    receipt: StoredReceipt;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO "FiscalRequest" (id, "companyId", "messageType", status,
       "invoiceNumber", "issuedAt", receipt)
     VALUES ($1, $2, 'RACUN', 'QUEUED', $3, $4, $5)`,
    [
      row.id,
      row.companyId,
      row.invoiceNumber,
      row.issuedAt,
      JSON.stringify(row.receipt),
    ],
  );
}

/** Inserts many QUEUED rows in one statement (a backlog, a batch). */
export async function insertQueuedMany(
  tx: Queryable,
  rows: {
    id: string;
    companyId: string;
    invoiceNumber: string;
    issuedAt: Date;
    receipt: StoredReceipt;
  }[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO "FiscalRequest" (id, "companyId", "messageType", status,
       "invoiceNumber", "issuedAt", receipt)
     SELECT r.id, r."companyId", 'RACUN', 'QUEUED', r."invoiceNumber",
            r."issuedAt", r.receipt
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, "companyId" text,
            "invoiceNumber" text, "issuedAt" timestamptz, receipt jsonb)`,
    [JSON.stringify(rows)],
  );
}

/** Records the outcome of one send attempt. */
export async function recordOutcome(
  tx: Queryable,
  id: string,
  outcome: {
    status: 'SUCCESS' | 'FAILED' | 'DEAD';
    jir: string | null;
    messageId: string | null;
    lateDelivery: boolean;
    sends: number;
    requestXml: string | null;
    responseXml: string | null;
    deliverBy: Date | null;
    lastError: Record<string, unknown> | null;
  },
): Promise<void> {
  await tx.query(
    `UPDATE "FiscalRequest"
        SET status = $2, jir = COALESCE(jir, $3), "messageId" = $4,
            "lateDelivery" = $5, attempts = attempts + $6,
            "requestXml" = COALESCE($7, "requestXml"),
            "responseXml" = COALESCE($8, "responseXml"),
            "deliverBy" = COALESCE("deliverBy", $9),
            "lastError" = $10, "leaseUntil" = NULL, "updatedAt" = now()
      WHERE id = $1`,
    [
      id,
      outcome.status,
      outcome.jir,
      outcome.messageId,
      outcome.lateDelivery,
      outcome.sends,
      outcome.requestXml,
      outcome.responseXml,
      outcome.deliverBy,
      outcome.lastError === null ? null : JSON.stringify(outcome.lastError),
    ],
  );
}

/** pg-boss's schema (its default; TenantGate does not change it). */
const PGBOSS_SCHEMA = 'pgboss';

/** A stranded row the sweep took a lease on, to queue its job again. */
export interface StrandedRequest {
  id: string;
  companyId: string;
  status: 'QUEUED' | 'PROCESSING' | 'FAILED';
}

/**
 * Takes a lease of `leaseSeconds` on up to `limit` rows of the queue that
 * no pg-boss job will run: unchanged for `olderThanSeconds`, no job of
 * `queue` created, retrying or active for them (`singleton_key` is the
 * row id), and not leased by another sweep. A QUEUED row qualifies
 * alone; a PROCESSING or FAILED one only when it had a job of `queue`
 * once (in `pgboss.job` or its archive), so that a direct submission's
 * row, which its caller retries itself, is never sent by the worker as
 * well. Runs as the owner (pg-boss's schema, every company).
 */
export async function leaseStranded(
  tx: Queryable,
  options: {
    queue: string;
    olderThanSeconds: number;
    leaseSeconds: number;
    limit: number;
  },
): Promise<StrandedRequest[]> {
  return tx.query<StrandedRequest>(
    `WITH stranded AS (
       SELECT r.id FROM "FiscalRequest" r
        WHERE r.status IN ('QUEUED', 'PROCESSING', 'FAILED')
          AND r."updatedAt" < now() - make_interval(secs => $2)
          AND (r."leaseUntil" IS NULL OR r."leaseUntil" < now())
          AND NOT EXISTS (
                SELECT 1 FROM ${PGBOSS_SCHEMA}.job j
                 WHERE j.name = $1 AND j.singleton_key = r.id
                   AND j.state IN ('created', 'retry', 'active'))
          AND (r.status = 'QUEUED'
               OR EXISTS (SELECT 1 FROM ${PGBOSS_SCHEMA}.job j
                           WHERE j.name = $1 AND j.singleton_key = r.id)
               OR EXISTS (SELECT 1 FROM ${PGBOSS_SCHEMA}.archive a
                           WHERE a.name = $1 AND a.singleton_key = r.id))
        ORDER BY r."updatedAt"
        LIMIT $4
        FOR UPDATE OF r SKIP LOCKED
     )
     UPDATE "FiscalRequest" f
        SET "leaseUntil" = now() + make_interval(secs => $3)
       FROM stranded s
      WHERE f.id = s.id
     RETURNING f.id, f."companyId", f.status`,
    [
      options.queue,
      options.olderThanSeconds,
      options.leaseSeconds,
      options.limit,
    ],
  );
}
