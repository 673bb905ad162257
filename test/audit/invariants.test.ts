import { beforeEach, describe, expect, it } from 'vitest';
import { runInvariants } from '../../src/audit/audit.js';
import {
  formatInvariantsReport,
  INVARIANTS_SATISFIED,
} from '../../src/audit/format.js';
import { insertCompany } from '../support/builders.js';
import {
  insertEInvoice,
  insertFiscalRequest,
  insertReadyCompany,
  resetAuditTables,
} from '../support/audit-builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { firstSamples, notReadyIds } from './helpers.js';

describeEachDatabase('tenantgate invariants', ({ db }) => {
  beforeEach(async () => {
    await resetAuditTables(db());
    await insertReadyCompany(db());
  });

  function invariants() {
    return runInvariants(db(), { accountEnvironment: 'TEST' });
  }

  describe('spec: "Expected output before enforcement"', () => {
    it('prints exactly the ✅ line on a clean database', async () => {
      const report = await invariants();

      expect(report.ready).toBe(true);
      expect(formatInvariantsReport(report)).toBe(
        '✅ All database invariants satisfied.',
      );
    });

    it('runs only the invariants, not the readiness checks', async () => {
      await insertCompany(db(), { fiscalizationEnabled: true });

      const report = await invariants();

      expect(report.checks.every((c) => c.kind === 'invariant')).toBe(true);
      expect(report.checks.map((c) => c.id)).toEqual([
        'einvoice.issued_without_account',
        'fiscal.success_without_account',
        'row.account_company_mismatch',
        'row.account_wrong_kind',
        'row.account_missing',
        'account.active_without_secret',
      ]);
      expect(formatInvariantsReport(report)).toBe(INVARIANTS_SATISFIED);
    });
  });

  describe('a violated invariant', () => {
    it('is printed with its count and sample ids, and the run fails', async () => {
      const { id: companyId } = await insertCompany(db());
      const invoices = [
        await insertEInvoice(db(), { companyId, status: 'DELIVERED' }),
        await insertEInvoice(db(), { companyId, status: 'ARCHIVED' }),
      ];
      const request = await insertFiscalRequest(db(), { companyId });

      const report = await invariants();
      const text = formatInvariantsReport(report);

      expect(report.ready).toBe(false);
      expect(notReadyIds(report)).toEqual([
        'einvoice.issued_without_account',
        'fiscal.success_without_account',
      ]);
      const [i1, i2] = firstSamples(invoices.map((i) => i.id));
      expect(text).toBe(
        [
          'Database invariants violated: 2 of 6.',
          '',
          'einvoice.issued_without_account: 2',
          '  No SENT/DELIVERED EInvoices without integrationAccountId',
          `  samples: ${i1}, ${i2}`,
          '',
          'fiscal.success_without_account: 1',
          '  No SUCCESS FiscalRequests without integrationAccountId',
          `  samples: ${request.id}`,
        ].join('\n'),
      );
    });
  });
});
