import { all, attr, kid, kids, text, textAt, type UblElement } from './dom.js';
import { COUNTRY_CODES } from './en16931-totals.js';
import { rule, type Rule } from './types.js';
import type { UblDocument } from './ubl-document.js';

/** UNTDID 1001, the invoice and credit note subset of EN 16931. */
const DOCUMENT_TYPES = new Set(
  '71 80 81 82 83 84 102 130 202 203 204 211 218 219 261 262 295 296 308 325 326 331 380 381 382 383 384 385 386 387 388 389 390 393 394 395 396 420 456 457 458 527 532 553 575 623 633 751 780 817 870 875 876 877 935'.split(
    ' ',
  ),
);

/**
 * ISO 4217: the codes Node's ICU knows, plus the fund, metal and test
 * codes ICU leaves out.
 */
const CURRENCIES = new Set([
  ...Intl.supportedValuesOf('currency'),
  ...'BOV CHE CHW CLF COU MXV USN UYI UYW XAG XAU XBA XBB XBC XBD XPD XPT XSU XTS XUA XXX'.split(
    ' ',
  ),
]);

/** UNTDID 2475 subset (VAT point date code). */
const TAX_POINT_CODES = new Set(['3', '35', '432']);

/** UNTDID 5305 subset (VAT category code). */
const VAT_CATEGORIES = new Set('AE L M E S Z G O K B'.split(' '));

/** UNTDID 5189 subset (allowance reason code). */
const ALLOWANCE_REASONS = new Set(
  '41 42 60 62 63 64 65 66 67 68 70 71 88 95 100 102 103 104 105'.split(' '),
);

/** MIME codes allowed for attachments (BT-125). */
const MIME_CODES = new Set([
  'application/pdf',
  'image/png',
  'image/jpeg',
  'text/csv',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.oasis.opendocument.spreadsheet',
]);

/**
 * ISO/IEC 6523 ICD: four digits from 0002 to 0240 (the published range;
 * a gap in the list is accepted, a documented limitation).
 */
function isIcd(value: string | undefined): boolean {
  if (!value || !/^[0-9]{4}$/.test(value)) return false;
  const n = Number(value);
  return n >= 2 && n <= 240;
}

/** UNTDID 4461 (payment means): 1 to 97 and ZZZ. */
function isPaymentMeans(value: string | undefined): boolean {
  if (value === 'ZZZ') return true;
  if (!value || !/^[0-9]{1,2}$/.test(value)) return false;
  const n = Number(value);
  return n >= 1 && n <= 97;
}

function codeRule(
  id: string,
  field: string,
  message: string,
  pick: (doc: UblDocument) => UblElement[],
  valid: (value: string | undefined, el: UblElement) => boolean,
  read: (el: UblElement) => string | undefined = text,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const el of pick(doc)) {
      const value = read(el);
      if (!valid(value, el)) fail(el, `'${value ?? ''}'`);
    }
  });
}

function elementsNamed(doc: UblDocument, name: string): UblElement[] {
  return doc.elements().filter((el) => el.localName === name);
}

/** Every element carrying `attribute`, anywhere in the document. */
function withAttribute(doc: UblDocument, attribute: string): UblElement[] {
  return doc.elements().filter((el) => el.attributes.has(attribute));
}

/** The EN 16931 code list rules (BR-CL-*) we can check exactly. */
export const codeListRules: Rule[] = [
  codeRule(
    'BR-CL-01',
    'BT-3',
    'The document type code (BT-3) shall be coded by the invoice and credit note related code lists of UNTDID 1001',
    (doc) =>
      kids(doc.root, 'InvoiceTypeCode').concat(
        kids(doc.root, 'CreditNoteTypeCode'),
      ),
    (v) => DOCUMENT_TYPES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-03',
    'BT-5',
    'currencyID shall be coded using ISO 4217 alpha-3',
    (doc) => withAttribute(doc, 'currencyID'),
    (v) => CURRENCIES.has(v ?? ''),
    (el) => attr(el, 'currencyID'),
  ),
  codeRule(
    'BR-CL-04',
    'BT-5',
    'The invoice currency code (BT-5, cbc:DocumentCurrencyCode) shall be coded using ISO 4217 alpha-3',
    (doc) => kids(doc.root, 'DocumentCurrencyCode'),
    (v) => CURRENCIES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-05',
    'BT-6',
    'The VAT accounting currency code (BT-6, cbc:TaxCurrencyCode) shall be coded using ISO 4217 alpha-3',
    (doc) => kids(doc.root, 'TaxCurrencyCode'),
    (v) => CURRENCIES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-06',
    'BT-8',
    'The VAT point date code (BT-8, cac:InvoicePeriod/cbc:DescriptionCode) shall be coded using UNTDID 2475 (3, 35, 432)',
    (doc) => all(doc.root, 'InvoicePeriod/DescriptionCode'),
    (v) => TAX_POINT_CODES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-10',
    'BT-29',
    'Party identifier scheme (@schemeID) shall be coded using ISO/IEC 6523 ICD (SEPA only for the seller and payee creditor id)',
    (doc) => partyIdentifiers(doc),
    (v, el) => isIcd(v) || (v === 'SEPA' && sepaAllowed(el)),
    (el) => attr(el, 'schemeID'),
  ),
  codeRule(
    'BR-CL-11',
    'BT-30',
    'Legal registration identifier scheme (@schemeID) shall be coded using ISO/IEC 6523 ICD',
    (doc) =>
      [doc.seller, doc.buyer]
        .flatMap((p) => all(p, 'PartyLegalEntity/CompanyID'))
        .filter((el) => el.hasAttribute('schemeID')),
    (v) => isIcd(v),
    (el) => attr(el, 'schemeID'),
  ),
  codeRule(
    'BR-CL-14',
    'BT-40',
    'Country codes (cac:Country/cbc:IdentificationCode) shall be coded using ISO 3166-1 alpha-2',
    (doc) =>
      elementsNamed(doc, 'Country')
        .map((c) => kid(c, 'IdentificationCode'))
        .filter((el): el is UblElement => el !== undefined),
    (v) => COUNTRY_CODES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-15',
    'BT-159',
    'The item country of origin (BT-159, cac:OriginCountry/cbc:IdentificationCode) shall be coded using ISO 3166-1 alpha-2',
    (doc) =>
      doc.lines.flatMap((l) => all(l, 'Item/OriginCountry/IdentificationCode')),
    (v) => COUNTRY_CODES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-16',
    'BT-81',
    'The payment means code (BT-81, cbc:PaymentMeansCode) shall be coded using UNTDID 4461',
    (doc) => all(doc.root, 'PaymentMeans/PaymentMeansCode'),
    isPaymentMeans,
  ),
  codeRule(
    'BR-CL-17',
    'BT-118',
    'The VAT category code (cac:TaxCategory/cbc:ID) shall be coded using UNTDID 5305',
    (doc) =>
      elementsNamed(doc, 'TaxCategory')
        .map((c) => kid(c, 'ID'))
        .filter((el): el is UblElement => el !== undefined),
    (v) => VAT_CATEGORIES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-18',
    'BT-151',
    'The invoiced item VAT category code (cac:ClassifiedTaxCategory/cbc:ID) shall be coded using UNTDID 5305',
    (doc) =>
      doc
        .lineCategories()
        .map((c) => kid(c, 'ID'))
        .filter((el): el is UblElement => el !== undefined),
    (v) => VAT_CATEGORIES.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-19',
    'BT-98',
    'A coded allowance reason (cbc:AllowanceChargeReasonCode) shall belong to UNTDID 5189',
    (doc) => allowanceReasonCodes(doc),
    (v) => ALLOWANCE_REASONS.has(v ?? ''),
  ),
  codeRule(
    'BR-CL-21',
    'BT-157',
    'The item standard identifier scheme (@schemeID) shall belong to ISO/IEC 6523 ICD',
    (doc) =>
      doc.lines
        .flatMap((l) => all(l, 'Item/StandardItemIdentification/ID'))
        .filter((el) => el.hasAttribute('schemeID')),
    (v) => isIcd(v),
    (el) => attr(el, 'schemeID'),
  ),
  codeRule(
    'BR-CL-24',
    'BT-125',
    'The attachment MIME code (@mimeCode) shall be one of the EN 16931 MIME codes',
    (doc) =>
      all(
        doc.root,
        'AdditionalDocumentReference/Attachment/EmbeddedDocumentBinaryObject',
      ),
    (v) => MIME_CODES.has(v ?? ''),
    (el) => attr(el, 'mimeCode'),
  ),
];

function partyIdentifiers(doc: UblDocument): UblElement[] {
  const parties = [
    doc.seller,
    doc.buyer,
    kid(doc.root, 'PayeeParty'),
    kid(doc.root, 'TaxRepresentativeParty'),
  ];
  return parties
    .flatMap((p) => all(p, 'PartyIdentification/ID'))
    .filter((el) => el.hasAttribute('schemeID'));
}

/** SEPA creditor ids identify the seller (BT-29) or the payee (BT-90). */
function sepaAllowed(id: UblElement): boolean {
  const party = id.parentNode?.parentNode;
  if (party?.localName === 'PayeeParty') return true;
  return party?.parentNode?.localName === 'AccountingSupplierParty';
}

function allowanceReasonCodes(doc: UblDocument): UblElement[] {
  const acs = [
    ...doc.allowances,
    ...doc.lines.flatMap((l) => kids(l, 'AllowanceCharge')),
  ];
  return acs
    .filter((ac) => textAt(ac, 'ChargeIndicator') === 'false')
    .map((ac) => kid(ac, 'AllowanceChargeReasonCode'))
    .filter((el): el is UblElement => el !== undefined);
}
