import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { isValidOib } from '../companies/oib.js';

/** What TenantGate records about a fiscal certificate: no secret. */
export interface CertificateInfo {
  /** Subject as an RFC 2253 string. */
  subject: string;
  /** Issuer as an RFC 2253 string (XML signature X509IssuerName). */
  issuer: string;
  /** Serial number in exact decimal (X509SerialNumber). */
  serialDecimal: string;
  notBefore: Date;
  notAfter: Date;
  /** The OIB found in the subject. */
  oib: string;
  /** SHA-256 fingerprint, hex, for logs and audits. */
  fingerprint256: string;
}

/** An opened PKCS#12: the key, its certificate and the rest of the chain. */
export interface OpenedPkcs12 {
  privateKey: KeyObject;
  certificateDer: Buffer;
  /** Other certificates of the file (CA chain), DER. */
  chainDer: Buffer[];
  info: CertificateInfo;
}

const OID_ORGANIZATION_IDENTIFIER = '2.5.4.97';

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'serialNumber',
  '2.5.4.97': 'organizationIdentifier',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/**
 * Opens a PKCS#12 file: modern (PBES2, AES) and legacy (RC2, 3DES)
 * encryption, any Unicode password. Picks the certificate that matches
 * the private key, reads its OIB, and refuses a file without a key, a
 * matching certificate or an OIB (CERTIFICATE_INVALID, `details.rule`).
 *
 * Why not plain node-forge: forge derives the MAC key and the legacy
 * PKCS#12 keys from the password as UTF-16 (right), but feeds the same
 * JavaScript string to PBKDF2 for PBES2 as a "binary" string, dropping
 * the high byte of every non-ASCII character, where OpenSSL uses UTF-8.
 * So we check the MAC ourselves with the Unicode password and decrypt
 * the bags with the UTF-8 bytes when the Unicode string does not work.
 */
export function openPkcs12(file: Buffer, password: string): OpenedPkcs12 {
  const asn1 = parseAsn1(file);
  verifyMac(asn1, password);
  const bags = decodeBags(withoutMac(asn1), password);
  const privateKey = bags.keys[0];
  if (!privateKey || bags.keys.length > 1) {
    throw invalid(
      'one-private-key',
      `The PKCS#12 file must hold exactly one private key, found ${bags.keys.length}`,
    );
  }

  const keyObject = createPrivateKey(forge.pki.privateKeyToPem(privateKey));
  const publicDer = createPublicKey(keyObject).export({
    type: 'spki',
    format: 'der',
  });
  const certs = bags.certs.map((der) => new X509Certificate(der));
  const own = certs.find((c) =>
    c.publicKey.export({ type: 'spki', format: 'der' }).equals(publicDer),
  );
  if (!own) {
    throw invalid(
      'certificate-matches-key',
      'No certificate in the PKCS#12 file matches its private key',
    );
  }
  return {
    privateKey: keyObject,
    certificateDer: Buffer.from(own.raw),
    chainDer: certs.filter((c) => c !== own).map((c) => Buffer.from(c.raw)),
    info: certificateInfo(Buffer.from(own.raw)),
  };
}

/**
 * The metadata of a DER certificate. Throws CERTIFICATE_INVALID with
 * rule `subject-has-oib` when no valid OIB is in the subject.
 */
export function certificateInfo(der: Buffer): CertificateInfo {
  const cert = forge.pki.certificateFromAsn1(parseAsn1(der));
  const x509 = new X509Certificate(der);
  const oib = subjectOib(cert.subject.attributes);
  if (!oib) {
    throw invalid(
      'subject-has-oib',
      'The certificate subject has no OIB (O, serialNumber or organizationIdentifier)',
      { subject: rfc2253(cert.subject.attributes) },
    );
  }
  return {
    subject: rfc2253(cert.subject.attributes),
    issuer: rfc2253(cert.issuer.attributes),
    serialDecimal: BigInt(`0x${x509.serialNumber}`).toString(10),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    oib,
    fingerprint256: x509.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/**
 * The OIB of a subject: `serialNumber` or `organizationIdentifier`
 * (`HR<OIB>`, `VATHR-<OIB>`, `<OIB>`) first, then an 11-digit run in `O`
 * (older certificates). Only checksum-valid OIBs count.
 */
function subjectOib(attributes: forge.pki.CertificateField[]): string | null {
  const named = (oid: string) =>
    attributes.filter((a) => a.type === oid).map((a) => String(a.value));
  const identifiers = [
    ...named('2.5.4.5'),
    ...named(OID_ORGANIZATION_IDENTIFIER),
  ];
  for (const value of identifiers) {
    const match = /^(?:VATHR-|HR|)(\d{11})$/.exec(value.trim());
    if (match?.[1] && isValidOib(match[1])) return match[1];
  }
  for (const value of named('2.5.4.10')) {
    for (const match of value.matchAll(/(?<!\d)(\d{11})(?!\d)/g)) {
      if (match[1] && isValidOib(match[1])) return match[1];
    }
  }
  return null;
}

/** RFC 2253: last RDN first, comma-separated, special characters escaped. */
export function rfc2253(attributes: forge.pki.CertificateField[]): string {
  return [...attributes]
    .reverse()
    .map((a) => {
      const oid = a.type ?? '';
      const name = SHORT_NAMES[oid] ?? oid;
      return `${name}=${escapeRdnValue(decodeValue(a.value))}`;
    })
    .join(',');
}

function decodeValue(value: unknown): string {
  const text = String(value);
  // forge keeps UTF8String values as UTF-8 "binary" strings.
  try {
    return forge.util.decodeUtf8(text);
  } catch {
    return text;
  }
}

function escapeRdnValue(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

function parseAsn1(bytes: Buffer): forge.asn1.Asn1 {
  try {
    return forge.asn1.fromDer(
      forge.util.createBuffer(bytes.toString('binary')),
    );
  } catch (error) {
    throw invalid('der', 'The file is not DER-encoded ASN.1', {}, error);
  }
}

const MAC_DIGESTS: Record<string, () => forge.md.MessageDigest> = {
  [forge.pki.oids.sha1 ?? '1.3.14.3.2.26']: () => forge.md.sha1.create(),
  [forge.pki.oids.sha256 ?? '2.16.840.1.101.3.4.2.1']: () =>
    forge.md.sha256.create(),
  [forge.pki.oids.sha384 ?? '2.16.840.1.101.3.4.2.2']: () =>
    forge.md.sha384.create(),
  [forge.pki.oids.sha512 ?? '2.16.840.1.101.3.4.2.3']: () =>
    forge.md.sha512.create(),
};

/**
 * Checks the PFX MAC (RFC 7292 appendix B): the MAC key comes from the
 * password as UTF-16 (BMPString), so any Unicode password works here.
 */
function verifyMac(asn1: forge.asn1.Asn1, password: string): void {
  const [, authSafe, macData] = children(asn1);
  if (!authSafe || !macData) {
    throw invalid('mac', 'The PKCS#12 file has no integrity MAC');
  }
  const [digestInfo, salt, iterations] = children(macData);
  const [algorithm, digest] = children(digestInfo);
  const oid = forge.asn1.derToOid(bytesOf(children(algorithm)[0]));
  const md = MAC_DIGESTS[oid];
  if (!md) {
    throw invalid('mac', `Unsupported PKCS#12 MAC digest ${oid}`);
  }
  const count = iterations ? Number(BigInt(`0x${hexOf(iterations)}`)) : 1;
  const content = bytesOf(children(children(authSafe)[1])[0]);
  const macKey = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(bytesOf(salt)),
    3,
    count,
    md().digestLength,
    md(),
  );
  const hmac = forge.hmac.create();
  hmac.start(md(), macKey);
  hmac.update(content);
  if (hmac.digest().getBytes() !== bytesOf(digest)) {
    throw invalid(
      'password',
      'The PKCS#12 password is wrong or the file is damaged',
    );
  }
}

function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) {
    throw invalid('der', 'The PKCS#12 structure is not as RFC 7292 says');
  }
  return node.value;
}

/** The bytes of a primitive value, or of a constructed (BER) string. */
function bytesOf(node: forge.asn1.Asn1 | undefined): string {
  if (!node) throw invalid('der', 'The PKCS#12 structure is incomplete');
  if (typeof node.value === 'string') return node.value;
  return node.value.map((part) => bytesOf(part)).join('');
}

function hexOf(node: forge.asn1.Asn1): string {
  return forge.util.bytesToHex(bytesOf(node)) || '0';
}

function withoutMac(asn1: forge.asn1.Asn1): forge.asn1.Asn1 {
  const parts = asn1.value as forge.asn1.Asn1[];
  return { ...asn1, value: parts.slice(0, 2) };
}

interface Bags {
  keys: forge.pki.rsa.PrivateKey[];
  certs: Buffer[];
}

function decodeBags(asn1: forge.asn1.Asn1, password: string): Bags {
  const attempts = [password, forge.util.encodeUtf8(password)];
  let last: unknown;
  for (const candidate of new Set(attempts)) {
    try {
      return collect(forge.pkcs12.pkcs12FromAsn1(asn1, false, candidate));
    } catch (error) {
      last = error;
    }
  }
  throw invalid(
    'decrypt',
    'The PKCS#12 contents do not decrypt with the password',
    {},
    last,
  );
}

const KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';

function bagsOf(
  p12: forge.pkcs12.Pkcs12Pfx,
  bagType: string,
): forge.pkcs12.Bag[] {
  return p12.getBags({ bagType })[bagType] ?? [];
}

function collect(p12: forge.pkcs12.Pkcs12Pfx): Bags {
  const keyBags = [...bagsOf(p12, SHROUDED_KEY_BAG), ...bagsOf(p12, KEY_BAG)];
  const keys = keyBags.flatMap((b) =>
    b.key ? [b.key as forge.pki.rsa.PrivateKey] : [],
  );
  if (keyBags.length > 0 && keys.length === 0) {
    throw new Error('no RSA key could be read from the key bag');
  }
  const certs = bagsOf(p12, CERT_BAG).flatMap((b) =>
    b.cert ? [certificateDer(b.cert)] : [],
  );
  return { keys, certs };
}

function certificateDer(cert: forge.pki.Certificate): Buffer {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert));
  return Buffer.from(der.getBytes(), 'binary');
}

function invalid(
  rule: string,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): TenantGateError {
  return new TenantGateError(
    'CERTIFICATE_INVALID',
    message,
    { field: 'certificate', rule, ...details },
    cause === undefined ? undefined : { cause },
  );
}

const PACK_MAGIC = Buffer.from('TGP12v1\n', 'ascii');

/**
 * The plaintext the vault seals for a certificate account: a magic,
 * the UTF-8 password's length (uint16), the password, the file.
 */
export function packPkcs12(file: Buffer, password: string): Buffer {
  const secret = Buffer.from(password, 'utf8');
  if (secret.length > 0xffff) {
    throw invalid('password-length', 'The PKCS#12 password is too long');
  }
  const length = Buffer.alloc(2);
  length.writeUInt16BE(secret.length);
  return Buffer.concat([PACK_MAGIC, length, secret, file]);
}

/** Whether `unpackPkcs12` reads the bytes; it does not throw. */
export function isPkcs12Pack(bytes: Buffer): boolean {
  const start = PACK_MAGIC.length;
  return (
    bytes.length >= start + 2 && bytes.subarray(0, start).equals(PACK_MAGIC)
  );
}

/** Reverses `packPkcs12`; throws CERTIFICATE_INVALID on other bytes. */
export function unpackPkcs12(bytes: Buffer): {
  file: Buffer;
  password: string;
} {
  const start = PACK_MAGIC.length;
  if (!isPkcs12Pack(bytes)) {
    throw invalid('sealed-pkcs12', 'The sealed secret is not a PKCS#12 pack');
  }
  const length = bytes.readUInt16BE(start);
  const password = bytes.subarray(start + 2, start + 2 + length);
  return {
    password: password.toString('utf8'),
    file: Buffer.from(bytes.subarray(start + 2 + length)),
  };
}
