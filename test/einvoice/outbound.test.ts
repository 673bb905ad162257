import { describe, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import type { SendOutcome } from '../../src/einvoice/outbound.js';
import { readUblFacts } from '../../src/einvoice/ubl-facts.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithLegacyKey,
  companyWithNothing,
  documentsFrom,
  ENFORCED,
  eventsOf,
  invoiceFor,
  SAMPLE_NAMES,
  SAMPLE_SELLER_OIB,
  sampleFor,
  setFlags,
  usePlatform,
  type Platform,
  type Tenant,
} from '../support/platform.js';

async function rejection(promise: Promise<unknown>): Promise<TenantGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantGateError);
  return error as TenantGateError;
}

/** The company's EInvoice rows, every column the tests look at. */
async function rowsOf(p: Platform, tenant: Tenant) {
  return p.db.transaction(operator, (tx) =>
    tx.query<{
      id: string;
      status: string;
      number: string;
      buyerName: string | null;
      integrationAccountId: string | null;
    }>(
      `SELECT id, status, number, "buyerName", "integrationAccountId"
         FROM "EInvoice" WHERE "companyId" = $1 ORDER BY "createdAt"`,
      [tenant.company.id],
    ),
  );
}

// spec/phase5-rollout-checklist.md, "Recent V1 vs V2 path usage",
// verbatim.
const RECENT_PATH_USAGE = `SELECT
    DATE_TRUNC('hour', "createdAt") as hour,
    COUNT(*) FILTER (WHERE "integrationAccountId" IS NOT NULL) as v2_path,
    COUNT(*) FILTER (WHERE "integrationAccountId" IS NULL) as v1_path
FROM "EInvoice"
WHERE "createdAt" > NOW() - INTERVAL '24 hours'
GROUP BY 1
ORDER BY 1 DESC;`;

describeEachDatabase('outbound send: the official samples', ({ db }) => {
  // This suite's database holds only the samples' rows, so the spec's
  // platform-wide query can be checked to the row.
  const platform = usePlatform(db);
  let v1: Tenant;
  let v2: Tenant;

  it('prepares a legacy-key company and an account company', async () => {
    const p = platform();
    v1 = await companyWithLegacyKey(p);
    v2 = await companyWithAccount(p);
    expect(SAMPLE_NAMES).toHaveLength(16);
  });

  async function expectSent(p: Platform, tenant: Tenant, sample: string) {
    const sent = await p.outbound.send({
      companyId: tenant.company.id,
      ublXml: sampleFor(sample, tenant.company.oib),
      idempotencyKey: sample,
    });
    const received = documentsFrom(p, tenant).at(-1);
    expect(sent.duplicate).toBe(false);
    expect(received?.xml).toBe(sampleFor(sample, tenant.company.oib));
    const stored = await p.outbound.find(tenant.company.id, sent.invoice.id);
    expect(stored).toMatchObject({
      status: 'SENT',
      providerKind: 'EINVOICE_EPOSLOVANJE',
      providerRef: received?.id,
      integrationAccountId: tenant.account?.id ?? null,
      lastError: null,
    });
    expect(stored.sentAt).toBeInstanceOf(Date);
  }

  for (const sample of SAMPLE_NAMES) {
    it(`sends ${sample} on V1 with the legacy key and on V2 with the account`, async () => {
      const p = platform();
      await Promise.all([expectSent(p, v1, sample), expectSent(p, v2, sample)]);
    });
  }

  it("counts them by path with the spec's monitoring query", async () => {
    const p = platform();

    const rows = await p.db.transaction(operator, (tx) =>
      tx.query<{ hour: Date; v2_path: unknown; v1_path: unknown }>(
        RECENT_PATH_USAGE,
      ),
    );

    const total = (key: 'v1_path' | 'v2_path') =>
      rows.reduce((sum, row) => sum + Number(row[key]), 0);
    expect(total('v2_path')).toBe(SAMPLE_NAMES.length);
    expect(total('v1_path')).toBe(SAMPLE_NAMES.length);
    expect(documentsFrom(p, v1)).toHaveLength(SAMPLE_NAMES.length);
    expect(documentsFrom(p, v2)).toHaveLength(SAMPLE_NAMES.length);
  });
});

describeEachDatabase('outbound send', ({ db }) => {
  const platform = usePlatform(db);

  function send(p: Platform, tenant: Tenant, ublXml = invoiceFor(tenant)) {
    return p.outbound.send({ companyId: tenant.company.id, ublXml });
  }

  describe('idempotency: a document is sent once', () => {
    it('answers a repeated submission with the first row, marked duplicate', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);

      const first = await send(p, tenant);
      const second = await send(p, tenant);

      expect(first.duplicate).toBe(false);
      expect(second).toMatchObject({
        duplicate: true,
        invoice: { id: first.invoice.id, status: 'SENT' },
      });
      expect(second.invoice.providerRef).toBe(first.invoice.providerRef);
      expect(documentsFrom(p, tenant)).toHaveLength(1);
      expect(await eventsOf(p, tenant.company.id)).toHaveLength(1);
    });

    it('sends once when the same document is submitted twice at the same time', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);

      const results = await Promise.allSettled([
        send(p, tenant),
        send(p, tenant),
      ]);

      const sent = results.filter(
        (r): r is PromiseFulfilledResult<SendOutcome> =>
          r.status === 'fulfilled' && !r.value.duplicate,
      );
      expect(sent).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toMatchObject({ code: 'EINVOICE_IN_PROGRESS' });
        }
      }
      expect(documentsFrom(p, tenant)).toHaveLength(1);
      expect(await rowsOf(p, tenant)).toHaveLength(1);
    });

    it('refuses a different document under the same idempotency key', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      const key = 'invoice-2025-0001';
      await p.outbound.send({
        companyId: tenant.company.id,
        ublXml: invoiceFor(tenant),
        idempotencyKey: key,
      });

      const error = await rejection(
        p.outbound.send({
          companyId: tenant.company.id,
          ublXml: sampleFor('eRacun_PDV13.xml', tenant.company.oib),
          idempotencyKey: key,
        }),
      );

      expect(error.code).toBe('EINVOICE_CONFLICT');
      expect(error.details.idempotencyKey).toBe(key);
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });
  });

  describe('counterpart failures', () => {
    it('keeps the row as ERROR after 503s and sends it on retry', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      // Every attempt of the default retry policy fails.
      p.simulator.injectFault({ kind: 'status', status: 503, times: 3 });

      const error = await rejection(send(p, tenant));
      const failed = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      const retry = await send(p, tenant);

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(failed).toMatchObject({
        status: 'ERROR',
        providerRef: null,
        lastError: expect.objectContaining({
          code: 'COUNTERPART_UNAVAILABLE',
          retryable: true,
        }),
      });
      expect(retry).toMatchObject({
        duplicate: false,
        invoice: { id: failed.id, status: 'SENT', lastError: null },
      });
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });

    it('keeps the row as SEND_UNKNOWN after a lost reply and never resends it', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-reply' });

      const error = await rejection(send(p, tenant));
      const resubmitted = await send(p, tenant);

      expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
      expect(resubmitted).toMatchObject({
        duplicate: true,
        invoice: {
          id: error.details.eInvoiceId,
          status: 'SEND_UNKNOWN',
          lastError: expect.objectContaining({
            code: 'SEND_OUTCOME_UNKNOWN',
          }),
        },
      });
      // The simulator stored it before dropping the reply: once, only.
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });

    it('stores the facts of a corrected document sent under a failed one’s key', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      const key = 'invoice-to-correct';
      p.simulator.injectFault({ kind: 'status', status: 503, times: 3 });
      await rejection(
        p.outbound.send({
          companyId: tenant.company.id,
          ublXml: invoiceFor(tenant),
          idempotencyKey: key,
        }),
      );
      const corrected = invoiceFor(tenant)
        .replace('<cbc:ID>1-P1-1</cbc:ID>', '<cbc:ID>1-P1-2</cbc:ID>')
        .replace('Tvrtka B d.o.o.', 'Tvrtka C d.o.o.');

      const sent = await p.outbound.send({
        companyId: tenant.company.id,
        ublXml: corrected,
        idempotencyKey: key,
      });

      expect(documentsFrom(p, tenant)[0]?.documentNumber).toBe('1-P1-2');
      expect(await rowsOf(p, tenant)).toEqual([
        expect.objectContaining({
          id: sent.invoice.id,
          status: 'SENT',
          number: '1-P1-2',
          buyerName: 'Tvrtka C d.o.o.',
        }),
      ]);
    });
  });

  describe('refusals leave a trace, never a silent drop', () => {
    it("refuses a seller OIB that is not the company's, naming the field, and writes nothing", async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      const other = await companyWithNothing(p);

      const error = await rejection(
        send(p, tenant, sampleFor('eRacun_PDV25.xml', other.company.oib)),
      );

      expect(error.code).toBe('INVALID_INPUT');
      expect(error.details.field).toBe(
        'AccountingSupplierParty/Party/EndpointID',
      );
      expect(error.message).toContain(
        'AccountingSupplierParty/Party/EndpointID',
      );
      expect(await rowsOf(p, tenant)).toEqual([]);
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('keeps a send blocked for want of credentials as ERROR with the reason', async () => {
      const p = platform();
      const tenant = await companyWithNothing(p);

      const error = await rejection(send(p, tenant));

      expect(error.code).toBe('INTEGRATION_NOT_FOUND');
      const row = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      expect(row).toMatchObject({
        status: 'ERROR',
        providerRef: null,
        integrationAccountId: null,
        lastError: expect.objectContaining({
          code: 'INTEGRATION_NOT_FOUND',
          name: 'IntegrationNotFoundError',
        }),
      });
      expect(await eventsOf(p, tenant.company.id)).toEqual([
        expect.objectContaining({ outcome: 'BLOCKED', documentId: row.id }),
      ]);
    });

    it('keeps a legacy send refused by enforcement as ERROR with IntegrationRequiredError', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithLegacyKey(p);

      const error = await rejection(send(p, tenant));

      const row = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      expect(row).toMatchObject({
        status: 'ERROR',
        lastError: expect.objectContaining({ code: 'INTEGRATION_REQUIRED' }),
      });
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });
  });
});

describe('the official samples', () => {
  it('each name the dummy seller OIB that the tests replace', () => {
    for (const name of SAMPLE_NAMES) {
      const raw = sampleFor(name, SAMPLE_SELLER_OIB);
      expect(readUblFacts(raw).sellerOib).toBe(SAMPLE_SELLER_OIB);
    }
  });
});
