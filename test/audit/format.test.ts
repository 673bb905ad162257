import { describe, expect, it } from 'vitest';
import {
  formatAuditReport,
  formatInvariantsReport,
} from '../../src/audit/format.js';
import {
  auditReport,
  checkResult,
  type CheckResult,
} from '../../src/audit/report.js';

const AT = new Date('2026-01-05T08:00:00.000Z');

const issued = checkResult(
  {
    id: 'einvoice.issued_without_account',
    title: 'No SENT/DELIVERED EInvoices without integrationAccountId',
    kind: 'invariant',
  },
  0,
  [],
);

function wrongKind(count: number, samples: string[]): CheckResult {
  return checkResult(
    {
      id: 'row.account_wrong_kind',
      title: 'No rows linked to an IntegrationAccount of the wrong kind',
      kind: 'invariant',
    },
    count,
    samples,
  );
}

describe('the audit report as text', () => {
  it('prints a READY check with its count and title', () => {
    const text = formatAuditReport(auditReport('pglite', AT, [issued]));

    expect(text.split('\n')[0]).toBe(
      'READY      einvoice.issued_without_account  0  No SENT/DELIVERED EInvoices without integrationAccountId',
    );
  });

  it('prints a NOT READY check with its count and sample ids', () => {
    const report = auditReport('pglite', AT, [wrongKind(3, ['a', 'b', 'c'])]);

    expect(formatAuditReport(report)).toBe(
      [
        'NOT READY  row.account_wrong_kind  3  samples: a, b, c',
        '',
        'NOT READY: 1 of 1 checks fail.',
      ].join('\n'),
    );
  });

  it('aligns the columns across checks and ends with a summary', () => {
    const report = auditReport('postgres', AT, [issued, wrongKind(12, ['x'])]);

    expect(formatAuditReport(report).split('\n')).toEqual([
      'READY      einvoice.issued_without_account   0  No SENT/DELIVERED EInvoices without integrationAccountId',
      'NOT READY  row.account_wrong_kind           12  samples: x',
      '',
      'NOT READY: 1 of 2 checks fail.',
    ]);
  });

  it('says READY in the summary when every check is READY', () => {
    const text = formatAuditReport(auditReport('pglite', AT, [issued]));

    expect(text.split('\n').at(-1)).toBe('READY: all 1 checks pass.');
  });
});

describe('a check result', () => {
  it('is NOT_READY above the threshold of 0 and keeps five samples', () => {
    const result = wrongKind(7, ['1', '2', '3', '4', '5', '6', '7']);

    expect(result).toMatchObject({
      status: 'NOT_READY',
      threshold: 0,
      samples: ['1', '2', '3', '4', '5'],
    });
  });
});

describe('the invariants report as text', () => {
  it('is exactly the spec line when every invariant holds', () => {
    const report = auditReport('pglite', AT, [issued]);

    expect(formatInvariantsReport(report)).toBe(
      '✅ All database invariants satisfied.',
    );
  });
});
