import { randomInt, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import {
  DOMParser,
  XMLSerializer,
  type Document,
  type Element,
} from '@xmldom/xmldom';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { SignedXml } from 'xml-crypto';
import {
  FaultQueue,
  originOf,
  type SimulatorFault,
} from './fault-injection.js';
import { readSimulatedUbl } from './ubl-reader.js';
import {
  createUblSchemaValidator,
  type UblSchemaValidator,
} from './xsd-validator.js';

/** An invoice FINA holds: sent through it, or delivered to a buyer. */
export interface FinaInvoice {
  invoiceId: string;
  supplierOib: string;
  buyerOib: string;
  supplierInvoiceId: string;
  /** The UBL as received (signed when it came through 9001). */
  xml: string;
  /** RECEIVED, RECEIVING_CONFIRMED, APPROVED, REJECTED, PAYMENT_*. */
  status: string;
  timestamp: string;
  /** Position in the buyer's inbox (1, 2, …). */
  sequence: number;
  sentThroughApi: boolean;
}

/** A running FINA e-Račun B2B simulator (HTTPS with client certificates). */
export interface FinaSimulator {
  /** Origin to give the client, e.g. `https://127.0.0.1:40123`. */
  readonly url: string;
  /** The CA (PEM) of the simulator's server certificate. */
  readonly serverCa: string;
  /** FINA serves registered participants only (their certificate's OIB). */
  registerCompany(oib: string): void;
  unregisterCompany(oib: string): void;
  injectFault(fault: SimulatorFault): void;
  deliverInbound(inbound: {
    xml: string;
    buyerOib?: string;
    supplierOib?: string;
  }): FinaInvoice;
  setStatus(invoiceId: string, status: string): void;
  reset(): void;
  invoices(): FinaInvoice[];
  close(): Promise<void>;
}

export interface FinaSimulatorOptions {
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  validator?: UblSchemaValidator;
  /**
   * Server key and certificate, and the CA client certificates must
   * chain to. Default: the test certificates in `fixtures/fina/`.
   */
  tls?: { key: string; cert: string; clientCa: string; serverCa: string };
}

interface State {
  companies: Set<string>;
  invoices: FinaInvoice[];
  nextId: number;
  nextSequence: number;
}

/** A verified request: who sent it and its message. */
interface Verified {
  oib: string;
  certificateDer: Buffer;
  message: Element;
  messageId: string;
}

const PATH = '/B2BFinaInvoiceWebService';
const B2B_NS = 'http://fina.hr/eracun/b2b/invoicewebservice/v0.1';
const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const FIXTURES = new URL('../../fixtures/fina/', import.meta.url);

/**
 * Starts a loopback simulator of the FINA e-Račun B2B web service
 * (PROTOCOLS.md): HTTPS that requires a client certificate from its CA,
 * SOAP 1.1 whose WS-Security signature must verify with that same
 * certificate, a SupplierID equal to the certificate's OIB, and a UBL
 * whose own signature verifies and which is valid against the schema.
 * Security failures are SOAP Faults; a bad invoice is an
 * IncorrectB2BOutgoingInvoice. It shares no code with the client.
 */
export async function startFinaSimulator(
  options: FinaSimulatorOptions = {},
): Promise<FinaSimulator> {
  const validator = options.validator ?? createUblSchemaValidator();
  const tls = options.tls ?? defaultTls();
  const state: State = {
    companies: new Set(),
    invoices: [],
    nextId: 70_000_000 + randomInt(10_000_000),
    nextSequence: 1,
  };
  const faults = new FaultQueue();
  const app = Fastify({
    logger: false,
    bodyLimit: 30 * 1024 * 1024,
    forceCloseConnections: true,
    https: {
      key: tls.key,
      cert: tls.cert,
      ca: tls.clientCa,
      // Checked per request (403), as a TLS-terminating proxy does:
      // Node would otherwise reset the connection after the handshake,
      // which a client cannot tell from a lost reply.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
  });
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
  faults.register(app, (status) =>
    soapFault(
      'soapenv:Server',
      status === 429 ? 'Too many requests' : 'Internal error',
    ),
  );
  const peers = new WeakMap<object, Buffer>();
  app.addHook('onRequest', async (request, reply) => {
    const socket = request.raw.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    if (!socket.authorized || !peer.raw) {
      return reply
        .code(403)
        .type('text/html')
        .send(
          '<html><body><h1>403 No valid client certificate</h1></body></html>',
        );
    }
    // Kept now: a client that gives up closes the socket meanwhile.
    peers.set(request.raw, peer.raw);
  });
  app.post(PATH, (request, reply) =>
    handle(request, reply, state, faults, validator, peers.get(request.raw)),
  );
  await app.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  });

  return {
    url: originOf(app, 'https'),
    serverCa: tls.serverCa,
    registerCompany: (oib) => void state.companies.add(oib),
    unregisterCompany: (oib) => void state.companies.delete(oib),
    injectFault: (fault) => faults.inject(fault),
    deliverInbound: (inbound) => {
      const facts = readSimulatedUbl(inbound.xml);
      return {
        ...store(state, {
          supplierOib: inbound.supplierOib ?? facts.supplierOib ?? '',
          buyerOib: inbound.buyerOib ?? facts.customerOib ?? '',
          supplierInvoiceId: facts.documentNumber,
          xml: inbound.xml,
          sentThroughApi: false,
        }),
      };
    },
    setStatus: (invoiceId, status) => {
      const invoice = state.invoices.find((i) => i.invoiceId === invoiceId);
      if (!invoice) throw new Error(`No invoice ${invoiceId}`);
      invoice.status = status;
    },
    reset: () => {
      state.companies.clear();
      state.invoices.length = 0;
      faults.clear();
    },
    invoices: () => state.invoices.map((i) => ({ ...i })),
    close: async () => {
      faults.close();
      await app.close();
    },
  };
}

function defaultTls() {
  const read = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
  const ca = read('fina-demo-ca.crt');
  return {
    key: read('fina-simulator.key'),
    cert: read('fina-simulator.crt'),
    clientCa: ca,
    serverCa: ca,
  };
}

async function handle(
  request: FastifyRequest,
  reply: FastifyReply,
  state: State,
  faults: FaultQueue,
  validator: UblSchemaValidator,
  peer: Buffer | undefined,
): Promise<FastifyReply> {
  const send = (status: number, xml: string) =>
    faults.answer(request, reply, status, xml, 'text/xml; charset=utf-8');
  const verified = verify(request, state, peer);
  if ('fault' in verified) return send(500, verified.fault);

  const name = verified.message.localName;
  switch (name) {
    case 'SendB2BOutgoingInvoiceMsg':
      return send(200, await receiveInvoice(state, validator, verified));
    case 'GetB2BOutgoingInvoiceStatusMsg':
      return send(200, outgoingStatus(state, verified));
    case 'GetB2BIncomingInvoiceListMsg':
      return send(200, incomingList(state, verified));
    case 'GetB2BIncomingInvoiceMsg':
      return send(200, incomingInvoice(state, verified));
    case 'EchoMsg':
      return send(
        200,
        ackMessage('EchoAckMsg', '9999', verified, 'ACCEPTED', '', () =>
          el('EchoData', text(verified.message, 'EchoData')),
        ),
      );
    default:
      return send(500, soapFault('soapenv:Client', `Unknown message ${name}`));
  }
}

/**
 * The security checks, in order: the WS-Security token is the TLS client
 * certificate, its signature verifies and covers Body and Timestamp, the
 * timestamp is current, the certificate's OIB is a registered company
 * and is the message's SupplierID.
 */
function verify(
  request: FastifyRequest,
  state: State,
  peer: Buffer | undefined,
): Verified | { fault: string } {
  const fault = (code: string, message: string) => ({
    fault: soapFault(`wsse:${code}`, message),
  });
  const body = typeof request.body === 'string' ? request.body : '';
  const doc = parseXml(body);
  const envelope = doc?.documentElement;
  if (!doc || !envelope || envelope.namespaceURI !== SOAP_NS) {
    return { fault: soapFault('soapenv:Client', 'Not a SOAP 1.1 envelope') };
  }
  const security = first(envelope, WSSE_NS, 'Security');
  const token = security && first(security, WSSE_NS, 'BinarySecurityToken');
  const signature = security && first(security, DS_NS, 'Signature');
  const timestamp = security && first(security, WSU_NS, 'Timestamp');
  const soapBody = first(envelope, SOAP_NS, 'Body');
  if (!token || !signature || !timestamp || !soapBody) {
    return fault('InvalidSecurity', 'WS-Security header incomplete');
  }
  const der = Buffer.from(token.textContent ?? '', 'base64');
  if (!peer || !der.equals(peer)) {
    return fault(
      'InvalidSecurityToken',
      'The token is not the TLS certificate',
    );
  }
  const certificate = new X509Certificate(der);
  if (!signatureCovers(body, signature, certificate, [soapBody, timestamp])) {
    return fault('FailedCheck', 'The message signature does not verify');
  }
  const expires = Date.parse(text(timestamp, 'Expires', WSU_NS));
  if (!(expires > Date.now())) {
    return fault('MessageExpired', 'The timestamp has expired');
  }
  const oib = certificateOib(certificate);
  if (oib === undefined || !state.companies.has(oib)) {
    return fault(
      'FailedAuthentication',
      'The certificate OIB is not registered',
    );
  }
  const message = firstElement(soapBody);
  const header = message && first(message, B2B_NS, 'HeaderSupplier');
  if (!message || !header || message.namespaceURI !== B2B_NS) {
    return { fault: soapFault('soapenv:Client', 'Unknown message') };
  }
  if (text(header, 'SupplierID') !== `9934:${oib}`) {
    return fault(
      'FailedAuthentication',
      "SupplierID is not the certificate's OIB",
    );
  }
  return {
    oib,
    certificateDer: der,
    message,
    messageId: text(header, 'MessageID'),
  };
}

/** Checks a signature and that its references are exactly `targets`. */
function signatureCovers(
  xml: string,
  signature: Element,
  certificate: X509Certificate,
  targets: Element[],
): boolean {
  try {
    const sig = new SignedXml({ publicCert: certificate.toString() });
    sig.loadSignature(signature as unknown as Node);
    if (!sig.checkSignature(xml)) return false;
    const uris = sig.getReferences().map((r) => r.uri ?? '');
    const ids = targets.map((t) => `#${t.getAttributeNS(WSU_NS, 'Id') ?? ''}`);
    return ids.every((id) => id !== '#' && uris.includes(id));
  } catch {
    return false;
  }
}

async function receiveInvoice(
  state: State,
  validator: UblSchemaValidator,
  verified: Verified,
): Promise<string> {
  const envelope = first(
    verified.message,
    B2B_NS,
    'B2BOutgoingInvoiceEnvelope',
  );
  const supplierInvoiceId = envelope ? text(envelope, 'SupplierInvoiceID') : '';
  const ubl = Buffer.from(
    envelope ? text(envelope, 'InvoiceEnvelope') : '',
    'base64',
  ).toString('utf8');
  const errors = await invoiceErrors(
    ubl,
    validator,
    verified,
    supplierInvoiceId,
  );
  if (errors.length > 0) {
    return ackMessage(
      'SendB2BOutgoingInvoiceAckMsg',
      '9002',
      verified,
      'ACCEPTED',
      '',
      () =>
        '<b2b:B2BOutgoingInvoiceProcessing><b2b:IncorrectB2BOutgoingInvoice>' +
        el('SupplierInvoiceID', supplierInvoiceId) +
        errors
          .map(
            ([code, message]) =>
              `<b2b:Error>${el('ErrorCode', code)}${el('ErrorMessage', message)}</b2b:Error>`,
          )
          .join('') +
        '</b2b:IncorrectB2BOutgoingInvoice></b2b:B2BOutgoingInvoiceProcessing>',
    );
  }
  const facts = readSimulatedUbl(ubl);
  const invoice = store(state, {
    supplierOib: verified.oib,
    buyerOib: facts.customerOib ?? '',
    supplierInvoiceId,
    xml: ubl,
    sentThroughApi: true,
  });
  return ackMessage(
    'SendB2BOutgoingInvoiceAckMsg',
    '9002',
    verified,
    'ACCEPTED',
    '',
    () =>
      '<b2b:B2BOutgoingInvoiceProcessing><b2b:CorrectB2BOutgoingInvoice>' +
      el('SupplierInvoiceID', supplierInvoiceId) +
      el('InvoiceID', invoice.invoiceId) +
      el('InvoiceTimestamp', invoice.timestamp) +
      '</b2b:CorrectB2BOutgoingInvoice></b2b:B2BOutgoingInvoiceProcessing>',
  );
}

/** What is wrong with a received UBL, as [ErrorCode, ErrorMessage]. */
async function invoiceErrors(
  ubl: string,
  validator: UblSchemaValidator,
  verified: Verified,
  supplierInvoiceId: string,
): Promise<[string, string][]> {
  const doc = parseXml(ubl);
  const signatures = doc
    ? Array.from(doc.getElementsByTagNameNS(DS_NS, 'Signature'))
    : [];
  const signature = signatures[0];
  // The UBL schemas here lack xmldsig: the content is checked without
  // the signature, which is checked cryptographically below.
  const check = await validator.validate(
    doc && signature ? withoutSignature(doc) : ubl,
  );
  if (!check.valid) {
    return check.errors.map((e) => ['E-XSD', `line ${e.line}: ${e.message}`]);
  }
  const certText = signature
    ? (first(signature, DS_NS, 'X509Certificate')?.textContent ?? '')
    : '';
  const der = Buffer.from(certText, 'base64');
  if (
    !signature ||
    signatures.length !== 1 ||
    !der.equals(verified.certificateDer)
  ) {
    return [
      [
        'E-SIG',
        'The invoice must carry one signature by the sender certificate',
      ],
    ];
  }
  if (!ublSignatureValid(ubl, signature, new X509Certificate(der))) {
    return [['E-SIG', 'The invoice signature does not verify']];
  }
  const facts = readSimulatedUbl(ubl);
  if (facts.supplierOib !== verified.oib) {
    return [['E-SUPPLIER', 'The supplier EndpointID is not the sender OIB']];
  }
  if (facts.documentNumber !== supplierInvoiceId) {
    return [['E-ID', 'SupplierInvoiceID differs from the invoice cbc:ID']];
  }
  return [];
}

function ublSignatureValid(
  xml: string,
  signature: Element,
  certificate: X509Certificate,
): boolean {
  try {
    const sig = new SignedXml({ publicCert: certificate.toString() });
    sig.loadSignature(signature as unknown as Node);
    const whole = sig.getReferences().every((r) => r.uri === '');
    return whole && sig.checkSignature(xml);
  } catch {
    return false;
  }
}

function outgoingStatus(state: State, verified: Verified): string {
  const filter = first(verified.message, B2B_NS, 'B2BOutgoingInvoiceStatus');
  const invoiceId = filter ? text(filter, 'InvoiceID') : '';
  const number = filter ? text(filter, 'SupplierInvoiceID') : '';
  const from = filter ? Date.parse(text(filter, 'FromTimestamp')) : NaN;
  const items = state.invoices
    .filter((i) => i.sentThroughApi && i.supplierOib === verified.oib)
    .filter((i) => invoiceId === '' || i.invoiceId === invoiceId)
    .filter((i) => number === '' || i.supplierInvoiceId === number)
    .filter((i) => Number.isNaN(from) || Date.parse(i.timestamp) >= from);
  return ackMessage(
    'GetB2BOutgoingInvoiceStatusAckMsg',
    '9012',
    verified,
    'ACCEPTED',
    '',
    () =>
      '<b2b:B2BOutgoingInvoiceStatusList>' +
      items
        .map(
          (i) =>
            '<b2b:B2BOutgoingInvoiceStatus>' +
            el('InvoiceID', i.invoiceId) +
            el('SupplierInvoiceID', i.supplierInvoiceId) +
            el('SupplierID', `9934:${i.supplierOib}`) +
            el('InvoiceTimestamp', i.timestamp) +
            el('InvoiceStatus', i.status) +
            '</b2b:B2BOutgoingInvoiceStatus>',
        )
        .join('') +
      '</b2b:B2BOutgoingInvoiceStatusList>',
  );
}

function incomingList(state: State, verified: Verified): string {
  const after = Number(text(verified.message, 'AfterSequence') || '0');
  const limit = Math.min(Number(text(verified.message, 'Limit') || '100'), 500);
  const items = state.invoices
    .filter((i) => i.buyerOib === verified.oib && i.sequence > after)
    .slice(0, limit > 0 ? limit : 100);
  return ackMessage(
    'GetB2BIncomingInvoiceListAckMsg',
    '9111',
    verified,
    'ACCEPTED',
    '',
    () =>
      '<b2b:B2BIncomingInvoiceList>' +
      items
        .map(
          (i) =>
            '<b2b:B2BIncomingInvoice>' +
            el('InvoiceID', i.invoiceId) +
            el('Sequence', String(i.sequence)) +
            el('SupplierID', `9934:${i.supplierOib}`) +
            el('SupplierInvoiceID', i.supplierInvoiceId) +
            el('InvoiceTimestamp', i.timestamp) +
            '</b2b:B2BIncomingInvoice>',
        )
        .join('') +
      '</b2b:B2BIncomingInvoiceList>',
  );
}

function incomingInvoice(state: State, verified: Verified): string {
  const invoiceId = text(verified.message, 'InvoiceID');
  const invoice = state.invoices.find(
    (i) => i.invoiceId === invoiceId && i.buyerOib === verified.oib,
  );
  if (!invoice) {
    return ackMessage(
      'GetB2BIncomingInvoiceAckMsg',
      '9112',
      verified,
      'REJECTED',
      'No such incoming invoice',
      () => '',
    );
  }
  return ackMessage(
    'GetB2BIncomingInvoiceAckMsg',
    '9112',
    verified,
    'ACCEPTED',
    '',
    () =>
      '<b2b:B2BIncomingInvoiceEnvelope>' +
      el('InvoiceID', invoice.invoiceId) +
      el(
        'InvoiceEnvelope',
        Buffer.from(invoice.xml, 'utf8').toString('base64'),
      ) +
      '</b2b:B2BIncomingInvoiceEnvelope>',
  );
}

function store(
  state: State,
  input: Pick<
    FinaInvoice,
    'supplierOib' | 'buyerOib' | 'supplierInvoiceId' | 'xml' | 'sentThroughApi'
  >,
): FinaInvoice {
  const invoice: FinaInvoice = {
    ...input,
    invoiceId: String(state.nextId++),
    status: 'RECEIVED',
    timestamp: new Date().toISOString(),
    sequence: state.nextSequence++,
  };
  state.invoices.push(invoice);
  return invoice;
}

function ackMessage(
  root: string,
  type: string,
  verified: Verified,
  status: 'ACCEPTED' | 'REJECTED',
  statusText: string,
  data: () => string,
): string {
  return soap(
    `<b2b:${root} xmlns:b2b="${B2B_NS}">` +
      '<b2b:HeaderFina>' +
      el('MessageID', randomUUID()) +
      el('MessageType', type) +
      '</b2b:HeaderFina>' +
      '<b2b:MessageAck>' +
      el('MessageID', verified.messageId) +
      el('MessageAckID', randomUUID()) +
      el('AckStatus', status) +
      el('AckStatusCode', status === 'ACCEPTED' ? '10' : '99') +
      el('AckStatusText', statusText || status) +
      '</b2b:MessageAck>' +
      data() +
      `</b2b:${root}>`,
  );
}

function soap(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_NS}"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}

function soapFault(code: string, message: string): string {
  return soap(
    `<soapenv:Fault xmlns:wsse="${WSSE_NS}"><faultcode>${code}</faultcode><faultstring>${escape(message)}</faultstring></soapenv:Fault>`,
  );
}

function el(name: string, value: string): string {
  return `<b2b:${name}>${escape(value)}</b2b:${name}>`;
}

function escape(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}

/** The document serialized without its first XML signature. */
function withoutSignature(doc: Document): string {
  const copy = doc.cloneNode(true) as Document;
  const signature = copy.getElementsByTagNameNS(DS_NS, 'Signature')[0];
  signature?.parentNode?.removeChild(signature);
  return new XMLSerializer().serializeToString(copy);
}

function parseXml(xml: string) {
  if (xml.trim() === '') return undefined;
  try {
    return new DOMParser({ onError: () => undefined }).parseFromString(
      xml,
      'text/xml',
    );
  } catch {
    return undefined;
  }
}

function first(node: Element, ns: string, name: string): Element | undefined {
  return node.getElementsByTagNameNS(ns, name)[0] ?? undefined;
}

function firstElement(node: Element): Element | undefined {
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) return c as Element;
  }
  return undefined;
}

function text(node: Element, name: string, ns = B2B_NS): string {
  return first(node, ns, name)?.textContent?.trim() ?? '';
}

/** The OIB in the subject (organizationIdentifier or serialNumber). */
function certificateOib(certificate: X509Certificate): string | undefined {
  return /(?:VATHR-|HR)(\d{11})\b/.exec(certificate.subject)?.[1];
}

export type { SimulatorFault as FinaFault };
