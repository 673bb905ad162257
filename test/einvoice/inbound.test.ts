import { describe, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { createEposlovanjeClient } from '../../src/einvoice/eposlovanje-client.js';
import {
  InboundService,
  parseInboundUbl,
} from '../../src/einvoice/inbound-service.js';
import { listInbound } from '../../src/einvoice/inbound-store.js';
import type { IntermediaryDirectory } from '../../src/einvoice/outbound.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  addAccount,
  companyWithAccount,
  companyWithLegacyKey,
  ENFORCED,
  eventsOf,
  sampleFor,
  setFlags,
  type Platform,
  type Tenant,
  usePlatform,
} from '../support/platform.js';

const SAMPLE_BUYER_OIB = '11111111119';

/** A real client on the simulator, with pages of two documents. */
function smallPages(p: Platform): IntermediaryDirectory {
  const client = createEposlovanjeClient({
    baseUrl: p.simulator.url,
    softwareId: 'TenantGate-test',
    timeoutMs: 5_000,
    pageSize: 2,
  });
  return { client: () => client };
}

function inboundOf(p: Platform): InboundService {
  return new InboundService({
    db: p.db,
    gate: p.gate,
    intermediaries: smallPages(p),
    logger: p.logger,
  });
}

/** An invoice from `seller` to the tenant, numbered `number`. */
function invoiceTo(tenant: Tenant, number: string, seller = randomOib()) {
  return sampleFor('eRacun_PDV25.xml', seller)
    .split(SAMPLE_BUYER_OIB)
    .join(tenant.company.oib)
    .replace('<cbc:ID>1-P1-1</cbc:ID>', `<cbc:ID>${number}</cbc:ID>`);
}

/**
 * The same document with unusual prefixes: the root prefixed, and the
 * cac and cbc prefixes swapped (each bound to the other's namespace).
 */
function reprefixed(xml: string): string {
  return xml
    .replace('<Invoice xmlns=', '<ns7:Invoice xmlns:ns7=')
    .replace('</Invoice>', '</ns7:Invoice>')
    .replace(/xmlns:cac=/, 'xmlns:TMP=')
    .replace(/xmlns:cbc=/, 'xmlns:cac=')
    .replace(/xmlns:TMP=/, 'xmlns:cbc=')
    .replace(/<(\/?)cac:/g, '<$1TMP:')
    .replace(/<(\/?)cbc:/g, '<$1cac:')
    .replace(/<(\/?)TMP:/g, '<$1cbc:');
}

function inject(p: Platform, tenant: Tenant, count: number, prefix = 'IN') {
  return Array.from({ length: count }, (_, i) =>
    p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      xml: invoiceTo(tenant, `${prefix}-${i + 1}`),
    }),
  );
}

async function inboundRows(p: Platform, tenant: Tenant) {
  return p.db.transaction(operator, (tx) =>
    tx.query<{
      number: string;
      status: string;
      providerRef: string;
      ublXml: string;
      sellerOib: string;
      buyerOib: string | null;
      totalAmount: string | null;
      integrationAccountId: string | null;
    }>(
      `SELECT number, status, "providerRef", "ublXml", "sellerOib",
              "buyerOib", "totalAmount"::text AS "totalAmount",
              "integrationAccountId"
         FROM "EInvoice"
        WHERE "companyId" = $1 AND direction = 'INBOUND'
        ORDER BY number`,
      [tenant.company.id],
    ),
  );
}

async function cursorOf(p: Platform, tenant: Tenant) {
  const state = await inboundOf(p).syncState({
    companyId: tenant.company.id,
    accountId: tenant.account?.id ?? null,
    kind: 'EINVOICE_EPOSLOVANJE',
  });
  return state?.cursor ?? null;
}

describe('reading received UBL', () => {
  const tenant = {
    company: { oib: '94577403194' },
  } as unknown as Tenant;

  it('reads a document whose namespaces use unusual prefixes', () => {
    const plain = invoiceTo(tenant, 'R-1', '12345678903');
    const odd = reprefixed(plain);
    expect(odd).toContain('<ns7:Invoice');
    expect(odd).toContain('<cac:EndpointID');

    expect(parseInboundUbl(odd)).toEqual(parseInboundUbl(plain));
    expect(parseInboundUbl(odd)).toMatchObject({
      documentType: 'INVOICE',
      number: 'R-1',
      sellerOib: '12345678903',
      buyerOib: '94577403194',
      netAmount: '100.00',
      totalAmount: '125.00',
    });
  });

  it('refuses a root outside the UBL namespaces, whatever its name', () => {
    const foreign = invoiceTo(tenant, 'R-1').replace(
      'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
      'urn:example:not-ubl',
    );

    expect(() => parseInboundUbl(foreign)).toThrow(TenantGateError);
  });
});

describeEachDatabase('inbound polling', ({ db }) => {
  const platform = usePlatform(db);

  it('stores every document as received, with parties, number and totals', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const seller = randomOib();
    const xml = reprefixed(invoiceTo(tenant, 'R-77', seller));
    const injected = p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      xml,
    });
    inject(p, tenant, 2);

    const result = await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(result.error?.toJSON()).toBeUndefined();
    expect(result).toMatchObject({
      path: 'V2',
      integrationAccountId: tenant.account?.id,
      pages: 3,
      received: 3,
      duplicates: 0,
      cursorBefore: null,
      cursorAfter: '3',
    });
    const rows = await inboundRows(p, tenant);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.number === 'R-77')).toEqual({
      number: 'R-77',
      status: 'DELIVERED',
      providerRef: injected.id,
      ublXml: xml,
      sellerOib: seller,
      buyerOib: tenant.company.oib,
      totalAmount: '125.00',
      integrationAccountId: tenant.account?.id,
    });
    expect(await cursorOf(p, tenant)).toBe('3');
  });

  it('keeps the cursor before a failed second page, and loses and duplicates nothing on the next poll', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const injected = inject(p, tenant, 5);
    p.simulator.injectFault({
      kind: 'status',
      status: 503,
      route: 'incoming',
      skip: 1,
    });

    const failed = await inboundOf(p).poll({ companyId: tenant.company.id });
    const afterFailure = await inboundRows(p, tenant);
    const cursorAfterFailure = await cursorOf(p, tenant);
    const next = await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(failed.error?.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(failed.pages).toBe(1);
    expect(afterFailure.map((r) => r.number)).toEqual(['IN-1', 'IN-2']);
    expect(cursorAfterFailure).toBe('2');
    expect(next).toMatchObject({ received: 3, duplicates: 0 });
    const rows = await inboundRows(p, tenant);
    expect(rows.map((r) => r.providerRef).sort()).toEqual(
      injected.map((d) => d.id).sort(),
    );
    expect(await cursorOf(p, tenant)).toBe('5');
  });

  it('moves nothing during an outage and records it', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    inject(p, tenant, 3);
    await inboundOf(p).poll({ companyId: tenant.company.id }, { maxPages: 1 });
    // Nothing listens on port 9 of the loopback: the service is down.
    const down = createEposlovanjeClient({
      baseUrl: 'http://127.0.0.1:9',
      softwareId: 'TenantGate-test',
      pageSize: 2,
    });
    const offline = new InboundService({
      db: p.db,
      gate: p.gate,
      intermediaries: { client: () => down },
      logger: p.logger,
    });

    const result = await offline.poll({ companyId: tenant.company.id });
    const state = await inboundOf(p).syncState({
      companyId: tenant.company.id,
      accountId: tenant.account?.id ?? null,
      kind: 'EINVOICE_EPOSLOVANJE',
    });
    const after = await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(result.error?.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(state).toMatchObject({
      cursor: '2',
      documentsReceived: 2,
      lastError: expect.objectContaining({ code: 'COUNTERPART_UNAVAILABLE' }),
    });
    expect(after).toMatchObject({ received: 1, duplicates: 0 });
    expect(await inboundRows(p, tenant)).toHaveLength(3);
  });

  it('stores nothing of a page whose document fetch fails midway', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    inject(p, tenant, 4);
    // Documents 1 and 2 (page one) and 3 are fetched; 4 fails.
    p.simulator.injectFault({
      kind: 'status',
      status: 500,
      route: 'get',
      skip: 3,
    });

    const failed = await inboundOf(p).poll({ companyId: tenant.company.id });
    const afterFailure = await inboundRows(p, tenant);
    await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(failed).toMatchObject({ pages: 1, received: 2 });
    expect(afterFailure.map((r) => r.number)).toEqual(['IN-1', 'IN-2']);
    expect((await inboundRows(p, tenant)).map((r) => r.number)).toEqual([
      'IN-1',
      'IN-2',
      'IN-3',
      'IN-4',
    ]);
  });

  it('deduplicates by the intermediary’s document id, not by invoice number', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    // Two sellers, one invoice number: two documents.
    p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      xml: invoiceTo(tenant, 'SAME-1'),
    });
    p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      xml: invoiceTo(tenant, 'SAME-1'),
    });
    await inboundOf(p).poll({ companyId: tenant.company.id });
    // The intermediary lists everything again (a cursor reset).
    await p.db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "ProviderSyncState" SET cursor = NULL
          WHERE "integrationAccountId" = $1`,
        [tenant.account?.id],
      ),
    );

    const again = await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(again).toMatchObject({ received: 0, duplicates: 2 });
    expect(await inboundRows(p, tenant)).toHaveLength(2);
  });

  it('refuses a second row for the same document at the database', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    inject(p, tenant, 1);
    await inboundOf(p).poll({ companyId: tenant.company.id });

    const duplicate = p.db.transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "EInvoice" (id, "companyId", direction, status, number,
           "issueDate", "idempotencyKey", "documentHash", "sellerOib",
           "ublXml", "providerKind", "providerRef")
         SELECT 'ei_copy', "companyId", 'INBOUND', 'DELIVERED', 'OTHER',
           "issueDate", 'another-key', 'h', "sellerOib", "ublXml",
           "providerKind", "providerRef"
           FROM "EInvoice" WHERE "companyId" = $1 AND direction = 'INBOUND'`,
        [tenant.company.id],
      ),
    );

    await expect(duplicate).rejects.toThrow(/EInvoice_inbound_document_key/);
  });

  it('keeps an unreadable document as ERROR and moves on', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      senderOib: randomOib(),
      documentNumber: 'BROKEN-1',
      xml: '<Invoice><oops></Invoice>',
    });
    inject(p, tenant, 1);

    const result = await inboundOf(p).poll({ companyId: tenant.company.id });

    expect(result).toMatchObject({ received: 2, cursorAfter: '2' });
    const rows = await inboundRows(p, tenant);
    expect(rows.find((r) => r.number === 'BROKEN-1')).toMatchObject({
      status: 'ERROR',
      ublXml: '<Invoice><oops></Invoice>',
    });
  });

  describe('V1/V2 routing and enforcement', () => {
    it('polls with the legacy key (V1) by default, keeping the cursor per company', async () => {
      const p = platform();
      const tenant = await companyWithLegacyKey(p);
      inject(p, tenant, 1);

      const result = await inboundOf(p).poll({ companyId: tenant.company.id });

      expect(result).toMatchObject({
        path: 'V1',
        integrationAccountId: null,
        received: 1,
      });
      expect(await cursorOf(p, tenant)).toBe('1');
      expect((await eventsOf(p, tenant.company.id)).at(-1)).toMatchObject({
        operation: 'EINVOICE_RECEIVE',
        path: 'V1',
        outcome: 'SUCCESS',
      });
    });

    it('moves to the account (V2) with FF_INTEGRATION_ACCOUNT_INBOUND, without receiving anything twice', async () => {
      const p = platform();
      const legacy = await companyWithLegacyKey(p);
      inject(p, legacy, 2);
      await inboundOf(p).poll({ companyId: legacy.company.id });
      const tenant = await addAccount(p, legacy);
      inject(p, tenant, 1, 'LATER');
      setFlags(p, { FF_INTEGRATION_ACCOUNT_INBOUND: true });

      const result = await inboundOf(p).poll({ companyId: tenant.company.id });

      expect(result).toMatchObject({
        path: 'V2',
        integrationAccountId: tenant.account?.id,
        received: 1,
        duplicates: 2,
      });
      expect(await inboundRows(p, tenant)).toHaveLength(3);
    });

    it('is refused by enforcement for a company with only a legacy key', async () => {
      const p = platform();
      const tenant = await companyWithLegacyKey(p);
      inject(p, tenant, 1);
      setFlags(p, ENFORCED);

      const result = await inboundOf(p).poll({ companyId: tenant.company.id });

      expect(result.error?.code).toBe('INTEGRATION_REQUIRED');
      expect(await inboundRows(p, tenant)).toEqual([]);
      expect((await eventsOf(p, tenant.company.id)).at(-1)).toMatchObject({
        operation: 'EINVOICE_RECEIVE',
        outcome: 'BLOCKED',
      });
    });
  });

  it('sees only its own inbox through the app role', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const other = await companyWithAccount(p);
    inject(p, tenant, 1);
    inject(p, other, 2);
    await inboundOf(p).poll({ companyId: tenant.company.id });
    await inboundOf(p).poll({ companyId: other.company.id });

    const listed = await listInbound(p.db, tenant.company.id);

    expect(listed).toHaveLength(1);
    expect(listed[0]?.companyId).toBe(tenant.company.id);
  });
});
