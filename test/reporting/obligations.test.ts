import { beforeAll, describe, expect, it } from 'vitest';
import { operator, tenant } from '../../src/db/database.js';
import { isTenantGateError } from '../../src/errors/tenantgate-error.js';
import { createLogger } from '../../src/logging/logger.js';
import { taxReportingOf } from '../../src/reporting/obligations.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { CapturedLogs } from '../support/platform.js';
import {
  insertEInvoice,
  reportingPlatform,
  reportsOf,
  type ReportingPlatform,
} from './reporting-support.js';

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isTenantGateError(error)) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

describe('who reports an account’s e-invoices (taxReporting)', () => {
  it('takes the account’s explicit setting', () => {
    expect(taxReportingOf('EINVOICE_FINA', { taxReporting: 'PLATFORM' })).toBe(
      'PLATFORM',
    );
    expect(
      taxReportingOf('EINVOICE_EPOSLOVANJE', { taxReporting: 'INTERMEDIARY' }),
    ).toBe('INTERMEDIARY');
  });

  it('defaults to the intermediary for FINA, the platform otherwise', () => {
    expect(taxReportingOf('EINVOICE_FINA', {})).toBe('INTERMEDIARY');
    expect(
      taxReportingOf('EINVOICE_FINA', { reportsToTaxAuthority: false }),
    ).toBe('PLATFORM');
    expect(taxReportingOf('EINVOICE_MOJ_ERACUN', {})).toBe('PLATFORM');
    expect(taxReportingOf(null, {})).toBe('PLATFORM');
  });
});

describeEachDatabase('reporting obligations and the due-list', (ctx) => {
  const logs = new CapturedLogs();
  let p: ReportingPlatform;
  // 3 December 2026, 10:00 in Zagreb.
  const now = () => new Date('2026-12-03T09:00:00Z');

  async function company(kind: 'EINVOICE_EPOSLOVANJE' | 'EINVOICE_FINA') {
    const c = await p.companies.create({
      name: 'Reporting d.o.o.',
      oib: randomOib(),
      eInvoicingEnabled: true,
      eInvoiceKind: kind,
    });
    return c.id;
  }

  async function account(
    companyId: string,
    kind: 'EINVOICE_EPOSLOVANJE' | 'EINVOICE_FINA',
    providerConfig: Record<string, unknown> = {},
  ) {
    const a = await p.accounts.create({
      companyId,
      kind,
      environment: 'TEST',
      secret: `key-${companyId}`,
      providerConfig,
    });
    return a.id;
  }

  beforeAll(() => {
    p = reportingPlatform(ctx.db(), createLogger('debug', logs.stream));
  });

  it('lists an issued outgoing e-invoice as due on its issue date', async () => {
    const companyId = await company('EINVOICE_EPOSLOVANJE');
    const accountId = await account(companyId, 'EINVOICE_EPOSLOVANJE');
    const einvoiceId = await insertEInvoice(p.db, {
      companyId,
      integrationAccountId: accountId,
      issueDate: '2026-12-03',
      number: 'R-77',
    });

    const list = await p.reporting(undefined, now).dueList({ companyId });

    expect(list.today).toBe('2026-12-03');
    const [own] = list.companies;
    expect(own).toMatchObject({ companyId, due: 1, dueToday: 1, overdue: 0 });
    expect(own?.items[0]).toMatchObject({
      einvoiceId,
      number: 'R-77',
      kind: 'EINVOICE',
      direction: 'I',
      status: 'PENDING',
      deadline: '2026-12-03',
      daysLeft: 0,
      overdue: false,
    });
  });

  it('flags an outgoing report not made after its issue day as overdue', async () => {
    const companyId = await company('EINVOICE_EPOSLOVANJE');
    await account(companyId, 'EINVOICE_EPOSLOVANJE');
    await insertEInvoice(p.db, { companyId, issueDate: '2026-11-30' });

    const list = await p.reporting(undefined, now).dueList({ companyId });

    expect(list.companies[0]?.items[0]).toMatchObject({
      deadline: '2026-11-30',
      daysLeft: -3,
      overdue: true,
    });
    expect(list.totals.overdue).toBeGreaterThanOrEqual(1);
  });

  it('gives an incoming e-invoice 5 working days across Christmas', async () => {
    const companyId = await company('EINVOICE_EPOSLOVANJE');
    await account(companyId, 'EINVOICE_EPOSLOVANJE');
    await insertEInvoice(p.db, {
      companyId,
      direction: 'INBOUND',
      status: 'DELIVERED',
      createdAt: new Date('2026-12-23T10:00:00Z'),
    });

    const list = await p.reporting(undefined, now).dueList({ companyId });

    expect(list.companies[0]?.items[0]).toMatchObject({
      direction: 'U',
      deadline: '2026-12-31',
      daysLeft: 28,
    });
  });

  it('leaves drafts, refused and unknown sends out', async () => {
    const companyId = await company('EINVOICE_EPOSLOVANJE');
    for (const status of ['DRAFT', 'ERROR', 'SEND_UNKNOWN', 'SENDING']) {
      await insertEInvoice(p.db, { companyId, status });
    }

    const list = await p.reporting(undefined, now).dueList({ companyId });

    expect(list.companies[0]?.due).toBe(0);
    expect(await reportsOf(p.db, companyId)).toHaveLength(0);
  });

  it('stores each obligation once however often it is listed', async () => {
    const companyId = await company('EINVOICE_EPOSLOVANJE');
    await insertEInvoice(p.db, { companyId });
    const service = p.reporting(undefined, now);

    expect(await service.syncObligations(companyId)).toBe(1);
    expect(await service.syncObligations(companyId)).toBe(0);
    await service.dueList({ companyId });

    expect(await reportsOf(p.db, companyId)).toHaveLength(1);
  });

  describe('an intermediary that reports excludes the document', () => {
    it('keeps an INTERMEDIARY account’s e-invoice off the due-list', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const accountId = await account(companyId, 'EINVOICE_EPOSLOVANJE', {
        taxReporting: 'INTERMEDIARY',
      });
      await insertEInvoice(p.db, {
        companyId,
        integrationAccountId: accountId,
      });

      const list = await p.reporting(undefined, now).dueList({ companyId });

      expect(list.companies[0]).toMatchObject({ due: 0, intermediary: 1 });
      const [row] = await reportsOf(p.db, companyId);
      expect(row?.status).toBe('INTERMEDIARY');
    });

    it('leaves FINA e-invoices to FINA unless the account says PLATFORM', async () => {
      const companyId = await company('EINVOICE_FINA');
      const fina = await account(companyId, 'EINVOICE_FINA');
      await insertEInvoice(p.db, { companyId, integrationAccountId: fina });
      const service = p.reporting(undefined, now);
      expect((await service.dueList({ companyId })).companies[0]?.due).toBe(0);

      await p.accounts.updateProviderConfig(companyId, fina, {
        taxReporting: 'PLATFORM',
      });
      await insertEInvoice(p.db, { companyId, integrationAccountId: fina });

      const after = (await service.dueList({ companyId })).companies[0];
      expect(after).toMatchObject({ due: 1, intermediary: 1 });
    });

    it('decides by the company’s default account when the e-invoice names none', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      await account(companyId, 'EINVOICE_EPOSLOVANJE', {
        taxReporting: 'INTERMEDIARY',
      });
      await insertEInvoice(p.db, { companyId, integrationAccountId: null });

      const list = await p.reporting(undefined, now).dueList({ companyId });

      expect(list.companies[0]).toMatchObject({ due: 0, intermediary: 1 });
    });

    it('refuses a setting that is neither INTERMEDIARY nor PLATFORM', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const accountId = await account(companyId, 'EINVOICE_EPOSLOVANJE');

      const error = await refusal(
        p.accounts.updateProviderConfig(companyId, accountId, {
          taxReporting: 'BOTH',
        }),
      );

      expect(error.code).toBe('INVALID_INPUT');
      expect(error.details.field).toBe('providerConfig.taxReporting');
      const shown = await p.accounts.show(companyId, accountId);
      expect(shown.providerConfig).toEqual({});
    });
  });

  describe('payments and rejections', () => {
    it('makes a payment due on the 20th of the next month', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceId = await insertEInvoice(p.db, { companyId });

      const paid = await p.reporting(undefined, now).registerPayment({
        companyId,
        einvoiceId,
        paidOn: '2026-11-10',
        amount: '125.5',
        method: 'T',
      });

      expect(paid).toMatchObject({
        status: 'PENDING',
        deadline: '2026-12-21',
        reportedBy: 'PLATFORM',
        duplicate: false,
      });
      const row = (await reportsOf(p.db, companyId)).find(
        (r) => r.kind === 'PAYMENT',
      );
      expect(row?.payload).toEqual({
        paidOn: '2026-11-10',
        amount: '125.50',
        method: 'T',
      });
    });

    it('stores the same payment registered twice once', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceId = await insertEInvoice(p.db, { companyId });
      const service = p.reporting(undefined, now);
      const payment = {
        companyId,
        einvoiceId,
        paidOn: '2026-11-10',
        amount: '10.00',
        method: 'T' as const,
      };

      const first = await service.registerPayment(payment);
      const again = await service.registerPayment(payment);

      expect(again).toMatchObject({
        reportId: first.reportId,
        duplicate: true,
      });
    });

    it('refuses a payment beyond what the e-invoice still asks to be paid', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceId = await insertEInvoice(p.db, {
        companyId,
        totalAmount: '125.00',
      });
      const service = p.reporting(undefined, now);
      const pay = (amount: string) =>
        service.registerPayment({
          companyId,
          einvoiceId,
          paidOn: '2026-11-10',
          amount,
          method: 'T',
        });

      const tooMuch = await refusal(pay('999999'));
      const first = await pay('100.00');
      const repeated = await pay('100.00');
      const beyond = await refusal(pay('25.01'));
      const rest = await pay('25.00');

      expect(tooMuch.details).toMatchObject({
        field: 'amount',
        rule: 'within-payable',
        remaining: '125.00',
      });
      expect(tooMuch.message).toContain('999999.00');
      expect(tooMuch.message).toContain('125.00 EUR');
      expect(repeated).toMatchObject({
        reportId: first.reportId,
        duplicate: true,
      });
      expect(beyond.details).toMatchObject({ remaining: '25.00' });
      expect(rest.duplicate).toBe(false);
      const payments = (await reportsOf(p.db, companyId)).filter(
        (r) => r.kind === 'PAYMENT',
      );
      expect(payments).toHaveLength(2);
    });

    it('refuses a payment of an incoming e-invoice and a future date', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const incoming = await insertEInvoice(p.db, {
        companyId,
        direction: 'INBOUND',
      });
      const outgoing = await insertEInvoice(p.db, { companyId });
      const service = p.reporting(undefined, now);

      const wrongWay = await refusal(
        service.registerPayment({
          companyId,
          einvoiceId: incoming,
          paidOn: '2026-11-10',
          amount: '10.00',
          method: 'T',
        }),
      );
      const future = await refusal(
        service.registerPayment({
          companyId,
          einvoiceId: outgoing,
          paidOn: '2026-12-04',
          amount: '10.00',
          method: 'T',
        }),
      );

      expect(wrongWay.details).toMatchObject({ rule: 'payment-of-outgoing' });
      expect(future.details).toMatchObject({
        field: 'paidOn',
        rule: 'not-future',
      });
    });

    it('registers one rejection of an incoming e-invoice', async () => {
      const companyId = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceId = await insertEInvoice(p.db, {
        companyId,
        direction: 'INBOUND',
        status: 'DELIVERED',
      });
      const service = p.reporting(undefined, now);
      const rejection = {
        companyId,
        einvoiceId,
        rejectedOn: '2026-11-30',
        reasonType: 'U' as const,
        reason: 'Neispravan iznos PDV-a',
      };

      const first = await service.registerRejection(rejection);
      const again = await service.registerRejection({
        ...rejection,
        reason: 'another reason',
      });

      // 20 December 2026 is a Sunday.
      expect(first).toMatchObject({ deadline: '2026-12-21', duplicate: false });
      expect(again.duplicate).toBe(true);
    });

    it('leaves a payment to an intermediary that reports', async () => {
      const companyId = await company('EINVOICE_FINA');
      const fina = await account(companyId, 'EINVOICE_FINA');
      const einvoiceId = await insertEInvoice(p.db, {
        companyId,
        integrationAccountId: fina,
      });

      const paid = await p.reporting(undefined, now).registerPayment({
        companyId,
        einvoiceId,
        paidOn: '2026-11-10',
        amount: '10.00',
        method: 'O',
      });

      expect(paid).toMatchObject({
        status: 'INTERMEDIARY',
        reportedBy: 'INTERMEDIARY',
      });
    });

    it('does not find another company’s e-invoice', async () => {
      const mine = await company('EINVOICE_EPOSLOVANJE');
      const theirs = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceId = await insertEInvoice(p.db, { companyId: theirs });

      const error = await refusal(
        p.reporting(undefined, now).registerPayment({
          companyId: mine,
          einvoiceId,
          paidOn: '2026-11-10',
          amount: '10.00',
          method: 'T',
        }),
      );

      expect(error.code).toBe('EINVOICE_NOT_FOUND');
    });
  });

  describe('tenant isolation of EInvoiceReport', () => {
    it('shows a tenant only its own reports', async () => {
      const a = await company('EINVOICE_EPOSLOVANJE');
      const b = await company('EINVOICE_EPOSLOVANJE');
      await insertEInvoice(p.db, { companyId: a });
      await p.reporting(undefined, now).syncObligations(a);

      const seen = await p.db.transaction(tenant(b), (tx) =>
        tx.query('SELECT id FROM "EInvoiceReport" WHERE "companyId" = $1', [a]),
      );

      expect(seen).toHaveLength(0);
    });

    it('refuses a report that points at another company’s e-invoice', async () => {
      const a = await company('EINVOICE_EPOSLOVANJE');
      const b = await company('EINVOICE_EPOSLOVANJE');
      const einvoiceOfB = await insertEInvoice(p.db, { companyId: b });

      await expect(
        p.db.transaction(operator, (tx) =>
          tx.query(
            `INSERT INTO "EInvoiceReport" (id, "companyId", "einvoiceId",
               direction, kind, deadline, "idempotencyKey")
             VALUES ('er_cross', $1, $2, 'I', 'EINVOICE', '2026-12-01', 'x')`,
            [a, einvoiceOfB],
          ),
        ),
      ).rejects.toThrow(/foreign key/);
    });
  });
});
