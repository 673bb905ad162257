import { Decimal } from 'decimal.js';
import { all, attr, has, kid, kids, textAt, type UblElement } from './dom.js';
import { equalsRounded, isCharge, num, numAt, sumAt } from './ubl-document.js';
import { COUNTRY_CODES } from './code-lists.js';
import { rule, type Rule } from './types.js';

const ZERO = new Decimal(0);

/** Fails when `amount` is present and differs from `expected` rounded. */
function mismatch(amount: Decimal | undefined, expected: Decimal): boolean {
  return amount !== undefined && !equalsRounded(amount, expected);
}

/**
 * The calculation rules of EN 16931 (BR-CO-*): totals from the rounded
 * line sums, VAT from the category base, and the structural conditions.
 */
export const totalsRules: Rule[] = [
  rule(
    'BR-CO-03',
    'BT-7',
    'The VAT point date (BT-7, cbc:TaxPointDate) and the VAT point date code (BT-8, cac:InvoicePeriod/cbc:DescriptionCode) are mutually exclusive',
    (doc, fail) => {
      const code = has(doc.root, 'InvoicePeriod/DescriptionCode');
      if (code && has(doc.root, 'TaxPointDate'))
        fail(kid(doc.root, 'TaxPointDate'));
    },
  ),
  rule(
    'BR-CO-04',
    'BT-151',
    'Each invoice line shall be categorized with an invoiced item VAT category code (BT-151, cac:Item/cac:ClassifiedTaxCategory/cbc:ID)',
    (doc, fail) => {
      for (const line of doc.lines) {
        const vat = all(line, 'Item/ClassifiedTaxCategory').some(
          (c) =>
            textAt(c, 'TaxScheme/ID')?.toUpperCase() === 'VAT' && has(c, 'ID'),
        );
        if (!vat) fail(line);
      }
    },
  ),
  rule(
    'BR-CO-09',
    'BT-31',
    'The VAT identifiers (BT-31, BT-48, BT-63, cbc:CompanyID) shall have an ISO 3166-1 alpha-2 country prefix',
    (doc, fail) => {
      const parties = [
        doc.seller,
        doc.buyer,
        kid(doc.root, 'TaxRepresentativeParty'),
      ];
      for (const party of parties) {
        for (const scheme of kids(party, 'PartyTaxScheme')) {
          if (textAt(scheme, 'TaxScheme/ID')?.toUpperCase() !== 'VAT') continue;
          const id = textAt(scheme, 'CompanyID') ?? '';
          if (!VAT_PREFIXES.has(id.slice(0, 2)))
            fail(kid(scheme, 'CompanyID') ?? scheme);
        }
      }
    },
  ),
  rule(
    'BR-CO-10',
    'BT-106',
    'The sum of invoice line net amount (BT-106, cbc:LineExtensionAmount) shall equal the sum of the line net amounts (BT-131)',
    (doc, fail) => {
      const amount = numAt(doc.totals, 'LineExtensionAmount');
      const expected = sumAt(doc.lines, 'LineExtensionAmount');
      if (mismatch(amount, expected))
        fail(kid(doc.totals, 'LineExtensionAmount'), `${amount} ≠ ${expected}`);
    },
  ),
  rule(
    'BR-CO-11',
    'BT-107',
    'The sum of allowances on document level (BT-107, cbc:AllowanceTotalAmount) shall equal the sum of the document level allowance amounts (BT-92)',
    (doc, fail) => {
      if (!doc.totals) return;
      const amount = numAt(doc.totals, 'AllowanceTotalAmount');
      if (amount === undefined) {
        if (doc.allowances.length > 0) fail(doc.totals);
        return;
      }
      if (mismatch(amount, sumAt(doc.allowances, 'Amount')))
        fail(kid(doc.totals, 'AllowanceTotalAmount'));
    },
  ),
  rule(
    'BR-CO-12',
    'BT-108',
    'The sum of charges on document level (BT-108, cbc:ChargeTotalAmount) shall equal the sum of the document level charge amounts (BT-99)',
    (doc, fail) => {
      if (!doc.totals) return;
      const amount = numAt(doc.totals, 'ChargeTotalAmount');
      if (amount === undefined) {
        if (doc.charges.length > 0) fail(doc.totals);
        return;
      }
      if (mismatch(amount, sumAt(doc.charges, 'Amount')))
        fail(kid(doc.totals, 'ChargeTotalAmount'));
    },
  ),
  rule(
    'BR-CO-13',
    'BT-109',
    'The invoice total without VAT (BT-109, cbc:TaxExclusiveAmount) shall equal BT-106 - BT-107 + BT-108',
    (doc, fail) => {
      const t = doc.totals;
      const amount = numAt(t, 'TaxExclusiveAmount');
      const expected = (numAt(t, 'LineExtensionAmount') ?? ZERO)
        .minus(numAt(t, 'AllowanceTotalAmount') ?? ZERO)
        .plus(numAt(t, 'ChargeTotalAmount') ?? ZERO);
      if (mismatch(amount, expected))
        fail(kid(t, 'TaxExclusiveAmount'), `${amount} ≠ ${expected}`);
    },
  ),
  rule(
    'BR-CO-14',
    'BT-110',
    'The invoice total VAT amount (BT-110, cac:TaxTotal/cbc:TaxAmount) shall equal the sum of the VAT category tax amounts (BT-117)',
    (doc, fail) => {
      for (const total of doc.taxTotals) {
        const subtotals = kids(total, 'TaxSubtotal');
        if (subtotals.length === 0) continue;
        const amount = numAt(total, 'TaxAmount') ?? new Decimal(NaN);
        if (!equalsRounded(amount, sumAt(subtotals, 'TaxAmount'))) fail(total);
      }
    },
  ),
  rule(
    'BR-CO-15',
    'BT-112',
    'The invoice total with VAT (BT-112, cbc:TaxInclusiveAmount) shall equal BT-109 + BT-110',
    (doc, fail) => {
      const currency = textAt(doc.root, 'DocumentCurrencyCode');
      if (!currency) return;
      const vat = doc.taxTotals
        .map((t) => kid(t, 'TaxAmount'))
        .filter((a) => a && attr(a, 'currencyID') === currency);
      const t = doc.totals;
      const expected = (
        numAt(t, 'TaxExclusiveAmount') ?? new Decimal(NaN)
      ).plus(vat.length === 1 ? (num(vat[0]) ?? ZERO) : new Decimal(NaN));
      const amount = numAt(t, 'TaxInclusiveAmount') ?? new Decimal(NaN);
      if (vat.length !== 1 || !equalsRounded(amount, expected)) fail(t);
    },
  ),
  rule(
    'BR-CO-16',
    'BT-115',
    'The amount due for payment (BT-115, cbc:PayableAmount) shall equal BT-112 - BT-113 + BT-114',
    (doc, fail) => {
      const t = doc.totals;
      if (!t) return;
      const expected = (numAt(t, 'TaxInclusiveAmount') ?? ZERO)
        .minus(numAt(t, 'PrepaidAmount') ?? ZERO)
        .plus(numAt(t, 'PayableRoundingAmount') ?? ZERO);
      const amount = numAt(t, 'PayableAmount') ?? new Decimal(NaN);
      if (!equalsRounded(amount, expected))
        fail(kid(t, 'PayableAmount') ?? t, `${amount} ≠ ${expected}`);
    },
  ),
  rule(
    'BR-CO-17',
    'BT-117',
    'The VAT category tax amount (BT-117) shall equal the taxable amount (BT-116) times the rate (BT-119), rounded to two decimals',
    (doc, fail) => {
      for (const st of doc.subtotals) {
        if (!vatAmountMatches(st)) fail(st);
      }
    },
  ),
  rule(
    'BR-CO-18',
    'BG-23',
    'An invoice shall have at least one VAT breakdown group (BG-23, cac:TaxTotal/cac:TaxSubtotal)',
    (doc, fail) => {
      if (doc.subtotals.length === 0) fail();
    },
  ),
  rule(
    'BR-CO-19',
    'BG-14',
    'If the invoicing period (BG-14) is used, its start date (BT-73) or end date (BT-74) shall be filled',
    (doc, fail) => {
      for (const period of kids(doc.root, 'InvoicePeriod')) {
        const dated = has(period, 'StartDate') || has(period, 'EndDate');
        if (!dated && !has(period, 'DescriptionCode')) fail(period);
      }
    },
  ),
  rule(
    'BR-CO-20',
    'BG-26',
    'If the invoice line period (BG-26) is used, its start date (BT-134) or end date (BT-135) shall be filled',
    (doc, fail) => {
      for (const period of doc.lines.flatMap((l) => kids(l, 'InvoicePeriod'))) {
        if (!has(period, 'StartDate') && !has(period, 'EndDate')) fail(period);
      }
    },
  ),
  reasonRule(
    'BR-CO-21',
    'BT-97',
    false,
    'document level allowance',
    (doc) => doc.allowances,
  ),
  reasonRule(
    'BR-CO-22',
    'BT-104',
    true,
    'document level charge',
    (doc) => doc.charges,
  ),
  reasonRule('BR-CO-23', 'BT-139', false, 'invoice line allowance', (doc) =>
    lineAllowanceCharges(doc.lines, false),
  ),
  reasonRule('BR-CO-24', 'BT-144', true, 'invoice line charge', (doc) =>
    lineAllowanceCharges(doc.lines, true),
  ),
  rule(
    'BR-CO-25',
    'BT-9',
    'When the amount due (BT-115) is positive, the payment due date (BT-9) or the payment terms (BT-20) shall be present',
    (doc, fail) => {
      // A credit note's amount is owed to the buyer: no due date needed.
      if (doc.isCreditNote) return;
      const payable = numAt(doc.totals, 'PayableAmount');
      if (!payable || !payable.isPositive() || payable.isZero()) return;
      const due =
        has(doc.root, 'DueDate') ||
        has(doc.root, 'PaymentMeans/PaymentDueDate');
      if (!due && !has(doc.root, 'PaymentTerms/Note')) fail(doc.totals);
    },
  ),
  rule(
    'BR-CO-26',
    'BT-29',
    'The seller identifier (BT-29), legal registration identifier (BT-30) or VAT identifier (BT-31) shall be present',
    (doc, fail) => {
      const s = doc.seller;
      if (!s) return;
      const ok =
        has(s, 'PartyIdentification/ID') ||
        has(s, 'PartyLegalEntity/CompanyID') ||
        doc.sellerVatId() !== undefined;
      if (!ok) fail(s);
    },
  ),
];

/** BR-CO-17: the tax amount matches the rate, within one unit. */
function vatAmountMatches(st: UblElement): boolean {
  const percent = numAt(st, 'TaxCategory/Percent');
  const tax = numAt(st, 'TaxAmount') ?? new Decimal(NaN);
  if (percent === undefined || percent.round().isZero()) {
    return tax.round().isZero();
  }
  const taxable = numAt(st, 'TaxableAmount') ?? new Decimal(NaN);
  const expected = taxable
    .abs()
    .times(percent)
    .dividedBy(100)
    .toDecimalPlaces(2);
  return (
    tax.abs().minus(1).lessThan(expected) &&
    tax.abs().plus(1).greaterThan(expected)
  );
}

function lineAllowanceCharges(
  lines: UblElement[],
  charge: boolean,
): UblElement[] {
  return lines
    .flatMap((l) => kids(l, 'AllowanceCharge'))
    .filter((ac) => isCharge(ac) === charge);
}

function reasonRule(
  id: string,
  field: string,
  charge: boolean,
  what: string,
  pick: (doc: import('./ubl-document.js').UblDocument) => UblElement[],
): Rule {
  const code = charge
    ? 'reason code (UNTDID 7161)'
    : 'reason code (UNTDID 5189)';
  return rule(
    id,
    field,
    `Each ${what} shall contain a reason (${field}, cbc:AllowanceChargeReason) or a ${code}, or both`,
    (doc, fail) => {
      for (const ac of pick(doc)) {
        if (
          !has(ac, 'AllowanceChargeReason') &&
          !has(ac, 'AllowanceChargeReasonCode')
        )
          fail(ac);
      }
    },
  );
}

/** VAT identifier prefixes: the ISO 3166-1 codes of BR-CL-14 and EL. */
const VAT_PREFIXES = new Set([...COUNTRY_CODES, 'EL']);
