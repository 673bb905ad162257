import { beforeEach, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/audit/audit.js';
import { exitCodeFor } from '../../src/audit/report.js';
import type { ProbedAccount } from '../../src/audit/secret-check.js';
import { insertCompany } from '../support/builders.js';
import {
  BROKEN_ENVELOPE,
  insertAccount,
  insertActiveAccountWithoutSecret,
  insertEInvoice,
  insertFiscalRequest,
  insertLegacyInboxCursor,
  insertProviderSyncState,
  insertReadyCompany,
  resetAuditTables,
  testSecretProbe,
} from '../support/audit-builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { checkOf, firstSamples, notReadyIds } from './helpers.js';

describeEachDatabase('tenantgate audit', ({ db, backend }) => {
  beforeEach(async () => {
    await resetAuditTables(db());
    await insertReadyCompany(db());
  });

  function audit(accountEnvironment: 'TEST' | 'PROD' = 'TEST') {
    return runAudit(db(), { accountEnvironment, secretProbe: testSecretProbe });
  }

  describe('a clean database', () => {
    it('is READY on every check, with exit code 0', async () => {
      await insertReadyCompany(db());

      const report = await audit();

      expect(notReadyIds(report)).toEqual([]);
      expect(report.ready).toBe(true);
      expect(exitCodeFor(report)).toBe(0);
      for (const check of report.checks) {
        expect(check).toMatchObject({ count: 0, samples: [], threshold: 0 });
      }
    });

    it('reports every check id once, with its kind and the database', async () => {
      const at = new Date('2026-01-05T08:00:00.000Z');

      const report = await runAudit(db(), {
        accountEnvironment: 'TEST',
        secretProbe: testSecretProbe,
        now: () => at,
      });

      expect(report.generatedAt).toBe('2026-01-05T08:00:00.000Z');
      expect(report.database).toBe(backend);
      expect(report.checks.map((c) => [c.id, c.kind])).toEqual([
        ['einvoice.issued_without_account', 'invariant'],
        ['fiscal.success_without_account', 'invariant'],
        ['company.fiscalization_without_cis_account', 'readiness'],
        ['company.einvoicing_without_einvoice_account', 'readiness'],
        ['row.account_company_mismatch', 'invariant'],
        ['row.account_wrong_kind', 'invariant'],
        ['row.account_missing', 'invariant'],
        ['account.active_without_secret', 'invariant'],
        ['account.active_secret_unreadable', 'readiness'],
      ]);
    });

    it('is READY when the database holds no company at all', async () => {
      await resetAuditTables(db());

      expect((await audit()).ready).toBe(true);
    });
  });

  describe('spec: no SENT/DELIVERED EInvoices without integrationAccountId', () => {
    it('counts SENT and every later status, and samples five ids', async () => {
      const { id: companyId } = await insertCompany(db());
      const issued = ['SENT', 'DELIVERED', 'ACCEPTED', 'REJECTED'];
      const ids: string[] = [];
      for (const status of [...issued, 'ARCHIVED', 'SENT']) {
        ids.push((await insertEInvoice(db(), { companyId, status })).id);
      }

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['einvoice.issued_without_account']);
      expect(checkOf(report, 'einvoice.issued_without_account')).toMatchObject({
        status: 'NOT_READY',
        count: 6,
        samples: firstSamples(ids),
      });
      expect(report.ready).toBe(false);
      expect(exitCodeFor(report)).toBe(1);
    });

    it('ignores e-invoices that were not issued yet or failed', async () => {
      const { id: companyId } = await insertCompany(db());
      const unissued = [
        'DRAFT',
        'PENDING_FISCALIZATION',
        'FISCALIZED',
        'SENDING',
        'SEND_UNKNOWN',
        'ERROR',
      ];
      for (const status of unissued) {
        await insertEInvoice(db(), { companyId, status });
      }

      expect((await audit()).ready).toBe(true);
    });
  });

  describe('spec: no SUCCESS FiscalRequests without integrationAccountId', () => {
    it('counts successful requests without an account', async () => {
      const { id: companyId } = await insertCompany(db());
      const a = await insertFiscalRequest(db(), { companyId });
      const b = await insertFiscalRequest(db(), { companyId });
      for (const status of ['QUEUED', 'PROCESSING', 'FAILED', 'DEAD']) {
        await insertFiscalRequest(db(), { companyId, status });
      }

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['fiscal.success_without_account']);
      expect(checkOf(report, 'fiscal.success_without_account')).toMatchObject({
        count: 2,
        samples: firstSamples([a.id, b.id]),
      });
    });
  });

  describe('spec: companies with fiscalization enabled have an active FISCALIZATION_CIS account', () => {
    it('counts companies with none, a disabled one or one in the other environment', async () => {
      const none = await insertCompany(db(), { fiscalizationEnabled: true });
      const disabled = await insertCompany(db(), {
        fiscalizationEnabled: true,
      });
      await insertAccount(db(), {
        companyId: disabled.id,
        kind: 'FISCALIZATION_CIS',
        status: 'DISABLED',
      });
      const prodOnly = await insertCompany(db(), {
        fiscalizationEnabled: true,
      });
      await insertAccount(db(), {
        companyId: prodOnly.id,
        kind: 'FISCALIZATION_CIS',
        environment: 'PROD',
      });
      const notEnabled = await insertCompany(db());

      const report = await audit();

      expect(notReadyIds(report)).toEqual([
        'company.fiscalization_without_cis_account',
      ]);
      const check = checkOf(
        report,
        'company.fiscalization_without_cis_account',
      );
      expect(check.count).toBe(3);
      expect(check.samples).toEqual(
        firstSamples([none.id, disabled.id, prodOnly.id]),
      );
      expect(check.samples).not.toContain(notEnabled.id);
    });

    it("looks in the deployment's account environment", async () => {
      const prodOnly = await insertCompany(db(), {
        fiscalizationEnabled: true,
      });
      await insertAccount(db(), {
        companyId: prodOnly.id,
        kind: 'FISCALIZATION_CIS',
        environment: 'PROD',
      });

      const report = await audit('PROD');

      const check = checkOf(
        report,
        'company.fiscalization_without_cis_account',
      );
      expect(check.count).toBe(1);
      expect(check.samples).not.toContain(prodOnly.id);
    });
  });

  describe('spec: companies with e-invoicing enabled have an active EINVOICE_* account', () => {
    it("requires the company's own intermediary when it has one", async () => {
      const otherKind = await insertCompany(db(), {
        eInvoicingEnabled: true,
        eInvoiceKind: 'EINVOICE_FINA',
      });
      await insertAccount(db(), {
        companyId: otherKind.id,
        kind: 'EINVOICE_EPOSLOVANJE',
      });
      const disabled = await insertCompany(db(), {
        eInvoicingEnabled: true,
        eInvoiceKind: 'EINVOICE_FINA',
      });
      await insertAccount(db(), {
        companyId: disabled.id,
        kind: 'EINVOICE_FINA',
        status: 'REVOKED',
      });

      const report = await audit();

      expect(notReadyIds(report)).toEqual([
        'company.einvoicing_without_einvoice_account',
      ]);
      expect(
        checkOf(report, 'company.einvoicing_without_einvoice_account'),
      ).toMatchObject({
        count: 2,
        samples: firstSamples([otherKind.id, disabled.id]),
      });
    });

    it('accepts any EINVOICE_* account when the company names no intermediary, but not a CIS one', async () => {
      const anyKind = await insertCompany(db(), { eInvoicingEnabled: true });
      await insertAccount(db(), {
        companyId: anyKind.id,
        kind: 'EINVOICE_MOJ_ERACUN',
      });
      const cisOnly = await insertCompany(db(), { eInvoicingEnabled: true });
      await insertAccount(db(), {
        companyId: cisOnly.id,
        kind: 'FISCALIZATION_CIS',
      });

      const report = await audit();

      expect(notReadyIds(report)).toEqual([
        'company.einvoicing_without_einvoice_account',
      ]);
      expect(
        checkOf(report, 'company.einvoicing_without_einvoice_account'),
      ).toMatchObject({ count: 1, samples: [cisOnly.id] });
    });
  });

  describe('tenant isolation: a row linked to another company’s account', () => {
    it('counts e-invoices, fiscal requests and cursors of an adopted database', async () => {
      const own = await insertReadyCompany(db());
      const other = await insertReadyCompany(db());
      const otherIe = await insertAccount(db(), {
        companyId: other.companyId,
        kind: 'EINVOICE_IE_RACUNI',
      });
      const legacy = { legacy: true };
      const companyId = own.companyId;
      const rows = [
        await insertEInvoice(
          db(),
          { companyId, integrationAccountId: other.fina.id },
          legacy,
        ),
        await insertFiscalRequest(
          db(),
          { companyId, integrationAccountId: other.cis.id },
          legacy,
        ),
        await insertProviderSyncState(
          db(),
          { companyId, integrationAccountId: otherIe.id },
          legacy,
        ),
      ];

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['row.account_company_mismatch']);
      expect(checkOf(report, 'row.account_company_mismatch')).toMatchObject({
        count: 3,
        samples: firstSamples(rows.map((r) => r.id)),
      });
    });

    it('cannot be created on a database with valid foreign keys', async () => {
      const own = await insertReadyCompany(db());
      const other = await insertReadyCompany(db());

      await expect(
        insertEInvoice(db(), {
          companyId: own.companyId,
          integrationAccountId: other.fina.id,
        }),
      ).rejects.toThrow(/foreign key/);
    });
  });

  describe('a row linked to an account of the wrong kind', () => {
    it('counts e-invoices and cursors on CIS accounts and fiscal requests on e-invoice accounts', async () => {
      const { companyId, cis, fina } = await insertReadyCompany(db());
      const rows = [
        await insertEInvoice(db(), { companyId, integrationAccountId: cis.id }),
        await insertFiscalRequest(db(), {
          companyId,
          integrationAccountId: fina.id,
        }),
        await insertProviderSyncState(db(), {
          companyId,
          integrationAccountId: cis.id,
        }),
      ];

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['row.account_wrong_kind']);
      expect(checkOf(report, 'row.account_wrong_kind')).toMatchObject({
        count: 3,
        samples: firstSamples(rows.map((r) => r.id)),
      });
    });
  });

  describe('a row linked to an account that does not exist', () => {
    it('counts rows of an adopted database whose account is gone', async () => {
      const { companyId } = await insertReadyCompany(db());
      const gone = 'acct_gone';
      const invoice = await insertEInvoice(
        db(),
        { companyId, integrationAccountId: gone },
        { legacy: true },
      );
      const request = await insertFiscalRequest(
        db(),
        { companyId, integrationAccountId: gone },
        { legacy: true },
      );

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['row.account_missing']);
      expect(checkOf(report, 'row.account_missing')).toMatchObject({
        count: 2,
        samples: firstSamples([invoice.id, request.id]),
      });
    });
  });

  describe('link checks answered in one pass', () => {
    it('counts a row in every check it breaks, and a legacy cursor in none', async () => {
      const own = await insertReadyCompany(db());
      const other = await insertReadyCompany(db());
      const companyId = own.companyId;
      const onOthersCis = await insertEInvoice(
        db(),
        { companyId, integrationAccountId: other.cis.id },
        { legacy: true },
      );
      const unlinked = await insertEInvoice(db(), {
        companyId,
        status: 'REJECTED',
      });
      await insertLegacyInboxCursor(db(), companyId);

      const report = await audit();

      expect(notReadyIds(report)).toEqual([
        'einvoice.issued_without_account',
        'row.account_company_mismatch',
        'row.account_wrong_kind',
      ]);
      expect(checkOf(report, 'einvoice.issued_without_account')).toMatchObject({
        count: 1,
        samples: [unlinked.id],
      });
      for (const id of [
        'row.account_company_mismatch',
        'row.account_wrong_kind',
      ] as const) {
        expect(checkOf(report, id)).toMatchObject({
          count: 1,
          samples: [onOthersCis.id],
        });
      }
    });
  });

  describe('an ACTIVE account without a secret', () => {
    it('is counted where the CHECK constraint is NOT VALID', async () => {
      const { id: companyId } = await insertCompany(db());
      const account = await insertActiveAccountWithoutSecret(db(), {
        companyId,
        kind: 'EINVOICE_FINA',
      });

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['account.active_without_secret']);
      expect(checkOf(report, 'account.active_without_secret')).toMatchObject({
        count: 1,
        samples: [account.id],
      });
    });
  });

  describe('an ACTIVE account whose secret does not open', () => {
    it('is counted; inactive accounts are not probed', async () => {
      const { id: companyId } = await insertCompany(db());
      const broken = await insertAccount(db(), {
        companyId,
        kind: 'EINVOICE_FINA',
        secretEnvelope: `${BROKEN_ENVELOPE}1`,
      });
      await insertAccount(db(), {
        companyId,
        kind: 'FISCALIZATION_CIS',
        status: 'EXPIRED',
        secretEnvelope: `${BROKEN_ENVELOPE}2`,
      });

      const report = await audit();

      expect(notReadyIds(report)).toEqual(['account.active_secret_unreadable']);
      expect(checkOf(report, 'account.active_secret_unreadable')).toMatchObject(
        { count: 1, samples: [broken.id] },
      );
    });

    it('counts a probe that throws as a secret that does not open', async () => {
      const report = await runAudit(db(), {
        accountEnvironment: 'TEST',
        secretProbe: () => {
          throw new Error('VaultKeyMissingError');
        },
      });

      expect(notReadyIds(report)).toEqual(['account.active_secret_unreadable']);
      expect(checkOf(report, 'account.active_secret_unreadable').count).toBe(2);
    });

    it('probes every ACTIVE account exactly once across batches', async () => {
      for (let i = 0; i < 4; i++) await insertReadyCompany(db());
      const probed: ProbedAccount[] = [];

      const report = await runAudit(db(), {
        accountEnvironment: 'TEST',
        secretBatchSize: 3,
        secretProbe: async (account) => {
          probed.push(account);
          return true;
        },
      });

      expect(report.ready).toBe(true);
      expect(probed).toHaveLength(10);
      expect(new Set(probed.map((a) => a.id)).size).toBe(10);
      expect(probed[0]).toEqual({
        id: expect.stringMatching(/^acct_/),
        companyId: expect.stringMatching(/^co_/),
        secretEnvelope: 'sealed:test',
      });
    });
  });
});
