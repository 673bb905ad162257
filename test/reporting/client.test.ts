import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  assertRecorded,
  ReportingClient,
  type ReportingClientOptions,
} from '../../src/reporting/client.js';
import {
  invoiceReportFromUbl,
  type InvoiceReport,
  type PaymentReport,
} from '../../src/reporting/messages/index.js';
import { parseReportReply } from '../../src/reporting/protocol.js';
import {
  startFiskalizacija2Simulator,
  type Fiskalizacija2Simulator,
} from '../../src/sandbox/fiskalizacija2-simulator.js';
import {
  CERTS_DIR,
  fixtureSigners,
  P12,
  sampleXml,
  ublSample,
} from './support.js';

const signers = fixtureSigners();
const demoCa = readFileSync(join(CERTS_DIR, 'demo-ca.crt'));

let sim: Fiskalizacija2Simulator;
let clients: ReportingClient[] = [];
let invoiceNumber = 0;

beforeAll(async () => {
  // Tenant b reports on tenant a's behalf in the mandate test only.
  sim = await startFiskalizacija2Simulator({
    mandates: { [P12.b.oib]: ['24715430428'] },
  });
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

function client(options: Partial<ReportingClientOptions> = {}) {
  const c = new ReportingClient({
    url: sim.url,
    ca: demoCa,
    replySignerCa: demoCa,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  clients.push(c);
  return c;
}

/** An e-invoice of tenant a to tenant b, a fresh number each call. */
function invoice(overrides: Partial<InvoiceReport> = {}): InvoiceReport {
  const record = invoiceReportFromUbl(ublSample('eRacun_PDV25.xml'));
  invoiceNumber += 1;
  return {
    ...record,
    number: `TG-${invoiceNumber}-${Date.now()}`,
    issueDate: '2026-02-01',
    issuer: { ...record.issuer, oib: P12.a.oib, operatorOib: P12.a.oib },
    recipient: { ...record.recipient, oib: P12.b.oib },
    ...overrides,
  };
}

function payment(of: InvoiceReport): PaymentReport {
  return {
    number: of.number,
    issueDate: of.issueDate,
    issuerOib: of.issuer.oib,
    recipientOib: of.recipient.oib,
    paidOn: '2026-02-15',
    amount: of.totals.payable,
    method: 'T',
  };
}

async function refusal(promise: Promise<unknown>): Promise<TenantGateError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TenantGateError) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

describe('reporting e-invoices', () => {
  it('records an outgoing e-invoice; the reply names our request', async () => {
    const result = await client().evidentirajERacun([invoice()], signers.a, {
      direction: 'I',
    });

    expect(result.ok).toBe(true);
    expect(result.outcomes).toEqual([
      { index: 1, code: null, message: null, ok: true, alreadyRecorded: false },
    ]);
    const exchange = result.exchanges[0]!;
    expect(exchange.accepted).toBe(true);
    expect(exchange.replyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(exchange.responseXml).toContain(
      `<fis:idZahtjeva>${exchange.requestId}<`,
    );
  });

  it('S008 on a repeated report is treated as already done', async () => {
    const record = invoice();
    await client().evidentirajERacun([record], signers.a, { direction: 'I' });

    const again = await client().evidentirajERacun([record], signers.a, {
      direction: 'I',
    });

    expect(again.ok).toBe(true);
    expect(again.outcomes[0]).toMatchObject({
      index: 1,
      code: 'S008',
      ok: true,
      alreadyRecorded: true,
    });
    expect(assertRecorded(again)).toBe(again);
  });

  it('the recipient reports the same e-invoice as incoming (U)', async () => {
    const record = invoice();
    await client().evidentirajERacun([record], signers.a, { direction: 'I' });

    const incoming = await client().evidentirajERacun([record], signers.b, {
      direction: 'U',
    });

    expect(incoming.outcomes[0]).toMatchObject({
      ok: true,
      alreadyRecorded: false,
    });
  });

  it('a signer whose certificate is not the issuer’s is refused (S006)', async () => {
    const before = sim.recorded().eRacun;

    const error = await refusal(
      client().evidentirajERacun([invoice()], signers.b, { direction: 'I' }),
    );

    expect(error.code).toBe('REPORT_REJECTED');
    expect(error.details).toMatchObject({ code: 'S006', recordNumber: 1 });
    expect(sim.recorded().eRacun).toBe(before);
  });

  it('an intermediary with a mandate may report for the company', async () => {
    const mandated = invoice({
      issuer: {
        name: 'Tvrtka C',
        oib: '24715430428',
        operatorOib: '24715430428',
      },
    });

    const result = await client().evidentirajERacun([mandated], signers.b, {
      direction: 'I',
    });

    expect(result.ok).toBe(true);
  });

  it('an expired certificate is refused (S003)', async () => {
    const error = await refusal(
      client().evidentirajERacun(
        [
          invoice({
            issuer: { name: 'C', oib: P12.c.oib, operatorOib: P12.c.oib },
          }),
        ],
        signers.c,
        { direction: 'I' },
      ),
    );

    expect(error.details).toMatchObject({ code: 'S003' });
  });
});

describe('a batch with one bad record', () => {
  it('reports that record’s number and code; the others are recorded', async () => {
    const reported = [invoice(), invoice()];
    await client().evidentirajERacun(reported, signers.a, { direction: 'I' });
    const neverReported = invoice();
    const before = sim.recorded().naplata;

    const result = await client().evidentirajNaplatu(
      [payment(reported[0]!), payment(neverReported), payment(reported[1]!)],
      signers.a,
    );

    expect(result.ok).toBe(false);
    expect(result.outcomes.map((o) => [o.index, o.code, o.ok])).toEqual([
      [1, null, true],
      [2, 'S009', false],
      [3, null, true],
    ]);
    expect(result.exchanges.map((e) => [e.records, e.code])).toEqual([
      [[1, 2, 3], 'S009'],
      [[1, 3], null],
    ]);
    expect(sim.recorded().naplata).toBe(before + 2);
    const error = (() => {
      try {
        assertRecorded(result);
      } catch (e) {
        return e as TenantGateError;
      }
      return null;
    })();
    expect(error?.code).toBe('REPORT_REJECTED');
    expect(error?.details).toMatchObject({ recordNumber: 2, code: 'S009' });
  });

  it('a second rejection of one e-invoice counts as already recorded (S010)', async () => {
    const record = invoice();
    await client().evidentirajERacun([record], signers.a, { direction: 'I' });
    const rejection = {
      number: record.number,
      issueDate: record.issueDate,
      issuerOib: record.issuer.oib,
      recipientOib: record.recipient.oib,
      rejectedOn: '2026-02-03',
      reasonType: 'N' as const,
      reason: 'Neispravan iznos',
    };

    const first = await client().evidentirajOdbijanje([rejection], signers.b);
    const second = await client().evidentirajOdbijanje([rejection], signers.b);

    expect(first.outcomes[0]).toMatchObject({ ok: true, code: null });
    expect(second.outcomes[0]).toMatchObject({
      ok: true,
      code: 'S010',
      alreadyRecorded: true,
    });
  });
});

describe('retries', () => {
  it('S001 is resent and then recorded', async () => {
    sim.inject({ kind: 'S001' });

    const result = await client().evidentirajERacun([invoice()], signers.a, {
      direction: 'I',
    });

    expect(result.ok).toBe(true);
    expect(result.exchanges[0]?.attempts).toBe(2);
  });

  it('HTTP 503 and a dropped connection are resent', async () => {
    sim.inject({ kind: 'http-503' }, { kind: 'drop' });

    const result = await client().evidentirajERacun([invoice()], signers.a, {
      direction: 'I',
    });

    expect(result.ok).toBe(true);
    expect(result.exchanges[0]?.attempts).toBe(3);
  });

  it('a lost reply after recording: the resend finds it already recorded', async () => {
    sim.inject({ kind: 'drop-after-processing' });

    const result = await client().evidentirajERacun([invoice()], signers.a, {
      direction: 'I',
    });

    expect(result.outcomes[0]).toMatchObject({
      ok: true,
      code: 'S008',
      alreadyRecorded: true,
    });
  });

  it('S001 beyond the attempts is COUNTERPART_UNAVAILABLE, retryable', async () => {
    const waits: number[] = [];
    sim.inject({ kind: 'S001' }, { kind: 'S001' }, { kind: 'S001' });

    const error = await refusal(
      client({
        sleep: async (ms) => {
          waits.push(ms);
        },
        retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 150 },
      }).evidentirajERacun([invoice()], signers.a, { direction: 'I' }),
    );

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({
      attempts: 3,
      lastCode: 'COUNTERPART_UNAVAILABLE',
    });
    expect(waits).toEqual([100, 150]);
  });
});

describe('transport', () => {
  it('reports over plain HTTP as well', async () => {
    const plain = await startFiskalizacija2Simulator({ plainHttp: true });
    const c = new ReportingClient({ url: plain.url, replySignerCa: demoCa });
    try {
      const result = await c.evidentirajERacun([invoice()], signers.a, {
        direction: 'I',
      });

      expect(plain.url).toMatch(/^http:/);
      expect(result.ok).toBe(true);
    } finally {
      c.close();
      await plain.close();
    }
  });
});

describe('replies', () => {
  it('a reply signed by another CA is refused', async () => {
    const error = await refusal(
      client({
        replySignerCa: readFileSync(join(CERTS_DIR, 'tenant-a.crt')),
      }).evidentirajERacun([invoice()], signers.a, { direction: 'I' }),
    );

    expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
  });

  it.each([
    ['Odgovor_EvidentirajNaplatu.xml', true, null],
    ['Odgovor_EvidentirajOdbijanje.xml', true, null],
    ['Odgovor_EvidentirajIsporukuZaKojuNijeIzdanERacun.xml', true, null],
    ['Neuspjesan_Odgovor_EvidentirajNaplatu.xml', false, 'S009'],
    ['Neuspjesan_Odgovor_EvidentirajOdbijanje.xml', false, 'S010'],
    [
      'Neuspjesan_Odgovor_EvidentirajIsporukuZaKojuNijeIzdanERacun.xml',
      false,
      'S008',
    ],
  ])('the official %s reads by local name', (name, accepted, code) => {
    const reply = parseReportReply(sampleXml(name));

    expect(reply.accepted).toBe(accepted);
    expect(reply.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.replyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.rootName).toBe(
      name.replace(/^(Neuspjesan_)?Odgovor_/, '').replace('.xml', 'Odgovor'),
    );
    expect(reply.error?.code ?? null).toBe(code);
    if (code) expect(reply.error?.recordNumber).toBe(1);
  });
});
