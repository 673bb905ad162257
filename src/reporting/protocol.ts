import { DOMParser, type Element } from '@xmldom/xmldom';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { ReportKind } from './messages/types.js';

/** The SOAP 1.1 envelope namespace. */
export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** The reply codes of Fiskalizacija 2.0 (`greska/sifra`). */
export type ReportCode =
  | 'S001'
  | 'S002'
  | 'S003'
  | 'S004'
  | 'S005'
  | 'S006'
  | 'S007'
  | 'S008'
  | 'S009'
  | 'S010'
  | 'S011'
  | 'S012';

/**
 * What a code means for the caller:
 *
 * - `retry`: a temporary fault of the service; send the same request
 *   again later (S001).
 * - `request`: the request as a whole is refused (signature location,
 *   certificate, signature, schema, the signer's authorisation); no
 *   record of it was recorded and resending the same will fail again.
 * - `record`: the named record is refused (or, for S008, was recorded
 *   before); the request's other records were not processed.
 */
export type CodeScope = 'retry' | 'request' | 'record';

export interface CodeMeaning {
  scope: CodeScope;
  /** The code's meaning, in English. */
  meaning: string;
}

/** S001–S012 as the schemas list them. */
export const REPORT_CODES: Record<ReportCode, CodeMeaning> = {
  S001: { scope: 'retry', meaning: 'system error while processing' },
  S002: { scope: 'request', meaning: 'the signature is not where expected' },
  S003: {
    scope: 'request',
    meaning:
      'the certificate is not from a trusted provider, expired or revoked',
  },
  S004: { scope: 'request', meaning: 'invalid signature' },
  S005: { scope: 'request', meaning: 'the message does not match the schema' },
  S006: {
    scope: 'request',
    meaning: 'the signer is not authorised to report for this OIB',
  },
  S007: { scope: 'record', meaning: 'an OIB is not formally valid' },
  S008: {
    scope: 'record',
    meaning: 'already recorded with the same identifier',
  },
  S009: { scope: 'record', meaning: 'no such e-invoice is recorded' },
  S010: {
    scope: 'record',
    meaning: 'a rejection of this e-invoice is already recorded',
  },
  S011: { scope: 'record', meaning: 'an OIB is not unique in the list' },
  S012: {
    scope: 'record',
    meaning: 'the original of this corrected e-invoice is not recorded',
  },
};

/** True for one of S001–S012. */
export function isReportCode(code: string): code is ReportCode {
  return Object.hasOwn(REPORT_CODES, code);
}

/** The reply element each kind's request gets. */
export const REPLY_ROOTS: Record<ReportKind, string> = {
  ERACUN: 'EvidentirajERacunOdgovor',
  NAPLATA: 'EvidentirajNaplatuOdgovor',
  ODBIJANJE: 'EvidentirajOdbijanjeOdgovor',
  ISPORUKA: 'EvidentirajIsporukuZaKojuNijeIzdanERacunOdgovor',
};

/** A reply, read by local names (prefixes and namespaces vary). */
export interface ReportReply {
  /** The reply element's local name, e.g. `EvidentirajNaplatuOdgovor`. */
  rootName: string;
  /** The reply's own `id`. */
  replyId: string;
  /** `idZahtjeva`: the `id` of the request answered. */
  requestId: string;
  /** `datumVrijemeSlanja` as written. */
  sentAt: string;
  /** `prihvacenZahtjev`. */
  accepted: boolean;
  /** `greska`, when present. */
  error: {
    code: string;
    /** `redniBrojZapisa`: the 1-based record number (0 if absent). */
    recordNumber: number;
    message: string;
  } | null;
}

/**
 * Reads a Fiskalizacija 2.0 reply: a SOAP envelope or the bare reply
 * element. Everything is matched by local name, because the samples
 * use several prefixes and one misspells its namespace. Throws
 * COUNTERPART_REPLY_INVALID when the reply is not one.
 */
export function parseReportReply(xml: string): ReportReply {
  const root = replyElement(xml);
  const rootName = root?.localName ?? '';
  if (!root || !rootName.endsWith('Odgovor')) {
    throw replyInvalid('no Evidentiraj…Odgovor element');
  }
  const odgovor = child(root, 'Odgovor');
  if (!odgovor) throw replyInvalid('the reply has no Odgovor');
  const accepted = textOf(odgovor, 'prihvacenZahtjev');
  if (accepted !== 'true' && accepted !== 'false') {
    throw replyInvalid('prihvacenZahtjev is neither true nor false');
  }
  const greska = child(odgovor, 'greska');
  const number = Number(textOf(greska, 'redniBrojZapisa') ?? '0');
  return {
    rootName,
    replyId: idOf(root) ?? '',
    requestId: textOf(odgovor, 'idZahtjeva') ?? '',
    sentAt: textOf(root, 'datumVrijemeSlanja') ?? '',
    accepted: accepted === 'true',
    error: greska
      ? {
          code: textOf(greska, 'sifra') ?? '',
          recordNumber: Number.isInteger(number) && number > 0 ? number : 0,
          message: textOf(greska, 'opis') ?? '',
        }
      : null,
  };
}

/** The body element of a SOAP envelope, or the document element. */
export function replyElement(xml: string): Element | null {
  let doc;
  try {
    doc = new DOMParser({ onError: () => undefined }).parseFromString(
      xml,
      'text/xml',
    );
  } catch {
    return null;
  }
  const top = doc?.documentElement;
  if (!top) return null;
  if (top.localName !== 'Envelope') return top;
  const body = child(top, 'Body');
  return body ? (elementChildren(body)[0] ?? null) : null;
}

/** The element's `id` attribute, whatever its prefix. */
export function idOf(el: Element): string | null {
  for (const attr of Array.from(el.attributes)) {
    if (attr.localName === 'id' || attr.localName === 'Id') return attr.value;
  }
  return null;
}

function elementChildren(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) out.push(n as Element);
  }
  return out;
}

function child(el: Element | undefined, name: string): Element | undefined {
  return el ? elementChildren(el).find((c) => c.localName === name) : undefined;
}

function textOf(el: Element | undefined, name: string): string | null {
  return child(el, name)?.textContent?.trim() ?? null;
}

/** Wraps a request element in a SOAP 1.1 envelope (no re-serializing). */
export function soapEnvelope(inner: string): string {
  return (
    `<soapenv:Envelope xmlns:soapenv="${SOAP_NS}">` +
    '<soapenv:Header/><soapenv:Body>' +
    inner.replace(/^<\?xml[^>]*\?>\s*/, '') +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

function replyInvalid(reason: string) {
  return new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    `Fiskalizacija 2.0 reply refused: ${reason}`,
    { counterpart: 'FISKALIZACIJA2', reason },
  );
}
