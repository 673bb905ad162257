import type {
  AuditReport,
  CheckId,
  CheckResult,
} from '../../src/audit/report.js';

/** The ids of the checks that are NOT READY, in report order. */
export function notReadyIds(report: AuditReport): CheckId[] {
  return report.checks.filter((c) => c.status === 'NOT_READY').map((c) => c.id);
}

/** One check of a report; fails the test when it is absent. */
export function checkOf(report: AuditReport, id: CheckId): CheckResult {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`check ${id} not in the report`);
  return found;
}

/** The first five ids in the order the audit samples them. */
export function firstSamples(ids: string[]): string[] {
  return [...ids].sort(byCodePoint).slice(0, 5);
}

/** Ids are ASCII; the databases' default collation sorts them the same. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
