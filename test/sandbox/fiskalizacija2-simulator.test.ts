import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kid, kids, text } from '../../src/einvoice/rules/dom.js';
import type { UblElement } from '../../src/einvoice/rules/dom.js';
import {
  buildEvidentirajERacun,
  buildEvidentirajNaplatu,
  invoiceReportFromUbl,
  type InvoiceReport,
} from '../../src/reporting/messages/index.js';
import {
  parseReportReply,
  soapEnvelope,
} from '../../src/reporting/protocol.js';
import { signXades } from '../../src/reporting/xades.js';
import {
  startFiskalizacija2Simulator,
  type Fiskalizacija2Simulator,
} from '../../src/sandbox/fiskalizacija2-simulator.js';
import {
  CERTS_DIR,
  fixtureSigners,
  P12,
  requestElement,
  sampleXml,
  ublSample,
} from '../reporting/support.js';

const run = promisify(execFile);
const signers = fixtureSigners();
const demoCa = readFileSync(join(CERTS_DIR, 'demo-ca.crt'));
let sim: Fiskalizacija2Simulator;
let counter = 0;

beforeAll(async () => {
  sim = await startFiskalizacija2Simulator();
});

afterAll(async () => {
  await sim.close();
});

/** Posts a SOAP body element over HTTPS; the raw reply. */
function post(inner: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      sim.url,
      {
        method: 'POST',
        ca: demoCa,
        headers: { 'content-type': 'text/xml; charset=utf-8' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(soapEnvelope(inner));
  });
}

function invoice(overrides: Partial<InvoiceReport> = {}): InvoiceReport {
  const record = invoiceReportFromUbl(ublSample('eRacun_PDV25.xml'));
  counter += 1;
  return {
    ...record,
    number: `SIM-${counter}-${Date.now()}`,
    issueDate: '2026-02-01',
    issuer: { ...record.issuer, oib: P12.a.oib, operatorOib: P12.a.oib },
    recipient: { ...record.recipient, oib: P12.b.oib },
    ...overrides,
  };
}

function signedERacun(records: InvoiceReport[]): string {
  const message = buildEvidentirajERacun(records, { direction: 'I' });
  return signXades(message.xml, signers.a);
}

async function answer(inner: string) {
  const response = await post(inner);
  return { ...parseReportReply(response.body), body: response.body };
}

/** The element names of a reply, in order, without the signature. */
function shape(el: UblElement, prefix = ''): string[] {
  return kids(el)
    .filter((c) => c.localName !== 'Signature')
    .flatMap((c) => [
      `${prefix}/${c.localName}`,
      ...shape(c, `${prefix}/${c.localName}`),
    ]);
}

describe('requests the service refuses', () => {
  it('a tampered signed request: S004, nothing recorded', async () => {
    const before = sim.recorded().eRacun;
    const signed = signedERacun([invoice()]).replace(
      '<efis:iznosSPdv>125.00<',
      '<efis:iznosSPdv>12.50<',
    );

    const reply = await answer(signed);

    expect(reply.accepted).toBe(false);
    expect(reply.error?.code).toBe('S004');
    expect(sim.recorded().eRacun).toBe(before);
  });

  it('a signature over another element: S002', async () => {
    const signed = signedERacun([invoice()]);
    const id = /efis:id="([^"]+)"/.exec(signed)?.[1] ?? '';
    const moved = signed.replace(`URI="#${id}"`, 'URI="#elsewhere"');

    expect((await answer(moved)).error?.code).toBe('S002');
  });

  it('a request against the schema: S005', async () => {
    const signed = signedERacun([invoice()]).replace(
      /<efis:vrstaPoslovnogProcesa>P1<\/efis:vrstaPoslovnogProcesa>/,
      '',
    );

    const reply = await answer(signed);

    expect(reply.error?.code).toBe('S005');
    expect(reply.error?.message).toContain('vrstaPoslovnogProcesa');
  });

  it('an OIB with a wrong check digit: S007 with its record number', async () => {
    const bad = invoice({
      recipient: { name: 'Tvrtka B', oib: '12345678901' },
    });

    const reply = await answer(signedERacun([invoice(), bad]));

    expect(reply.error).toMatchObject({ code: 'S007', recordNumber: 2 });
  });

  it('the same e-invoice twice in one request: S008 at the second', async () => {
    const record = invoice();

    const reply = await answer(signedERacun([record, record]));

    expect(reply.error).toMatchObject({ code: 'S008', recordNumber: 2 });
  });

  it('a corrected e-invoice whose original is not recorded: S012', async () => {
    const corrected = invoice({
      documentType: '384',
      previous: [{ number: 'NEVER-REPORTED', issueDate: '2026-01-15' }],
    });

    const reply = await answer(signedERacun([corrected]));

    expect(reply.error).toMatchObject({ code: 'S012', recordNumber: 1 });
  });
});

describe('replies as the official samples show them', () => {
  it('an accepted report: Odgovor_EvidentirajNaplatu.xml’s shape and namespace', async () => {
    const record = invoice();
    await answer(signedERacun([record]));
    const naplata = buildEvidentirajNaplatu([
      {
        number: record.number,
        issueDate: record.issueDate,
        issuerOib: record.issuer.oib,
        recipientOib: record.recipient.oib,
        paidOn: '2026-02-10',
        amount: '125.00',
        method: 'T',
      },
    ]);

    const reply = await answer(signXades(naplata.xml, signers.a));

    const official = requestElement(
      sampleXml('Odgovor_EvidentirajNaplatu.xml'),
    );
    const ours = requestElement(reply.body);
    expect(reply.accepted).toBe(true);
    expect(reply.requestId).toBe(naplata.requestId);
    expect(shape(ours)).toEqual(shape(official));
    expect(ours.nodeName).toBe(official.nodeName);
    expect(reply.body).toContain(
      'xmlns:eiz="http://www.porezna-uprava.gov.hr/fin/2024/types/eizjestavanje"',
    );
  });

  it('a payment of an e-invoice never recorded: Neuspjesan_Odgovor_EvidentirajNaplatu.xml', async () => {
    const naplata = buildEvidentirajNaplatu([
      {
        number: 'NOT-RECORDED',
        issueDate: '2026-02-01',
        issuerOib: P12.a.oib,
        recipientOib: P12.b.oib,
        paidOn: '2026-02-10',
        amount: '125.00',
        method: 'T',
      },
    ]);

    const reply = await answer(signXades(naplata.xml, signers.a));

    const sample = sampleXml('Neuspjesan_Odgovor_EvidentirajNaplatu.xml');
    const official = requestElement(sample);
    expect(shape(requestElement(reply.body))).toEqual(shape(official));
    expect(reply.error).toEqual(parseReportReply(sample).error);
  });

  it('the reply’s signature verifies with xmlsec1 against the demo CA', async () => {
    const reply = await answer(signedERacun([invoice()]));
    const dir = await mkdtemp(join(tmpdir(), 'tg-f2-reply-'));
    const path = join(dir, `${randomUUID()}.xml`);
    try {
      await writeFile(path, reply.body);
      const { stdout, stderr } = await run('xmlsec1', [
        '--verify',
        '--enabled-key-data',
        'x509',
        '--id-attr:id',
        'http://www.porezna-uprava.gov.hr/fin/2024/types/eFiskalizacija:EvidentirajERacunOdgovor',
        '--trusted-pem',
        join(CERTS_DIR, 'demo-ca.crt'),
        path,
      ]);
      expect(stdout + stderr).toContain('OK');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(text(kid(requestElement(reply.body), 'datumVrijemeSlanja'))).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/,
    );
  });
});

describe('what the simulator saw', () => {
  it('keeps each request with the signer’s OIB and its outcome', async () => {
    const before = sim.received.length;

    await answer(signedERacun([invoice()]));

    expect(sim.received.slice(before)).toEqual([
      expect.objectContaining({
        operation: 'EvidentirajERacunZahtjev',
        records: 1,
        signerOibs: [P12.a.oib],
        accepted: true,
        code: null,
      }),
    ]);
  });
});
