import type { AuditReport, CheckResult } from './report.js';

/** The spec's expected output of the invariants check, verbatim. */
export const INVARIANTS_SATISFIED = '✅ All database invariants satisfied.';

const STATUS_WIDTH = 'NOT READY'.length;

/**
 * The audit as plain text: one line per check, then a summary line.
 *
 * ```
 * READY      einvoice.issued_without_account  0  No SENT/DELIVERED ...
 * NOT READY  row.account_wrong_kind           3  samples: a, b, c
 * ```
 */
export function formatAuditReport(report: AuditReport): string {
  const idWidth = Math.max(0, ...report.checks.map((c) => c.id.length));
  const countWidth = Math.max(
    1,
    ...report.checks.map((c) => String(c.count).length),
  );
  const lines = report.checks.map((check) =>
    [
      statusLabel(check).padEnd(STATUS_WIDTH),
      check.id.padEnd(idWidth),
      String(check.count).padStart(countWidth),
      check.status === 'READY' ? check.title : samplesText(check),
    ].join('  '),
  );
  lines.push('', summary(report));
  return lines.join('\n');
}

/**
 * The invariants report: exactly {@link INVARIANTS_SATISFIED} when every
 * invariant holds, otherwise a header and one block per violated
 * invariant with its count and sample ids.
 */
export function formatInvariantsReport(report: AuditReport): string {
  const violated = report.checks.filter((c) => c.status !== 'READY');
  if (violated.length === 0) return INVARIANTS_SATISFIED;

  const header =
    `Database invariants violated: ${violated.length} of ` +
    `${report.checks.length}.`;
  const blocks = violated.map((check) =>
    [
      `${check.id}: ${check.count}`,
      `  ${check.title}`,
      `  ${samplesText(check)}`,
    ].join('\n'),
  );
  return [header, ...blocks].join('\n\n');
}

function statusLabel(check: CheckResult): string {
  return check.status === 'READY' ? 'READY' : 'NOT READY';
}

function samplesText(check: CheckResult): string {
  return `samples: ${check.samples.join(', ')}`;
}

function summary(report: AuditReport): string {
  const total = report.checks.length;
  if (report.ready) return `READY: all ${total} checks pass.`;
  const failing = report.checks.filter((c) => c.status !== 'READY').length;
  return `NOT READY: ${failing} of ${total} checks fail.`;
}
