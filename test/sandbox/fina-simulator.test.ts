import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signedEnvelope } from '../../src/einvoice/fina/signing.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import {
  startFinaSimulator,
  type FinaSimulator,
} from '../../src/sandbox/fina-simulator.js';
import type { RequestAuthoriser } from '../../src/vault/vault.js';
import { authoriserFor } from '../einvoice/intermediary-support.js';
import { registerSecret } from '../support/known-secrets.js';

// The simulator's own checks, with messages written by hand (signed with
// the client's WS-Security helper where a valid signature is needed).

const SUPPLIER = '12345678903';
const BUYER = '98765432198';
const NS = 'http://fina.hr/eracun/b2b/invoicewebservice/v0.1';
registerSecret('FINA fixture PKCS#12 password', 'fina-demo-pass');

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/fina/${name}`, import.meta.url));
const authOf = (p12: string): RequestAuthoriser =>
  authoriserFor(packPkcs12(fixture(p12), 'fina-demo-pass'));
const supplier = authOf('tenant-supplier.p12');
const buyer = authOf('tenant-customer.p12');

const echo = (oib: string, text = 'hello') =>
  `<b2b:EchoMsg xmlns:b2b="${NS}"><b2b:HeaderSupplier>` +
  `<b2b:MessageID>m-1</b2b:MessageID><b2b:SupplierID>9934:${oib}</b2b:SupplierID>` +
  `<b2b:MessageType>9999</b2b:MessageType></b2b:HeaderSupplier>` +
  `<b2b:Data><b2b:EchoData>${text}</b2b:EchoData></b2b:Data></b2b:EchoMsg>`;

let sim: FinaSimulator;

beforeAll(async () => {
  sim = await startFinaSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerCompany(SUPPLIER);
  sim.registerCompany(BUYER);
});

function post(
  body: string,
  agent: Agent | undefined,
): Promise<{ status: number; text: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}/B2BFinaInvoiceWebService`,
      {
        method: 'POST',
        agent,
        ca: sim.serverCa,
        headers: { 'content-type': 'text/xml; charset=utf-8' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const agentOf = (auth: RequestAuthoriser) =>
  auth.tlsAgent?.({ ca: sim.serverCa });
const signed = (auth: RequestAuthoriser, body: string) =>
  signedEnvelope(body, auth.signer!);

describe('transport and message security', () => {
  it('answers 403 to a connection without a client certificate', async () => {
    const reply = await post(signed(supplier, echo(SUPPLIER)), undefined);

    expect(reply.status).toBe(403);
  });

  it('echoes a correctly signed message with an ACCEPTED MessageAck', async () => {
    const reply = await post(
      signed(supplier, echo(SUPPLIER, 'abc')),
      agentOf(supplier),
    );

    expect(reply.status).toBe(200);
    expect(reply.text).toContain('<b2b:AckStatus>ACCEPTED</b2b:AckStatus>');
    expect(reply.text).toContain('<b2b:EchoData>abc</b2b:EchoData>');
  });

  it('faults FailedCheck when the body changed after signing', async () => {
    const tampered = signed(supplier, echo(SUPPLIER, 'abc')).replace(
      '>abc<',
      '>abd<',
    );

    const reply = await post(tampered, agentOf(supplier));

    expect(reply.status).toBe(500);
    expect(reply.text).toContain('<faultcode>wsse:FailedCheck</faultcode>');
  });

  it('faults InvalidSecurityToken when the token is not the TLS certificate', async () => {
    const reply = await post(signed(buyer, echo(BUYER)), agentOf(supplier));

    expect(reply.text).toContain('wsse:InvalidSecurityToken');
  });

  it("faults FailedAuthentication when SupplierID is not the certificate's OIB", async () => {
    const reply = await post(signed(supplier, echo(BUYER)), agentOf(supplier));

    expect(reply.text).toContain('wsse:FailedAuthentication');
  });

  it('faults a message without WS-Security', async () => {
    const bare =
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
      `<soapenv:Body>${echo(SUPPLIER)}</soapenv:Body></soapenv:Envelope>`;

    const reply = await post(bare, agentOf(supplier));

    expect(reply.text).toContain('wsse:InvalidSecurity');
  });
});

describe('invoices', () => {
  const sendMsg = (ubl: string, number: string) =>
    `<b2b:SendB2BOutgoingInvoiceMsg xmlns:b2b="${NS}"><b2b:HeaderSupplier>` +
    `<b2b:MessageID>m-2</b2b:MessageID><b2b:SupplierID>9934:${SUPPLIER}</b2b:SupplierID>` +
    `<b2b:MessageType>9001</b2b:MessageType></b2b:HeaderSupplier><b2b:Data>` +
    `<b2b:B2BOutgoingInvoiceEnvelope><b2b:SupplierInvoiceID>${number}</b2b:SupplierInvoiceID>` +
    `<b2b:InvoiceEnvelope>${Buffer.from(ubl).toString('base64')}</b2b:InvoiceEnvelope>` +
    `</b2b:B2BOutgoingInvoiceEnvelope></b2b:Data></b2b:SendB2BOutgoingInvoiceMsg>`;

  it('finds an unsigned UBL incorrect (E-SIG) and stores nothing', async () => {
    const ubl = readFileSync(
      new URL(
        '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
        import.meta.url,
      ),
      'utf8',
    ).replaceAll('12345678901', SUPPLIER);

    const reply = await post(
      signed(supplier, sendMsg(ubl, '1-P1-1')),
      agentOf(supplier),
    );

    expect(reply.status).toBe(200);
    expect(reply.text).toContain('<b2b:IncorrectB2BOutgoingInvoice>');
    expect(reply.text).toContain('<b2b:ErrorCode>E-SIG</b2b:ErrorCode>');
    expect(sim.invoices()).toHaveLength(0);
  });

  it('holds injected inbound invoices for their buyer, in sequence', () => {
    const xml = readFileSync(
      new URL(
        '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
        import.meta.url,
      ),
      'utf8',
    ).replaceAll('11111111119', BUYER);

    const a = sim.deliverInbound({ xml });
    const b = sim.deliverInbound({ xml });

    expect([a.buyerOib, b.buyerOib]).toEqual([BUYER, BUYER]);
    expect(b.sequence).toBe(a.sequence + 1);
  });
});

describe('fault injection', () => {
  it('answers 429 with Retry-After before any check', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 9 });

    const reply = await post('not even xml', agentOf(supplier));

    expect(reply.status).toBe(429);
    expect(reply.retryAfter).toBe('9');
  });
});
