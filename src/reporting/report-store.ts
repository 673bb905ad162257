import type { Kind } from '../accounts/kinds.js';
import type { Queryable } from '../db/database.js';
import type {
  EInvoiceFacts,
  Obligation,
  ReportDirection,
  ReportKind,
  ReportStatus,
  TaxReporting,
} from './obligations.js';

/** A stored report with the facts of its e-invoice that messages need. */
export interface ReportRow {
  id: string;
  companyId: string;
  einvoiceId: string;
  direction: ReportDirection;
  kind: ReportKind;
  status: ReportStatus;
  /** `YYYY-MM-DD`. */
  deadline: string;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  attempts: number;
  lastError: Record<string, unknown> | null;
  messageId: string | null;
  alreadyRecorded: boolean;
  integrationAccountId: string | null;
  reportedAt: Date | null;
  createdAt: Date;
  /** The e-invoice's number (BT-1), issue date, parties and UBL. */
  number: string;
  issueDate: string;
  sellerOib: string;
  buyerOib: string | null;
  ublXml: string;
}

/** A claimed report and the status it had before the claim. */
export interface ClaimedReport extends ReportRow {
  previous: ReportStatus;
}

/** A report to store. */
export interface NewReport extends Obligation {
  id: string;
  payload?: Record<string, unknown>;
}

const COLUMNS = `r.id, r."companyId", r."einvoiceId", r.direction, r.kind,
  r.status, r.deadline::text AS deadline, r.payload, r."idempotencyKey",
  r.attempts, r."lastError", r."messageId", r."alreadyRecorded",
  r."integrationAccountId", r."reportedAt", r."createdAt", e.number,
  e."issueDate"::text AS "issueDate", e."sellerOib", e."buyerOib",
  e."ublXml"`;

/** Reports still owed: the due-list shows these. */
const OWED: ReportStatus[] = ['PENDING', 'PROCESSING', 'FAILED', 'DEAD'];

interface FactsRow {
  id: string;
  number: string;
  companyId: string;
  direction: 'OUTBOUND' | 'INBOUND';
  status: string;
  issueDate: string;
  createdAt: Date;
  providerKind: string | null;
  integrationAccountId: string | null;
  accountId: string | null;
  accountKind: Kind | null;
  providerConfig: Record<string, unknown> | null;
  companyKind: Kind | null;
  legacyProvider: string | null;
}

const FACTS_SQL = `SELECT e.id, e."companyId", e.direction, e.status, e.number,
            e."issueDate"::text AS "issueDate", e."createdAt",
            e."providerKind", e."integrationAccountId",
            COALESCE(own.id, def.id) AS "accountId",
            COALESCE(own.kind, def.kind) AS "accountKind",
            COALESCE(own."providerConfig", def."providerConfig")
              AS "providerConfig",
            c."eInvoiceKind" AS "companyKind",
            c."eInvoiceProvider" AS "legacyProvider"
       FROM "EInvoice" e
       JOIN "Company" c ON c.id = e."companyId"
       LEFT JOIN "IntegrationAccount" own
         ON own."companyId" = e."companyId"
        AND own.id = e."integrationAccountId"
       LEFT JOIN "IntegrationAccount" def
         ON def."companyId" = e."companyId"
        AND def.kind = c."eInvoiceKind" AND def.environment = $2
      WHERE e."companyId" = $1`;

/**
 * E-invoices of the scope's company that have no EINVOICE report row
 * yet, oldest first, with the account that decides who reports them:
 * the e-invoice's own account, else the company's default intermediary
 * account in `environment`.
 */
export async function eInvoicesWithoutReport(
  tx: Queryable,
  companyId: string,
  environment: string,
  limit: number,
): Promise<EInvoiceFacts[]> {
  const rows = await tx.query<FactsRow>(
    `${FACTS_SQL}
        AND NOT EXISTS (
          SELECT 1 FROM "EInvoiceReport" r
           WHERE r."companyId" = e."companyId" AND r."einvoiceId" = e.id
             AND r.kind = 'EINVOICE')
      ORDER BY e."createdAt", e.id
      LIMIT $3`,
    [companyId, environment, limit],
  );
  return rows.map(factsOf);
}

/** One e-invoice of the company with its deciding account. */
export async function eInvoiceFacts(
  tx: Queryable,
  companyId: string,
  environment: string,
  einvoiceId: string,
): Promise<EInvoiceFacts | undefined> {
  const rows = await tx.query<FactsRow>(`${FACTS_SQL} AND e.id = $3`, [
    companyId,
    environment,
    einvoiceId,
  ]);
  const row = rows[0];
  return row ? factsOf(row) : undefined;
}

function factsOf(row: FactsRow): EInvoiceFacts {
  return {
    id: row.id,
    number: row.number,
    companyId: row.companyId,
    direction: row.direction,
    status: row.status,
    issueDate: row.issueDate,
    createdAt: row.createdAt,
    providerKind: row.providerKind,
    integrationAccountId: row.integrationAccountId,
    account:
      row.accountId && row.accountKind
        ? {
            id: row.accountId,
            kind: row.accountKind,
            providerConfig: row.providerConfig ?? {},
          }
        : null,
    companyKind: row.companyKind,
    legacyProvider: row.legacyProvider,
  };
}

/**
 * Stores reports; one already stored under the same idempotency key is
 * left as it is. Returns how many rows were new.
 */
export async function insertReports(
  tx: Queryable,
  reports: readonly NewReport[],
): Promise<number> {
  let inserted = 0;
  for (const report of reports) {
    const rows = await tx.query(
      `INSERT INTO "EInvoiceReport" (id, "companyId", "einvoiceId",
         direction, kind, status, deadline, payload, "idempotencyKey",
         "integrationAccountId")
       VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10)
       ON CONFLICT ("companyId", "idempotencyKey") DO NOTHING
       RETURNING id`,
      [
        report.id,
        report.companyId,
        report.einvoiceId,
        report.direction,
        report.kind,
        statusFor(report.reportedBy),
        report.deadline,
        JSON.stringify(report.payload ?? {}),
        report.idempotencyKey,
        report.integrationAccountId,
      ],
    );
    inserted += rows.length;
  }
  return inserted;
}

function statusFor(reportedBy: TaxReporting): ReportStatus {
  return reportedBy === 'INTERMEDIARY' ? 'INTERMEDIARY' : 'PENDING';
}

/**
 * What an e-invoice asks to be paid (its PayableAmount, `null` when the
 * document did not say) and the payments registered for it so far,
 * except the one under `exceptKey` (registering it again is a repeat).
 * The e-invoice row is locked so two payments are checked one after
 * the other.
 */
export async function paymentBalance(
  tx: Queryable,
  einvoiceId: string,
  exceptKey: string,
): Promise<{ payable: string | null; currency: string; paid: string }> {
  const invoice = await tx.query<{ payable: string | null; currency: string }>(
    `SELECT "totalAmount"::text AS payable, currency FROM "EInvoice"
      WHERE id = $1 FOR UPDATE`,
    [einvoiceId],
  );
  const paid = await tx.query<{ paid: string }>(
    `SELECT COALESCE(sum((payload->>'amount')::numeric), 0)::text AS paid
       FROM "EInvoiceReport"
      WHERE "einvoiceId" = $1 AND kind = 'PAYMENT'
        AND "idempotencyKey" <> $2`,
    [einvoiceId, exceptKey],
  );
  return {
    payable: invoice[0]?.payable ?? null,
    currency: invoice[0]?.currency ?? '',
    paid: paid[0]?.paid ?? '0',
  };
}

/** A report by its idempotency key (the scope's company). */
export async function findReportByKey(
  tx: Queryable,
  idempotencyKey: string,
): Promise<ReportRow | undefined> {
  const rows = await tx.query<ReportRow>(
    `SELECT ${COLUMNS} FROM "EInvoiceReport" r
       JOIN "EInvoice" e ON e."companyId" = r."companyId"
        AND e.id = r."einvoiceId"
      WHERE r."idempotencyKey" = $1`,
    [idempotencyKey],
  );
  return rows[0];
}

/** Reports by company and deadline; only those still owed if asked. */
export async function listReports(
  tx: Queryable,
  filter: { openOnly: boolean; companyId?: string },
): Promise<ReportRow[]> {
  return tx.query<ReportRow>(
    `SELECT ${COLUMNS} FROM "EInvoiceReport" r
       JOIN "EInvoice" e ON e."companyId" = r."companyId"
        AND e.id = r."einvoiceId"
      WHERE ($1::boolean IS FALSE OR r.status = ANY($2::text[]))
        AND ($3::text IS NULL OR r."companyId" = $3)
      ORDER BY r."companyId", r.deadline, e."createdAt", r."createdAt", r.id`,
    [filter.openOnly, OWED, filter.companyId ?? null],
  );
}

/** Counts of reports by status for the scope's company. */
export async function countByStatus(
  tx: Queryable,
  companyId: string,
): Promise<Record<ReportStatus, number>> {
  const rows = await tx.query<{ status: ReportStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM "EInvoiceReport"
      WHERE "companyId" = $1 GROUP BY status`,
    [companyId],
  );
  const counts: Record<ReportStatus, number> = {
    PENDING: 0,
    PROCESSING: 0,
    REPORTED: 0,
    FAILED: 0,
    DEAD: 0,
    INTERMEDIARY: 0,
  };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Claims up to `limit` reports of one kind and direction for a send,
 * earliest deadline first: PENDING and FAILED ones, and PROCESSING ones
 * whose lease ran out (their sender crashed or hung; sent again, an
 * S008 answer marks them REPORTED). A payment or rejection waits until
 * its e-invoice is reported (by the platform or the intermediary): the
 * service would answer S009 before. Rows another sender holds are
 * skipped, never waited for.
 */
export async function claimDue(
  tx: Queryable,
  claim: {
    companyId: string;
    kind: ReportKind;
    direction: ReportDirection;
    limit: number;
    leaseSeconds: number;
    /** Reports this run already finished. */
    exceptIds?: readonly string[];
  },
): Promise<ClaimedReport[]> {
  const claimed = await tx.query<{ id: string; previous: ReportStatus }>(
    `WITH due AS (
       SELECT d.id, d.status FROM "EInvoiceReport" d
         JOIN "EInvoice" e ON e."companyId" = d."companyId"
          AND e.id = d."einvoiceId"
        WHERE d."companyId" = $1 AND d.kind = $2 AND d.direction = $3
          AND (d.status IN ('PENDING', 'FAILED')
               OR (d.status = 'PROCESSING' AND d."leaseUntil" < now()))
          AND NOT (d.id = ANY($6::text[]))
          AND (kind = 'EINVOICE' OR EXISTS (
            SELECT 1 FROM "EInvoiceReport" x
             WHERE x."companyId" = d."companyId"
               AND x."einvoiceId" = d."einvoiceId" AND x.kind = 'EINVOICE'
               AND x.status IN ('REPORTED', 'INTERMEDIARY')))
        ORDER BY d.deadline, e."createdAt", d."createdAt", d.id
        LIMIT $4
        FOR UPDATE OF d SKIP LOCKED)
     UPDATE "EInvoiceReport" r
        SET status = 'PROCESSING',
            "leaseUntil" = now() + make_interval(secs => $5),
            "updatedAt" = now()
       FROM due WHERE r.id = due.id
     RETURNING r.id, due.status AS previous`,
    [
      claim.companyId,
      claim.kind,
      claim.direction,
      claim.limit,
      claim.leaseSeconds,
      [...(claim.exceptIds ?? [])],
    ],
  );
  if (claimed.length === 0) return [];
  const previous = new Map(claimed.map((c) => [c.id, c.previous]));
  const rows = await tx.query<ReportRow>(
    `SELECT ${COLUMNS} FROM "EInvoiceReport" r
       JOIN "EInvoice" e ON e."companyId" = r."companyId"
        AND e.id = r."einvoiceId"
      WHERE r.id = ANY($1::text[])
      ORDER BY r.deadline, e."createdAt", r."createdAt", r.id`,
    [[...previous.keys()]],
  );
  return rows.map((row) => ({
    ...row,
    previous: previous.get(row.id) ?? 'PENDING',
  }));
}

/** Gives claimed reports back untouched (they were not sent). */
export async function releaseClaims(
  tx: Queryable,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE "EInvoiceReport"
        SET status = 'PENDING', "leaseUntil" = NULL, "updatedAt" = now()
      WHERE id = ANY($1::text[]) AND status = 'PROCESSING'`,
    [[...ids]],
  );
}

/** The outcome of one send for one report. */
export interface ReportOutcome {
  id: string;
  status: 'REPORTED' | 'FAILED' | 'DEAD' | 'PENDING';
  /** Whether the send counts as an attempt of this report. */
  attempted: boolean;
  alreadyRecorded: boolean;
  messageId: string | null;
  requestXml: string | null;
  responseXml: string | null;
  lastError: Record<string, unknown> | null;
}

/** Records outcomes; a REPORTED row keeps its first `reportedAt`. */
export async function recordOutcomes(
  tx: Queryable,
  outcomes: readonly ReportOutcome[],
): Promise<void> {
  for (const o of outcomes) {
    await tx.query(
      `UPDATE "EInvoiceReport"
          SET status = $2, attempts = attempts + $3,
              "alreadyRecorded" = "alreadyRecorded" OR $4,
              "messageId" = COALESCE($5, "messageId"),
              "requestXml" = COALESCE($6, "requestXml"),
              "responseXml" = COALESCE($7, "responseXml"),
              "lastError" = $8,
              "reportedAt" = CASE WHEN $2 = 'REPORTED'
                THEN COALESCE("reportedAt", now()) END,
              "leaseUntil" = NULL, "updatedAt" = now()
        WHERE id = $1 AND status <> 'REPORTED'`,
      [
        o.id,
        o.status,
        o.attempted ? 1 : 0,
        o.alreadyRecorded,
        o.messageId,
        o.requestXml,
        o.responseXml,
        o.lastError === null ? null : JSON.stringify(o.lastError),
      ],
    );
  }
}

/** FAILED reports out of retries become DEAD (the worker's last try). */
export async function markDead(
  tx: Queryable,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE "EInvoiceReport" SET status = 'DEAD', "updatedAt" = now()
      WHERE id = ANY($1::text[]) AND status = 'FAILED'`,
    [[...ids]],
  );
}

/** Companies with reports a send could claim now (operator scope). */
export async function companiesWithDueReports(
  tx: Queryable,
): Promise<string[]> {
  const rows = await tx.query<{ companyId: string }>(
    `SELECT DISTINCT "companyId" FROM "EInvoiceReport"
      WHERE status IN ('PENDING', 'FAILED')
         OR (status = 'PROCESSING' AND "leaseUntil" < now())
      ORDER BY "companyId"`,
  );
  return rows.map((row) => row.companyId);
}
