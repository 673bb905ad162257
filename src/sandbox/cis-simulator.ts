import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  DOMParser,
  XMLSerializer,
  type Element,
  type Node,
} from '@xmldom/xmldom';
import { Decimal } from 'decimal.js';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { zagrebXmlTime } from '../fiscal/zagreb-time.js';
import { validateCisSchema } from './cis-schema.js';

/**
 * A loopback stand-in for the Tax Administration's CIS service. It
 * shares no code with the client (src/fiscal/): it parses, validates,
 * verifies and signs on its own, as the real service would.
 */

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const TNS = 'http://www.apis-it.hr/fin/2012/types/f73';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const INCLUSIVE_C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
/** The signature methods CIS accepts, by URI: the hash behind each. */
const SIGNATURE_HASHES: Record<string, 'sha1' | 'sha256'> = {
  [RSA_SHA1]: 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
};
const DIGEST_HASHES: Record<string, 'sha1' | 'sha256'> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
};

const CERTS = fileURLToPath(
  new URL('../../fixtures/cis/certs/', import.meta.url),
);

/** An injected fault; each applies to one request, in order. */
export type CisFault =
  | { kind: 'latency'; ms: number }
  /** Processes the request (a JIR is issued), then drops the socket. */
  | { kind: 'drop-after-processing' }
  | { kind: 'http-503' }
  /** Answers s006 (system error) without processing. */
  | { kind: 's006' };

/** A request the simulator accepted or refused, as it saw it. */
export interface CisReceived {
  messageId: string;
  oib: string | null;
  zki: string | null;
  lateDelivery: boolean;
  issuedAt: string | null;
  jir: string | null;
  errorCode: string | null;
  signatureMethod: string | null;
}

export interface CisSimulatorOptions {
  /** The simulated service's environment: its SHA-1 cut-off. Default TEST. */
  environment?: 'TEST' | 'PROD';
  /** The clock for certificate validity and the SHA-1 cut-off. */
  now?: () => Date;
  /** The CA whose certificates are accepted. Default: fixture demo CA. */
  caPem?: string | Buffer;
  /**
   * Validate each request against the XSD (s001). Default true; off
   * only to measure the client without libxml2's per-call schema
   * compilation.
   */
  schema?: boolean;
  /**
   * Strict mode: after the checks every request gets (s001–s005), the
   * business rules CIS's test-only check (`ProvjeraZahtjev`) reports
   * are enforced on RacunZahtjev too, each refusing with its own code
   * (see `STRICT_RULES`). Default off (lenient).
   */
  strict?: boolean | StrictOptions;
}

/** Limits of the strict mode. */
export interface StrictOptions {
  /** Allowed |DatumVrijeme − the service's clock|, seconds. Default 300. */
  maxClockSkewSeconds?: number;
  /** Allowed |Iznos − Osnovica × Stopa| per tax line. Default 0.05. */
  taxTolerance?: string;
  /** Allowed |IznosUkupno − its parts|. Default 0.05. */
  totalTolerance?: string;
  /** Largest cash (G) receipt. Default 10000.00 (the cash limit). */
  cashMaximum?: string;
  /**
   * Issuers' private keys (PEM) the simulator may use like an inspector
   * to recompute each ZKI; without the sender's key only the ZKI's form
   * is checked (CIS itself cannot recompute it).
   */
  issuerKeys?: (string | Buffer)[];
}

/**
 * The strict rules and the codes they answer. CIS's test check reports
 * its findings as v-codes whose numbers are not in our sources: these
 * codes are the simulator's own, stable for tests.
 */
export const STRICT_RULES = {
  v101: 'DatumVrijeme differs from the service clock beyond the skew',
  v102: 'DatVrijeme (issue) is later than DatumVrijeme (send)',
  v103: 'sent later than the skew after issue without NakDost',
  v104: 'a tax amount is not Osnovica × Stopa within the tolerance',
  v105: 'IznosUkupno is not the sum of its parts within the tolerance',
  v106: 'a cash receipt above the maximum',
  v107: 'ZastKod is not the ZKI of the receipt',
  v108: 'an OIB fails its ISO 7064 check digit',
} as const;

export interface CisSimulator {
  /** `https://localhost:<port>/FiskalizacijaServiceTest`. */
  readonly url: string;
  /** Every RacunZahtjev seen, in order. */
  readonly received: CisReceived[];
  /** Queues faults for the next requests (one each). */
  inject(...faults: CisFault[]): void;
  close(): Promise<void>;
}

/** From these instants (Zagreb midnight) RSA-SHA1 is refused (s004). */
const SHA1_REFUSED_FROM = {
  TEST: Date.parse('2026-06-30T22:00:00Z'),
  PROD: Date.parse('2026-12-31T23:00:00Z'),
};

class CisError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the simulator over HTTPS on 127.0.0.1 (port 0: any free one)
 * with the fixture's `cis-simulator` certificate for TLS and for
 * signing replies.
 */
export async function startCisSimulator(
  options: CisSimulatorOptions = {},
): Promise<CisSimulator> {
  const key = readFileSync(`${CERTS}/cis-simulator.key`);
  const cert = readFileSync(`${CERTS}/cis-simulator.crt`);
  const ca = new X509Certificate(
    options.caPem ?? readFileSync(`${CERTS}/demo-ca.crt`),
  );
  const state = {
    environment: options.environment ?? 'TEST',
    now: options.now ?? (() => new Date()),
    ca,
    signing: {
      key: createPrivateKey(key),
      certBase64: new X509Certificate(cert).raw.toString('base64'),
    },
    certificates: new Map<string, X509Certificate>(),
    issued: new WeakMap<X509Certificate, boolean>(),
    faults: [] as CisFault[],
    received: [] as CisReceived[],
    schema: options.schema ?? true,
    strict: strictOf(options.strict),
  };

  const server: Server = createServer({ key, cert }, (req, res) => {
    handle(state, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}/FiskalizacijaServiceTest`,
    received: state.received,
    inject: (...faults) => state.faults.push(...faults),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type State = {
  environment: 'TEST' | 'PROD';
  now: () => Date;
  ca: X509Certificate;
  signing: { key: KeyObject; certBase64: string };
  /** Parsed client certificates by their base64 (parsing is not free). */
  certificates: Map<string, X509Certificate>;
  /**
   * Whether the CA issued a parsed certificate (its signature checked
   * once); validity dates are checked on every request.
   */
  issued: WeakMap<X509Certificate, boolean>;
  strict: Strict | null;
  faults: CisFault[];
  received: CisReceived[];
  schema: boolean;
};

async function handle(
  state: State,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req);
  const fault = state.faults.shift();
  if (fault?.kind === 'latency') await sleep(fault.ms);
  if (fault?.kind === 'http-503') {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable');
    return;
  }

  const root = bodyRoot(body);
  if (!root) {
    soapFault(res, 'soap:Client', 'No SOAP body element');
    return;
  }
  if (root.namespaceURI === TNS && root.localName === 'EchoRequest') {
    reply(res, 200, echoResponse(root.textContent ?? ''));
    return;
  }
  if (root.namespaceURI !== TNS || root.localName !== 'RacunZahtjev') {
    soapFault(res, 'soap:Client', `Unknown operation ${root.localName}`);
    return;
  }

  const xml = new XMLSerializer().serializeToString(root);
  const seen = describe(root);
  state.received.push(seen);
  if (fault?.kind === 's006') {
    seen.errorCode = 's006';
    reply(res, 500, signed(state, errorReply(seen.messageId, 's006')));
    return;
  }
  try {
    await checkRacun(state, root, xml);
    if (state.strict) checkStrict(state.strict, root, state.now());
  } catch (error) {
    const e =
      error instanceof CisError
        ? error
        : new CisError('s006', 'Sistemska pogreška prilikom obrade zahtjeva');
    seen.errorCode = e.code;
    const answer = errorReply(seen.messageId, e.code, e.message);
    reply(res, 500, signed(state, answer));
    return;
  }

  seen.jir = randomUUID();
  if (fault?.kind === 'drop-after-processing') {
    req.socket.destroy();
    return;
  }
  reply(res, 200, signed(state, jirReply(seen.messageId, seen.jir)));
}

/** s001 schema, s004 signature and hash, s002 chain, s005 OIB. */
async function checkRacun(
  state: State,
  root: Element,
  xml: string,
): Promise<void> {
  const schema = state.schema
    ? await validateCisSchema(xml)
    : { valid: true, errors: [] };
  if (!schema.valid) {
    throw new CisError(
      's001',
      `Poruka nije u skladu s XML shemom: ${schema.errors[0] ?? ''}`,
    );
  }

  const signatureNode = child(root, DSIG, 'Signature');
  if (!signatureNode) throw new CisError('s004', 'Neispravan digitalni potpis');
  const certPem = firstText(signatureNode, 'X509Certificate');
  if (!certPem) throw new CisError('s003', 'Certifikat nije naveden');
  const cert = certificateOf(state, certPem);
  const method =
    firstElement(signatureNode, 'SignatureMethod')?.getAttribute('Algorithm') ??
    '';
  const now = state.now();
  if (
    method === RSA_SHA1 &&
    now.getTime() >= SHA1_REFUSED_FROM[state.environment]
  ) {
    throw new CisError('s004', 'Neispravan digitalni potpis (RSA-SHA1)');
  }
  verifySignature(root, cert);
  checkChain(state, cert, now);
  const oib = firstText(root, 'Oib');
  if (!oib || !subjectOibs(cert).includes(oib)) {
    throw new CisError('s005', 'OIB iz poruke ne odgovara OIB-u certifikata');
  }
}

/**
 * The signature CIS requires, checked as CIS's profile has it: the
 * root's last child, one Reference to `#<Id>` with exactly the
 * enveloped-signature and exclusive c14n transforms, exclusive c14n of
 * SignedInfo, RSA-SHA1 or RSA-SHA256 by the request's certificate.
 * xml-crypto's exclusive canonicalizer computes both canonical forms.
 */
function verifySignature(root: Element, cert: X509Certificate) {
  const invalid = (why: string) =>
    new CisError('s004', `Neispravan digitalni potpis (${why})`);
  const signature = child(root, DSIG, 'Signature');
  if (!signature || childElements(root).at(-1) !== signature) {
    throw invalid('potpis nije zadnji element poruke');
  }
  const signedInfo = child(signature, DSIG, 'SignedInfo');
  const references = signedInfo ? elements(signedInfo, 'Reference') : [];
  const reference = references[0];
  const id = root.getAttribute('Id');
  if (
    !signedInfo ||
    !reference ||
    references.length !== 1 ||
    !id ||
    reference.getAttribute('URI') !== `#${id}`
  ) {
    throw new CisError('s004', 'Potpis ne pokriva cijelu poruku');
  }
  const algorithm = (node: Element, name: string) =>
    child(node, DSIG, name)?.getAttribute('Algorithm') ?? '';
  const transforms = elements(reference, 'Transform').map(
    (t) => t.getAttribute('Algorithm') ?? '',
  );
  const signatureHash =
    SIGNATURE_HASHES[algorithm(signedInfo, 'SignatureMethod')];
  const digestHash = DIGEST_HASHES[algorithm(reference, 'DigestMethod')];
  if (
    algorithm(signedInfo, 'CanonicalizationMethod') !== EXC_C14N ||
    transforms.join(' ') !== `${ENVELOPED} ${EXC_C14N}` ||
    !signatureHash ||
    !digestHash
  ) {
    throw invalid('nepodržani algoritmi');
  }
  const c14n = new ExclusiveCanonicalization();
  root.removeChild(signature);
  let digest: Buffer;
  try {
    digest = createHash(digestHash)
      .update(c14n.process(root as unknown as globalThis.Element, {}))
      .digest();
  } finally {
    root.appendChild(signature);
  }
  const claimed = Buffer.from(
    firstText(reference, 'DigestValue') ?? '',
    'base64',
  );
  if (claimed.length !== digest.length || !timingSafeEqual(claimed, digest)) {
    throw invalid('sažetak poruke ne odgovara');
  }
  const canonicalSignedInfo = c14n.process(
    signedInfo as unknown as globalThis.Element,
    {},
  );
  const value = Buffer.from(
    firstText(signature, 'SignatureValue') ?? '',
    'base64',
  );
  if (
    !verify(
      signatureHash,
      Buffer.from(canonicalSignedInfo),
      cert.publicKey,
      value,
    )
  ) {
    throw invalid('potpis ne odgovara certifikatu');
  }
}

function certificateOf(state: State, base64: string): X509Certificate {
  const key = base64.replace(/\s+/g, '');
  const known = state.certificates.get(key);
  if (known) return known;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(key, 'base64'));
  } catch {
    throw new CisError('s003', 'Certifikat nije ispravan');
  }
  if (state.certificates.size >= 1024) state.certificates.clear();
  state.certificates.set(key, cert);
  return cert;
}

type Strict = Required<Omit<StrictOptions, 'issuerKeys'>> & {
  issuerKeys: KeyObject[];
};

function strictOf(option: CisSimulatorOptions['strict']): Strict | null {
  if (!option) return null;
  const o = option === true ? {} : option;
  return {
    maxClockSkewSeconds: o.maxClockSkewSeconds ?? 300,
    taxTolerance: o.taxTolerance ?? '0.05',
    totalTolerance: o.totalTolerance ?? '0.05',
    cashMaximum: o.cashMaximum ?? '10000.00',
    issuerKeys: (o.issuerKeys ?? []).map((k) => createPrivateKey(k)),
  };
}

/** The strict business rules, first failure refused (`STRICT_RULES`). */
function checkStrict(strict: Strict, root: Element, now: Date): void {
  const fail = (code: keyof typeof STRICT_RULES): never => {
    throw new CisError(code, STRICT_RULES[code]);
  };
  const racun = child(root, TNS, 'Racun');
  const header = child(root, TNS, 'Zaglavlje');
  if (!racun || !header) return fail('v105');
  const text = (node: Element, name: string) =>
    child(node, TNS, name)?.textContent?.trim() ?? '';

  const sent = wallClockMs(text(header, 'DatumVrijeme'));
  const issued = wallClockMs(text(racun, 'DatVrijeme'));
  const skew = strict.maxClockSkewSeconds * 1000;
  if (Math.abs(sent - wallClockMs(zagrebXmlTime(now))) > skew) {
    fail('v101');
  }
  if (issued > sent) fail('v102');
  if (text(racun, 'NakDost') !== 'true' && sent - issued > skew) fail('v103');

  const lines = ['Pdv', 'Pnp', 'OstaliPor'].flatMap((group) => {
    const node = child(racun, TNS, group);
    return node ? childElements(node) : [];
  });
  let parts = new Decimal(0);
  for (const line of lines) {
    const base = new Decimal(text(line, 'Osnovica'));
    const amount = new Decimal(text(line, 'Iznos'));
    const expected = base.times(text(line, 'Stopa')).dividedBy(100);
    if (expected.minus(amount).abs().greaterThan(strict.taxTolerance)) {
      fail('v104');
    }
    parts = parts.plus(amount);
  }
  // Bases count once (the VAT lines'); the other taxes share them.
  const vat = child(racun, TNS, 'Pdv');
  for (const line of vat ? childElements(vat) : []) {
    parts = parts.plus(text(line, 'Osnovica'));
  }
  for (const name of ['IznosOslobPdv', 'IznosMarza', 'IznosNePodlOpor']) {
    const value = text(racun, name);
    if (value) parts = parts.plus(value);
  }
  const fees = child(racun, TNS, 'Naknade');
  for (const fee of fees ? childElements(fees) : []) {
    parts = parts.plus(text(fee, 'IznosN'));
  }
  const total = new Decimal(text(racun, 'IznosUkupno'));
  if (total.minus(parts).abs().greaterThan(strict.totalTolerance)) {
    fail('v105');
  }
  if (
    text(racun, 'NacinPlac') === 'G' &&
    total.greaterThan(strict.cashMaximum)
  ) {
    fail('v106');
  }

  const zki = text(racun, 'ZastKod');
  if (!/^[0-9a-f]{32}$/.test(zki) || !zkiMatches(strict, root, racun, zki)) {
    fail('v107');
  }
  for (const name of ['Oib', 'OibOper', 'OibPrimateljaRacuna']) {
    const oib = text(racun, name);
    if (oib && !validOib(oib)) fail('v108');
  }
}

/**
 * Recomputes the ZKI with the sender's key when the simulator holds it
 * (either hash: the ZKI follows the issue date's policy, the XML
 * signature the send date's). Without the key the form must do.
 */
function zkiMatches(
  strict: Strict,
  root: Element,
  racun: Element,
  zki: string,
): boolean {
  const signature = child(root, DSIG, 'Signature');
  const certText = signature ? firstText(signature, 'X509Certificate') : null;
  if (!certText) return true;
  const publicKey = new X509Certificate(
    Buffer.from(certText, 'base64'),
  ).publicKey.export({ format: 'der', type: 'spki' });
  const key = strict.issuerKeys.find((k) =>
    createPublicKeyDer(k).equals(publicKey),
  );
  if (!key) return true;
  const text = (name: string) => firstText(racun, name) ?? '';
  const signedString =
    text('Oib') +
    text('DatVrijeme').replace('T', ' ') +
    text('BrOznRac') +
    text('OznPosPr') +
    text('OznNapUr') +
    text('IznosUkupno');
  return (['sha1', 'sha256'] as const).some(
    (hash) =>
      createHash('md5')
        .update(sign(hash, Buffer.from(signedString), key))
        .digest('hex') === zki,
  );
}

function createPublicKeyDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' });
}

/** ISO 7064 MOD 11,10 over the 11 digits of an OIB. */
function validOib(oib: string): boolean {
  if (!/^\d{11}$/.test(oib)) return false;
  let rest = 10;
  for (let i = 0; i < 10; i++) {
    rest = (rest + Number(oib[i])) % 10;
    if (rest === 0) rest = 10;
    rest = (rest * 2) % 11;
  }
  const check = (11 - rest) % 10;
  return check === Number(oib[10]);
}

/** `dd.MM.yyyyTHH:mm:ss` as milliseconds of a naive (zone-less) clock. */
function wallClockMs(value: string): number {
  const m = /^(\d\d)\.(\d\d)\.(\d{4})T(\d\d):(\d\d):(\d\d)$/.exec(value);
  if (!m) return Number.NaN;
  const [, d, mo, y, h, mi, se] = m.map(Number);
  return Date.UTC(
    y as number,
    (mo as number) - 1,
    d as number,
    h as number,
    mi as number,
    se as number,
  );
}

function checkChain(state: State, cert: X509Certificate, now: Date) {
  let issued = state.issued.get(cert);
  if (issued === undefined) {
    issued = cert.checkIssued(state.ca) && cert.verify(state.ca.publicKey);
    state.issued.set(cert, issued);
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!issued || now.getTime() < from || now.getTime() > to) {
    throw new CisError(
      's002',
      'Certifikat nije izdan od strane prihvaćenog CA, istekao je ili je opozvan',
    );
  }
}

/** Every checksum-looking 11-digit run in the subject. */
function subjectOibs(cert: X509Certificate): string[] {
  return [...cert.subject.matchAll(/(?<!\d)(\d{11})(?!\d)/g)].map(
    (m) => m[1] ?? '',
  );
}

function describe(root: Element): CisReceived {
  return {
    messageId: firstText(root, 'IdPoruke') ?? '',
    oib: firstText(root, 'Oib'),
    zki: firstText(root, 'ZastKod'),
    lateDelivery: firstText(root, 'NakDost') === 'true',
    issuedAt: firstText(root, 'DatVrijeme'),
    jir: null,
    errorCode: null,
    signatureMethod:
      firstElement(root, 'SignatureMethod')?.getAttribute('Algorithm') ?? null,
  };
}

function jirReply(messageId: string, jir: string): string {
  return (
    `<tns:RacunOdgovor xmlns:tns="${TNS}" Id="${randomUUID()}">` +
    header(messageId) +
    `<tns:Jir>${jir}</tns:Jir>` +
    '</tns:RacunOdgovor>'
  );
}

function errorReply(messageId: string, code: string, message?: string) {
  const text = message ?? 'Sistemska pogreška prilikom obrade zahtjeva (s006)';
  return (
    `<tns:RacunOdgovor xmlns:tns="${TNS}" Id="${randomUUID()}">` +
    header(messageId) +
    '<tns:Greske><tns:Greska>' +
    `<tns:SifraGreske>${code}</tns:SifraGreske>` +
    `<tns:PorukaGreske>${escape(text)}</tns:PorukaGreske>` +
    '</tns:Greska></tns:Greske>' +
    '</tns:RacunOdgovor>'
  );
}

function header(messageId: string): string {
  const time = zagrebXmlTime(new Date());
  return (
    '<tns:Zaglavlje>' +
    `<tns:IdPoruke>${escape(messageId.slice(0, 36))}</tns:IdPoruke>` +
    `<tns:DatumVrijeme>${time}</tns:DatumVrijeme>` +
    '</tns:Zaglavlje>'
  );
}

function echoResponse(text: string): string {
  return envelope(
    `<tns:EchoResponse xmlns:tns="${TNS}">${escape(text)}</tns:EchoResponse>`,
  );
}

/**
 * The reply in its SOAP envelope, signed over RacunOdgovor with
 * inclusive c14n (as CIS does), so the signature depends on the
 * envelope's namespace context too. `odgovor` is written canonical
 * (see `jirReply`), so its inclusive c14n is itself with the envelope's
 * namespace declared on the apex, before `xmlns:tns`; SignedInfo's
 * carries the default (XML-DSig), `soap` and `tns` namespaces in scope.
 */
function signed(state: State, odgovor: string): string {
  const apex = `<tns:RacunOdgovor xmlns:tns="${TNS}"`;
  if (!odgovor.startsWith(apex)) throw new Error('unexpected reply root');
  const id = /^[^>]* Id="([^"]*)"/.exec(odgovor)?.[1] ?? '';
  const inScope = `xmlns:soap="${SOAP_NS}" xmlns:tns="${TNS}"`;
  const canonical = `<tns:RacunOdgovor ${inScope}` + odgovor.slice(apex.length);
  const digest = createHash('sha256').update(canonical).digest('base64');
  const signedInfo =
    `<CanonicalizationMethod Algorithm="${INCLUSIVE_C14N}"></CanonicalizationMethod>` +
    '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></SignatureMethod>' +
    `<Reference URI="#${id}"><Transforms>` +
    `<Transform Algorithm="${ENVELOPED}"></Transform>` +
    `<Transform Algorithm="${INCLUSIVE_C14N}"></Transform></Transforms>` +
    '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></DigestMethod>' +
    `<DigestValue>${digest}</DigestValue></Reference></SignedInfo>`;
  const value = sign(
    'sha256',
    Buffer.from(`<SignedInfo xmlns="${DSIG}" ${inScope}>${signedInfo}`),
    state.signing.key,
  ).toString('base64');
  const close = odgovor.lastIndexOf('</');
  return envelope(
    odgovor.slice(0, close) +
      `<Signature xmlns="${DSIG}"><SignedInfo>${signedInfo}` +
      `<SignatureValue>${value}</SignatureValue><KeyInfo><X509Data>` +
      `<X509Certificate>${state.signing.certBase64}</X509Certificate>` +
      '</X509Data></KeyInfo></Signature>' +
      odgovor.slice(close),
  );
}

function envelope(inner: string): string {
  return (
    `<soap:Envelope xmlns:soap="${SOAP_NS}"><soap:Body>` +
    inner +
    '</soap:Body></soap:Envelope>'
  );
}

function reply(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(xml);
}

function soapFault(res: ServerResponse, code: string, text: string): void {
  reply(
    res,
    500,
    envelope(
      `<soap:Fault><faultcode>${code}</faultcode>` +
        `<faultstring>${escape(text)}</faultstring></soap:Fault>`,
    ),
  );
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
  const body = child(env, SOAP_NS, 'Body');
  return body ? (childElements(body)[0] ?? null) : null;
}

function childElements(node: Element): Element[] {
  const out: Element[] = [];
  for (let n = node.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) out.push(n as Element);
  }
  return out;
}

function child(node: Element, ns: string, name: string): Element | null {
  return (
    childElements(node).find(
      (e) => e.namespaceURI === ns && e.localName === name,
    ) ?? null
  );
}

function elements(node: Element, localName: string): Element[] {
  return Array.from(node.getElementsByTagNameNS('*', localName));
}

/**
 * The first descendant element named `localName` (any namespace) in
 * document order, as `elements(node, localName)[0]`, walking only as far
 * as it: no live node list over the whole tree.
 */
function firstElement(node: Element, localName: string): Element | null {
  let n = node.firstChild;
  while (n) {
    if (n.nodeType === 1) {
      if ((n as Element).localName === localName) return n as Element;
      if (n.firstChild) {
        n = n.firstChild;
        continue;
      }
    }
    while (!n.nextSibling) {
      const up: Node | null = n.parentNode;
      if (!up || up === node) return null;
      n = up;
    }
    n = n.nextSibling;
  }
  return null;
}

function firstText(node: Element, localName: string): string | null {
  return firstElement(node, localName)?.textContent?.trim() ?? null;
}

/** Text as canonical XML writes it: replies are signed as written. */
function escape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#xD;');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
