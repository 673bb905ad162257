import { readFileSync } from 'node:fs';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import { createFinaClient } from '../../src/einvoice/fina-client.js';
import type { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import {
  startFinaSimulator,
  type FinaSimulator,
} from '../../src/sandbox/fina-simulator.js';
import { registerSecret } from '../support/known-secrets.js';
import {
  authoriserFor,
  expectNoneShows,
  failure,
  numbered,
  sample,
} from './intermediary-support.js';

// The FINA test certificates carry checksum-valid OIBs (FINA binds the
// certificate to the OIB), so the sample's dummy OIBs are replaced.
const SUPPLIER_OIB = '12345678903';
const BUYER_OIB = '98765432198';
const P12_PASSWORD = 'fina-demo-pass';
registerSecret('FINA fixture PKCS#12 password', P12_PASSWORD);

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/fina/${name}`, import.meta.url));
const invoice = sample('eRacun_PDV25.xml')
  .replaceAll('12345678901', SUPPLIER_OIB)
  .replaceAll('11111111119', BUYER_OIB);
const creditNote = sample('Odobrenje.xml')
  .replaceAll('12345678901', SUPPLIER_OIB)
  .replaceAll('11111111119', BUYER_OIB);

const certificateAuth = (p12: string) =>
  authoriserFor(packPkcs12(fixture(p12), P12_PASSWORD));
const sellerAuth = () => certificateAuth('tenant-supplier.p12');
const buyerAuth = () => certificateAuth('tenant-customer.p12');

const SIGNATURE = /<ds:Signature [\s\S]*<\/ds:Signature>/;

const loose = (xml: string) => xml.replace(/\s+/g, ' ').trim();

let sim: FinaSimulator;
let client: ReturnType<typeof createFinaClient>;
const seenErrors: TenantGateError[] = [];

beforeAll(async () => {
  sim = await startFinaSimulator();
  client = createFinaClient({
    baseUrl: sim.url,
    ca: sim.serverCa,
    timeoutMs: 10_000,
    pageSize: 2,
  });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerCompany(SUPPLIER_OIB);
  sim.registerCompany(BUYER_OIB);
});

async function sendFailure(
  xml: string,
  auth = sellerAuth(),
  c = client,
): Promise<TenantGateError> {
  const error = await failure(c.send({ ublXml: xml }, auth));
  seenErrors.push(error);
  return error;
}

describe('send: two-way TLS, WS-Security, signed UBL', () => {
  it.each([
    ['an invoice', invoice],
    ['a credit note', creditNote],
  ])('delivers %s, signed, and gets an InvoiceID', async (_n, xml) => {
    const result = await client.send({ ublXml: xml }, sellerAuth());

    const [stored, ...rest] = sim.invoices();
    expect(rest).toHaveLength(0);
    expect(stored).toMatchObject({
      invoiceId: result.providerRef,
      supplierOib: SUPPLIER_OIB,
      buyerOib: BUYER_OIB,
      status: 'RECEIVED',
      timestamp: result.acceptedAt,
    });
    // The simulator verified the signature; the rest is the document.
    expect(stored?.xml).toContain('<ds:SignatureValue>');
    // (Signing re-serializes the tags before it signs: compare loosely.)
    expect(loose(stored?.xml.replace(SIGNATURE, '') ?? '')).toBe(loose(xml));
  });

  it('adds a signature slot to a document without one', async () => {
    const bare = invoice.replace(
      /<ext:UBLExtensions>[\s\S]*<\/ext:UBLExtensions>/,
      '',
    );

    await client.send({ ublXml: bare }, sellerAuth());

    expect(sim.invoices()[0]?.xml).toMatch(
      /^<\?xml[^>]*>\s*<Invoice [^>]*><ext:UBLExtensions xmlns:ext=[^>]*><ext:UBLExtension/,
    );
  });

  it('reads the status as FINA moves it', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      sellerAuth(),
    );
    expect(await client.status(providerRef, sellerAuth())).toEqual({
      providerRef,
      status: 'RECEIVED',
    });

    sim.setStatus(providerRef, 'APPROVED');

    expect((await client.status(providerRef, sellerAuth())).status).toBe(
      'APPROVED',
    );
  });

  it('pings with an echo over the same security', async () => {
    await expect(client.ping(sellerAuth())).resolves.toBeUndefined();
  });
});

describe('refusals', () => {
  it('maps a certificate from a CA FINA does not trust (403) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(
      invoice,
      certificateAuth('tenant-rogue.p12'),
    );

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 403 });
    expect(sim.invoices()).toHaveLength(0);
  });

  it('maps an unregistered certificate OIB (SOAP Fault) to COUNTERPART_AUTH_FAILED', async () => {
    sim.unregisterCompany(SUPPLIER_OIB);

    const error = await sendFailure(invoice);

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({
      status: 500,
      faultCode: 'FailedAuthentication',
    });
  });

  it('maps a schema-invalid UBL (incorrect invoice) to COUNTERPART_REJECTED with the findings', async () => {
    const broken = invoice.replace(
      '</cbc:IssueDate>',
      '</cbc:IssueDate><cbc:Surprise>1</cbc:Surprise>',
    );

    const error = await sendFailure(broken);

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({
      errors: [expect.stringMatching(/^E-XSD: .*Surprise/)],
    });
    expect(sim.invoices()).toHaveLength(0);
  });

  it('refuses, before sending, a document whose seller is not the certificate OIB', async () => {
    const error = await sendFailure(invoice, buyerAuth());

    expect(error.code).toBe('INVALID_INPUT');
    expect(error.details).toMatchObject({ rule: 'seller-is-certificate-oib' });
  });

  it('refuses to send without a certificate account', async () => {
    const error = await sendFailure(invoice, authoriserFor('raw-key-1'));

    expect(error.code).toBe('VAULT_SECRET_INVALID');
    expect(error.details).toMatchObject({ rule: 'pkcs12-required' });
  });

  it('refuses a server whose certificate is not from the configured CA', async () => {
    const trusting = createFinaClient({
      baseUrl: sim.url,
      ca: fixture('tenant-rogue.crt'),
    });

    const error = await sendFailure(invoice, sellerAuth(), trusting);

    expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
    expect(error.details).toMatchObject({ reason: 'server_certificate' });
    expect(sim.invoices()).toHaveLength(0);
  });
});

describe('counterpart unavailable: nothing was accepted, retry is safe', () => {
  it('maps 429 to a retryable COUNTERPART_UNAVAILABLE with Retry-After', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 30 });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 30 });
    expect(sim.invoices()).toHaveLength(0);
  });

  it.each([500, 502, 503] as const)(
    'maps %i to a retryable COUNTERPART_UNAVAILABLE',
    async (status) => {
      sim.injectFault({ kind: 'status', status });

      const error = await sendFailure(invoice);

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(error.details).toMatchObject({ status });
      expect(sim.invoices()).toHaveLength(0);
    },
  );
});

describe('timeout after acceptance: the status listing settles it, no second delivery', () => {
  it('a lost reply is SEND_OUTCOME_UNKNOWN; outgoing finds the one invoice', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    const [stored, ...rest] = sim.invoices();
    expect(rest).toHaveLength(0);

    const found = await client.outgoing(
      { sellerOib: SUPPLIER_OIB, documentNumber: '1-P1-1' },
      sellerAuth(),
    );

    expect(found).toEqual([
      {
        providerRef: stored?.invoiceId,
        sellerOib: SUPPLIER_OIB,
        documentNumber: '1-P1-1',
        status: 'RECEIVED',
        submittedAt: stored?.timestamp,
      },
    ]);
    expect(sim.invoices()).toHaveLength(1);
  });

  it('a reply slower than the timeout is SEND_OUTCOME_UNKNOWN and the invoice arrives', async () => {
    const impatient = createFinaClient({
      baseUrl: sim.url,
      ca: sim.serverCa,
      timeoutMs: 400,
    });
    sim.injectFault({ kind: 'latency', ms: 1_500 });

    const error = await sendFailure(invoice, sellerAuth(), impatient);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'timeout' });
    await vi.waitFor(
      async () =>
        expect(
          await client.outgoing(
            { sellerOib: SUPPLIER_OIB, documentNumber: '1-P1-1' },
            sellerAuth(),
          ),
        ).toHaveLength(1),
      { timeout: 15_000, interval: 200 },
    );
  });
});

describe('outgoing', () => {
  it('narrows by document number and time', async () => {
    await client.send({ ublXml: numbered(invoice, 'F-1') }, sellerAuth());
    const second = await client.send(
      { ublXml: numbered(invoice, 'F-2') },
      sellerAuth(),
    );

    const all = await client.outgoing(
      { sellerOib: SUPPLIER_OIB },
      sellerAuth(),
    );
    const f1 = await client.outgoing(
      { sellerOib: SUPPLIER_OIB, documentNumber: 'F-1' },
      sellerAuth(),
    );
    const recent = await client.outgoing(
      { sellerOib: SUPPLIER_OIB, since: second.acceptedAt },
      sellerAuth(),
    );

    expect(all.map((d) => d.documentNumber)).toEqual(['F-1', 'F-2']);
    expect(f1.map((d) => d.documentNumber)).toEqual(['F-1']);
    expect(recent.map((d) => d.providerRef)).toEqual([second.providerRef]);
  });
});

describe('incoming and fetch', () => {
  it('pages the inbox by sequence, each invoice once, and resumes from the cursor', async () => {
    for (const n of ['IN-1', 'IN-2', 'IN-3', 'IN-4', 'IN-5']) {
      sim.deliverInbound({ xml: numbered(invoice, n) });
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i += 1) {
      const page = await client.incoming(cursor, buyerAuth());
      if (page.documents.length === 0) {
        expect(page.nextCursor).toBe(cursor);
        break;
      }
      seen.push(...page.documents.map((d) => d.documentNumber));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['IN-1', 'IN-2', 'IN-3', 'IN-4', 'IN-5']);

    const sent = await client.send({ ublXml: invoice }, sellerAuth());
    const next = await client.incoming(cursor, buyerAuth());

    expect(next.documents).toEqual([
      {
        providerRef: sent.providerRef,
        senderOib: SUPPLIER_OIB,
        documentNumber: '1-P1-1',
        receivedAt: sent.acceptedAt,
      },
    ]);
  });

  it('fetches the invoice exactly as held, and only for its buyer', async () => {
    const held = sim.deliverInbound({ xml: numbered(invoice, 'IN-F') });

    const fetched = await client.fetchDocument(held.invoiceId, buyerAuth());
    const error = await failure(
      client.fetchDocument(held.invoiceId, sellerAuth()),
    );

    expect(fetched.ublXml).toBe(numbered(invoice, 'IN-F'));
    expect(error.code).toBe('COUNTERPART_REJECTED');
  });

  it('fails an inbox read on 5xx without a partial page', async () => {
    sim.deliverInbound({ xml: invoice });
    sim.injectFault({ kind: 'status', status: 503 });

    const error = await failure(client.incoming(null, buyerAuth()));

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
  });
});

describe('secrets and documents stay out of errors', () => {
  it('no error seen above carries the key, the password or the document', () => {
    const codes = new Set(seenErrors.map((e) => e.code));
    expect(codes).toEqual(
      new Set([
        'COUNTERPART_REJECTED',
        'COUNTERPART_AUTH_FAILED',
        'COUNTERPART_UNAVAILABLE',
        'COUNTERPART_REPLY_INVALID',
        'SEND_OUTCOME_UNKNOWN',
        'INVALID_INPUT',
        'VAULT_SECRET_INVALID',
      ]),
    );
    const key = fixture('tenant-supplier.key')
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 40);
    expectNoneShows(seenErrors, [P12_PASSWORD, ...key.slice(0, 3)]);
  });
});
