import { operator, type Database } from '../db/database.js';

/**
 * The spec's "Recent V1 vs V2 path usage" query, verbatim from
 * spec/phase5-rollout-checklist.md (it runs on our schema unchanged).
 */
export const SPEC_PATH_USAGE_SQL = `SELECT
    DATE_TRUNC('hour', "createdAt") as hour,
    COUNT(*) FILTER (WHERE "integrationAccountId" IS NOT NULL) as v2_path,
    COUNT(*) FILTER (WHERE "integrationAccountId" IS NULL) as v1_path
FROM "EInvoice"
WHERE "createdAt" > NOW() - INTERVAL '24 hours'
GROUP BY 1
ORDER BY 1 DESC;`;

export interface PathUsageRow {
  hour: Date;
  v2_path: number;
  v1_path: number;
}

/** Runs the spec's query across all companies (operator scope). */
export async function specPathUsage(db: Database): Promise<PathUsageRow[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ hour: Date; v2_path: string; v1_path: string }>(
      SPEC_PATH_USAGE_SQL,
    ),
  );
  return rows.map((r) => ({
    hour: new Date(r.hour),
    v2_path: Number(r.v2_path),
    v1_path: Number(r.v1_path),
  }));
}

export interface OperationSummaryRow {
  operation: string;
  path: string | null;
  outcome: string;
  wouldBlock: boolean;
  fallback: boolean;
  errorName: string | null;
  count: number;
}

/** Operation events by path and outcome, over all time. */
export async function operationSummary(
  db: Database,
): Promise<OperationSummaryRow[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<OperationSummaryRow & { count: string }>(
      `SELECT operation, path, outcome, "wouldBlock", fallback, "errorName",
              count(*) AS count
         FROM "OperationEvent"
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 2 NULLS LAST, 3, 6 NULLS FIRST`,
    ),
  );
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}
