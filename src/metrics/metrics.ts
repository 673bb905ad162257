import type { Database } from '../db/database.js';
import { readLedger, type LedgerRow, type MetricsWindow } from './ledger.js';

/** The operations whose success rate is reported. */
export const RATE_OPERATIONS = [
  'EINVOICE_SEND',
  'FISCALIZATION',
  'EINVOICE_RECEIVE',
  'EINVOICE_REPORT',
] as const;

/**
 * A count out of a sample. `share` is null when the sample is empty:
 * no data is never reported as 0% or 100%.
 */
export interface Ratio {
  count: number;
  sampleSize: number;
  share: number | null;
}

export interface ErrorCount {
  errorName: string;
  count: number;
  sampleSize: number;
}

export interface SuccessRate {
  operation: string;
  successes: number;
  sampleSize: number;
  /** Null when there were no attempts ("no data"). */
  rate: number | null;
}

export interface PathHour {
  hour: Date;
  v1: number;
  v2: number;
  /** Refused before a path was chosen (blocked, not found). */
  none: number;
}

/**
 * The ledger's facts over one window. Probe operations are left out of
 * every number (they are not legitimate operations) and counted apart.
 */
export interface LedgerMetrics {
  window: MetricsWindow;
  /** Legitimate operations in the window. */
  sampleSize: number;
  probes: number;
  errorsByName: ErrorCount[];
  /** Failed or blocked operations. */
  failures: Ratio;
  successRates: SuccessRate[];
  pathByHour: PathHour[];
  /** V1 operations: legacy path usage. */
  legacyPath: Ratio;
  wouldBlock: Ratio;
  fallback: Ratio;
  integrationNotFound: Ratio;
  /** Hours of the window with events, served from hourly rollups. */
  rolledUpHours: number;
  /** Hours of the window with events, read from raw events. */
  rawHours: number;
}

/** Reads the window from the ledger and computes every metric. */
export async function ledgerMetrics(
  db: Database,
  window: MetricsWindow,
  options: { useRollups?: boolean } = {},
): Promise<LedgerMetrics> {
  const read = await readLedger(db, window, options);
  return {
    ...computeMetrics(window, read.rows),
    rolledUpHours: read.rolledUpHours,
    rawHours: read.rawHours,
  };
}

/** The metrics of grouped ledger rows (pure). */
export function computeMetrics(
  window: MetricsWindow,
  rows: readonly LedgerRow[],
): Omit<LedgerMetrics, 'rolledUpHours' | 'rawHours'> {
  const legit = rows.filter((r) => r.origin !== 'probe');
  const total = sum(legit);
  const ratio = (pick: (r: LedgerRow) => boolean) =>
    toRatio(sum(legit.filter(pick)), total);

  return {
    window,
    sampleSize: total,
    probes: sum(rows) - total,
    errorsByName: errorsByName(legit, total),
    failures: ratio((r) => r.outcome !== 'SUCCESS'),
    successRates: RATE_OPERATIONS.map((op) => successRate(legit, op)),
    pathByHour: pathByHour(legit),
    legacyPath: ratio((r) => r.path === 'V1'),
    wouldBlock: ratio((r) => r.wouldBlock),
    fallback: ratio((r) => r.fallback),
    integrationNotFound: ratio(
      (r) => r.errorName === 'IntegrationNotFoundError',
    ),
  };
}

function sum(rows: readonly LedgerRow[]): number {
  return rows.reduce((n, r) => n + r.count, 0);
}

function toRatio(count: number, sampleSize: number): Ratio {
  return {
    count,
    sampleSize,
    share: sampleSize === 0 ? null : count / sampleSize,
  };
}

function errorsByName(rows: readonly LedgerRow[], total: number) {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (r.errorName === null) continue;
    counts.set(r.errorName, (counts.get(r.errorName) ?? 0) + r.count);
  }
  return [...counts]
    .map(([errorName, count]) => ({ errorName, count, sampleSize: total }))
    .sort(
      (a, b) => b.count - a.count || a.errorName.localeCompare(b.errorName),
    );
}

function successRate(rows: readonly LedgerRow[], operation: string) {
  const attempts = rows.filter((r) => r.operation === operation);
  const sampleSize = sum(attempts);
  const successes = sum(attempts.filter((r) => r.outcome === 'SUCCESS'));
  return {
    operation,
    successes,
    sampleSize,
    rate: sampleSize === 0 ? null : successes / sampleSize,
  };
}

function pathByHour(rows: readonly LedgerRow[]): PathHour[] {
  const hours = new Map<number, PathHour>();
  for (const r of rows) {
    const key = r.hour.getTime();
    const h = hours.get(key) ?? { hour: r.hour, v1: 0, v2: 0, none: 0 };
    if (r.path === 'V1') h.v1 += r.count;
    else if (r.path === 'V2') h.v2 += r.count;
    else h.none += r.count;
    hours.set(key, h);
  }
  return [...hours.values()].sort(
    (a, b) => b.hour.getTime() - a.hour.getTime(),
  );
}
