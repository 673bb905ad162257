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
