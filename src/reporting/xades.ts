import { createHash, randomBytes } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { XmlSigner } from '../fiscal/xml-signature.js';
import { escapeText } from './messages/xml.js';

/** The XML signature namespace. */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** XAdES 1.3.2. */
export const XADES_NS = 'http://uri.etsi.org/01903/v1.3.2#';
/** The Reference Type of SignedProperties. */
export const SIGNED_PROPERTIES_TYPE =
  'http://uri.etsi.org/01903#SignedProperties';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED =
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface XadesOptions {
  /** `SigningTime`. Default: now. */
  signingTime?: Date;
}

/**
 * Signs a Fiskalizacija 2.0 request with an enveloped XAdES-B
 * signature, appended as the root's last child:
 *
 * - SignedInfo in exclusive c14n, RSA-SHA256;
 * - Reference 1: the root by its namespaced `id` (`#<id>`), with the
 *   enveloped-signature and exclusive c14n transforms, SHA-256;
 * - Reference 2 (Type SignedProperties): `#xades-<sig id>`, exclusive
 *   c14n, SHA-256;
 * - KeyInfo/X509Data with the signer's certificate;
 * - Object/QualifyingProperties/SignedProperties with SigningTime and
 *   SigningCertificate (the certificate's SHA-256 digest, issuer and
 *   serial) and the DataObjectFormat of reference 1.
 *
 * The RSA operation runs inside the signer capability (the vault): the
 * private key never reaches this module. The input must not carry a
 * signature yet and is never re-serialized: the signature is inserted
 * as text before the root's closing tag.
 */
export function signXades(
  xml: string,
  signer: XmlSigner,
  options: XadesOptions = {},
): string {
  const root = parse(xml).documentElement;
  if (!root) throw signingError('the document has no root element');
  const rootId = rootIdOf(root);
  if (!rootId) throw signingError('the root element has no id attribute');

  const sigId = `id-${randomBytes(16).toString('hex')}`;
  const ids = {
    sig: sigId,
    ref: `r-${sigId}-1`,
    props: `xades-${sigId}`,
    value: `value-${sigId}`,
  };
  const documentDigest = digest(c14n(root));
  const der = signer.certificateDer();
  const properties = signedProperties(ids, signer, der, options);

  // Exclusive c14n renders only the namespaces an element uses, all of
  // them declared inside the signature, so SignedProperties and
  // SignedInfo canonicalize the same in the signature alone as in the
  // document: no need to parse the whole document again.
  const unsignedProperties = signatureXml(
    ids,
    rootId,
    documentDigest,
    '',
    '',
    der,
    properties,
  );
  const propertiesDigest = digest(
    c14n(byId(parse(unsignedProperties), ids.props)),
  );
  const withDigests = signatureXml(
    ids,
    rootId,
    documentDigest,
    propertiesDigest,
    '',
    der,
    properties,
  );
  const signedInfo = firstDsig(parse(withDigests), 'SignedInfo');
  const value = signer
    .sign(Buffer.from(c14n(signedInfo), 'utf8'), 'sha256')
    .toString('base64');
  return insertSignature(
    xml,
    signatureXml(
      ids,
      rootId,
      documentDigest,
      propertiesDigest,
      value,
      der,
      properties,
    ),
  );
}

interface Ids {
  sig: string;
  ref: string;
  props: string;
  value: string;
}

function signatureXml(
  ids: Ids,
  rootId: string,
  documentDigest: string,
  propertiesDigest: string,
  value: string,
  der: Buffer,
  properties: string,
): string {
  return (
    `<ds:Signature xmlns:ds="${DSIG_NS}" Id="${ids.sig}">` +
    '<ds:SignedInfo>' +
    `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>` +
    `<ds:SignatureMethod Algorithm="${RSA_SHA256}"/>` +
    `<ds:Reference Id="${ids.ref}" URI="#${escapeText(rootId)}">` +
    '<ds:Transforms>' +
    `<ds:Transform Algorithm="${ENVELOPED}"/>` +
    `<ds:Transform Algorithm="${EXC_C14N}"/>` +
    '</ds:Transforms>' +
    `<ds:DigestMethod Algorithm="${SHA256}"/>` +
    `<ds:DigestValue>${documentDigest}</ds:DigestValue>` +
    '</ds:Reference>' +
    `<ds:Reference Type="${SIGNED_PROPERTIES_TYPE}" URI="#${ids.props}">` +
    '<ds:Transforms>' +
    `<ds:Transform Algorithm="${EXC_C14N}"/>` +
    '</ds:Transforms>' +
    `<ds:DigestMethod Algorithm="${SHA256}"/>` +
    `<ds:DigestValue>${propertiesDigest}</ds:DigestValue>` +
    '</ds:Reference>' +
    '</ds:SignedInfo>' +
    `<ds:SignatureValue Id="${ids.value}">${value}</ds:SignatureValue>` +
    '<ds:KeyInfo><ds:X509Data>' +
    `<ds:X509Certificate>${der.toString('base64')}</ds:X509Certificate>` +
    '</ds:X509Data></ds:KeyInfo>' +
    `<ds:Object>${properties}</ds:Object>` +
    '</ds:Signature>'
  );
}

function signedProperties(
  ids: Ids,
  signer: XmlSigner,
  der: Buffer,
  options: XadesOptions,
): string {
  const signingTime = (options.signingTime ?? new Date())
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const certDigest = createHash('sha256').update(der).digest('base64');
  return (
    `<xades:QualifyingProperties xmlns:xades="${XADES_NS}" Target="#${ids.sig}">` +
    `<xades:SignedProperties Id="${ids.props}">` +
    '<xades:SignedSignatureProperties>' +
    `<xades:SigningTime>${signingTime}</xades:SigningTime>` +
    '<xades:SigningCertificate><xades:Cert><xades:CertDigest>' +
    `<ds:DigestMethod Algorithm="${SHA256}"/>` +
    `<ds:DigestValue>${certDigest}</ds:DigestValue>` +
    '</xades:CertDigest><xades:IssuerSerial>' +
    `<ds:X509IssuerName>${escapeText(signer.certificate.issuer)}</ds:X509IssuerName>` +
    `<ds:X509SerialNumber>${signer.certificate.serialDecimal}</ds:X509SerialNumber>` +
    '</xades:IssuerSerial></xades:Cert></xades:SigningCertificate>' +
    '</xades:SignedSignatureProperties>' +
    '<xades:SignedDataObjectProperties>' +
    `<xades:DataObjectFormat ObjectReference="#${ids.ref}">` +
    '<xades:MimeType>text/xml</xades:MimeType>' +
    '</xades:DataObjectFormat>' +
    '</xades:SignedDataObjectProperties>' +
    '</xades:SignedProperties>' +
    '</xades:QualifyingProperties>'
  );
}

/** The root's `id` attribute, whatever its prefix (`fis:id`, `id`). */
export function rootIdOf(root: Element): string | null {
  for (const attr of Array.from(root.attributes)) {
    if (attr.localName === 'id' || attr.localName === 'Id') return attr.value;
  }
  return null;
}

function insertSignature(xml: string, signature: string): string {
  const end = xml.lastIndexOf('</');
  if (end < 0) throw signingError('the root element is empty');
  return xml.slice(0, end) + signature + xml.slice(end);
}

function parse(xml: string) {
  return new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning')
        throw signingError(`not well-formed: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
}

/** Exclusive c14n (no comments) of one element in its document. */
export function c14n(node: Element): string {
  return new ExclusiveCanonicalization().process(node as never, {});
}

/** Base64 SHA-256. */
export function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

function byId(doc: ReturnType<typeof parse>, id: string): Element {
  const all = Array.from(doc.getElementsByTagName('*'));
  const found = all.find((el) => el.getAttribute('Id') === id);
  if (!found) throw signingError(`no element with Id ${id}`);
  return found;
}

function firstDsig(doc: ReturnType<typeof parse>, name: string): Element {
  const found = Array.from(doc.getElementsByTagNameNS(DSIG_NS, name))[0];
  if (!found) throw signingError(`no ds:${name}`);
  return found;
}

function signingError(reason: string) {
  return new TenantGateError('INTERNAL', `XAdES signing failed: ${reason}`, {
    reason,
  });
}
