import { XMLParser } from 'fast-xml-parser';

// The simulators' own reading of a received UBL document: independent of
// the product's UBL code, so a simulator can catch the client's mistakes.

/** What an intermediary simulator reads from a schema-valid document. */
export interface SimulatedUblFacts {
  /** Supplier EndpointID with scheme 9934, if present. */
  supplierOib?: string;
  /** Customer EndpointID with scheme 9934, if present. */
  customerOib?: string;
  /** The document's `cbc:ID`. */
  documentNumber: string;
  /** `Invoice` or `CreditNote`. */
  root: string;
}

const OIB_SCHEME = '9934';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // OIBs and document numbers are strings; "01234..." must stay intact.
  parseTagValue: false,
  parseAttributeValue: false,
});

/** Reads parties and number; never throws on a well-formed document. */
export function readSimulatedUbl(xml: string): SimulatedUblFacts {
  const parsed: unknown = parser.parse(xml);
  const rootName = child(parsed, 'Invoice') ? 'Invoice' : 'CreditNote';
  const root = child(parsed, rootName);
  return {
    root: rootName,
    documentNumber: textOf(child(root, 'ID'))?.trim() ?? '',
    supplierOib: partyOib(root, 'AccountingSupplierParty'),
    customerOib: partyOib(root, 'AccountingCustomerParty'),
  };
}

function partyOib(root: unknown, role: string): string | undefined {
  const endpoint = child(child(child(root, role), 'Party'), 'EndpointID');
  if (child(endpoint, '@_schemeID') !== OIB_SCHEME) return undefined;
  return textOf(endpoint)?.trim();
}

function child(node: unknown, name: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as Record<string, unknown>)[name];
  return Array.isArray(value) ? value[0] : value;
}

function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  const text = child(node, '#text');
  return typeof text === 'string' ? text : undefined;
}
