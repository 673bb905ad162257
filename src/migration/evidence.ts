import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditReport } from '../audit/report.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import { legacyCredentialCounts } from './legacy-credentials.js';

/** Rows of one table by status, linked to an account or not. */
export interface StatusCount {
  status: string;
  linked: number;
  unlinked: number;
}

/** A snapshot of the migration's state for the rollout's evidence file. */
export interface MigrationEvidence {
  /** `before`, `after`, or any label the operator chose. */
  label: string;
  generatedAt: string;
  database: 'pglite' | 'postgres';
  companies: {
    total: number;
    eInvoicingEnabled: number;
    fiscalizationEnabled: number;
    withLegacyKey: number;
    withLegacyCertificate: number;
    withActiveAccount: number;
  };
  einvoices: StatusCount[];
  fiscalRequests: StatusCount[];
  accounts: {
    kind: string;
    environment: string;
    status: string;
    count: number;
    withSecret: number;
    provisioned: number;
  }[];
  /** Companies with the most unlinked served rows (top 20). */
  byCompany: { companyId: string; unlinkedServed: number }[];
  audit: {
    ready: boolean;
    checks: { id: string; status: string; count: number }[];
  } | null;
}

/**
 * Counts by status, by kind and by company, read in one operator
 * transaction. Pass the audit report of the same moment to include it.
 */
export async function collectEvidence(
  db: Database,
  label: string,
  audit: AuditReport | null = null,
): Promise<MigrationEvidence> {
  return db.transaction(operator, async (tx) => ({
    label,
    generatedAt: new Date().toISOString(),
    database: db.kind,
    companies: await companyCounts(tx),
    einvoices: await statusCounts(tx, 'EInvoice'),
    fiscalRequests: await statusCounts(tx, 'FiscalRequest'),
    accounts: await accountCounts(tx),
    byCompany: await unlinkedByCompany(tx),
    audit: audit && {
      ready: audit.ready,
      checks: audit.checks.map((c) => ({
        id: c.id,
        status: c.status,
        count: c.count,
      })),
    },
  }));
}

async function companyCounts(
  tx: Queryable,
): Promise<MigrationEvidence['companies']> {
  const rows = await tx.query<{
    total: number;
    einv: number;
    fisc: number;
    active: number;
  }>(
    `SELECT count(*)::int AS total,
       count(*) FILTER (WHERE "eInvoicingEnabled")::int AS einv,
       count(*) FILTER (WHERE "fiscalizationEnabled")::int AS fisc,
       count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM "IntegrationAccount" a
         WHERE a."companyId" = c.id AND a.status = 'ACTIVE'))::int AS active
     FROM "Company" c`,
  );
  const r = rows[0] ?? { total: 0, einv: 0, fisc: 0, active: 0 };
  return {
    total: r.total,
    eInvoicingEnabled: r.einv,
    fiscalizationEnabled: r.fisc,
    ...(await legacyCredentialCounts(tx)),
    withActiveAccount: r.active,
  };
}

async function statusCounts(
  tx: Queryable,
  table: 'EInvoice' | 'FiscalRequest',
): Promise<StatusCount[]> {
  return tx.query<StatusCount>(
    `SELECT status,
       count("integrationAccountId")::int AS linked,
       (count(*) - count("integrationAccountId"))::int AS unlinked
     FROM "${table}" GROUP BY status ORDER BY status`,
  );
}

async function accountCounts(tx: Queryable) {
  return tx.query<MigrationEvidence['accounts'][number]>(
    `SELECT a.kind, a.environment, a.status, count(*)::int AS count,
       count(a."secretEnvelope")::int AS "withSecret",
       count(p."integrationAccountId")::int AS provisioned
     FROM "IntegrationAccount" a
     LEFT JOIN "AccountProvenance" p ON p."integrationAccountId" = a.id
     GROUP BY a.kind, a.environment, a.status
     ORDER BY a.kind, a.environment, a.status`,
  );
}

async function unlinkedByCompany(tx: Queryable) {
  return tx.query<{ companyId: string; unlinkedServed: number }>(
    `SELECT "companyId", count(*)::int AS "unlinkedServed" FROM (
       SELECT "companyId" FROM "EInvoice"
       WHERE "integrationAccountId" IS NULL AND status IN ('SENT',
         'DELIVERED', 'ACCEPTED', 'REJECTED', 'ARCHIVED', 'SEND_UNKNOWN')
       UNION ALL
       SELECT "companyId" FROM "FiscalRequest"
       WHERE "integrationAccountId" IS NULL AND status = 'SUCCESS') r
     GROUP BY "companyId"
     ORDER BY count(*) DESC, "companyId" LIMIT 20`,
  );
}

/** The evidence as Markdown for the rollout's evidence file. */
export function evidenceMarkdown(e: MigrationEvidence): string {
  const table = (head: string[], rows: (string | number)[][]) =>
    [
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  const c = e.companies;
  const parts = [
    `# Migration evidence: ${e.label}`,
    `Generated ${e.generatedAt} on ${e.database}.`,
    '## Companies',
    table(
      [
        'total',
        'e-invoicing',
        'fiscalization',
        'legacy key',
        'legacy certificate',
        'active account',
      ],
      [
        [
          c.total,
          c.eInvoicingEnabled,
          c.fiscalizationEnabled,
          c.withLegacyKey,
          c.withLegacyCertificate,
          c.withActiveAccount,
        ],
      ],
    ),
    '## E-invoices by status',
    table(
      ['status', 'linked', 'unlinked'],
      e.einvoices.map((s) => [s.status, s.linked, s.unlinked]),
    ),
    '## Fiscal requests by status',
    table(
      ['status', 'linked', 'unlinked'],
      e.fiscalRequests.map((s) => [s.status, s.linked, s.unlinked]),
    ),
    '## Integration accounts by kind',
    table(
      ['kind', 'environment', 'status', 'count', 'with secret', 'provisioned'],
      e.accounts.map((a) => [
        a.kind,
        a.environment,
        a.status,
        a.count,
        a.withSecret,
        a.provisioned,
      ]),
    ),
    '## Companies with the most unlinked served rows',
    table(
      ['company', 'unlinked served rows'],
      e.byCompany.map((b) => [b.companyId, b.unlinkedServed]),
    ),
  ];
  if (e.audit) {
    parts.push(
      `## Audit: ${e.audit.ready ? 'READY' : 'NOT READY'}`,
      table(
        ['check', 'status', 'count'],
        e.audit.checks.map((x) => [x.id, x.status.replace('_', ' '), x.count]),
      ),
    );
  }
  return parts.join('\n\n') + '\n';
}

/**
 * Writes `migration-evidence-<label>.json` and `.md` into `dir`.
 * Returns the two paths.
 */
export function writeEvidence(
  dir: string,
  evidence: MigrationEvidence,
): { json: string; markdown: string } {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(evidence.label)) {
    throw invalidInput(
      'label',
      'file-name',
      'label: 1 to 40 letters, digits, "-" or "_"',
    );
  }
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `migration-evidence-${evidence.label}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  writeFileSync(paths.json, JSON.stringify(evidence, null, 2) + '\n');
  writeFileSync(paths.markdown, evidenceMarkdown(evidence));
  return paths;
}
