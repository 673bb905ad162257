import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { isValidOib } from '../companies/oib.js';
import { validateFiskalizacija2Schema } from './fiskalizacija2/schema.js';

/**
 * A loopback stand-in for the Tax Administration's Fiskalizacija 2.0
 * service. It shares no code with the client (src/reporting/): it
 * parses, validates the schema, verifies the XAdES signature, checks
 * the signer's authorisation and keeps what was recorded in memory, so
 * S008, S009 and S010 come from real state. Replies are shaped as the
 * official samples (fixtures/fiskalizacija2-messages/Odgovor_*,
 * Neuspjesan_Odgovor_*), misspelled namespace included.
 */

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const EFIS_NS =
  'http://www.porezna-uprava.gov.hr/fin/2024/types/eFiskalizacija';
const EIZV_NS =
  'http://www.porezna-uprava.gov.hr/fin/2024/types/eIzvjestavanje';
/** The namespace the official reply samples use (sic). */
const EIZV_REPLY_NS =
  'http://www.porezna-uprava.gov.hr/fin/2024/types/eizjestavanje';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
const SIGNED_PROPERTIES = 'http://uri.etsi.org/01903#SignedProperties';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const INCLUSIVE_C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

const CERTS = fileURLToPath(
  new URL('../../fixtures/cis/certs/', import.meta.url),
);

/** What each request root records, and its reply. */
const OPERATIONS = {
  EvidentirajERacunZahtjev: {
    ns: EFIS_NS,
    record: 'ERacun',
    reply: 'EvidentirajERacunOdgovor',
  },
  EvidentirajNaplatuZahtjev: {
    ns: EIZV_NS,
    record: 'Naplata',
    reply: 'EvidentirajNaplatuOdgovor',
  },
  EvidentirajOdbijanjeZahtjev: {
    ns: EIZV_NS,
    record: 'Odbijanje',
    reply: 'EvidentirajOdbijanjeOdgovor',
  },
  EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev: {
    ns: EIZV_NS,
    record: 'Racun',
    reply: 'EvidentirajIsporukuZaKojuNijeIzdanERacunOdgovor',
  },
} as const;
type Operation = keyof typeof OPERATIONS;

/** The service's texts (the schema's code list and the samples). */
const TEXTS: Record<string, string> = {
  S001: 'Sistemska greška prilikom obrade zahtjeva.',
  S002: 'Lokacija potpisa nije ispravna.',
  S003: 'Certifikat nije izdan od davatelja usluga s Pouzdanog popisa, ili je istekao ili je ukinut.',
  S004: 'Neispravan potpis zahtjeva.',
  S005: 'Poruka nije u skladu s XML shemom',
  S006: 'Pristupna točka nije ovlaštena za dostavu podataka.',
  S007: 'OIB iz zahtjeva nije formalno ispravan',
  S008: 'Već postoji zabilježen eRačun s istim identifikatorom.',
  S009: 'Ne postoji evidentirana fiskalizacija eRačuna.',
  S010: 'Već postoji zabilježen status odbijanja eRačuna s istim identifikatorom.',
  S012: 'Ne postoji evidentiran originalni eRačun za koji je dostavljen ispravljeni eRačun.',
};

/** An injected fault; each applies to one request, in order. */
export type Fiskalizacija2Fault =
  | { kind: 'latency'; ms: number }
  /** Answers S001 without processing. */
  | { kind: 'S001' }
  /** Answers HTTP 503 without a reply body. */
  | { kind: 'http-503' }
  /** Drops the connection without processing. */
  | { kind: 'drop' }
  /** Processes (and records) the request, then drops the connection. */
  | { kind: 'drop-after-processing' };

/** A request as the simulator saw it. */
export interface Fiskalizacija2Received {
  operation: string;
  requestId: string;
  records: number;
  /** The OIB(s) in the signer's certificate subject. */
  signerOibs: string[];
  accepted: boolean;
  code: string | null;
  recordNumber: number | null;
}

export interface Fiskalizacija2SimulatorOptions {
  /** The clock for certificate validity. Default: now. */
  now?: () => Date;
  /** The CA whose certificates are accepted. Default: fixture demo CA. */
  caPem?: string | Buffer;
  /**
   * OIBs a signer may report for besides its own (an intermediary's
   * mandates): certificate OIB → the companies' OIBs. Default: none.
   */
  mandates?: Record<string, string[]>;
  /** Validate each request against the XSD (S005). Default true. */
  schema?: boolean;
  /** Serve plain HTTP instead of HTTPS. Default false. */
  plainHttp?: boolean;
}

export interface Fiskalizacija2Simulator {
  /** `https://localhost:<port>/fiskalizacija2` (`http:` if plain). */
  readonly url: string;
  /** Every request seen, in order. */
  readonly received: Fiskalizacija2Received[];
  /** What is recorded: counts per register. */
  recorded(): {
    eRacun: number;
    naplata: number;
    odbijanje: number;
    isporuka: number;
  };
  /** Queues faults for the next requests (one each). */
  inject(...faults: Fiskalizacija2Fault[]): void;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly code: string,
    readonly recordNumber: number,
    detail?: string,
  ) {
    super(detail ? `${TEXTS[code] ?? code}: ${detail}` : (TEXTS[code] ?? code));
  }
}

interface Registers {
  /** `I|U` + e-invoice id → recorded. */
  eRacun: Set<string>;
  /** e-invoice ids reported by either side. */
  invoices: Set<string>;
  naplata: Set<string>;
  odbijanje: Set<string>;
  isporuka: Set<string>;
}

type State = {
  now: () => Date;
  ca: X509Certificate;
  mandates: Record<string, string[]>;
  schema: boolean;
  signing: { key: Buffer; cert: Buffer };
  faults: Fiskalizacija2Fault[];
  received: Fiskalizacija2Received[];
  registers: Registers;
};

/**
 * Starts the simulator over HTTPS on 127.0.0.1 (port 0: any free one)
 * with the fixture's `cis-simulator` certificate for TLS and for
 * signing replies (clients trust `fixtures/cis/certs/demo-ca.crt`).
 */
export async function startFiskalizacija2Simulator(
  options: Fiskalizacija2SimulatorOptions = {},
): Promise<Fiskalizacija2Simulator> {
  const key = readFileSync(`${CERTS}/cis-simulator.key`);
  const cert = readFileSync(`${CERTS}/cis-simulator.crt`);
  const state: State = {
    now: options.now ?? (() => new Date()),
    ca: new X509Certificate(
      options.caPem ?? readFileSync(`${CERTS}/demo-ca.crt`),
    ),
    mandates: options.mandates ?? {},
    schema: options.schema ?? true,
    signing: { key, cert },
    faults: [],
    received: [],
    registers: {
      eRacun: new Set(),
      invoices: new Set(),
      naplata: new Set(),
      odbijanje: new Set(),
      isporuka: new Set(),
    },
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(state, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server: Server = options.plainHttp
    ? createHttpServer(listener)
    : createHttpsServer({ key, cert }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const r = state.registers;
  return {
    url: `${options.plainHttp ? 'http' : 'https'}://localhost:${port}/fiskalizacija2`,
    received: state.received,
    recorded: () => ({
      eRacun: r.eRacun.size,
      naplata: r.naplata.size,
      odbijanje: r.odbijanje.size,
      isporuka: r.isporuka.size,
    }),
    inject: (...faults) => state.faults.push(...faults),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  state: State,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req);
  const fault = state.faults.shift();
  if (fault?.kind === 'latency') await sleep(fault.ms);
  if (fault?.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'http-503') {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable');
    return;
  }

  const root = bodyRoot(body);
  const operation = root ? operationOf(root) : null;
  if (!root || !operation) {
    soapFault(res, 'soap:Client', 'Unknown or missing operation');
    return;
  }
  const requestId = idOf(root) ?? '';
  const seen: Fiskalizacija2Received = {
    operation,
    requestId,
    records: children(root, OPERATIONS[operation].record).length,
    signerOibs: [],
    accepted: false,
    code: null,
    recordNumber: null,
  };
  state.received.push(seen);

  let answer: string;
  if (fault?.kind === 'S001') {
    seen.code = 'S001';
    answer = replyXml(operation, requestId, new Refusal('S001', 1));
  } else {
    try {
      const xml = new XMLSerializer().serializeToString(root);
      const commit = await check(state, operation, root, xml, seen);
      commit();
      seen.accepted = true;
      answer = replyXml(operation, requestId, null);
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal('S001', 1);
      seen.code = refusal.code;
      seen.recordNumber = refusal.recordNumber;
      answer = replyXml(operation, requestId, refusal);
    }
  }
  if (fault?.kind === 'drop-after-processing') {
    req.socket.destroy();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(signed(state, answer, OPERATIONS[operation].reply));
}

/**
 * S005 schema, S002 signature location, S004 signature, S003
 * certificate, then record by record: S007 OIB, S006 authorisation,
 * S008/S009/S010/S012 against the registers. Returns what recording the
 * request does; nothing is recorded unless every record passes.
 */
async function check(
  state: State,
  operation: Operation,
  root: Element,
  xml: string,
  seen: Fiskalizacija2Received,
): Promise<() => void> {
  if (state.schema) {
    const schema = await validateFiskalizacija2Schema(xml);
    if (!schema.valid) {
      throw new Refusal('S005', 0, schema.errors[0]?.message.trim());
    }
  }
  const cert = verifyXades(root, xml);
  seen.signerOibs = subjectOibs(cert);
  checkChain(state, cert);

  const records = children(root, OPERATIONS[operation].record);
  const header = child(root, 'Zaglavlje');
  const direction = textOf(header, 'vrstaERacuna') ?? '';
  const additions: [Set<string>, string][] = [];
  const pending = (set: Set<string>, key: string) =>
    set.has(key) || additions.some(([s, k]) => s === set && k === key);

  records.forEach((record, i) => {
    const n = i + 1;
    const facts = recordFacts(operation, record);
    for (const oib of [facts.issuerOib, facts.recipientOib]) {
      if (!isValidOib(oib)) throw new Refusal('S007', n, oib);
    }
    const reporter = reporterOib(operation, direction, facts);
    const allowed = seen.signerOibs.some(
      (o) => o === reporter || (state.mandates[o] ?? []).includes(reporter),
    );
    if (!allowed) throw new Refusal('S006', n, reporter);

    const r = state.registers;
    const invoice = `${facts.issuerOib}|${facts.number}|${facts.issueDate}`;
    if (operation === 'EvidentirajERacunZahtjev') {
      const key = `${direction}|${invoice}`;
      if (pending(r.eRacun, key)) throw new Refusal('S008', n);
      if (facts.documentType === '384') {
        const originals = children(record, 'PrethodniERacun').map(
          (p) =>
            `${facts.issuerOib}|${textOf(p, 'brojDokumenta')}|${textOf(p, 'datumIzdavanja')}`,
        );
        if (!originals.some((o) => pending(r.invoices, o))) {
          throw new Refusal('S012', n);
        }
      }
      additions.push([r.eRacun, key], [r.invoices, invoice]);
    } else if (
      operation === 'EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev'
    ) {
      if (pending(r.isporuka, invoice)) throw new Refusal('S008', n);
      additions.push([r.isporuka, invoice]);
    } else if (operation === 'EvidentirajNaplatuZahtjev') {
      if (!pending(r.invoices, invoice)) throw new Refusal('S009', n);
      const key = `${invoice}|${facts.detail}`;
      if (pending(r.naplata, key)) throw new Refusal('S008', n);
      additions.push([r.naplata, key]);
    } else {
      if (!pending(r.invoices, invoice)) throw new Refusal('S009', n);
      if (pending(r.odbijanje, invoice)) throw new Refusal('S010', n);
      additions.push([r.odbijanje, invoice]);
    }
  });
  return () => {
    for (const [set, key] of additions) set.add(key);
  };
}

interface RecordFacts {
  number: string;
  issueDate: string;
  issuerOib: string;
  recipientOib: string;
  documentType: string;
  /** For a payment: date, amount and method (its own identity). */
  detail: string;
}

function recordFacts(operation: Operation, record: Element): RecordFacts {
  const base = {
    number: textOf(record, 'brojDokumenta') ?? '',
    issueDate: textOf(record, 'datumIzdavanja') ?? '',
    documentType: textOf(record, 'vrstaDokumenta') ?? '',
  };
  if (
    operation === 'EvidentirajERacunZahtjev' ||
    operation === 'EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev'
  ) {
    return {
      ...base,
      issuerOib: textOf(child(record, 'Izdavatelj'), 'oibPorezniBroj') ?? '',
      recipientOib: textOf(child(record, 'Primatelj'), 'oibPorezniBroj') ?? '',
      detail: '',
    };
  }
  return {
    ...base,
    issuerOib: textOf(record, 'oibPorezniBrojIzdavatelja') ?? '',
    recipientOib: textOf(record, 'oibPorezniBrojPrimatelja') ?? '',
    detail: [
      textOf(record, 'datumNaplate'),
      textOf(record, 'naplaceniIznos'),
      textOf(record, 'nacinPlacanja'),
    ].join('|'),
  };
}

/**
 * Who reports: the issuer for outgoing e-invoices, payments and supplies
 * without an e-invoice; the recipient for incoming e-invoices and
 * rejections.
 */
function reporterOib(
  operation: Operation,
  direction: string,
  facts: RecordFacts,
): string {
  const recipientReports =
    operation === 'EvidentirajOdbijanjeZahtjev' ||
    (operation === 'EvidentirajERacunZahtjev' && direction === 'U');
  return recipientReports ? facts.recipientOib : facts.issuerOib;
}

/**
 * The XAdES-B checks: the signature is the root's last child (S002);
 * SignedInfo in exclusive c14n with RSA-SHA256, one reference to the
 * root's `id` with the enveloped transform and one to SignedProperties
 * inside the signature, whose SigningCertificate digest is the KeyInfo
 * certificate's; both digests and the value verify (S004).
 */
function verifyXades(root: Element, xml: string): X509Certificate {
  const elementKids = elementChildren(root);
  const signature = elementKids[elementKids.length - 1];
  if (
    !signature ||
    signature.namespaceURI !== DSIG ||
    signature.localName !== 'Signature'
  ) {
    throw new Refusal('S002', 0);
  }
  const algorithm = (name: string) =>
    descendants(signature, DSIG, name)[0]?.getAttribute('Algorithm');
  if (
    algorithm('CanonicalizationMethod') !== EXC_C14N ||
    algorithm('SignatureMethod') !== RSA_SHA256
  ) {
    throw new Refusal('S004', 0, 'algorithm');
  }
  const references = descendants(signature, DSIG, 'Reference');
  const rootId = idOf(root);
  const toRoot = references.filter(
    (r) => rootId && r.getAttribute('URI') === `#${rootId}`,
  );
  const toProperties = references.filter(
    (r) => r.getAttribute('Type') === SIGNED_PROPERTIES,
  );
  const transforms = toRoot[0]
    ? descendants(toRoot[0], DSIG, 'Transform').map((t) =>
        t.getAttribute('Algorithm'),
      )
    : [];
  if (
    references.length !== 2 ||
    toRoot.length !== 1 ||
    toProperties.length !== 1 ||
    !transforms.includes(ENVELOPED)
  ) {
    throw new Refusal('S002', 0, 'references');
  }
  const propertiesId = toProperties[0]!.getAttribute('URI')?.slice(1) ?? '';
  const properties = descendants(signature, XADES, 'SignedProperties').find(
    (p) => p.getAttribute('Id') === propertiesId,
  );
  if (!properties) throw new Refusal('S002', 0, 'SignedProperties');

  const certText = descendants(signature, DSIG, 'X509Certificate')[0]
    ?.textContent;
  if (!certText) throw new Refusal('S003', 0, 'no certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certText.trim(), 'base64'));
  } catch {
    throw new Refusal('S003', 0, 'certificate');
  }
  const certDigest = descendants(properties, XADES, 'CertDigest')[0];
  const expected = createHash('sha256').update(cert.raw).digest('base64');
  if (
    descendants(properties, XADES, 'SigningTime').length !== 1 ||
    descendants(
      certDigest ?? properties,
      DSIG,
      'DigestValue',
    )[0]?.textContent?.trim() !== expected
  ) {
    throw new Refusal('S004', 0, 'SigningCertificate');
  }

  const verifier = new SignedXml({ publicCert: cert.toString() });
  try {
    verifier.loadSignature(signature as unknown as Node);
    if (verifier.checkSignature(xml)) return cert;
  } catch {
    // falls through to S004
  }
  throw new Refusal('S004', 0);
}

function checkChain(state: State, cert: X509Certificate): void {
  const now = state.now().getTime();
  const issued = cert.checkIssued(state.ca) && cert.verify(state.ca.publicKey);
  if (
    !issued ||
    now < Date.parse(cert.validFrom) ||
    now > Date.parse(cert.validTo)
  ) {
    throw new Refusal('S003', 0);
  }
}

/** Every 11-digit run in the subject (serialNumber, organizationId). */
function subjectOibs(cert: X509Certificate): string[] {
  const runs = cert.subject.matchAll(/(?<!\d)(\d{11})(?!\d)/g);
  return [...new Set([...runs].map((m) => m[1] ?? ''))];
}

/** The reply element as the samples show it, before signing. */
function replyXml(
  operation: Operation,
  requestId: string,
  refusal: Refusal | null,
): string {
  const efis = OPERATIONS[operation].ns === EFIS_NS;
  const p = efis ? 'fis' : 'eiz';
  const name = OPERATIONS[operation].reply;
  const error = refusal
    ? `<${p}:greska>` +
      `<${p}:sifra>${refusal.code}</${p}:sifra>` +
      `<${p}:redniBrojZapisa>${refusal.recordNumber}</${p}:redniBrojZapisa>` +
      `<${p}:opis>${escape(refusal.message.slice(0, 1024))}</${p}:opis>` +
      `</${p}:greska>`
    : '';
  return (
    `<${p}:${name} ${p}:id="${randomUUID()}">` +
    `<${p}:datumVrijemeSlanja>${zagrebTime(new Date())}</${p}:datumVrijemeSlanja>` +
    `<${p}:Odgovor>` +
    `<${p}:idZahtjeva>${escape(requestId)}</${p}:idZahtjeva>` +
    `<${p}:prihvacenZahtjev>${refusal ? 'false' : 'true'}</${p}:prihvacenZahtjev>` +
    error +
    `</${p}:Odgovor>` +
    `</${p}:${name}>`
  );
}

/**
 * The reply in its SOAP envelope (declaring `eiz` and `fis` as the
 * samples do), signed over the reply element: enveloped, inclusive
 * c14n, RSA-SHA256, certificate and issuer/serial in KeyInfo.
 */
function signed(state: State, odgovor: string, name: string): string {
  const doc =
    `<soapenv:Envelope xmlns:soapenv="${SOAP_NS}"` +
    ` xmlns:eiz="${EIZV_REPLY_NS}" xmlns:fis="${EFIS_NS}">` +
    `<soapenv:Body>${odgovor}</soapenv:Body></soapenv:Envelope>`;
  const cert = new X509Certificate(state.signing.cert);
  const sig = new SignedXml({
    privateKey: state.signing.key,
    publicCert: state.signing.cert,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: INCLUSIVE_C14N,
    getKeyInfoContent: () =>
      '<X509Data>' +
      `<X509Certificate>${cert.raw.toString('base64')}</X509Certificate>` +
      '<X509IssuerSerial>' +
      `<X509IssuerName>${escape(cert.issuer.split('\n').reverse().join(','))}</X509IssuerName>` +
      `<X509SerialNumber>${BigInt(`0x${cert.serialNumber}`).toString()}</X509SerialNumber>` +
      '</X509IssuerSerial></X509Data>',
  });
  const xpath = `//*[local-name(.)='${name}']`;
  sig.addReference({
    xpath,
    transforms: [ENVELOPED, INCLUSIVE_C14N],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(doc, {
    location: { reference: xpath, action: 'append' },
  });
  return sig.getSignedXml();
}

function zagrebTime(instant: Date): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Zagreb',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}

function operationOf(root: Element): Operation | null {
  const name = root.localName as Operation;
  const op = OPERATIONS[name];
  return op && root.namespaceURI === op.ns ? name : null;
}

function idOf(el: Element): string | null {
  for (const attr of Array.from(el.attributes)) {
    if (attr.localName === 'id') return attr.value;
  }
  return null;
}

function bodyRoot(xml: string): Element | null {
  let doc;
  try {
    doc = new DOMParser({ onError: () => undefined }).parseFromString(
      xml,
      'text/xml',
    );
  } catch {
    return null;
  }
  const env = doc.documentElement;
  if (!env || env.namespaceURI !== SOAP_NS || env.localName !== 'Envelope') {
    return null;
  }
  const body = elementChildren(env).find(
    (c) => c.namespaceURI === SOAP_NS && c.localName === 'Body',
  );
  return body ? (elementChildren(body)[0] ?? null) : null;
}

function elementChildren(node: Element): Element[] {
  const out: Element[] = [];
  for (let n = node.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) out.push(n as Element);
  }
  return out;
}

function children(node: Element, localName: string): Element[] {
  return elementChildren(node).filter((c) => c.localName === localName);
}

function child(node: Element | undefined, localName: string) {
  return node ? children(node, localName)[0] : undefined;
}

function textOf(node: Element | undefined, localName: string): string | null {
  return child(node, localName)?.textContent?.trim() ?? null;
}

function descendants(node: Element, ns: string, localName: string) {
  return Array.from(node.getElementsByTagNameNS(ns, localName));
}

function soapFault(res: ServerResponse, code: string, text: string): void {
  res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    `<soapenv:Envelope xmlns:soapenv="${SOAP_NS}"><soapenv:Body>` +
      `<soapenv:Fault><faultcode>${code}</faultcode>` +
      `<faultstring>${escape(text)}</faultstring></soapenv:Fault>` +
      '</soapenv:Body></soapenv:Envelope>',
  );
}

function escape(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
