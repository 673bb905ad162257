import {
  X509Certificate,
  createHash,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { Agent, request } from 'node:https';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { C14nCanonicalization, ExclusiveCanonicalization } from 'xml-crypto';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { CIS_NS } from './racun.js';

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SIGNATURE_HASHES: Record<string, 'sha1' | 'sha256'> = {
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
};
const DIGEST_HASHES: Record<string, 'sha1' | 'sha256'> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
};

export interface CisClientOptions {
  /** The CIS endpoint (from configuration, never from the WSDL). */
  url: string;
  /**
   * PEM of the CA(s) the TLS server and the reply signer must chain to.
   * Default: Node's public roots for TLS, and replies are refused.
   */
  ca?: string | Buffer;
  /** PEM of the CA(s) the reply's signer must chain to. Default: `ca`. */
  signerCa?: string | Buffer;
  /** Time allowed for one request, connect to reply. Default 10 000 ms. */
  timeoutMs?: number;
  /** The clock for the reply certificate's validity. Default: now. */
  now?: () => Date;
}

/** What CIS answered to an accepted RacunZahtjev. */
export interface CisAccepted {
  jir: string;
  /** The reply's IdPoruke (echoes ours). */
  messageId: string;
  /** The whole SOAP reply as received. */
  responseXml: string;
}

/**
 * CIS over SOAP 1.1 and HTTPS. Parses the reply body whatever the HTTP
 * status, verifies the reply's signature against the configured CA,
 * and maps failures to errors callers can act on:
 *
 * - COUNTERPART_REJECTED (not retryable): s001–s005 and other sNNN
 *   codes but s006; `details.cisCode`, `details.cisMessage`.
 * - COUNTERPART_UNAVAILABLE (retryable): s006, 5xx without a CIS body,
 *   or no connection before the request was sent.
 * - SEND_OUTCOME_UNKNOWN: the request went out and no reply came (a
 *   timeout or a dropped connection); resend it as a late delivery.
 * - COUNTERPART_REPLY_INVALID: a reply that does not parse or verify.
 */
export class CisClient {
  readonly #agent: Agent;
  readonly #options: Required<Omit<CisClientOptions, 'ca' | 'signerCa'>> & {
    ca?: string | Buffer;
  };
  readonly #caCerts: X509Certificate[];
  /** Reply signers seen, parsed, with whether the CA issued them. */
  readonly #signers = new Map<
    string,
    { cert: X509Certificate; issued: boolean }
  >();

  constructor(options: CisClientOptions) {
    this.#options = {
      timeoutMs: 10_000,
      now: () => new Date(),
      ...options,
    };
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    const signerCa = options.signerCa ?? options.ca;
    this.#caCerts = signerCa ? splitPem(signerCa) : [];
  }

  /** Sends a signed RacunZahtjev; resolves with the JIR. */
  async fiscalize(signedRequest: string): Promise<CisAccepted> {
    const { status, body } = await this.post(envelope(signedRequest));
    const root = this.parse(status, body);
    if (root.localName !== 'RacunOdgovor') {
      throw replyInvalid(`unexpected reply element ${root.localName}`);
    }
    this.verifyReply(root);
    const messageId = textOf(root, 'IdPoruke') ?? '';
    const error = firstElement(root, 'Greska');
    if (error) throw cisError(error, status, body);
    const jir = textOf(root, 'Jir');
    if (!jir) throw replyInvalid('the reply has neither Jir nor Greske');
    return { jir, messageId, responseXml: body };
  }

  /** EchoRequest: reachability only. Resolves with the echoed text. */
  async echo(text: string): Promise<string> {
    const { status, body } = await this.post(
      envelope(
        `<tns:EchoRequest xmlns:tns="${CIS_NS}">` +
          `${text.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}` +
          '</tns:EchoRequest>',
      ),
    );
    const root = this.parse(status, body);
    if (root.localName !== 'EchoResponse') {
      throw replyInvalid(`unexpected reply element ${root.localName}`);
    }
    return root.textContent ?? '';
  }

  close(): void {
    this.#agent.destroy();
  }

  private post(xml: string): Promise<{ status: number; body: string }> {
    const url = new URL(this.#options.url);
    return new Promise((resolve, reject) => {
      let sent = false;
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.#agent,
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
          res.on('error', (e) => reject(lost(url, e)));
        },
      );
      req.setTimeout(this.#options.timeoutMs, () => {
        req.destroy(new Error(`no reply in ${this.#options.timeoutMs} ms`));
      });
      req.on('finish', () => {
        sent = true;
      });
      req.on('error', (e) => reject(sent ? lost(url, e) : unavailable(url, e)));
      req.end(xml);
    });
  }

  /** The SOAP body's element, whatever the HTTP status. */
  private parse(status: number, body: string): Element {
    const root = bodyRoot(body);
    if (root) return root;
    if (status >= 500 || status === 0) {
      throw new TenantGateError(
        'COUNTERPART_UNAVAILABLE',
        `CIS answered HTTP ${status} without a CIS reply`,
        { counterpart: 'CIS', httpStatus: status },
      );
    }
    throw replyInvalid(`HTTP ${status} with no SOAP body`);
  }

  /**
   * The reply must be signed by a certificate of the configured CA, and
   * the signature must cover the reply element itself (its `Id`, the
   * signature enveloped in it): a signature over anything else proves
   * nothing about the JIR. Canonical forms come from xml-crypto's
   * canonicalizers (inclusive c14n with the envelope's namespaces in
   * scope, as CIS signs, or exclusive).
   */
  private verifyReply(root: Element): void {
    const signature = childElement(root, DSIG_NS, 'Signature');
    if (!signature) throw replyInvalid('the reply is not signed');
    const certText = dsigText(signature, 'X509Certificate');
    if (!certText) throw replyInvalid('the reply has no signer certificate');
    const cert = this.signerCertificate(certText);
    if (!cert) {
      throw replyInvalid('the reply signer is not from the configured CA');
    }
    const signedInfo = childElement(signature, DSIG_NS, 'SignedInfo');
    const references = signedInfo
      ? Array.from(signedInfo.getElementsByTagNameNS(DSIG_NS, 'Reference'))
      : [];
    const reference = references[0];
    const id = root.getAttribute('Id');
    if (
      !signedInfo ||
      !reference ||
      references.length !== 1 ||
      !id ||
      reference.getAttribute('URI') !== `#${id}`
    ) {
      throw replyInvalid('the reply signature does not cover the reply');
    }
    const method = childElement(signedInfo, DSIG_NS, 'SignatureMethod');
    const digestMethod = childElement(reference, DSIG_NS, 'DigestMethod');
    const signatureHash =
      SIGNATURE_HASHES[method?.getAttribute('Algorithm') ?? ''];
    const digestHash =
      DIGEST_HASHES[digestMethod?.getAttribute('Algorithm') ?? ''];
    const transforms = Array.from(
      reference.getElementsByTagNameNS(DSIG_NS, 'Transform'),
    );
    const algorithms = transforms.map((t) => t.getAttribute('Algorithm'));
    const c14nTransform = transforms
      .filter((t) => t.getAttribute('Algorithm') !== ENVELOPED)
      .at(-1);
    if (
      !signatureHash ||
      !digestHash ||
      !algorithms.includes(ENVELOPED) ||
      algorithms.some((a) => a !== ENVELOPED && a !== C14N && a !== EXC_C14N)
    ) {
      throw replyInvalid('the reply signature uses unsupported algorithms');
    }
    try {
      root.removeChild(signature);
      let digest: Buffer;
      try {
        digest = createHash(digestHash)
          .update(canonicalize(root, c14nTransform ?? null))
          .digest();
      } finally {
        root.appendChild(signature);
      }
      const claimed = Buffer.from(
        dsigText(reference, 'DigestValue') ?? '',
        'base64',
      );
      const value = Buffer.from(
        dsigText(signature, 'SignatureValue') ?? '',
        'base64',
      );
      const signedBytes = canonicalize(
        signedInfo,
        childElement(signedInfo, DSIG_NS, 'CanonicalizationMethod'),
      );
      if (
        claimed.length === digest.length &&
        timingSafeEqual(claimed, digest) &&
        verify(signatureHash, Buffer.from(signedBytes), cert.publicKey, value)
      ) {
        return;
      }
    } catch (error) {
      throw replyInvalid('the reply signature does not verify', error);
    }
    throw replyInvalid('the reply signature does not verify');
  }

  /** The reply signer if the configured CA issued it and it is valid. */
  private signerCertificate(base64: string): X509Certificate | null {
    const key = base64.replace(/\s+/g, '');
    let known = this.#signers.get(key);
    if (!known) {
      const cert = new X509Certificate(Buffer.from(key, 'base64'));
      const issued = this.#caCerts.some(
        (ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey),
      );
      known = { cert, issued };
      if (this.#signers.size >= 64) this.#signers.clear();
      this.#signers.set(key, known);
    }
    const now = this.#options.now().getTime();
    const valid =
      now >= Date.parse(known.cert.validFrom) &&
      now <= Date.parse(known.cert.validTo);
    return valid && known.issued ? known.cert : null;
  }
}

/**
 * The canonical form of `node` by the c14n algorithm named on `method`
 * (a Transform or CanonicalizationMethod; none: inclusive c14n, the
 * XML-DSig default), with the namespaces in scope from its ancestors
 * for inclusive c14n and an exclusive InclusiveNamespaces PrefixList.
 */
function canonicalize(node: Element, method: Element | null): string {
  const algorithm = method?.getAttribute('Algorithm') ?? C14N;
  const ancestorNamespaces = ancestorNamespacesOf(node);
  const target = node as unknown as globalThis.Element;
  if (algorithm === C14N) {
    return new C14nCanonicalization().process(target, { ancestorNamespaces });
  }
  if (algorithm !== EXC_C14N) {
    throw new Error(`unsupported canonicalization ${algorithm}`);
  }
  const prefixes = method
    ? Array.from(method.getElementsByTagNameNS(EXC_C14N, 'InclusiveNamespaces'))
    : [];
  const prefixList = (prefixes[0]?.getAttribute('PrefixList') ?? '')
    .split(/\s+/)
    .filter((p) => p !== '');
  return new ExclusiveCanonicalization().process(target, {
    ancestorNamespaces,
    inclusiveNamespacesPrefixList: prefixList,
  });
}

/**
 * Namespace declarations in scope from the ancestors of `node`, the
 * nearest binding of each prefix, without undeclarations and without
 * the prefixes `node` binds itself (c14n renders those on it anyway).
 */
function ancestorNamespacesOf(
  node: Element,
): { prefix: string; namespaceURI: string }[] {
  const own = new Set<string>([node.prefix ?? '']);
  for (const attr of Array.from(node.attributes)) {
    if (attr.name === 'xmlns') own.add('');
    else if (attr.name.startsWith('xmlns:')) own.add(attr.name.slice(6));
  }
  const seen = new Set<string>();
  const found: { prefix: string; namespaceURI: string }[] = [];
  for (let p = node.parentNode; p && p.nodeType === 1; p = p.parentNode) {
    for (const attr of Array.from((p as Element).attributes)) {
      const prefix =
        attr.name === 'xmlns'
          ? ''
          : attr.name.startsWith('xmlns:')
            ? attr.name.slice(6)
            : null;
      if (prefix === null || seen.has(prefix)) continue;
      seen.add(prefix);
      if (attr.value !== '' && !own.has(prefix)) {
        found.push({ prefix, namespaceURI: attr.value });
      }
    }
  }
  return found;
}

function childElement(node: Element, ns: string, name: string) {
  for (let n = node.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const e = n as Element;
    if (e.namespaceURI === ns && e.localName === name) return e;
  }
  return null;
}

function dsigText(node: Element, name: string): string | null {
  return (
    Array.from(node.getElementsByTagNameNS(DSIG_NS, name))[0]?.textContent ??
    null
  );
}

function envelope(inner: string): string {
  return (
    `<soapenv:Envelope xmlns:soapenv="${SOAP_NS}"><soapenv:Body>` +
    inner.replace(/^<\?xml[^>]*\?>\s*/, '') +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

function parseXml(xml: string) {
  try {
    return new DOMParser({ onError: () => undefined }).parseFromString(
      xml,
      'text/xml',
    );
  } catch {
    return null;
  }
}

function bodyRoot(xml: string): Element | null {
  const doc = parseXml(xml);
  const env = doc?.documentElement;
  if (!env || env.namespaceURI !== SOAP_NS || env.localName !== 'Envelope') {
    return null;
  }
  const body = Array.from(env.getElementsByTagNameNS(SOAP_NS, 'Body'))[0];
  for (let n = body?.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) return n as Element;
  }
  return null;
}

function firstElement(node: Element, name: string): Element | undefined {
  return Array.from(node.getElementsByTagNameNS(CIS_NS, name))[0];
}

function textOf(node: Element, name: string): string | null {
  return firstElement(node, name)?.textContent?.trim() ?? null;
}

function cisError(greska: Element, status: number, body: string) {
  const code = textOf(greska, 'SifraGreske') ?? 'unknown';
  const message = textOf(greska, 'PorukaGreske') ?? '';
  const details = {
    counterpart: 'CIS',
    cisCode: code,
    cisMessage: message,
    httpStatus: status,
  };
  const error =
    code === 's006'
      ? new TenantGateError(
          'COUNTERPART_UNAVAILABLE',
          `CIS system error ${code}: ${message}`,
          details,
        )
      : new TenantGateError(
          'COUNTERPART_REJECTED',
          `CIS refused the request with ${code}: ${message}`,
          details,
        );
  responses.set(error, body);
  return error;
}

const responses = new WeakMap<TenantGateError, string>();

/** The signed CIS reply behind a COUNTERPART_* error, for the record. */
export function cisResponseOf(error: unknown): string | null {
  return error instanceof TenantGateError
    ? (responses.get(error) ?? null)
    : null;
}

function replyInvalid(reason: string, cause?: unknown) {
  return new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    `CIS reply refused: ${reason}`,
    { counterpart: 'CIS', reason },
    cause === undefined ? undefined : { cause },
  );
}

function unavailable(url: URL, cause: Error) {
  return new TenantGateError(
    'COUNTERPART_UNAVAILABLE',
    'CIS could not be reached before the request was sent',
    { counterpart: 'CIS', host: url.host, reason: cause.message },
    { cause },
  );
}

function lost(url: URL, cause: Error) {
  return new TenantGateError(
    'SEND_OUTCOME_UNKNOWN',
    'The request reached CIS but no reply came back',
    { counterpart: 'CIS', host: url.host, reason: cause.message },
    { cause },
  );
}

function splitPem(pem: string | Buffer): X509Certificate[] {
  const text = pem.toString();
  const blocks =
    text.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
