import { Decimal } from 'decimal.js';
import { isValidOib } from '../../companies/oib.js';
import {
  all,
  at,
  attr,
  has,
  kid,
  kids,
  text,
  textAt,
  type UblElement,
} from './dom.js';
import { KPD_CODES } from './kpd-codes.js';
import { rule, type Fail, type Rule } from './types.js';
import {
  categoryCode,
  equalsRounded,
  num,
  numAt,
  sumAt,
  type UblDocument,
} from './ubl-document.js';

/** The HR CIUS 2025 specification identifier (BT-24). */
export const HR_CUSTOMIZATION_ID =
  'urn:cen.eu:en16931:2017#compliant#urn:mfin.gov.hr:cius-2025:1.0#conformant#urn:mfin.gov.hr:ext-2025:1.0';

/** Document types that may omit the KPD classification (HR-BR-25). */
const UNCLASSIFIED_TYPES = new Set(
  '386 81 83 261 262 296 308 381 396 420 458 532'.split(' '),
);

/** HR-TB-2: the HR VAT category labels (HR-BR-CL-1). */
const HR_CATEGORY_NAMES = new Set(
  'HR:PDV25 HR:PDV13 HR:PDV5 HR:Z HR:K HR:G HR:AE HR:E HR:POVNAK HR:PP HR:PPMV HR:O HR:N'.split(
    ' ',
  ),
);

/** Charges and lines outside the VAT base need HR totals (HR-BR-30). */
const OUT_OF_BASE_NAMES = new Set(['HR:POVNAK', 'HR:PP', 'HR:PPMV', 'HR:N']);

/** An OIB, alone or as a VAT id `HR<OIB>` (the HR rules' u:ctrlOIB). */
export function isOibOrHrVatId(value: string | undefined): boolean {
  if (value === undefined) return false;
  const oib = value.startsWith('HR') ? value.slice(2) : value;
  return isValidOib(oib);
}

/** True for an ISO date in [from, to). An invalid date is out. */
function dateWithin(value: string, from: string, to: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return false;
  if (date.toISOString().slice(0, 10) !== value) return false;
  return value >= from && value < to;
}

/** A date rule: each element found must lie in [from, to). */
function dateRule(
  id: string,
  field: string,
  what: string,
  pick: (doc: UblDocument) => UblElement[],
  from = '1900-01-01',
  to = '2100-01-01',
): Rule {
  return rule(
    id,
    field,
    `${what} (${field}) shall be on or after ${from} and before ${to}`,
    (doc, fail) => {
      for (const el of pick(doc)) {
        const value = text(el) ?? '';
        if (!dateWithin(value, from, to)) fail(el, `'${value}'`);
      }
    },
  );
}

/** u:check3010: at most 30 characters and 10 fraction digits. */
function check3010(el: UblElement | undefined): boolean {
  const value = text(el) ?? '';
  const fraction = value.includes('.') ? value.split('.')[1]! : '';
  return value.length <= 30 && fraction.length <= 10;
}

function hrData(doc: UblDocument): UblElement | undefined {
  return doc.memo(
    'hrData',
    () =>
      all(
        doc.root,
        'UBLExtensions/UBLExtension/ExtensionContent/HRFISK20Data',
      )[0],
  );
}

function hrSubtotals(doc: UblDocument): UblElement[] {
  return all(hrData(doc), 'HRTaxTotal/HRTaxSubtotal');
}

function documentTypeCode(doc: UblDocument): string | undefined {
  const name = doc.isCreditNote ? 'CreditNoteTypeCode' : 'InvoiceTypeCode';
  return textAt(doc.root, name);
}

/** HR-BR-S/Z/E/AE-1…3: a category in use needs the buyer VAT id. */
function buyerVatRules(): Rule[] {
  const categories: [string, string][] = [
    ['S', 'standard rate'],
    ['Z', 'zero rate'],
    ['E', 'exempt'],
    ['AE', 'reverse charge'],
  ];
  return categories.flatMap(([code, name]) => {
    const where: [string, string, (d: UblDocument) => UblElement[]][] = [
      ['1', 'an invoice line (BT-151)', (d) => d.lineCategories()],
      [
        '2',
        'a document level allowance (BT-95)',
        (d) => d.allowances.flatMap((a) => kids(a, 'TaxCategory')),
      ],
      [
        '3',
        'a document level charge (BT-102)',
        (d) => d.charges.flatMap((a) => kids(a, 'TaxCategory')),
      ],
    ];
    return where.map(([n, what, pick]) =>
      rule(
        `HR-BR-${code}-${n}`,
        'BT-48',
        `An invoice with ${what} of VAT category ${code} (${name}) shall contain the buyer VAT identifier (BT-48, cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID)`,
        (doc, fail) => {
          const used = pick(doc).some((c) => categoryCode(c) === code);
          if (used && doc.buyerVatId() === undefined) fail(doc.buyer);
        },
      ),
    );
  });
}

/** HR-BR-53: each HR tax id of a party is a valid OIB. */
function taxIdsAreOibs(doc: UblDocument, fail: Fail): void {
  const parties = [
    doc.seller,
    doc.buyer,
    kid(doc.root, 'TaxRepresentativeParty'),
  ];
  for (const party of parties) {
    const country = textAt(party, 'PostalAddress/Country/IdentificationCode');
    const foreign = country !== undefined && country !== 'HR';
    for (const scheme of kids(party, 'PartyTaxScheme')) {
      const id = textAt(scheme, 'CompanyID');
      if (!foreign && !isOibOrHrVatId(id)) fail(scheme, `'${id ?? ''}'`);
    }
  }
}

/** HR-BR-33: no empty elements outside the signature. */
function noEmptyElements(doc: UblDocument, fail: Fail): void {
  const walk = (el: UblElement): void => {
    if (el.localName === 'UBLDocumentSignatures') return;
    const children = kids(el);
    if (children.length === 0) {
      if ((el.textContent ?? '').trim() === '') fail(el);
      return;
    }
    for (const child of children) walk(child);
  };
  walk(doc.root);
}

/** HR-BR-56 targets: rates, quantities and prices. */
function decimalLimited(doc: UblDocument): UblElement[] {
  const acs = [...doc.allowances, ...doc.charges];
  return [
    ...doc.subtotals.map((s) => at(s, 'TaxCategory/Percent')),
    ...acs.map((a) => at(a, 'TaxCategory/Percent')),
    ...doc.lines.flatMap((l) => [
      kid(l, doc.quantityName),
      at(l, 'Item/ClassifiedTaxCategory/Percent'),
      at(l, 'Price/PriceAmount'),
      at(l, 'Price/AllowanceCharge/Amount'),
      at(l, 'Price/AllowanceCharge/BaseAmount'),
      at(l, 'Price/BaseQuantity'),
    ]),
    ...hrSubtotals(doc).map((s) => at(s, 'HRTaxCategory/Percent')),
  ].filter((el): el is UblElement => el !== undefined);
}

/** Line references that exclude the document level one (HR-BR-17…19). */
function lineReferenceRule(
  id: string,
  field: string,
  what: string,
  linePath: string,
  documentPath: string,
): Rule {
  return rule(
    id,
    field,
    `If the ${what} is referenced on an invoice line (${field}, ${linePath}), it shall not be referenced on the document (${documentPath})`,
    (doc, fail) => {
      if (!has(doc.root, documentPath)) return;
      for (const line of doc.lines) if (has(line, linePath)) fail(line);
    },
  );
}

function exemptOrOutOfScope(category: UblElement | undefined): boolean {
  const code = categoryCode(category);
  return code === 'E' || code === 'O';
}

function hasExemptionReason(category: UblElement | undefined): boolean {
  return (
    has(category, 'TaxExemptionReason') ||
    has(category, 'TaxExemptionReasonCode')
  );
}

/** Document level rules of the Croatian CIUS 2025 (HR-BR-*). */
const documentRules: Rule[] = [
  rule(
    'HR-BR-1',
    'BT-1',
    'The invoice number (BT-1, cbc:ID) shall not contain whitespace',
    (doc, fail) => {
      const id = kid(doc.root, 'ID');
      if (id && /\s/.test(id.textContent ?? '')) fail(id);
    },
  ),
  dateRule(
    'HR-BR-40',
    'BT-2',
    'The issue date (cbc:IssueDate)',
    (doc) => kids(doc.root, 'IssueDate').slice(0, 1),
    '2026-01-01',
  ),
  dateRule('HR-BR-48', 'BT-7', 'The VAT point date (cbc:TaxPointDate)', (d) =>
    kids(d.root, 'TaxPointDate'),
  ),
  dateRule('HR-BR-49', 'BT-73', 'The invoicing period start', (d) =>
    all(d.root, 'InvoicePeriod/StartDate'),
  ),
  dateRule('HR-BR-50', 'BT-74', 'The invoicing period end', (d) =>
    all(d.root, 'InvoicePeriod/EndDate'),
  ),
  dateRule('HR-BR-44', 'BT-72', 'The actual delivery date', (d) =>
    all(d.root, 'Delivery/ActualDeliveryDate'),
  ),
  dateRule('HR-BR-45', 'BT-26', 'The preceding invoice issue date', (d) =>
    all(d.root, 'BillingReference/InvoiceDocumentReference/IssueDate'),
  ),
  dateRule('HR-BR-41', 'BT-9', 'The payment due date', (d) => {
    const means = kids(d.root, 'PaymentMeans');
    if (!means.some((m) => kid(m, 'PaymentDueDate'))) return [];
    if (d.isCreditNote) return means.flatMap((m) => kids(m, 'PaymentDueDate'));
    const due = kid(d.root, 'DueDate');
    return due ? [due] : [];
  }),
  dateRule('HR-BR-51', 'BT-134', 'The invoice line period start', (d) =>
    d.lines.flatMap((l) => all(l, 'InvoicePeriod/StartDate')),
  ),
  dateRule('HR-BR-52', 'BT-135', 'The invoice line period end', (d) =>
    d.lines.flatMap((l) => all(l, 'InvoicePeriod/EndDate')),
  ),
  rule(
    'HR-BR-2',
    'HR-BT-2',
    'An invoice shall have an issue time (HR-BT-2, cbc:IssueTime) as hh:mm:ss',
    (doc, fail) => {
      const time = textAt(doc.root, 'IssueTime');
      if (!time || !/^[0-9]{2}:[0-9]{2}:[0-9]{2}$/.test(time)) fail();
    },
  ),
  rule(
    'HR-BR-34',
    'BT-23',
    'The business process type (BT-23, cbc:ProfileID) shall be P1 to P12 or P99:<buyer label>',
    (doc, fail) => {
      const profile = textAt(doc.root, 'ProfileID') ?? '';
      if (!/^(P[1-9]|P1[0-2]|P99:.*)$/.test(profile)) fail();
    },
  ),
  rule(
    'HR-BR-42',
    'BT-23',
    'The business process type (BT-23, cbc:ProfileID) shall not exceed 200 characters',
    (doc, fail) => {
      if ((textAt(doc.root, 'ProfileID') ?? '').length > 200) fail();
    },
  ),
  rule(
    'HR-BR-43',
    'BT-12',
    'The contract reference (BT-12, cac:ContractDocumentReference/cbc:ID) shall not exceed 1024 characters',
    (doc, fail) => {
      const id = textAt(doc.root, 'ContractDocumentReference/ID') ?? '';
      if (id.length > 1024) fail();
    },
  ),
  rule(
    'HR-BR-5',
    'BT-24',
    `The specification identifier (BT-24, cbc:CustomizationID) shall be '${HR_CUSTOMIZATION_ID}'`,
    (doc, fail) => {
      const value = textAt(doc.root, 'CustomizationID');
      if (value !== HR_CUSTOMIZATION_ID) fail(kid(doc.root, 'CustomizationID'));
    },
  ),
  ...buyerVatRules(),
  rule(
    'HR-BR-26',
    'HR-BG-2',
    'An invoice with a line, allowance or charge exempt from VAT (E) shall contain the HR VAT breakdown (HR-BG-2, hrextac:HRFISK20Data/hrextac:HRTaxTotal)',
    (doc, fail) => {
      const categories = [
        ...doc.lineCategories(),
        ...[...doc.allowances, ...doc.charges].flatMap((a) =>
          kids(a, 'TaxCategory'),
        ),
      ];
      const exempt = categories.some((c) => categoryCode(c) === 'E');
      if (exempt && !kid(hrData(doc), 'HRTaxTotal')) fail();
    },
  ),
  rule(
    'HR-BR-27',
    'HR-BT-23',
    'The HR VAT base (HR-BT-23, hrextac:HRLegalMonetaryTotal/cbc:TaxExclusiveAmount) shall equal BT-106 + BT-108 - BT-107 - HR-BT-24',
    (doc, fail) => {
      const hr = kid(hrData(doc), 'HRLegalMonetaryTotal');
      if (!hr) return;
      const t = doc.totals;
      const expected = (numAt(t, 'LineExtensionAmount') ?? NaN_)
        .plus(numAt(t, 'ChargeTotalAmount') ?? 0)
        .minus(numAt(t, 'AllowanceTotalAmount') ?? 0)
        .minus(numAt(hr, 'OutOfScopeOfVATAmount') ?? NaN_);
      const amount = numAt(hr, 'TaxExclusiveAmount') ?? NaN_;
      if (!equalsRounded(amount, expected)) fail(hr);
    },
  ),
  rule(
    'HR-BR-29',
    'HR-BT-17',
    'An HR VAT breakdown of category O (HR-BT-18) shall have an HR VAT amount (HR-BT-17) of 0',
    (doc, fail) => {
      for (const st of hrSubtotals(doc)) {
        if (textAt(st, 'HRTaxCategory/ID') !== 'O') continue;
        if (!numAt(st, 'TaxAmount')?.isZero()) fail(st);
      }
    },
  ),
  rule(
    'HR-BR-30',
    'HR-BG-3',
    'An invoice with lines or charges outside the VAT base (HR:POVNAK, HR:PP, HR:PPMV, HR:N) shall contain the HR totals (HR-BG-3, hrextac:HRLegalMonetaryTotal)',
    (doc, fail) => {
      const names = [
        ...doc.lineCategories(),
        ...doc.charges.flatMap((a) => kids(a, 'TaxCategory')),
      ].map((c) => textAt(c, 'Name') ?? '');
      const outside = names.some((n) => OUT_OF_BASE_NAMES.has(n));
      if (outside && !kid(hrData(doc), 'HRLegalMonetaryTotal')) fail();
    },
  ),
  rule(
    'HR-BR-32',
    'HR-BT-24',
    'The HR amount outside the VAT base (HR-BT-24, hrextac:OutOfScopeOfVATAmount) shall equal the sum of the HR breakdowns of category O',
    (doc, fail) => {
      const hr = kid(hrData(doc), 'HRLegalMonetaryTotal');
      if (!hr) return;
      const outOfScope = hrSubtotals(doc).filter(
        (st) => textAt(st, 'HRTaxCategory/ID') === 'O',
      );
      const amount = numAt(hr, 'OutOfScopeOfVATAmount') ?? NaN_;
      const expected = sumAt(outOfScope, 'TaxableAmount');
      if (!equalsRounded(amount, expected)) fail(hr);
    },
  ),
  rule(
    'HR-BR-54',
    'HR-BT-25',
    'The HR total VAT (HR-BT-25, hrextac:HRTaxTotal/cbc:TaxAmount) shall equal the sum of the HR VAT amounts (HR-BT-17)',
    (doc, fail) => {
      const total = kid(hrData(doc), 'HRTaxTotal');
      if (!total) return;
      const amount = numAt(total, 'TaxAmount') ?? NaN_;
      const expected = sumAt(kids(total, 'HRTaxSubtotal'), 'TaxAmount');
      if (!equalsRounded(amount, expected)) fail(total);
    },
  ),
  rule(
    'HR-BR-55',
    'HR-BT-25',
    'The HR total VAT (HR-BT-25) shall equal the invoice total VAT (BT-110, cac:TaxTotal/cbc:TaxAmount)',
    (doc, fail) => {
      const hrTotal = kid(hrData(doc), 'HRTaxTotal');
      if (!hrTotal) return;
      const currency = textAt(doc.root, 'DocumentCurrencyCode');
      for (const total of doc.taxTotals) {
        const amount = kid(total, 'TaxAmount');
        if (attr(amount, 'currencyID') !== currency) continue;
        const hr = numAt(hrTotal, 'TaxAmount') ?? NaN_;
        if (!hr.equals(num(amount) ?? NaN_)) fail(total);
      }
    },
  ),
  rule(
    'HR-BR-4',
    'BT-9',
    'When the amount due (BT-115) is positive, the payment due date (BT-9, cbc:DueDate or cbc:PaymentDueDate) shall be present',
    (doc, fail) => {
      const payable = numAt(doc.totals, 'PayableAmount');
      if (!payable) return;
      const due = doc.isCreditNote ? payable.negated() : payable;
      if (!due.greaterThan(0)) return;
      const dated =
        has(doc.root, 'DueDate') ||
        has(doc.root, 'PaymentMeans/PaymentDueDate');
      if (!dated) fail(doc.totals);
    },
  ),
  rule(
    'HR-BR-33',
    'XML',
    'The invoice shall not contain empty XML elements, except in the electronic signature',
    noEmptyElements,
  ),
  rule(
    'HR-BR-56',
    'BT-146',
    'Prices (BT-146…148), VAT rates (BT-119, BT-96, BT-103, BT-152, HR-BT-19) and quantities (BT-129, BT-149) shall have at most 10 decimals and 30 characters',
    (doc, fail) => {
      for (const el of decimalLimited(doc)) if (!check3010(el)) fail(el);
    },
  ),
];

const NaN_ = new Decimal(NaN);

/** Party, reference, line and item rules of the HR CIUS. */
const partyAndLineRules: Rule[] = [
  rule(
    'HR-BR-11',
    'HR-BT-6',
    'Each document level charge (BG-21) not subject to or exempt from VAT shall have the HR VAT category label (HR-BT-6, cac:TaxCategory/cbc:Name)',
    (doc, fail) => {
      for (const charge of doc.charges) {
        const category = kid(charge, 'TaxCategory');
        const ok = exemptOrOutOfScope(category)
          ? has(category, 'Name')
          : category !== undefined;
        if (!ok) fail(charge);
      }
    },
  ),
  rule(
    'HR-BR-13',
    'HR-BT-7',
    'Each document level charge (BG-21) not subject to or exempt from VAT shall have an exemption reason (cbc:TaxExemptionReason) or reason code (cbc:TaxExemptionReasonCode)',
    (doc, fail) => {
      for (const charge of doc.charges) {
        const category = kid(charge, 'TaxCategory');
        const ok = exemptOrOutOfScope(category)
          ? hasExemptionReason(category)
          : category !== undefined;
        if (!ok) fail(charge);
      }
    },
  ),
  rule(
    'HR-BR-6',
    'BT-26',
    'Each preceding invoice reference (BG-3, cac:BillingReference) shall have the preceding invoice number (BT-25) and issue date (BT-26, cac:InvoiceDocumentReference/cbc:IssueDate)',
    (doc, fail) => {
      for (const ref of kids(doc.root, 'BillingReference')) {
        const inv = kid(ref, 'InvoiceDocumentReference');
        if (!has(inv, 'ID') || !has(inv, 'IssueDate')) fail(ref);
      }
    },
  ),
  rule(
    'HR-BR-7',
    'BT-34',
    'The seller electronic address (BT-34, cac:Party/cbc:EndpointID) shall be present',
    (doc, fail) => {
      if (!kid(doc.seller, 'EndpointID')) fail(doc.seller);
    },
  ),
  rule(
    'HR-BR-37',
    'HR-BT-4',
    'The invoice shall contain the operator label (HR-BT-4, cac:SellerContact/cbc:Name)',
    (doc, fail) => {
      if (!has(doc.root, 'AccountingSupplierParty/SellerContact/Name')) fail();
    },
  ),
  rule(
    'HR-BR-9',
    'HR-BT-5',
    'The invoice shall contain a valid operator OIB (HR-BT-5, cac:SellerContact/cbc:ID)',
    (doc, fail) => {
      const contact = at(doc.root, 'AccountingSupplierParty/SellerContact');
      const id = textAt(contact, 'ID');
      if (!isOibOrHrVatId(id)) fail(contact, `'${id ?? ''}'`);
    },
  ),
  rule(
    'HR-BR-53',
    'BT-31',
    'An HR VAT identifier (BT-31, BT-48, BT-63) or tax registration identifier (BT-32) shall be a valid OIB (cac:PartyTaxScheme/cbc:CompanyID)',
    taxIdsAreOibs,
  ),
  rule(
    'HR-BR-10',
    'BT-49',
    'The buyer electronic address (BT-49, cac:Party/cbc:EndpointID) shall be present',
    (doc, fail) => {
      if (!kid(doc.buyer, 'EndpointID')) fail(doc.buyer);
    },
  ),
  lineReferenceRule(
    'HR-BR-17',
    'HR-BT-9',
    'purchase order',
    'OrderLineReference/OrderReference/ID',
    'OrderReference/ID',
  ),
  lineReferenceRule(
    'HR-BR-18',
    'HR-BT-10',
    'despatch advice',
    'DespatchLineReference/DocumentReference/ID',
    'DespatchDocumentReference/ID',
  ),
  lineReferenceRule(
    'HR-BR-19',
    'HR-BT-11',
    'receiving advice',
    'ReceiptLineReference/DocumentReference/ID',
    'ReceiptDocumentReference/ID',
  ),
  rule(
    'HR-BR-20',
    'BT-149',
    'The item price base quantity (BT-149, cac:Price/cbc:BaseQuantity), if given, shall be greater than zero',
    (doc, fail) => {
      for (const line of doc.lines) {
        const base = at(line, 'Price/BaseQuantity');
        if (base && !num(base)?.greaterThan(0)) fail(base);
      }
    },
  ),
  rule(
    'HR-BR-21',
    'BT-150',
    'The unit of the price base quantity (BT-150, cbc:BaseQuantity/@unitCode) shall equal the unit of the invoiced quantity (BT-130)',
    (doc, fail) => {
      for (const line of doc.lines) {
        const base = at(line, 'Price/BaseQuantity');
        const quantity = kid(line, doc.quantityName);
        if (!base || !base.hasAttribute('unitCode') || !quantity) continue;
        if (attr(base, 'unitCode') !== attr(quantity, 'unitCode')) fail(base);
      }
    },
  ),
  itemRule(
    'HR-BR-16',
    'HR-BT-12',
    'Each invoice line not subject to or exempt from VAT shall have the HR VAT category label (HR-BT-12, cac:ClassifiedTaxCategory/cbc:Name)',
    (item) => {
      const category = kid(item, 'ClassifiedTaxCategory');
      if (!category) return false;
      return !exemptOrOutOfScope(category) || has(category, 'Name');
    },
  ),
  rule(
    'HR-BR-25',
    'BT-158',
    'Each item shall have a KPD classification (BT-158, cac:CommodityClassification/cbc:ItemClassificationCode with listID CG), except on advance invoices and credit notes',
    (doc, fail) => {
      const exempt = UNCLASSIFIED_TYPES.has(documentTypeCode(doc) ?? '');
      for (const item of doc.lines.map((l) => kid(l, 'Item'))) {
        if (!item || exempt) continue;
        const codes = all(
          item,
          'CommodityClassification/ItemClassificationCode',
        );
        if (!codes.some((c) => attr(c, 'listID') === 'CG')) fail(item);
      }
    },
  ),
  itemRule(
    'HR-BR-36',
    'HR-BT-13',
    'Each invoice line not subject to or exempt from VAT shall have an exemption reason (HR-BT-13, cbc:TaxExemptionReason) or code (HR-BT-14)',
    (item) => {
      const category = kid(item, 'ClassifiedTaxCategory');
      if (hasExemptionReason(category)) return true;
      return category !== undefined && !exemptOrOutOfScope(category);
    },
  ),
  itemRule(
    'HR-BR-46',
    'BT-153',
    'The item name (BT-153, cac:Item/cbc:Name) shall not exceed 1024 characters',
    (item) => (textAt(item, 'Name') ?? '').length <= 1024,
  ),
  itemRule(
    'HR-BR-47',
    'BT-154',
    'The item description (BT-154, cac:Item/cbc:Description) shall not exceed 4096 characters',
    (item) => (textAt(item, 'Description') ?? '').length <= 4096,
  ),
];

function itemRule(
  id: string,
  field: string,
  message: string,
  ok: (item: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const line of doc.lines) {
      const item = kid(line, 'Item');
      if (item && !ok(item)) fail(item);
    }
  });
}

/** HR VAT breakdown (HR-BG-2) rules and the HR code lists. */
const extensionRules: Rule[] = [
  hrSubtotalRule(
    'HR-BR-28',
    'HR-BT-17',
    'An HR VAT breakdown of category E or O shall have an HR VAT amount (HR-BT-17) of 0',
    (code, st) =>
      code === 'E' || code === 'O' ? isZero(st, 'TaxAmount') : true,
  ),
  hrSubtotalRule(
    'HR-BR-S-10',
    'HR-BT-19',
    'An HR VAT breakdown of category S shall have a rate (HR-BT-19) greater than 0',
    (code, st) =>
      code !== 'S' ||
      (numAt(st, 'HRTaxCategory/Percent')?.greaterThan(0) ?? false),
  ),
  ...['Z', 'E', 'AE'].map((c) =>
    hrSubtotalRule(
      `HR-BR-${c}-10`,
      'HR-BT-19',
      `An HR VAT breakdown of category ${c} shall have a rate (HR-BT-19) of 0`,
      (code, st) => code !== c || isZero(st, 'HRTaxCategory/Percent'),
    ),
  ),
  rule(
    'HR-BR-CL-1',
    'HR-BT-6',
    'The HR VAT category label (cbc:Name of a tax category) shall be one of HR-TB-2 (HR:PDV25, HR:PDV13, HR:PDV5, HR:Z, HR:K, HR:G, HR:AE, HR:E, HR:POVNAK, HR:PP, HR:PPMV, HR:O, HR:N)',
    (doc, fail) => {
      const categories = [
        ...doc.subtotals.map((s) => kid(s, 'TaxCategory')),
        ...[...doc.allowances, ...doc.charges].map((a) =>
          kid(a, 'TaxCategory'),
        ),
        ...doc.lineCategories(),
        ...hrSubtotals(doc).map((s) => kid(s, 'HRTaxCategory')),
      ];
      for (const name of categories.map((c) => kid(c, 'Name'))) {
        if (name && !HR_CATEGORY_NAMES.has(text(name) ?? '')) fail(name);
      }
    },
  ),
  rule(
    'HR-BR-CL-2',
    'BT-158',
    'The item classification (BT-158, cbc:ItemClassificationCode) shall be a KPD 2025 code with listID CG',
    (doc, fail) => {
      for (const line of doc.lines) {
        const codes = all(
          line,
          'Item/CommodityClassification/ItemClassificationCode',
        );
        for (const code of codes) {
          const ok =
            attr(code, 'listID') === 'CG' && KPD_CODES.has(text(code) ?? '');
          if (!ok) fail(code, `'${text(code) ?? ''}'`);
        }
      }
    },
  ),
];

function isZero(el: UblElement, path: string): boolean {
  return numAt(el, path)?.isZero() ?? false;
}

function hrSubtotalRule(
  id: string,
  field: string,
  message: string,
  ok: (code: string | undefined, subtotal: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const st of hrSubtotals(doc)) {
      if (!ok(textAt(st, 'HRTaxCategory/ID'), st)) fail(st);
    }
  });
}

/** Every rule of the Croatian CIUS 2025 and its extension (HR-BR-*). */
export const hrRules: Rule[] = [
  ...documentRules,
  ...partyAndLineRules,
  ...extensionRules,
];
