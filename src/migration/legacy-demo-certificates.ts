import {
  createHash,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';

/**
 * Demo data only: PKCS#12 files for the generated legacy platform
 * (`tenantgate demo legacy`), one per legacy certificate row, each with
 * a certificate for its company's OIB issued by the fixture demo CA
 * (fixtures/cis/certs/demo-ca.*). Made for speed at 100,000 companies,
 * which no real certificate would be:
 *
 * - one RSA key pair, made once per run, is shared by every file: the
 *   private key's encrypted bag is built once and copied into each;
 * - each certificate is written as DER here and signed by the CA with
 *   node:crypto (one RSA signature per file, about a millisecond);
 * - key encryption and MAC use an iteration count of 1 (a real file
 *   uses 2,048 or more), so that provisioning opens 50,000 of them in
 *   seconds rather than minutes.
 *
 * Every file is a valid PKCS#12 that OpenSSL and `openPkcs12` open.
 */

const CA_DIR = fileURLToPath(
  new URL('../../fixtures/cis/certs/', import.meta.url),
);

/** The password of every generated file (demo data). */
export const DEMO_P12_PASSWORD = 'legacy-demo';

export interface DemoCertificateFacts {
  /** The company's OIB, put in the subject. */
  oib: string;
  /** Organisation name in the subject. */
  organisation: string;
  /** Certificate serial number, big-endian bytes (made positive). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
}

/** Builds demo PKCS#12 files; see the module comment. */
export class DemoCertificateFactory {
  readonly #caKey: KeyObject;
  readonly #issuer: Buffer;
  readonly #spki: Buffer;
  readonly #keyBag: Buffer;

  constructor(caDir: string = CA_DIR) {
    this.#caKey = createPrivateKey(readFileSync(`${caDir}demo-ca.key`));
    this.#issuer = subjectOf(
      pemToDer(readFileSync(`${caDir}demo-ca.crt`, 'utf8')),
    );
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    this.#keyBag = shroudedKeyBag(
      pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      DEMO_P12_PASSWORD,
    );
  }

  /** A PKCS#12 file (DER) with the shared key and a new certificate. */
  pkcs12(facts: DemoCertificateFacts): Buffer {
    const cert = this.certificate(facts);
    const certBag = seq(
      oid(CERT_BAG),
      explicit(0, seq(oid(X509_CERTIFICATE), explicit(0, octets(cert)))),
    );
    const authSafe = seq(
      seq(oid(DATA), explicit(0, octets(seq(certBag, this.#keyBag)))),
    );
    const salt = randomBytes(8);
    const mac = createHmac('sha256', macKey(DEMO_P12_PASSWORD, salt))
      .update(authSafe)
      .digest();
    return seq(
      integer(Buffer.from([3])),
      seq(oid(DATA), explicit(0, octets(authSafe))),
      seq(
        seq(seq(oid(SHA256), NULL), octets(mac)),
        octets(salt),
        integer(Buffer.from([1])),
      ),
    );
  }

  /** The certificate alone (DER), signed by the demo CA. */
  certificate(facts: DemoCertificateFacts): Buffer {
    const subject = seq(
      rdn('2.5.4.6', printable('HR')),
      rdn('2.5.4.10', utf8(facts.organisation)),
      rdn('2.5.4.97', utf8(`VATHR-${facts.oib}`)),
      rdn('2.5.4.3', utf8(`${facts.organisation} fiscal`)),
    );
    const tbs = seq(
      explicit(0, integer(Buffer.from([2]))),
      integer(facts.serial),
      SHA256_WITH_RSA,
      this.#issuer,
      seq(utcTime(facts.notBefore), utcTime(facts.notAfter)),
      subject,
      this.#spki,
    );
    const signature = sign('sha256', tbs, this.#caKey);
    return seq(
      tbs,
      SHA256_WITH_RSA,
      der(0x03, Buffer.concat([Buffer.from([0]), signature])),
    );
  }
}

/** The demo serial of the n-th certificate: md5('serial' || n). */
export function demoCertificateSerial(n: number): Buffer {
  return createHash('md5').update(`serial${n}`).digest();
}

const DATA = '1.2.840.113549.1.7.1';
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const NULL = Buffer.from([0x05, 0x00]);
const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), NULL);

/** The private key as a PKCS#8 shrouded key bag, encrypted once. */
function shroudedKeyBag(pkcs1Pem: string, password: string): Buffer {
  const key = forge.pki.privateKeyFromPem(pkcs1Pem);
  const info = forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key));
  const encrypted = forge.pki.encryptPrivateKeyInfo(info, password, {
    algorithm: 'aes256',
    count: 1,
    saltSize: 8,
  });
  const bytes = Buffer.from(forge.asn1.toDer(encrypted).getBytes(), 'binary');
  return seq(oid(SHROUDED_KEY_BAG), explicit(0, bytes));
}

/**
 * The PKCS#12 MAC key (RFC 7292 B.2, ID 3, SHA-256) for an iteration
 * count of 1: one hash of the diversifier, the salt and the password
 * (UTF-16BE with its terminator), each filled to 64-byte blocks.
 */
function macKey(password: string, salt: Buffer): Buffer {
  const utf16 = Buffer.from(`${password}\0`, 'utf16le').swap16();
  return createHash('sha256')
    .update(Buffer.alloc(64, 3))
    .update(fill(salt))
    .update(fill(utf16))
    .digest();
}

function fill(bytes: Buffer): Buffer {
  const size = 64 * Math.ceil(bytes.length / 64);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = bytes[i % bytes.length] as number;
  return out;
}

function pemToDer(pem: string): Buffer {
  const body = pem
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

/** The subject Name of a certificate, as its DER bytes. */
function subjectOf(cert: Buffer): Buffer {
  const tbs = elements(cert)[0] as Buffer;
  const fields = elements(tbs);
  // [0] version first in a v3 certificate
  const offset = fields[0]?.[0] === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new Error('demo CA certificate: no subject');
  return subject;
}

/** The encoded elements (tag, length, content) inside a DER value. */
function elements(value: Buffer): Buffer[] {
  const { start } = header(value, 0);
  const out: Buffer[] = [];
  let at = start;
  while (at < value.length) {
    const h = header(value, at);
    out.push(value.subarray(at, h.start + h.length));
    at = h.start + h.length;
  }
  return out;
}

function header(buf: Buffer, at: number): { start: number; length: number } {
  const first = buf[at + 1] as number;
  if (first < 0x80) return { start: at + 2, length: first };
  const n = first & 0x7f;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + (buf[at + 2 + i] ?? 0);
  return { start: at + 2 + n, length };
}

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else length = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function seq(...parts: Buffer[]): Buffer {
  return der(0x30, Buffer.concat(parts));
}

function explicit(n: number, content: Buffer): Buffer {
  return der(0xa0 + n, content);
}

function octets(bytes: Buffer): Buffer {
  return der(0x04, bytes);
}

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const positive =
    (trimmed[0] ?? 0) & 0x80
      ? Buffer.concat([Buffer.from([0]), trimmed])
      : trimmed;
  return der(0x02, positive);
}

function utf8(text: string): Buffer {
  return der(0x0c, Buffer.from(text, 'utf8'));
}

function printable(text: string): Buffer {
  return der(0x13, Buffer.from(text, 'ascii'));
}

function rdn(type: string, value: Buffer): Buffer {
  return der(0x31, seq(oid(type), value));
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return der(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const part of rest) {
    const chunk = [part & 0x7f];
    for (let v = part >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}
