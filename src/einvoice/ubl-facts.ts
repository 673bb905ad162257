import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { invalidInput } from '../errors/tenantgate-error.js';

/** What TenantGate reads from a UBL document to store and route it. */
export interface UblFacts {
  documentType: 'INVOICE' | 'CREDIT_NOTE';
  number: string;
  issueDate: string;
  currency: string;
  sellerOib: string;
  buyerOib: string | null;
  buyerName: string | null;
  netAmount: string | null;
  vatAmount: string | null;
  totalAmount: string | null;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'TaxTotal',
});

type Node = Record<string, unknown>;

// XML 1.0 forbids these; a document that carries them is refused, never
// silently cleaned.
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/**
 * Reads the facts of a UBL 2.1 Invoice or CreditNote. Refuses what is not
 * well-formed XML or lacks the fields every e-invoice has, naming the
 * field. Full schema and rule validation is the counterpart's (and, later,
 * the validator's) job.
 */
export function readUblFacts(xml: string): UblFacts {
  if (CONTROL_CHARACTERS.test(xml)) {
    throw invalidInput(
      'document',
      'xml-characters',
      'document: contains control characters that XML does not allow',
    );
  }
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true) {
    throw invalidInput(
      'document',
      'well-formed-xml',
      `document: not well-formed XML (line ${wellFormed.err.line}: ${wellFormed.err.msg})`,
    );
  }
  const parsed = parser.parse(xml) as Node;
  const invoice = parsed.Invoice as Node | undefined;
  const creditNote = parsed.CreditNote as Node | undefined;
  const root = invoice ?? creditNote;
  if (!root) {
    throw invalidInput(
      'document',
      'ubl-root',
      'document: the root element must be a UBL Invoice or CreditNote',
    );
  }
  const seller = path(root, 'AccountingSupplierParty', 'Party');
  const buyer = path(root, 'AccountingCustomerParty', 'Party');
  const totals = path(root, 'LegalMonetaryTotal');
  const taxTotal = (root.TaxTotal as Node[] | undefined)?.[0];

  return {
    documentType: invoice ? 'INVOICE' : 'CREDIT_NOTE',
    number: required(text(root.ID), 'cbc:ID'),
    issueDate: required(text(root.IssueDate), 'cbc:IssueDate'),
    currency: text(root.DocumentCurrencyCode) ?? 'EUR',
    sellerOib: required(
      text(seller?.EndpointID),
      'AccountingSupplierParty/Party/EndpointID',
    ),
    buyerOib: text(buyer?.EndpointID),
    buyerName: text(path(buyer, 'PartyLegalEntity')?.RegistrationName),
    netAmount: text(totals?.TaxExclusiveAmount),
    vatAmount: text(taxTotal?.TaxAmount),
    totalAmount: text(totals?.PayableAmount),
  };
}

function path(node: Node | undefined, ...names: string[]): Node | undefined {
  let current: unknown = node;
  for (const name of names) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Node)[name];
  }
  return typeof current === 'object' && current !== null
    ? (current as Node)
    : undefined;
}

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.trim() || null;
  if (typeof value === 'object' && '#text' in (value as Node)) {
    return text((value as Node)['#text']);
  }
  return null;
}

function required(value: string | null, field: string): string {
  if (value) return value;
  throw invalidInput(field, 'required', `${field}: required in a UBL document`);
}
