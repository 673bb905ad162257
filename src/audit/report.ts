/**
 * The audit report: one object that the CLI, the scripts and the API
 * print the same way (STYLE.md: return a report).
 */

/**
 * `readiness`: a prerequisite of the rollout (DESIGN.md, readiness).
 * `invariant`: a row-level fact that must always hold; enforcement turns
 * these into database constraints once the audit is clean.
 */
export type CheckKind = 'readiness' | 'invariant';

/** `NOT_READY` is printed "NOT READY". */
export type CheckStatus = 'READY' | 'NOT_READY';

/** The stable ids of every audit check. */
export type CheckId =
  | 'einvoice.issued_without_account'
  | 'fiscal.success_without_account'
  | 'company.fiscalization_without_cis_account'
  | 'company.einvoicing_without_einvoice_account'
  | 'row.account_company_mismatch'
  | 'row.account_wrong_kind'
  | 'row.account_missing'
  | 'account.active_without_secret'
  | 'account.active_secret_unreadable';

/** The outcome of one check. */
export interface CheckResult {
  id: CheckId;
  /** The target state in the spec's words ("No SENT/DELIVERED ..."). */
  title: string;
  kind: CheckKind;
  status: CheckStatus;
  /** How many rows break the check. */
  count: number;
  /** Up to five ids of offending rows, in id order. */
  samples: string[];
  /** The largest count that is still READY: always 0 for these checks. */
  threshold: 0;
}

/** Every check of one run, and whether all of them are READY. */
export interface AuditReport {
  /** ISO 8601 time the run started. */
  generatedAt: string;
  database: 'pglite' | 'postgres';
  checks: CheckResult[];
  /** True when every check is READY. */
  ready: boolean;
}

/** How many sample ids a check keeps. */
export const SAMPLE_LIMIT = 5;

/** Builds a check result from its count: READY when count ≤ threshold. */
export function checkResult(
  check: { id: CheckId; title: string; kind: CheckKind },
  count: number,
  samples: string[],
): CheckResult {
  const threshold = 0;
  return {
    id: check.id,
    title: check.title,
    kind: check.kind,
    status: count > threshold ? 'NOT_READY' : 'READY',
    count,
    samples: samples.slice(0, SAMPLE_LIMIT),
    threshold,
  };
}

/** Assembles a report; `ready` only when every check is READY. */
export function auditReport(
  database: AuditReport['database'],
  generatedAt: Date,
  checks: CheckResult[],
): AuditReport {
  return {
    generatedAt: generatedAt.toISOString(),
    database,
    checks,
    ready: checks.every((c) => c.status === 'READY'),
  };
}

/** The process exit code for a report: 0 only when it is ready. */
export function exitCodeFor(report: AuditReport): 0 | 1 {
  return report.ready ? 0 : 1;
}
