import type { AdoptReport } from './adopt.js';
import type { HardenReport } from './harden.js';
import type { BackfillReport } from './backfill.js';
import type { EntitlementsReport } from './entitlements.js';
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
  const inactive = Object.entries(report.inactiveByReason);
  if (inactive.length > 0) {
    lines.push('accounts made inactive (never ACTIVE), by reason:');
    for (const [reason, n] of inactive) lines.push(`  ${reason}: ${n}`);
  }
  const unbacked = report.entitlementsWithoutAccount;
  const { fiscalization, einvoicing } = unbacked.byEntitlement;
  if (fiscalization + einvoicing > 0) {
    lines.push(
      `entitlements without an ACTIVE account: fiscalization ` +
        `${fiscalization}, e-invoicing ${einvoicing} ` +
        '(tenantgate entitlements suspend lists them)',
    );
    for (const [reason, n] of Object.entries(unbacked.byReason)) {
      lines.push(`  ${reason}: ${n}`);
    }
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

/** The backfill report as text for operators. */
export function formatBackfillReport(report: BackfillReport): string {
  const lines = [
    `Backfill (${report.mode}, run ${report.runId}, ` +
      `environment ${report.accountEnvironment})`,
  ];
  for (const [table, t] of Object.entries(report.tables)) {
    lines.push(
      `${table}: scanned ${t.scanned}, ` +
        `${report.mode === 'apply' ? 'linked' : 'linkable'} ${t.linked}, ` +
        `not served ${t.notServed}, ambiguous ${t.ambiguous}, ` +
        `changed meanwhile ${t.skippedConcurrently}, batches ${t.batches}` +
        (t.resumedAfter ? `, resumed after ${t.resumedAfter}` : ''),
    );
    for (const [reason, n] of Object.entries(t.ambiguousByReason)) {
      lines.push(`  ambiguous (${reason}): ${n}`);
    }
  }
  lines.push(
    `longest batch: ${report.longestBatchMs} ms; ` +
      `${report.rowsPerSecond} rows/s over ${report.elapsedMs} ms`,
  );
  if (report.analyzed.length > 0) {
    lines.push(
      `statistics refreshed (ANALYZE): ${report.analyzed.join(', ')} ` +
        `in ${report.analyzeMs} ms`,
    );
  }
  const listed = report.ambiguousRows.slice(0, LISTED_ITEMS);
  if (listed.length > 0) lines.push('ambiguous rows (left unlinked):');
  for (const row of listed) {
    lines.push(`  ${row.table} ${row.id} ${row.companyId} ${row.reason}`);
  }
  if (report.ambiguousRows.length > LISTED_ITEMS) {
    lines.push(
      `  … ${report.ambiguousRows.length - LISTED_ITEMS} more (--json)`,
    );
  }
  return lines.join('\n');
}

/** The hardening report as text: one line per constraint. */
export function formatHardenReport(report: HardenReport): string {
  const lines = report.constraints.map(
    (c) =>
      `${c.status.toUpperCase().padEnd(8)} ${c.table}.${c.name}` +
      (c.action !== 'none' ? ` (${c.action})` : '') +
      (c.why ? `\n         ${c.why}` : ''),
  );
  const rolledBack = report.constraints.every((c) => c.status === 'removed');
  if (rolledBack) lines.push('Hardening rolled back.');
  else if (report.complete) {
    lines.push('Every invariant is enforced by the database.');
  } else lines.push('Some invariants are not enforced by the database yet.');
  return lines.join('\n');
}

/** The guardrail's findings: one line per violation. */
export function formatGuardrailReport(report: {
  filesScanned: number;
  violations: { file: string; line: number; rule: string; snippet: string }[];
}): string {
  const lines = report.violations.map(
    (v) => `${v.file}:${v.line} ${v.rule}: ${v.snippet}`,
  );
  lines.push(
    `${report.filesScanned} file(s) scanned, ` +
      `${report.violations.length} read(s) of legacy credentials ` +
      'outside the legacy adapters',
  );
  return lines.join('\n');
}

/** The adopt report as text. */
export function formatAdoptReport(report: AdoptReport): string {
  if (report.outcome !== 'adopted') {
    return (
      `Nothing to adopt (${report.outcome}); migrations applied: ` +
      `${report.migrationsApplied.join(', ') || 'none'}`
    );
  }
  const lines = [
    `tables created: ${report.tablesCreated.join(', ') || 'none'}`,
    `columns added: ${report.columnsAdded.length}`,
    'constraints:',
    ...report.constraints.map(
      (c) =>
        `  ${c.state.padEnd(15)} ${c.table}.${c.name}` +
        (c.why ? ` (${c.why})` : ''),
    ),
    `migrations recorded or applied: ${report.migrationsApplied.join(', ')}`,
    ...report.rows.map(
      (r) =>
        `  ${r.table}: ${r.before.count} rows, digest ` +
        (r.before.digest === r.after.digest ? 'unchanged' : 'CHANGED'),
    ),
    report.rowsUnchanged
      ? 'No existing row changed.'
      : 'Some existing rows changed: see the digests.',
  ];
  return lines.join('\n');
}

/** The entitlements report as text for operators. */
export function formatEntitlementsReport(report: EntitlementsReport): string {
  const { fiscalization, einvoicing } = report.byEntitlement;
  const lines = [
    `Entitlements without an ACTIVE account (${report.mode}, run ` +
      `${report.runId}, environment ${report.accountEnvironment})`,
    `fiscalization ${fiscalization}, e-invoicing ${einvoicing}; ` +
      (report.mode === 'apply'
        ? `switched off ${report.suspended}, changed meanwhile ` +
          `${report.changedMeanwhile}`
        : `--apply switches ${report.suspended} off`),
  ];
  for (const [reason, n] of Object.entries(report.byReason)) {
    lines.push(`  ${reason}: ${n}`);
  }
  for (const e of report.entitlements.slice(0, LISTED_ITEMS)) {
    lines.push(`  ${e.companyId} ${e.entitlement} (${e.reason})`);
  }
  if (report.entitlements.length > LISTED_ITEMS) {
    lines.push(
      `  … ${report.entitlements.length - LISTED_ITEMS} more ` +
        '(--json lists all)',
    );
  }
  return lines.join('\n');
}
