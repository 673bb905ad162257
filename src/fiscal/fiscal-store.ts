import type { Queryable, Statement } from '../db/database.js';
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

/** The rows of these ids visible in the transaction's scope. */
export async function findRequests(
  tx: Queryable,
  ids: readonly string[],
): Promise<FiscalRequestRow[]> {
  if (ids.length === 0) return [];
  return tx.query<FiscalRequestRow>(
    `SELECT ${COLUMNS} FROM "FiscalRequest" WHERE id = ANY($1::text[])`,
    [ids],
  );
}

/** What claiming a receipt's row needs. */
export interface ClaimRow {
  id: string;
  companyId: string;
  invoiceNumber: string;
  zki: string;
  issuedAt: Date;
  receipt: StoredReceipt;
  integrationAccountId: string | null;
}

/** What a claim found: the row before it (null when new) and its id. */
export interface Claim {
  previous: FiscalRequestRow | null;
  id: string;
}

/**
 * Claims the receipt's row for a send, as one statement (one round trip
 * in a batch): the row with this ZKI, if any, is returned as it was and
 * moved to PROCESSING unless it has a JIR; else the QUEUED row `id`
 * takes the ZKI and moves to PROCESSING; else a PROCESSING row is
 * inserted. Read its rows with `claimOf`.
 */
export function claimStatement(row: ClaimRow): Statement {
  return {
    sql: CLAIM_SQL,
    params: [
      row.id,
      row.zki,
      row.integrationAccountId,
      row.companyId,
      row.invoiceNumber,
      row.issuedAt,
      JSON.stringify(row.receipt),
    ],
  };
}

// Every part runs once, on the statement's snapshot: a row found by ZKI
// keeps the QUEUED update and the insert from running. The QUEUED row is
// found by its primary key whatever the statistics say: `status || ''`
// keeps the partial pending index out of the plan (on a fresh backlog
// the planner rated it as cheap, and each claim then read every QUEUED
// row of the company).
const CLAIM_SQL = `WITH previous AS (
       SELECT ${COLUMNS} FROM "FiscalRequest" WHERE zki = $2
     ), reclaimed AS (
       UPDATE "FiscalRequest" f
          SET status = 'PROCESSING', "integrationAccountId" = $3,
              "updatedAt" = now()
         FROM previous p
        WHERE f.id = p.id AND f.status <> 'SUCCESS'
       RETURNING f.id
     ), queued AS (
       UPDATE "FiscalRequest"
          SET status = 'PROCESSING', zki = $2, "integrationAccountId" = $3,
              "updatedAt" = now()
        WHERE id = $1 AND status || '' = 'QUEUED'
          AND NOT EXISTS (SELECT 1 FROM previous)
       RETURNING id
     ), inserted AS (
       INSERT INTO "FiscalRequest" (id, "companyId", "messageType", status,
         "invoiceNumber", zki, "issuedAt", receipt, "integrationAccountId")
       SELECT $1, $4, 'RACUN', 'PROCESSING', $5, $2, $6::timestamptz,
              $7::jsonb, $3
        WHERE NOT EXISTS (SELECT 1 FROM previous)
          AND NOT EXISTS (SELECT 1 FROM queued)
       RETURNING id
     )
     SELECT * FROM previous`;

/** The claim from `claimStatement`'s rows. */
export function claimOf(rows: readonly unknown[], id: string): Claim {
  const previous = (rows[0] as FiscalRequestRow | undefined) ?? null;
  return { previous, id: previous?.id ?? id };
}

/**
 * Claims the receipt's row for a send in a transaction (see
 * `claimStatement`). Returns the row as it was before (null when new).
 */
export async function claimForSend(
  tx: Queryable,
  row: ClaimRow,
): Promise<Claim> {
  const statement = claimStatement(row);
  return claimOf(await tx.query(statement.sql, statement.params), row.id);
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

/** The outcome of one send attempt. */
export interface Outcome {
  status: 'SUCCESS' | 'FAILED' | 'DEAD';
  jir: string | null;
  messageId: string | null;
  lateDelivery: boolean;
  sends: number;
  requestXml: string | null;
  responseXml: string | null;
  deliverBy: Date | null;
  lastError: Record<string, unknown> | null;
}

/** Records the outcome of one send attempt, as a statement. */
export function outcomeStatement(id: string, outcome: Outcome): Statement {
  return {
    sql: `UPDATE "FiscalRequest"
        SET status = $2, jir = COALESCE(jir, $3), "messageId" = $4,
            "lateDelivery" = $5, attempts = attempts + $6,
            "requestXml" = COALESCE($7, "requestXml"),
            "responseXml" = COALESCE($8, "responseXml"),
            "deliverBy" = COALESCE("deliverBy", $9::timestamptz),
            "lastError" = $10::jsonb, "leaseUntil" = NULL,
            "updatedAt" = now()
      WHERE id = $1`,
    params: [
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
  };
}

/** Records the outcome of one send attempt. */
export async function recordOutcome(
  tx: Queryable,
  id: string,
  outcome: Outcome,
): Promise<void> {
  const statement = outcomeStatement(id, outcome);
  await tx.query(statement.sql, statement.params);
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
