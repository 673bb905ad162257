import { createHash } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { SignatureAlgorithm } from 'xml-crypto';
import { escapeXml } from './racun.js';
import type { CertificateInfo } from './pkcs12.js';
import type { SignatureHash } from './zki.js';

/** What the XML signature needs from the vault's signer capability. */
export interface XmlSigner {
  readonly certificate: CertificateInfo;
  certificateDer(): Buffer;
  sign(data: Buffer, hash: SignatureHash): Buffer;
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const ALGORITHMS: Record<SignatureHash, { signature: string; digest: string }> =
  {
    sha1: {
      signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
      digest: 'http://www.w3.org/2000/09/xmldsig#sha1',
    },
    sha256: {
      signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
    },
  };

/**
 * Signs a CIS request: an enveloped signature as the root's last child,
 * one Reference to `#<Id>` with the enveloped-signature and exclusive
 * c14n transforms, exclusive c14n of SignedInfo, and KeyInfo/X509Data
 * with the certificate and X509IssuerSerial (RFC 2253 issuer, decimal
 * serial). The RSA operation runs inside the signer capability: the
 * private key never reaches xml-crypto.
 */
export function signCisXml(
  xml: string,
  signer: XmlSigner,
  hash: SignatureHash,
): string {
  const algorithms = ALGORITHMS[hash];
  const sig = new SignedXml({
    // xml-crypto insists on a key; ours stays in the vault.
    privateKey: 'held-by-the-vault',
    signatureAlgorithm: algorithms.signature,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: () => keyInfo(signer),
  });
  sig.SignatureAlgorithms = {
    [algorithms.signature]: capabilityAlgorithm(signer, hash, algorithms),
  };
  sig.addReference({
    xpath: '/*',
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: algorithms.digest,
  });
  sig.computeSignature(xml, {
    location: { reference: '/*', action: 'append' },
  });
  return sig.getSignedXml();
}

/**
 * Signs a document the caller wrote in exclusive canonical form (the
 * c14n of its root element: namespace declarations before attributes,
 * start and end tags, text escaped per c14n, no XML declaration, no
 * whitespace between elements), as `racunZahtjevXml` writes
 * RacunZahtjev. The result is what `signCisXml` produces, byte for byte
 * in SignedInfo, without a generic canonicalizer: the digest is taken
 * over `canonical` itself, SignedInfo is written in its canonical form,
 * the vault signs it, and the Signature is spliced in as the root's
 * last child. The root must carry an `Id` attribute.
 */
export function signCanonicalXml(
  canonical: string,
  signer: XmlSigner,
  hash: SignatureHash,
): string {
  const id = ROOT_ID.exec(canonical)?.[1];
  const close = canonical.lastIndexOf('</');
  if (id === undefined || close <= 0) {
    throw new TypeError('signCanonicalXml: a root element with an Id');
  }
  const algorithms = ALGORITHMS[hash];
  const digest = createHash(hash).update(canonical, 'utf8').digest('base64');
  const signedInfo = signedInfoXml(id, algorithms, digest);
  const value = signer
    .sign(Buffer.from(`<SignedInfo xmlns="${DSIG_NS}">${signedInfo}`), hash)
    .toString('base64');
  return (
    canonical.slice(0, close) +
    `<Signature xmlns="${DSIG_NS}"><SignedInfo>${signedInfo}` +
    `<SignatureValue>${value}</SignatureValue>` +
    `<KeyInfo>${keyInfo(signer)}</KeyInfo></Signature>` +
    canonical.slice(close)
  );
}

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** The root start tag's `Id` (a UUID or other attribute-safe text). */
const ROOT_ID = /^<[^\s>]+(?:\s[^>]*?)?\sId="([^"<&]*)"/;

/**
 * The children of SignedInfo and its end tag, canonical (exclusive
 * c14n): empty elements as start and end tags, attributes escaped.
 * SignedInfo's own start tag differs between the signed bytes (which
 * carry the inherited default namespace) and the document (where
 * Signature declares it).
 */
function signedInfoXml(
  id: string,
  algorithms: { signature: string; digest: string },
  digest: string,
): string {
  return (
    `<CanonicalizationMethod Algorithm="${EXC_C14N}"></CanonicalizationMethod>` +
    `<SignatureMethod Algorithm="${algorithms.signature}"></SignatureMethod>` +
    `<Reference URI="#${id}"><Transforms>` +
    `<Transform Algorithm="${ENVELOPED}"></Transform>` +
    `<Transform Algorithm="${EXC_C14N}"></Transform>` +
    `</Transforms><DigestMethod Algorithm="${algorithms.digest}"></DigestMethod>` +
    `<DigestValue>${digest}</DigestValue></Reference></SignedInfo>`
  );
}

function capabilityAlgorithm(
  signer: XmlSigner,
  hash: SignatureHash,
  algorithms: { signature: string },
): new () => SignatureAlgorithm {
  return class CapabilitySignature {
    getAlgorithmName = () => algorithms.signature;

    getSignature = (signedInfo: string): string =>
      signer.sign(Buffer.from(signedInfo, 'utf8'), hash).toString('base64');

    verifySignature = (): boolean => {
      throw new Error('the signing capability does not verify');
    };
  } as unknown as new () => SignatureAlgorithm;
}

function keyInfo(signer: XmlSigner): string {
  const cert = signer.certificate;
  return (
    '<X509Data>' +
    `<X509Certificate>${signer.certificateDer().toString('base64')}</X509Certificate>` +
    '<X509IssuerSerial>' +
    `<X509IssuerName>${escapeXml(cert.issuer)}</X509IssuerName>` +
    `<X509SerialNumber>${cert.serialDecimal}</X509SerialNumber>` +
    '</X509IssuerSerial>' +
    '</X509Data>'
  );
}
