import type {
  ReadinessCheck,
  ReadinessReport,
  ReadinessStatus,
} from './checks.js';

/** One box of the spec's prerequisites and the checks that tick it. */
export interface ChecklistLine {
  /** The spec's wording. */
  text: string;
  /** Whether a check belongs to this line. */
  matches: (check: ReadinessCheck) => boolean;
}

export interface ChecklistSection {
  heading: string;
  lines: ChecklistLine[];
}

const auditId = (id: string) => (c: ReadinessCheck) =>
  c.section === 'database' && c.id.endsWith(`.${id}`);

const flagLines = (env: string): ChecklistLine[] =>
  ['OUTBOUND', 'INBOUND', 'FISCAL'].map((suffix) => ({
    text: `FF_INTEGRATION_ACCOUNT_${suffix}=true (active for 7+ days)`,
    matches: (c) => c.id === `flags.${env}.FF_INTEGRATION_ACCOUNT_${suffix}`,
  }));

const metricLine = (text: string, key: string): ChecklistLine => ({
  text,
  matches: (c) => c.section === 'metrics' && c.id.endsWith(`.${key}`),
});

/** The spec's "Prerequisites", line by line, in its order. */
export const PREREQUISITES: readonly ChecklistSection[] = [
  {
    heading: 'Database State',
    lines: [
      {
        text: 'Run the audit - all checks return "READY"',
        matches: (c) => c.section === 'database',
      },
      {
        text: 'No SENT/DELIVERED EInvoices without integrationAccountId',
        matches: auditId('einvoice.issued_without_account'),
      },
      {
        text: 'No SUCCESS FiscalRequests without integrationAccountId',
        matches: auditId('fiscal.success_without_account'),
      },
      {
        text:
          'All companies with fiscalization enabled have active ' +
          'FISCALIZATION_CIS account',
        matches: auditId('company.fiscalization_without_cis_account'),
      },
      {
        text:
          'All companies with e-invoicing enabled have active ' +
          'EINVOICE_* account',
        matches: auditId('company.einvoicing_without_einvoice_account'),
      },
    ],
  },
  { heading: 'Feature Flags (Staging)', lines: flagLines('staging') },
  { heading: 'Feature Flags (Production)', lines: flagLines('production') },
  {
    heading: 'Error Metrics',
    lines: [
      metricLine(
        'TenantViolationError count = 0 in last 7 days',
        'tenant_violation',
      ),
      metricLine(
        'IntegrationNotFoundError count acceptable (< 1% of operations)',
        'integration_not_found',
      ),
      metricLine('E-invoice send success rate ≥ 99%', 'einvoice_send_success'),
      metricLine('Fiscalization success rate ≥ 99%', 'fiscalization_success'),
    ],
  },
];

/** A line's status: the worst of its checks; no checks is INCONCLUSIVE. */
export function lineStatus(checks: readonly ReadinessCheck[]): ReadinessStatus {
  if (checks.length === 0) return 'INCONCLUSIVE';
  if (checks.some((c) => c.status === 'NOT_READY')) return 'NOT_READY';
  if (checks.some((c) => c.status === 'INCONCLUSIVE')) return 'INCONCLUSIVE';
  return 'READY';
}

/** A filled-in line of the checklist. */
export interface FilledLine {
  text: string;
  status: ReadinessStatus;
  checks: ReadinessCheck[];
}

/** The prerequisites with each line's checks and status. */
export function fillPrerequisites(
  report: ReadinessReport,
): { heading: string; lines: FilledLine[] }[] {
  return PREREQUISITES.map((section) => ({
    heading: section.heading,
    lines: section.lines.map((line) => {
      const checks = report.checks.filter(line.matches);
      return { text: line.text, status: lineStatus(checks), checks };
    }),
  }));
}

/** `NOT_READY` is printed "NOT READY" (DESIGN.md glossary). */
export function statusLabel(status: ReadinessStatus): string {
  return status === 'NOT_READY' ? 'NOT READY' : status;
}

/** The readiness checklist as plain text, one line per check. */
export function formatReadiness(report: ReadinessReport): string {
  const out: string[] = [
    `Phase 5 readiness, ${report.generatedAt} ` +
      `(metrics over the last ${report.windowDays} days)`,
  ];
  for (const section of fillPrerequisites(report)) {
    out.push('', `== ${section.heading} ==`);
    for (const line of section.lines) {
      const box = line.status === 'READY' ? '[x]' : '[ ]';
      out.push(`${box} ${line.text}: ${statusLabel(line.status)}`);
      for (const c of line.checks) {
        out.push(
          `      ${statusLabel(c.status).padEnd(12)} ${c.id} ` +
            `${formatNumbers(c.numbers)} (${c.threshold})` +
            (c.samples.length > 0 ? ` samples: ${c.samples.join(', ')}` : ''),
        );
      }
    }
  }
  out.push(
    '',
    report.ready
      ? 'READY: every prerequisite holds.'
      : 'NOT READY: enforcement must not be enabled yet.',
  );
  return out.join('\n');
}

/** `key=value` pairs, shares as percentages. */
export function formatNumbers(numbers: ReadinessCheck['numbers']): string {
  return Object.entries(numbers)
    .map(([k, v]) => {
      if (v === null) return `${k}=no data`;
      if (typeof v === 'number' && /share|rate/i.test(k)) {
        return `${k}=${(v * 100).toFixed(2)}%`;
      }
      return `${k}=${v}`;
    })
    .join(' ');
}
