import { attr, kids, text, type UblElement } from './dom.js';
import {
  ALLOWANCE_REASON_CODES,
  CHARGE_REASON_CODES,
  COUNTRY_CODES,
  CREDIT_NOTE_TYPE_CODES,
  CURRENCY_CODES,
  EAS_CODES,
  ICD_CODES,
  INVOICE_TYPE_CODES,
  ITEM_CLASSIFICATION_SCHEMES,
  MIME_CODES,
  OBJECT_IDENTIFIER_SCHEMES,
  PAYMENT_MEANS_CODES,
  UNIT_CODES,
  VAT_CATEGORY_CODES,
  VAT_POINT_DATE_CODES,
  VATEX_CODES,
} from './code-lists.js';
import { rule, type Rule } from './types.js';
import type { UblDocument } from './ubl-document.js';

/** The amounts whose currencyID BR-CL-03 checks. */
export const AMOUNT_NAMES = [
  'Amount',
  'BaseAmount',
  'PriceAmount',
  'TaxAmount',
  'TaxableAmount',
  'LineExtensionAmount',
  'TaxExclusiveAmount',
  'TaxInclusiveAmount',
  'AllowanceTotalAmount',
  'ChargeTotalAmount',
  'PrepaidAmount',
  'PayableRoundingAmount',
  'PayableAmount',
];

/** The quantities whose unitCode BR-CL-23 checks. */
const QUANTITY_NAMES = ['InvoicedQuantity', 'BaseQuantity', 'CreditedQuantity'];

/** Where a checked code is read from: the element's text or an attribute. */
type Read = (el: UblElement) => string | undefined;

const ownText: Read = text;
const attribute =
  (name: string): Read =>
  (el) =>
    attr(el, name);

/**
 * A code list rule: every element `pick` selects must carry a value of
 * `list` (read with `read`). An absent value is checked as empty, so it
 * fails, as in the CEN artefact.
 */
function codeRule(
  id: string,
  field: string,
  message: string,
  pick: (doc: UblDocument) => UblElement[],
  list: ReadonlySet<string>,
  read: Read = ownText,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const el of pick(doc)) {
      const value = read(el) ?? '';
      if (!list.has(value)) fail(el, `'${value}'`);
    }
  });
}

/**
 * The document's elements grouped by local name, built once per
 * document and shared by every code list rule.
 */
function byName(doc: UblDocument): ReadonlyMap<string, UblElement[]> {
  return doc.memo('elements-by-name', () => {
    const index = new Map<string, UblElement[]>();
    for (const el of doc.elements()) {
      const list = index.get(el.localName);
      if (list) list.push(el);
      else index.set(el.localName, [el]);
    }
    return index;
  });
}

/** Every element named `name`, anywhere in the document. */
function named(doc: UblDocument, name: string): UblElement[] {
  return byName(doc).get(name) ?? [];
}

/** Elements named `name` whose parent is named `parent` (XPath p/n). */
function under(doc: UblDocument, parent: string, name: string): UblElement[] {
  return named(doc, name).filter((el) => el.parentNode?.localName === parent);
}

/** Like `under`, keeping only elements that carry `attribute`. */
function underWith(
  doc: UblDocument,
  parent: string,
  name: string,
  attribute: string,
): UblElement[] {
  return under(doc, parent, name).filter((el) => el.hasAttribute(attribute));
}

/** The EN 16931 code list rules (BR-CL-*), each with the CEN code list. */
export const codeListRules: Rule[] = [
  rule(
    'BR-CL-01',
    'BT-3',
    'The document type code (BT-3, cbc:InvoiceTypeCode or cbc:CreditNoteTypeCode) shall be coded by the invoice or credit note code list of UNTDID 1001',
    (doc, fail) => {
      const checks: [string, ReadonlySet<string>][] = [
        ['InvoiceTypeCode', INVOICE_TYPE_CODES],
        ['CreditNoteTypeCode', CREDIT_NOTE_TYPE_CODES],
      ];
      for (const [name, list] of checks) {
        for (const el of named(doc, name)) {
          const value = text(el) ?? '';
          if (!list.has(value)) fail(el, `'${value}'`);
        }
      }
    },
  ),
  codeRule(
    'BR-CL-03',
    'BT-5',
    'The currency of an amount (@currencyID) shall be coded using ISO 4217 alpha-3',
    (doc) => AMOUNT_NAMES.flatMap((name) => named(doc, name)),
    CURRENCY_CODES,
    attribute('currencyID'),
  ),
  codeRule(
    'BR-CL-04',
    'BT-5',
    'The invoice currency code (BT-5, cbc:DocumentCurrencyCode) shall be coded using ISO 4217 alpha-3',
    (doc) => named(doc, 'DocumentCurrencyCode'),
    CURRENCY_CODES,
  ),
  codeRule(
    'BR-CL-05',
    'BT-6',
    'The VAT accounting currency code (BT-6, cbc:TaxCurrencyCode) shall be coded using ISO 4217 alpha-3',
    (doc) => named(doc, 'TaxCurrencyCode'),
    CURRENCY_CODES,
  ),
  codeRule(
    'BR-CL-06',
    'BT-8',
    'The VAT point date code (BT-8, cac:InvoicePeriod/cbc:DescriptionCode) shall be coded using the UNTDID 2005 subset (3, 35, 432)',
    (doc) => under(doc, 'InvoicePeriod', 'DescriptionCode'),
    VAT_POINT_DATE_CODES,
  ),
  codeRule(
    'BR-CL-07',
    'BT-18',
    'The invoiced object identifier scheme (BT-18-1, @schemeID of cbc:ID in a cac:AdditionalDocumentReference or cac:DocumentReference with cbc:DocumentTypeCode 130) shall be coded using the UNTDID 1153 subset',
    (doc) =>
      ['AdditionalDocumentReference', 'DocumentReference'].flatMap((parent) =>
        underWith(doc, parent, 'ID', 'schemeID').filter((id) =>
          isObjectReference(id.parentNode),
        ),
      ),
    OBJECT_IDENTIFIER_SCHEMES,
    attribute('schemeID'),
  ),
  rule(
    'BR-CL-10',
    'BT-29',
    'A party identifier scheme (@schemeID of cac:PartyIdentification/cbc:ID) shall be coded using ISO/IEC 6523 ICD (SEPA only for the seller and payee creditor id)',
    (doc, fail) => {
      for (const id of underWith(
        doc,
        'PartyIdentification',
        'ID',
        'schemeID',
      )) {
        const scheme = attr(id, 'schemeID') ?? '';
        if (ICD_CODES.has(scheme)) continue;
        if (scheme === 'SEPA' && sepaAllowed(id)) continue;
        fail(id, `'${scheme}'`);
      }
    },
  ),
  codeRule(
    'BR-CL-11',
    'BT-30',
    'A legal registration identifier scheme (@schemeID of cac:PartyLegalEntity/cbc:CompanyID) shall be coded using ISO/IEC 6523 ICD',
    (doc) => underWith(doc, 'PartyLegalEntity', 'CompanyID', 'schemeID'),
    ICD_CODES,
    attribute('schemeID'),
  ),
  codeRule(
    'BR-CL-13',
    'BT-158',
    'The item classification scheme (BT-158-1, @listID of cac:CommodityClassification/cbc:ItemClassificationCode) shall be coded using UNTDID 7143',
    (doc) =>
      underWith(
        doc,
        'CommodityClassification',
        'ItemClassificationCode',
        'listID',
      ),
    ITEM_CLASSIFICATION_SCHEMES,
    attribute('listID'),
  ),
  codeRule(
    'BR-CL-14',
    'BT-40',
    'Country codes (cac:Country/cbc:IdentificationCode) shall be coded using ISO 3166-1 alpha-2',
    (doc) => under(doc, 'Country', 'IdentificationCode'),
    COUNTRY_CODES,
  ),
  codeRule(
    'BR-CL-15',
    'BT-159',
    'The item country of origin (BT-159, cac:OriginCountry/cbc:IdentificationCode) shall be coded using ISO 3166-1 alpha-2',
    (doc) => under(doc, 'OriginCountry', 'IdentificationCode'),
    COUNTRY_CODES,
  ),
  codeRule(
    'BR-CL-16',
    'BT-81',
    'The payment means code (BT-81, cac:PaymentMeans/cbc:PaymentMeansCode) shall be coded using UNTDID 4461',
    (doc) => under(doc, 'PaymentMeans', 'PaymentMeansCode'),
    PAYMENT_MEANS_CODES,
  ),
  codeRule(
    'BR-CL-17',
    'BT-118',
    'The VAT category code (cac:TaxCategory/cbc:ID) shall be coded using UNTDID 5305',
    (doc) => under(doc, 'TaxCategory', 'ID'),
    VAT_CATEGORY_CODES,
  ),
  codeRule(
    'BR-CL-18',
    'BT-151',
    'The invoiced item VAT category code (BT-151, cac:ClassifiedTaxCategory/cbc:ID) shall be coded using UNTDID 5305',
    (doc) => under(doc, 'ClassifiedTaxCategory', 'ID'),
    VAT_CATEGORY_CODES,
  ),
  codeRule(
    'BR-CL-19',
    'BT-98',
    'A coded allowance reason (BT-98, BT-140; cbc:AllowanceChargeReasonCode of a cac:AllowanceCharge with cbc:ChargeIndicator false) shall belong to the UNTDID 5189 subset',
    (doc) => reasonCodes(doc, false),
    ALLOWANCE_REASON_CODES,
  ),
  codeRule(
    'BR-CL-20',
    'BT-105',
    'A coded charge reason (BT-105, BT-145; cbc:AllowanceChargeReasonCode of a cac:AllowanceCharge with cbc:ChargeIndicator true) shall belong to UNTDID 7161',
    (doc) => reasonCodes(doc, true),
    CHARGE_REASON_CODES,
  ),
  codeRule(
    'BR-CL-21',
    'BT-157',
    'The item standard identifier scheme (BT-157-1, @schemeID of cac:StandardItemIdentification/cbc:ID) shall belong to ISO/IEC 6523 ICD',
    (doc) => underWith(doc, 'StandardItemIdentification', 'ID', 'schemeID'),
    ICD_CODES,
    attribute('schemeID'),
  ),
  codeRule(
    'BR-CL-22',
    'BT-121',
    'The VAT exemption reason code (BT-121, cbc:TaxExemptionReasonCode) shall belong to the CEF VATEX code list',
    (doc) => named(doc, 'TaxExemptionReasonCode'),
    VATEX_CODES,
    (el) => text(el)?.toUpperCase(),
  ),
  codeRule(
    'BR-CL-23',
    'BT-130',
    'The unit of measure (BT-130, BT-150; @unitCode of cbc:InvoicedQuantity, cbc:CreditedQuantity or cbc:BaseQuantity) shall be coded using UN/ECE Recommendation 20 with the Recommendation 21 extension',
    (doc) =>
      QUANTITY_NAMES.flatMap((name) => named(doc, name)).filter((el) =>
        el.hasAttribute('unitCode'),
      ),
    UNIT_CODES,
    attribute('unitCode'),
  ),
  codeRule(
    'BR-CL-24',
    'BT-125',
    'The attachment MIME code (BT-125-1, @mimeCode of cbc:EmbeddedDocumentBinaryObject) shall be one of the EN 16931 MIME codes',
    (doc) =>
      named(doc, 'EmbeddedDocumentBinaryObject').filter((el) =>
        el.hasAttribute('mimeCode'),
      ),
    MIME_CODES,
    // Compared as written: the artefact does not trim this attribute.
    (el) => el.getAttribute('mimeCode') ?? undefined,
  ),
  codeRule(
    'BR-CL-25',
    'BT-34',
    'An electronic address scheme (BT-34-1, BT-49-1; @schemeID of cbc:EndpointID) shall belong to the CEF EAS code list',
    (doc) =>
      named(doc, 'EndpointID').filter((el) => el.hasAttribute('schemeID')),
    EAS_CODES,
    attribute('schemeID'),
  ),
  codeRule(
    'BR-CL-26',
    'BT-71',
    'The deliver to location identifier scheme (BT-71-1, @schemeID of cac:DeliveryLocation/cbc:ID) shall belong to ISO/IEC 6523 ICD',
    (doc) => underWith(doc, 'DeliveryLocation', 'ID', 'schemeID'),
    ICD_CODES,
    attribute('schemeID'),
  ),
];

/**
 * A document reference for an invoiced object (BT-18): one of its
 * cbc:DocumentTypeCode children reads exactly 130 (the artefact compares
 * the text as written).
 */
function isObjectReference(ref: UblElement | null): boolean {
  return kids(ref ?? undefined, 'DocumentTypeCode').some(
    (code) => code.textContent === '130',
  );
}

/** SEPA creditor ids identify the seller (BT-29) or the payee (BT-90). */
function sepaAllowed(id: UblElement): boolean {
  for (let n = id.parentNode; n; n = n.parentNode) {
    if (n.localName === 'AccountingSupplierParty') return true;
    if (n.localName === 'PayeeParty') return true;
  }
  return false;
}

/**
 * The reason codes of every allowance (`charge` false) or charge (true),
 * at document, line or price level. An xs:boolean indicator compares
 * as the artefact's `cbc:ChargeIndicator = true()` does: true or 1,
 * false or 0, surrounding whitespace ignored.
 */
function reasonCodes(doc: UblDocument, charge: boolean): UblElement[] {
  return under(doc, 'AllowanceCharge', 'AllowanceChargeReasonCode').filter(
    (code) =>
      kids(code.parentNode ?? undefined, 'ChargeIndicator').some(
        (indicator) => booleanOf(text(indicator)) === charge,
      ),
  );
}

function booleanOf(value: string | undefined): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}
