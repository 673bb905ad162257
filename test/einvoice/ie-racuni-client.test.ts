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
  createIeRacuniClient,
  ieRacuniCredentials,
} from '../../src/einvoice/ie-racuni-client.js';
import type { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  startIeRacuniSimulator,
  type IeRacuniSimulator,
} from '../../src/sandbox/ie-racuni-simulator.js';
import { registerSecret } from '../support/known-secrets.js';
import {
  authoriserFor,
  expectNoneShows,
  failure,
  numbered,
  sample,
  SAMPLE_CUSTOMER_OIB,
  SAMPLE_SUPPLIER_OIB,
} from './intermediary-support.js';

const INTEGRATOR = { username: 'tenantgate', password: 'integrator-pw-5521' };
const SELLER_TOKEN = 'ie-token-seller-0f9a77';
const BUYER_TOKEN = 'ie-token-buyer-33c1d0';
const invoice = sample('eRacun_PDV25.xml');
const creditNote = sample('Odobrenje.xml');

registerSecret('IE-Računi integrator password', INTEGRATOR.password);
registerSecret('IE-Računi seller token', SELLER_TOKEN);
registerSecret('IE-Računi buyer token', BUYER_TOKEN);

const authOf = (oib: string, token: string, password = INTEGRATOR.password) =>
  authoriserFor(ieRacuniCredentials({ ...INTEGRATOR, password, oib, token }));
const sellerAuth = () => authOf(SAMPLE_SUPPLIER_OIB, SELLER_TOKEN);
const buyerAuth = () => authOf(SAMPLE_CUSTOMER_OIB, BUYER_TOKEN);

let sim: IeRacuniSimulator;
let client: ReturnType<typeof createIeRacuniClient>;
const seenErrors: TenantGateError[] = [];

beforeAll(async () => {
  sim = await startIeRacuniSimulator();
  client = createIeRacuniClient({
    baseUrl: sim.url,
    timeoutMs: 10_000,
    importWaitMs: 10_000,
    pollIntervalMs: 50,
    pageSize: 2,
  });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerIntegrator(INTEGRATOR.username, INTEGRATOR.password);
  sim.registerTenant(SAMPLE_SUPPLIER_OIB, SELLER_TOKEN);
  sim.registerTenant(SAMPLE_CUSTOMER_OIB, BUYER_TOKEN);
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

describe('send: import, then poll until processed', () => {
  it.each([
    ['an invoice', invoice, 'INVOICE'],
    ['a credit note', creditNote, 'CREDIT_NOTE'],
  ])('imports %s and returns once it is DONE', async (_n, xml, type) => {
    const result = await client.send({ ublXml: xml }, sellerAuth());

    const [imp, ...rest] = sim.imports();
    expect(rest).toHaveLength(0);
    expect(imp).toMatchObject({
      importId: result.providerRef,
      oib: SAMPLE_SUPPLIER_OIB,
      type,
      xml,
      status: 'DONE',
    });
    expect(result).toMatchObject({
      acceptedAt: imp?.createdAt,
      message: 'import DONE',
    });
    expect(sim.documents()).toHaveLength(1);
  });

  it('returns with the import still queued when processing is slow; status follows it', async () => {
    sim.setProcessing('manual');
    const quick = createIeRacuniClient({
      baseUrl: sim.url,
      importWaitMs: 200,
      pollIntervalMs: 50,
    });

    const { providerRef } = await quick.send({ ublXml: invoice }, sellerAuth());

    expect(await client.status(providerRef, sellerAuth())).toEqual({
      providerRef,
      status: 'QUEUED',
    });
    await sim.processImports();
    expect(await client.status(providerRef, sellerAuth())).toEqual({
      providerRef,
      status: 'SENT',
    });
    const doc = sim.documents()[0];
    sim.setStatus(doc?.documentId ?? '', 'DELIVERED');
    expect((await client.status(providerRef, sellerAuth())).status).toBe(
      'DELIVERED',
    );
  });

  it('a failing poll after the import was accepted still returns the import id (no resend)', async () => {
    sim.setProcessing('manual');
    const quick = createIeRacuniClient({
      baseUrl: sim.url,
      importWaitMs: 150,
      pollIntervalMs: 50,
    });
    // The import call goes through; every poll then meets a 503.
    sim.injectFault({ kind: 'latency', ms: 0 });
    sim.injectFault({ kind: 'status', status: 503, times: 20 });

    const result = await quick.send({ ublXml: invoice }, sellerAuth());

    expect(result.providerRef).toBe(sim.imports()[0]?.importId);
    expect(result.message).toBe('import accepted');
    expect(sim.imports()).toHaveLength(1);
  });

  it('pings with valid credentials', async () => {
    await expect(client.ping(sellerAuth())).resolves.toBeUndefined();
  });
});

describe('refusals', () => {
  it('maps wrong integrator credentials (401) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(
      invoice,
      authOf(SAMPLE_SUPPLIER_OIB, SELLER_TOKEN, 'wrong-integrator-pw'),
    );

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({
      status: 401,
      providerCode: 'UNAUTHORIZED',
    });
    expect(sim.imports()).toHaveLength(0);
  });

  it('maps a wrong tenant token (403) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(
      invoice,
      authOf(SAMPLE_SUPPLIER_OIB, BUYER_TOKEN),
    );

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 403 });
    expect(sim.imports()).toHaveLength(0);
  });

  it('maps an import that fails validation to COUNTERPART_REJECTED with the findings', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');

    const error = await sendFailure(broken);

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({
      providerRef: sim.imports()[0]?.importId,
      errors: [expect.stringMatching(/SCHEMA.*IssueDate/)],
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('maps an import of another supplier to COUNTERPART_REJECTED', async () => {
    const error = await sendFailure(invoice, buyerAuth());

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({
      errors: [expect.stringMatching(/SELLER_MISMATCH/)],
    });
  });

  it('maps an unknown import (404) to COUNTERPART_REJECTED', async () => {
    const error = await failure(client.status('no-such-import', sellerAuth()));

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({ status: 404 });
  });
});

describe('counterpart unavailable: nothing was accepted, retry is safe', () => {
  it('maps 429 to a retryable COUNTERPART_UNAVAILABLE with Retry-After', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 12 });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 12 });
    expect(sim.imports()).toHaveLength(0);
  });

  it.each([500, 502, 503] as const)(
    'maps %i to a retryable COUNTERPART_UNAVAILABLE',
    async (status) => {
      sim.injectFault({ kind: 'status', status });

      const error = await sendFailure(invoice);

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(error.details).toMatchObject({ status });
      expect(sim.imports()).toHaveLength(0);
    },
  );
});

describe('timeout after acceptance: the outgoing listing settles it, no second delivery', () => {
  it('a lost import reply is SEND_OUTCOME_UNKNOWN; outgoing finds the one import', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    const error = await sendFailure(invoice);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'connection_lost' });
    const [imp, ...rest] = sim.imports();
    expect(rest).toHaveLength(0);

    const found = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB, documentNumber: '1-P1-1' },
      sellerAuth(),
    );

    expect(found).toEqual([
      {
        providerRef: imp?.importId,
        sellerOib: SAMPLE_SUPPLIER_OIB,
        documentNumber: '1-P1-1',
        status: expect.stringMatching(/^(QUEUED|PROCESSING|SENT)$/),
        submittedAt: imp?.createdAt,
      },
    ]);
    expect(sim.imports()).toHaveLength(1);
  });

  it('a reply slower than the timeout is SEND_OUTCOME_UNKNOWN and the import arrives', async () => {
    const impatient = createIeRacuniClient({
      baseUrl: sim.url,
      timeoutMs: 300,
    });
    sim.injectFault({ kind: 'latency', ms: 1_500 });

    const error = await sendFailure(invoice, sellerAuth(), impatient);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'timeout' });
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
  it('narrows by document number and time, and leaves failed imports out', async () => {
    await client.send({ ublXml: numbered(invoice, 'B-1') }, sellerAuth());
    const second = await client.send(
      { ublXml: numbered(invoice, 'B-2') },
      sellerAuth(),
    );
    await sendFailure(
      numbered(invoice, 'B-3').replace('<cbc:IssueDate>', '<cbc:X>'),
    );

    const all = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB },
      sellerAuth(),
    );
    const recent = await client.outgoing(
      { sellerOib: SAMPLE_SUPPLIER_OIB, since: second.acceptedAt },
      sellerAuth(),
    );

    expect(all.map((d) => d.documentNumber)).toEqual(['B-1', 'B-2']);
    expect(recent.map((d) => d.providerRef)).toEqual([second.providerRef]);
  });
});

describe('incoming and fetch', () => {
  it('pages the inbox by sequence, each document once, and resumes from the cursor', async () => {
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
    const docId = sim
      .imports()
      .find((i) => i.importId === sent.providerRef)?.documentId;

    expect(next.documents).toEqual([
      {
        providerRef: docId,
        senderOib: SAMPLE_SUPPLIER_OIB,
        documentNumber: '1-P1-1',
        receivedAt: expect.any(String),
      },
    ]);
  });

  it('fetches the document exactly as held', async () => {
    const doc = sim.deliverInbound({ xml: numbered(invoice, 'IN-F') });

    const fetched = await client.fetchDocument(doc.documentId, buyerAuth());

    expect(fetched.ublXml).toBe(numbered(invoice, 'IN-F'));
  });

  it('does not let another tenant fetch it', async () => {
    const doc = sim.deliverInbound({ xml: invoice });
    sim.registerTenant('98765432106', 'third-token');

    const error = await failure(
      client.fetchDocument(
        doc.documentId,
        authOf('98765432106', 'third-token'),
      ),
    );

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({ status: 404 });
  });

  it('fails an inbox read on 5xx without a partial page', async () => {
    sim.deliverInbound({ xml: invoice });
    sim.injectFault({ kind: 'status', status: 500 });

    const error = await failure(client.incoming(null, buyerAuth()));

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
  });
});

describe('secrets and documents stay out of errors', () => {
  it('no error seen above carries a credential or the document', () => {
    const codes = new Set(seenErrors.map((e) => e.code));
    expect(codes).toEqual(
      new Set([
        'COUNTERPART_REJECTED',
        'COUNTERPART_AUTH_FAILED',
        'COUNTERPART_UNAVAILABLE',
        'SEND_OUTCOME_UNKNOWN',
      ]),
    );
    expectNoneShows(seenErrors, [
      INTEGRATOR.password,
      SELLER_TOKEN,
      BUYER_TOKEN,
      Buffer.from(`${INTEGRATOR.username}:${INTEGRATOR.password}`).toString(
        'base64',
      ),
    ]);
  });
});
