import { randomUUID } from 'node:crypto';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import type { BackfillTable } from './backfill.js';

/**
 * The tables whose wrong links are removed. An inbound cursor
 * ("ProviderSyncState") belongs to its account and cannot be without
 * one: a wrong one stays for the audit and the operator.
 */
const UNLINK_TABLES = ['EInvoice', 'FiscalRequest'] as const;

/** Why a link is provably wrong: stable codes. */
export type WrongLinkReason =
  'account-of-another-company' | 'account-wrong-kind';

/**
 * One row linked to an account that cannot have served it, with what
 * the link was: the evidence kept after the link is removed. A link to
 * another company's account may record a cross-tenant use by the prior
 * system, so it is reported in full before anything changes.
 */
export interface WrongLink {
  table: BackfillTable;
  id: string;
  companyId: string;
  integrationAccountId: string;
  accountCompanyId: string;
  accountKind: string;
  reason: WrongLinkReason;
}

export interface UnlinkReport {
  mode: 'dry-run' | 'apply';
  runId: string;
  /** Every provably wrong link found, by table and id. */
  links: WrongLink[];
  /** Links removed (apply), or removable (dry run). */
  unlinked: number;
  /** Found, then changed by someone else before the update: left. */
  skippedConcurrently: number;
  byReason: Partial<Record<WrongLinkReason, number>>;
  longestBatchMs: number;
}

export interface UnlinkOptions {
  /** Remove the links. Default false: a dry run that only reports. */
  apply?: boolean;
  /** Rows updated per transaction. Default 1000. */
  batchSize?: number;
}

/**
 * Finds rows the prior system linked to an account that cannot have
 * served them — another company's account, or a CIS account on an
 * e-invoice or inbound cursor (an e-invoice account on a fiscal
 * request) — and, with `apply`, removes those links (the row's
 * `integrationAccountId` becomes NULL, nothing else changes), so that
 * the backfill can link the account that did serve them, where that is
 * certain. An operator step: the report is the evidence of what the
 * links were.
 */
export async function unlinkWrongLinks(
  deps: { db: Database; logger: Logger },
  options: UnlinkOptions = {},
): Promise<UnlinkReport> {
  const apply = options.apply ?? false;
  const batchSize = options.batchSize ?? 1000;
  const report: UnlinkReport = {
    mode: apply ? 'apply' : 'dry-run',
    runId: `unlink_${randomUUID()}`,
    links: [],
    unlinked: 0,
    skippedConcurrently: 0,
    byReason: {},
    longestBatchMs: 0,
  };
  report.links = await deps.db.transaction(operator, (tx) => wrongLinks(tx));
  for (const link of report.links) {
    report.byReason[link.reason] = (report.byReason[link.reason] ?? 0) + 1;
  }
  if (!apply) {
    report.unlinked = report.links.length;
    return report;
  }

  for (let i = 0; i < report.links.length; i += batchSize) {
    const batch = report.links.slice(i, i + batchSize);
    const started = performance.now();
    const removed = await deps.db.transaction(operator, (tx) =>
      removeLinks(tx, batch),
    );
    report.longestBatchMs = Math.max(
      report.longestBatchMs,
      Math.round(performance.now() - started),
    );
    report.unlinked += removed;
    report.skippedConcurrently += batch.length - removed;
  }
  for (const link of report.links) {
    deps.logger.warn({
      event: 'migration.unlink.removed',
      runId: report.runId,
      table: link.table,
      rowId: link.id,
      companyId: link.companyId,
      integrationAccountId: link.integrationAccountId,
      accountCompanyId: link.accountCompanyId,
      reason: link.reason,
    });
  }
  return report;
}

const FISCAL_TABLE: BackfillTable = 'FiscalRequest';

async function wrongLinks(tx: Queryable): Promise<WrongLink[]> {
  const selects = UNLINK_TABLES.map(
    (table) => `
      SELECT '${table}' AS "table", r.id, r."companyId",
        r."integrationAccountId", a."companyId" AS "accountCompanyId",
        a.kind AS "accountKind",
        CASE WHEN a."companyId" <> r."companyId"
          THEN 'account-of-another-company' ELSE 'account-wrong-kind'
        END AS reason
      FROM "${table}" r
      JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
      WHERE a."companyId" <> r."companyId"
         OR (a.kind = 'FISCALIZATION_CIS') <> ${table === FISCAL_TABLE}`,
  );
  return tx.query<WrongLink>(`${selects.join(' UNION ALL ')} ORDER BY 1, 2`);
}

/** Removes the links that are still what the report found. */
async function removeLinks(
  tx: Queryable,
  links: readonly WrongLink[],
): Promise<number> {
  let removed = 0;
  for (const table of UNLINK_TABLES) {
    const mine = links.filter((l) => l.table === table);
    if (mine.length === 0) continue;
    const rows = await tx.query(
      `UPDATE "${table}" r SET "integrationAccountId" = NULL
       FROM unnest($1::text[], $2::text[]) AS w(id, account)
       WHERE r.id = w.id AND r."integrationAccountId" = w.account
       RETURNING r.id`,
      [mine.map((l) => l.id), mine.map((l) => l.integrationAccountId)],
    );
    removed += rows.length;
  }
  return removed;
}
