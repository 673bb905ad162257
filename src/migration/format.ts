import type { ProvisionReport } from './provision.js';

/** How many not-provisioned lines the text report lists. */
const LISTED_ITEMS = 50;

/** The provisioning report as text for operators. */
export function formatProvisionReport(report: ProvisionReport): string {
  const lines = [
    `Provisioning (${report.mode}, run ${report.runId}, ` +
      `legacy keys → ${report.accountEnvironment})`,
    report.resumedAfter
      ? `resumed after company ${report.resumedAfter}`
      : 'started from the first company',
    `companies scanned: ${report.companiesScanned}`,
    ...Object.entries(report.counts).map(([a, n]) => `  ${a}: ${n}`),
  ];
  const reasons = Object.entries(report.notProvisionedByReason);
  if (reasons.length > 0) {
    lines.push('not provisioned, by reason:');
    for (const [reason, n] of reasons) lines.push(`  ${reason}: ${n}`);
  }
  const plan = report.items.filter((i) => i.action !== 'already-provisioned');
  if (plan.length > 0) lines.push('per company:');
  for (const item of plan.slice(0, LISTED_ITEMS)) {
    lines.push(
      `  ${item.companyId} ${item.kind ?? '?'} ${item.environment} ` +
        `${item.action}${item.reason ? ` (${item.reason})` : ''}` +
        (item.integrationAccountId ? ` ${item.integrationAccountId}` : ''),
    );
  }
  if (plan.length > LISTED_ITEMS) {
    lines.push(`  … ${plan.length - LISTED_ITEMS} more (--json lists all)`);
  }
  return lines.join('\n');
}
