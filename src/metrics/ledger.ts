import { operator, type Database } from '../db/database.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';

const HOUR_MS = 3_600_000;

/** A half-open time window [since, until) in one deployment environment. */
export interface MetricsWindow {
  environment: DeploymentEnvironment;
  since: Date;
  until: Date;
}

/** Operation events grouped by hour and by every dimension metrics use. */
export interface LedgerRow {
  hour: Date;
  operation: string;
  path: 'V1' | 'V2' | null;
  outcome: 'SUCCESS' | 'FAILURE' | 'BLOCKED';
  wouldBlock: boolean;
  fallback: boolean;
  errorName: string | null;
  origin: 'user' | 'worker' | 'probe';
  count: number;
}

/** Which part of the window came from rollups. */
export interface LedgerRead {
  rows: LedgerRow[];
  /** Hours of the window with events, served from "OperationEventHourly". */
  rolledUpHours: number;
  /** Hours of the window with events, read from the raw events. */
  rawHours: number;
}

/** Columns both sources group by, '' standing for null. */
const DIMENSIONS = `operation, path, outcome, "wouldBlock", fallback,
  "errorName", origin`;

/**
 * Reads the window from the ledger: whole hours already rolled up from
 * "OperationEventHourly" (when `useRollups`, the default), everything
 * else (the partial hours at either edge, hours not rolled up yet) from
 * the raw events. Both give the same numbers.
 */
export async function readLedger(
  db: Database,
  window: MetricsWindow,
  options: { useRollups?: boolean } = {},
): Promise<LedgerRead> {
  return db.transaction(operator, async (tx) => {
    const state = await tx.query<{ rolledUpTo: Date | string }>(
      'SELECT "rolledUpTo" FROM "OperationEventRollupState"',
    );
    const rolledUpTo = state[0] ? new Date(state[0].rolledUpTo) : null;
    const [from, to] = rollupRange(window, rolledUpTo, options.useRollups);
    // An hour comes from one source only: the rollup range is whole
    // hours, the raw slices are the rest of the window.
    const rows = await tx.query<RawLedgerRow>(
      `SELECT hour, ${DIMENSIONS}, sum(count)::bigint AS count,
              bool_or(rolled) AS rolled FROM (
         SELECT date_trunc('hour', at, 'UTC') AS hour,
                operation, COALESCE(path, '') AS path, outcome,
                "wouldBlock", fallback, COALESCE("errorName", '')
                  AS "errorName", origin, count(*) AS count,
                false AS rolled
           FROM "OperationEvent"
          WHERE environment = $1
            AND ((at >= $2 AND at < $4) OR (at >= $5 AND at < $3))
          GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
         UNION ALL
         SELECT hour, ${DIMENSIONS}, count, true AS rolled
           FROM "OperationEventHourly"
          WHERE environment = $1 AND hour >= $4 AND hour < $5
       ) slices
       GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
       ORDER BY 1`,
      [window.environment, window.since, window.until, from, to],
    );
    return {
      rows: rows.map(toLedgerRow),
      rolledUpHours: hoursOf(rows.filter((r) => r.rolled)),
      rawHours: hoursOf(rows.filter((r) => !r.rolled)),
    };
  });
}

/**
 * The whole hours of the window that rollups cover: [from, to), empty
 * (from = to) when none do.
 */
function rollupRange(
  window: MetricsWindow,
  rolledUpTo: Date | null,
  useRollups = true,
): [Date, Date] {
  const from = new Date(Math.ceil(window.since.getTime() / HOUR_MS) * HOUR_MS);
  if (!useRollups || rolledUpTo === null) return [from, from];
  const untilHour = Math.floor(window.until.getTime() / HOUR_MS) * HOUR_MS;
  const to = new Date(Math.min(untilHour, rolledUpTo.getTime()));
  return to > from ? [from, to] : [from, from];
}

/** Distinct hours among the rows. */
function hoursOf(rows: readonly RawLedgerRow[]): number {
  return new Set(rows.map((r) => new Date(r.hour).getTime())).size;
}

interface RawLedgerRow {
  rolled: boolean;
  hour: Date | string;
  operation: string;
  path: string;
  outcome: LedgerRow['outcome'];
  wouldBlock: boolean;
  fallback: boolean;
  errorName: string;
  origin: LedgerRow['origin'];
  count: string | number;
}

function toLedgerRow(r: RawLedgerRow): LedgerRow {
  return {
    hour: new Date(r.hour),
    operation: r.operation,
    path: r.path === '' ? null : (r.path as 'V1' | 'V2'),
    outcome: r.outcome,
    wouldBlock: r.wouldBlock,
    fallback: r.fallback,
    errorName: r.errorName === '' ? null : r.errorName,
    origin: r.origin,
    count: Number(r.count),
  };
}
