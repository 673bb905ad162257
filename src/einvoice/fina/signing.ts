import { randomUUID } from 'node:crypto';
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import { TenantGateError } from '../../errors/tenantgate-error.js';
import type { CertificateSigner } from '../../vault/vault.js';

// The two signatures a FINA message carries, both computed by the vault's
// signer capability (the private key never reaches xml-crypto): the UBL's
// own enveloped signature in its extension block, and the WS-Security
// signature over the SOAP Body and Timestamp.

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  ext: 'urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2',
  sig: 'urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2',
  sac: 'urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2',
} as const;

const X509_TOKEN =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
const BASE64_BINARY =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** How long a WS-Security timestamp stays valid. */
const TIMESTAMP_TTL_MS = 5 * 60_000;

/**
 * Signs a UBL Invoice or CreditNote for FINA: an enveloped XML signature
 * (whole document, exclusive c14n, RSA-SHA256, the certificate in
 * KeyInfo) in `ext:UBLExtension/…/sig:UBLDocumentSignatures/
 * sac:SignatureInformation`, as the UBL 2.1 schema places it: the
 * document's own empty slot, or one added. The result must not be
 * re-serialized.
 */
export function signUbl(xml: string, signer: CertificateSigner): string {
  const prepared = withSignatureSlot(xml);
  const sig = capabilitySigner(signer, () => x509Data(signer));
  sig.addReference({
    xpath: '/*',
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: SHA256,
    uri: '',
    isEmptyUri: true,
  });
  sig.computeSignature(prepared, {
    prefix: 'ds',
    location: {
      reference: "(//*[local-name(.)='SignatureInformation' and not(*)])[1]",
      action: 'append',
    },
  });
  return sig.getSignedXml();
}

/**
 * Wraps a message body in a SOAP 1.1 envelope with a WS-Security header:
 * a Timestamp, the certificate as a BinarySecurityToken and a signature
 * (exclusive c14n, RSA-SHA256) over the Body and the Timestamp whose
 * KeyInfo points at the token.
 */
export function signedEnvelope(
  bodyXml: string,
  signer: CertificateSigner,
  now: Date = new Date(),
): string {
  const ids = {
    body: `Body-${randomUUID()}`,
    timestamp: `TS-${randomUUID()}`,
    token: `X509-${randomUUID()}`,
  };
  const expires = new Date(now.getTime() + TIMESTAMP_TTL_MS);
  const envelope =
    `<soapenv:Envelope xmlns:soapenv="${NS.soap}" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}">` +
    '<soapenv:Header>' +
    '<wsse:Security soapenv:mustUnderstand="1">' +
    `<wsse:BinarySecurityToken wsu:Id="${ids.token}" ValueType="${X509_TOKEN}" EncodingType="${BASE64_BINARY}">` +
    signer.certificateDer().toString('base64') +
    '</wsse:BinarySecurityToken>' +
    `<wsu:Timestamp wsu:Id="${ids.timestamp}">` +
    `<wsu:Created>${now.toISOString()}</wsu:Created>` +
    `<wsu:Expires>${expires.toISOString()}</wsu:Expires>` +
    '</wsu:Timestamp>' +
    '</wsse:Security>' +
    '</soapenv:Header>' +
    `<soapenv:Body wsu:Id="${ids.body}">${bodyXml}</soapenv:Body>` +
    '</soapenv:Envelope>';

  const sig = capabilitySigner(
    signer,
    () =>
      `<wsse:SecurityTokenReference><wsse:Reference URI="#${ids.token}" ValueType="${X509_TOKEN}"/></wsse:SecurityTokenReference>`,
  );
  for (const id of [ids.body, ids.timestamp]) {
    sig.addReference({
      xpath: `//*[@*[local-name(.)='Id']='${id}']`,
      transforms: [EXC_C14N],
      digestAlgorithm: SHA256,
    });
  }
  sig.computeSignature(envelope, {
    prefix: 'ds',
    existingPrefixes: { wsse: NS.wsse, wsu: NS.wsu },
    location: {
      reference: "//*[local-name(.)='Security']",
      action: 'append',
    },
  });
  return sig.getSignedXml();
}

function capabilitySigner(
  signer: CertificateSigner,
  keyInfo: () => string,
): SignedXml {
  const sig = new SignedXml({
    // xml-crypto insists on a key; ours stays in the vault.
    privateKey: 'held-by-the-vault',
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: keyInfo,
  });
  sig.SignatureAlgorithms = { [RSA_SHA256]: capabilityAlgorithm(signer) };
  return sig;
}

function capabilityAlgorithm(
  signer: CertificateSigner,
): new () => SignatureAlgorithm {
  return class CapabilitySignature {
    getAlgorithmName = () => RSA_SHA256;

    getSignature = (signedInfo: string): string =>
      signer.sign(Buffer.from(signedInfo, 'utf8'), 'sha256').toString('base64');

    verifySignature = (): boolean => {
      throw new Error('the signing capability does not verify');
    };
  } as unknown as new () => SignatureAlgorithm;
}

function x509Data(signer: CertificateSigner): string {
  const der = signer.certificateDer().toString('base64');
  return `<ds:X509Data><ds:X509Certificate>${der}</ds:X509Certificate></ds:X509Data>`;
}

const SLOT =
  `<ext:UBLExtension xmlns:ext="${NS.ext}"><ext:ExtensionContent>` +
  `<sig:UBLDocumentSignatures xmlns:sig="${NS.sig}" xmlns:sac="${NS.sac}">` +
  '<sac:SignatureInformation></sac:SignatureInformation>' +
  '</sig:UBLDocumentSignatures>' +
  '</ext:ExtensionContent></ext:UBLExtension>';

/** An empty `sac:SignatureInformation`, as the official samples carry. */
const EMPTY_SLOT =
  /<((?:[\w.-]+:)?)SignatureInformation\s*(?:\/>|>\s*<\/\1SignatureInformation\s*>)/;

/**
 * Finds or adds an empty signature slot: the document's own empty
 * `SignatureInformation` if it has one; else a new last `UBLExtension`
 * when the document has `UBLExtensions` (it must be the root's first
 * child), otherwise a new `UBLExtensions` right after the root's start
 * tag.
 */
function withSignatureSlot(xml: string): string {
  if (EMPTY_SLOT.test(xml)) return xml;
  const existing = /<\/((?:[\w.-]+:)?)UBLExtensions\s*>/.exec(xml);
  if (existing) {
    return xml.slice(0, existing.index) + SLOT + xml.slice(existing.index);
  }
  const root =
    /^(\uFEFF?(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*)<([\w.-]+:)?(Invoice|CreditNote)\b[^>]*>/.exec(
      xml,
    );
  if (!root) {
    throw new TenantGateError(
      'INVALID_INPUT',
      'The document is not a UBL Invoice or CreditNote',
      { field: 'ublXml', rule: 'ubl-root' },
    );
  }
  const at = root.index + root[0].length;
  return (
    xml.slice(0, at) +
    `<ext:UBLExtensions xmlns:ext="${NS.ext}">${SLOT}</ext:UBLExtensions>` +
    xml.slice(at)
  );
}
