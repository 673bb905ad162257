import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import {
  createMojEracunClient,
  mojEracunCredentials,
} from '../../src/einvoice/moj-eracun-client.js';
import type { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  startMojEracunSimulator,
  type MojEracunSimulator,
} from '../../src/sandbox/moj-eracun-simulator.js';
import {
  authoriserFor,
  expectNoneShows,
  failure,
  numbered,
  sample,
  SAMPLE_CUSTOMER_OIB,
  SAMPLE_SUPPLIER_OIB,
} from './intermediary-support.js';
import { registerSecret } from '../support/known-secrets.js';

const SOFTWARE_ID = 'TenantGate-test';
const SELLER = { username: 'seller-user', password: 'Seller-pa55-x9' };
const BUYER = { username: 'buyer-user', password: 'Buyer-pa55-k2' };
const invoice = sample('eRacun_PDV25.xml');
const creditNote = sample('Odobrenje.xml');

const sellerAuth = () =>
  authoriserFor(
    mojEracunCredentials({ ...SELLER, companyId: SAMPLE_SUPPLIER_OIB }),
  );
const buyerAuth = () =>
  authoriserFor(
    mojEracunCredentials({ ...BUYER, companyId: SAMPLE_CUSTOMER_OIB }),
  );

registerSecret('Moj-eRačun seller password', SELLER.password);
registerSecret('Moj-eRačun buyer password', BUYER.password);

let sim: MojEracunSimulator;
let client: ReturnType<typeof createMojEracunClient>;
const seenErrors: TenantGateError[] = [];

beforeAll(async () => {
  sim = await startMojEracunSimulator();
  client = createMojEracunClient({
    baseUrl: sim.url,
    softwareId: SOFTWARE_ID,
    timeoutMs: 10_000,
    pageSize: 2,
  });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerAccount({ ...SELLER, companyId: SAMPLE_SUPPLIER_OIB });
  sim.registerAccount({ ...BUYER, companyId: SAMPLE_CUSTOMER_OIB });
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

describe('send', () => {
  it.each([
    ['an invoice', invoice],
    ['a credit note', creditNote],
  ])('delivers %s with the credentials in the body', async (_name, xml) => {
    const result = await client.send({ ublXml: xml }, sellerAuth());

    const [stored, ...rest] = sim.documents();
    expect(rest).toHaveLength(0);
    expect(stored).toMatchObject({
      electronicId: Number(result.providerRef),
      senderOib: SAMPLE_SUPPLIER_OIB,
      recipientOib: SAMPLE_CUSTOMER_OIB,
      xml,
      softwareId: SOFTWARE_ID,
    });
    expect(result.acceptedAt).toBe(stored?.created);
  });

  it('reads the transport status as the service moves it', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      sellerAuth(),
    );
    expect(await client.status(providerRef, sellerAuth())).toEqual({
      providerRef,
      status: '30',
    });

    sim.setStatus(Number(providerRef), 40);

    expect(await client.status(providerRef, sellerAuth())).toEqual({
      providerRef,
      status: '40',
    });
  });

  it('pings with valid credentials', async () => {
    await expect(client.ping(sellerAuth())).resolves.toBeUndefined();
  });
});

describe('refusals', () => {
  it('maps wrong credentials (401, field-keyed) to COUNTERPART_AUTH_FAILED', async () => {
    const wrong = authoriserFor(
      mojEracunCredentials({
        username: SELLER.username,
        password: 'not-the-password',
        companyId: SAMPLE_SUPPLIER_OIB,
      }),
    );

    const error = await sendFailure(invoice, wrong);

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({
      status: 401,
      providerKind: 'EINVOICE_MOJ_ERACUN',
      errors: [expect.stringMatching(/^Username: /)],
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('maps a document of another supplier (403 CompanyId) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(invoice, buyerAuth());

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 403 });
    expect(sim.documents()).toHaveLength(0);
  });

  it('maps a schema-invalid UBL refused with HTTP 200 to COUNTERPART_REJECTED', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');

    const error = await sendFailure(broken);

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({
      status: 200,
      errors: [expect.stringMatching(/^File: .*IssueDate/)],
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('refuses to send without a credential set, before any request', async () => {
    const error = await sendFailure(invoice, authoriserFor('raw-api-key-1'));

    expect(error.code).toBe('VAULT_SECRET_INVALID');
    expect(error.details).toMatchObject({ rule: 'credential-set-required' });
  });

  it('does not show another company the status of a document', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      sellerAuth(),
    );

    const error = await failure(client.status(providerRef, buyerAuth()));

    expect(error.code).toBe('COUNTERPART_REJECTED');
  });
});

describe('counterpart unavailable: nothing was accepted, retry is safe', () => {
  it('maps 429 to a retryable COUNTERPART_UNAVAILABLE with Retry-After', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 7 });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 7 });
    expect(sim.documents()).toHaveLength(0);
  });

  it.each([500, 502, 503] as const)(
    'maps %i to a retryable COUNTERPART_UNAVAILABLE',
    async (status) => {
      sim.injectFault({ kind: 'status', status });

      const error = await sendFailure(invoice);

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(error.details).toMatchObject({ status });
      expect(sim.documents()).toHaveLength(0);
    },
  );

  it('maps a stopped service (connection refused) to COUNTERPART_UNAVAILABLE', async () => {
    const down = await startMojEracunSimulator();
    const downClient = createMojEracunClient({
      baseUrl: down.url,
      softwareId: SOFTWARE_ID,
    });
    await down.close();

    const error = await sendFailure(invoice, sellerAuth(), downClient);

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'not_connected' });
  });
});

describe('timeout after acceptance: the outbox settles it, no second delivery', () => {
  it('a lost reply is SEND_OUTCOME_UNKNOWN; outgoing finds the one stored document', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'connection_lost' });
    const stored = sim.documents();
    expect(stored).toHaveLength(1);

    const found = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB, documentNumber: '1-P1-1' },
      sellerAuth(),
    );

    expect(found).toEqual([
      {
        providerRef: String(stored[0]?.electronicId),
        sellerOib: SAMPLE_SUPPLIER_OIB,
        documentNumber: '1-P1-1',
        status: '30',
        submittedAt: stored[0]?.created,
      },
    ]);
    expect(sim.documents()).toHaveLength(1);
  });

  it('a reply slower than the timeout is SEND_OUTCOME_UNKNOWN and the document arrives', async () => {
    const impatient = createMojEracunClient({
      baseUrl: sim.url,
      softwareId: SOFTWARE_ID,
      timeoutMs: 300,
    });
    sim.injectFault({ kind: 'latency', ms: 1_500 });

    const error = await sendFailure(invoice, sellerAuth(), impatient);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'timeout', timeoutMs: 300 });
    await vi.waitFor(
      async () =>
        expect(
          await client.outgoing(
            { sellerOib: SAMPLE_SUPPLIER_OIB, documentNumber: '1-P1-1' },
            sellerAuth(),
          ),
        ).toHaveLength(1),
      { timeout: 15_000, interval: 200 },
    );
  });
});

describe('outgoing', () => {
  it('narrows by document number and by time', async () => {
    await client.send({ ublXml: numbered(invoice, 'A-1') }, sellerAuth());
    const second = await client.send(
      { ublXml: numbered(invoice, 'A-2') },
      sellerAuth(),
    );

    const all = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB },
      sellerAuth(),
    );
    const a1 = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB, documentNumber: 'A-1' },
      sellerAuth(),
    );
    const recent = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB, since: second.acceptedAt },
      sellerAuth(),
    );

    expect(all.map((d) => d.documentNumber)).toEqual(['A-1', 'A-2']);
    expect(a1.map((d) => d.documentNumber)).toEqual(['A-1']);
    expect(recent.map((d) => d.providerRef)).toEqual([second.providerRef]);
  });
});

describe('incoming and fetch', () => {
  function deliver(numbers: string[], sentAt: string) {
    return numbers.map((n) =>
      sim.deliverInbound({ xml: numbered(invoice, n), sentAt }),
    );
  }

  it('pages the inbox oldest first, each document once, and resumes from the cursor', async () => {
    deliver(['IN-1'], '2026-11-01T08:00:00.000Z');
    // Three with the same time: the id breaks the tie.
    deliver(['IN-2', 'IN-3', 'IN-4'], '2026-11-01T09:00:00.000Z');
    deliver(['IN-5'], '2026-11-02T08:00:00.000Z');

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i += 1) {
      const page = await client.incoming(cursor, buyerAuth());
      if (page.documents.length === 0) {
        expect(page.nextCursor).toBe(cursor);
        break;
      }
      expect(page.documents.length).toBeLessThanOrEqual(2);
      seen.push(...page.documents.map((d) => d.documentNumber));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['IN-1', 'IN-2', 'IN-3', 'IN-4', 'IN-5']);

    deliver(['IN-6'], new Date().toISOString());
    const next = await client.incoming(cursor, buyerAuth());

    expect(next.documents).toEqual([
      {
        providerRef: expect.stringMatching(/^\d+$/),
        senderOib: SAMPLE_SUPPLIER_OIB,
        documentNumber: 'IN-6',
        receivedAt: expect.any(String),
      },
    ]);
  });

  it('a document one tenant sends appears in the other tenant inbox', async () => {
    const sent = await client.send({ ublXml: invoice }, sellerAuth());

    const page = await client.incoming(null, buyerAuth());
    const seller = await client.incoming(null, sellerAuth());

    expect(page.documents.map((d) => d.providerRef)).toEqual([
      sent.providerRef,
    ]);
    expect(seller.documents).toEqual([]);
  });

  it('fetches the document exactly as held', async () => {
    const [doc] = deliver(['IN-F'], '2026-11-01T08:00:00.000Z');

    const fetched = await client.fetchDocument(
      String(doc?.electronicId),
      buyerAuth(),
    );

    expect(fetched.ublXml).toBe(numbered(invoice, 'IN-F'));
  });

  it('fails an inbox read on 5xx without a partial page', async () => {
    deliver(['IN-1'], '2026-11-01T08:00:00.000Z');
    sim.injectFault({ kind: 'status', status: 503 });

    const error = await failure(client.incoming(null, buyerAuth()));

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
  });
});

describe('secrets and documents stay out of errors', () => {
  it('no error seen above carries a password or the document', () => {
    const codes = new Set(seenErrors.map((e) => e.code));
    expect(codes).toEqual(
      new Set([
        'COUNTERPART_REJECTED',
        'COUNTERPART_AUTH_FAILED',
        'COUNTERPART_UNAVAILABLE',
        'SEND_OUTCOME_UNKNOWN',
        'VAULT_SECRET_INVALID',
      ]),
    );
    expectNoneShows(seenErrors, [
      SELLER.password,
      BUYER.password,
      'not-the-password',
      SELLER.username,
    ]);
  });
});
