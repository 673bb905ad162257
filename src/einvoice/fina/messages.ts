import { randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

// FINA e-Račun B2B web service messages (PROTOCOLS.md): message types
// 9001 send, 9011 outgoing status, 9101/9102 incoming list and document,
// 9999 echo. Element names follow FINA's B2B naming (`…Msg`,
// `HeaderSupplier`, `MessageAck/AckStatus`, correct/incorrect invoice);
// the namespace and the incoming messages are unconfirmed, so both ends
// take them from here and from the simulator's own copy.

/** The B2B message namespace (unconfirmed). */
export const FINA_B2B_NS = 'http://fina.hr/eracun/b2b/invoicewebservice/v0.1';

export const MESSAGE_TYPES = {
  send: '9001',
  status: '9011',
  incomingList: '9101',
  incomingDocument: '9102',
  echo: '9999',
} as const;

/** The HR CIUS specification identifier sent with each invoice. */
export const SPECIFICATION_ID =
  'urn:cen.eu:en16931:2017#compliant#urn:mfin.gov.hr:cius-2025:1.0#conformant#urn:mfin.gov.hr:ext-2025:1.0';

/** Escapes text for an XML element. */
export function escapeText(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}

function element(name: string, value: string): string {
  return `<b2b:${name}>${escapeText(value)}</b2b:${name}>`;
}

function message(
  root: string,
  type: string,
  supplierOib: string,
  data: string,
): { xml: string; messageId: string } {
  const messageId = randomUUID();
  const xml =
    `<b2b:${root} xmlns:b2b="${FINA_B2B_NS}">` +
    '<b2b:HeaderSupplier>' +
    element('MessageID', messageId) +
    element('SupplierID', `9934:${supplierOib}`) +
    element('MessageType', type) +
    '</b2b:HeaderSupplier>' +
    `<b2b:Data>${data}</b2b:Data>` +
    `</b2b:${root}>`;
  return { xml, messageId };
}

/** 9001: one signed UBL, base64 in `InvoiceEnvelope`. */
export function sendMessage(input: {
  supplierOib: string;
  supplierInvoiceId: string;
  buyerOib: string | null;
  signedUbl: string;
}) {
  return message(
    'SendB2BOutgoingInvoiceMsg',
    MESSAGE_TYPES.send,
    input.supplierOib,
    '<b2b:B2BOutgoingInvoiceEnvelope>' +
      element('XMLStandard', 'UBL') +
      element('SpecificationIdentifier', SPECIFICATION_ID) +
      element('SupplierInvoiceID', input.supplierInvoiceId) +
      (input.buyerOib ? element('BuyerID', `9934:${input.buyerOib}`) : '') +
      element(
        'InvoiceEnvelope',
        Buffer.from(input.signedUbl, 'utf8').toString('base64'),
      ) +
      '</b2b:B2BOutgoingInvoiceEnvelope>',
  );
}

/** 9011: outgoing invoices by FINA id, by our number, or since a time. */
export function statusMessage(
  supplierOib: string,
  filter: { invoiceId?: string; supplierInvoiceId?: string; from?: string },
) {
  return message(
    'GetB2BOutgoingInvoiceStatusMsg',
    MESSAGE_TYPES.status,
    supplierOib,
    '<b2b:B2BOutgoingInvoiceStatus>' +
      (filter.invoiceId ? element('InvoiceID', filter.invoiceId) : '') +
      (filter.supplierInvoiceId
        ? element('SupplierInvoiceID', filter.supplierInvoiceId)
        : '') +
      (filter.from ? element('FromTimestamp', filter.from) : '') +
      '</b2b:B2BOutgoingInvoiceStatus>',
  );
}

/** 9101: incoming invoices after a sequence number. */
export function incomingListMessage(
  buyerOib: string,
  afterSequence: string,
  limit: number,
) {
  return message(
    'GetB2BIncomingInvoiceListMsg',
    MESSAGE_TYPES.incomingList,
    buyerOib,
    element('AfterSequence', afterSequence) + element('Limit', String(limit)),
  );
}

/** 9102: one incoming invoice by FINA id. */
export function incomingDocumentMessage(buyerOib: string, invoiceId: string) {
  return message(
    'GetB2BIncomingInvoiceMsg',
    MESSAGE_TYPES.incomingDocument,
    buyerOib,
    element('InvoiceID', invoiceId),
  );
}

/** 9999: echo. */
export function echoMessage(supplierOib: string, text: string) {
  return message(
    'EchoMsg',
    MESSAGE_TYPES.echo,
    supplierOib,
    element('EchoData', text),
  );
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) =>
    [
      'B2BOutgoingInvoiceStatus',
      'B2BIncomingInvoice',
      'IncorrectB2BOutgoingInvoice',
      'Error',
    ].includes(name),
});

/** The SOAP Body's first child, by local name, or a Fault. */
export type SoapReply =
  | { kind: 'fault'; code: string; message: string }
  | { kind: 'body'; name: string; content: Record<string, unknown> }
  | { kind: 'invalid' };

export function parseSoapReply(text: string): SoapReply {
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    return { kind: 'invalid' };
  }
  const body = child(child(parsed, 'Envelope'), 'Body');
  if (typeof body !== 'object' || body === null) return { kind: 'invalid' };
  const fault = child(body, 'Fault');
  if (fault !== undefined) {
    const code = String(child(fault, 'faultcode') ?? '');
    return {
      kind: 'fault',
      code: code.includes(':') ? code.split(':').pop()! : code,
      message: String(child(fault, 'faultstring') ?? ''),
    };
  }
  const [name, content] = Object.entries(body)[0] ?? [];
  if (!name || typeof content !== 'object' || content === null) {
    return { kind: 'invalid' };
  }
  return { kind: 'body', name, content: content as Record<string, unknown> };
}

export function child(node: unknown, name: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  return (node as Record<string, unknown>)[name];
}

export function textOf(node: unknown, name: string): string {
  const value = child(node, name);
  return typeof value === 'string' ? value : '';
}

export function listOf(node: unknown, name: string): unknown[] {
  const value = child(node, name);
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** `9934:<OIB>` to `<OIB>`. */
export function oibOf(participant: string): string {
  return participant.startsWith('9934:') ? participant.slice(5) : participant;
}
