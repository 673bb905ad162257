import { Decimal } from 'decimal.js';
import { all, at, has, kid, kids, type UblElement } from './dom.js';
import {
  categoryCode,
  equalsRounded,
  isVatScheme,
  num,
  numAt,
  type UblDocument,
} from './ubl-document.js';
import { rule, type Fail, type Rule } from './types.js';

type PartyCheck = 'vat-or-registration' | 'vat-only' | 'none';

interface Category {
  /** UNTDID 5305 code: S, Z, E, AE, K, G, O, L, M. */
  code: string;
  /** Rule prefix: BR-S, BR-Z, … BR-IC, BR-AF, BR-AG. */
  prefix: string;
  name: string;
  /** One breakdown per rate (S, L, M) or exactly one breakdown. */
  perRate: boolean;
  rate: 'positive' | 'zero' | 'absent' | 'non-negative';
  /** The exemption reason (BT-120/121) is required or forbidden. */
  exemption: 'required' | 'forbidden';
  seller: PartyCheck;
  /** AE needs the buyer VAT id or legal id; K the buyer VAT id. */
  buyer?: 'vat-or-legal' | 'vat';
}

const CATEGORIES: Category[] = [
  {
    code: 'S',
    prefix: 'BR-S',
    name: 'Standard rated',
    perRate: true,
    rate: 'positive',
    exemption: 'forbidden',
    seller: 'vat-or-registration',
  },
  {
    code: 'Z',
    prefix: 'BR-Z',
    name: 'Zero rated',
    perRate: false,
    rate: 'zero',
    exemption: 'forbidden',
    seller: 'vat-or-registration',
  },
  {
    code: 'E',
    prefix: 'BR-E',
    name: 'Exempt from VAT',
    perRate: false,
    rate: 'zero',
    exemption: 'required',
    seller: 'vat-or-registration',
  },
  {
    code: 'AE',
    prefix: 'BR-AE',
    name: 'Reverse charge',
    perRate: false,
    rate: 'zero',
    exemption: 'required',
    seller: 'vat-or-registration',
    buyer: 'vat-or-legal',
  },
  {
    code: 'K',
    prefix: 'BR-IC',
    name: 'Intra-community supply',
    perRate: false,
    rate: 'zero',
    exemption: 'required',
    seller: 'vat-only',
    buyer: 'vat',
  },
  {
    code: 'G',
    prefix: 'BR-G',
    name: 'Export outside the EU',
    perRate: false,
    rate: 'zero',
    exemption: 'required',
    seller: 'vat-only',
  },
  {
    code: 'O',
    prefix: 'BR-O',
    name: 'Not subject to VAT',
    perRate: false,
    rate: 'absent',
    exemption: 'required',
    seller: 'none',
  },
  {
    code: 'L',
    prefix: 'BR-AF',
    name: 'IGIC (Canary Islands)',
    perRate: true,
    rate: 'non-negative',
    exemption: 'forbidden',
    seller: 'vat-or-registration',
  },
  {
    code: 'M',
    prefix: 'BR-AG',
    name: 'IPSI (Ceuta and Melilla)',
    perRate: true,
    rate: 'non-negative',
    exemption: 'forbidden',
    seller: 'vat-or-registration',
  },
];

/**
 * The VAT category rules of EN 16931 (BR-S-*, BR-Z-*, … BR-AG-*). Each
 * holds trivially when its category appears nowhere, so that case is
 * answered before any rule looks further.
 */
export const vatRules: Rule[] = CATEGORIES.flatMap((c) =>
  [...categoryRules(c), ...extraRules(c)].map((r) => ({
    ...r,
    check: (doc: UblDocument, fail: Fail) => {
      if (doc.categoryCodes().has(c.code)) r.check(doc, fail);
    },
  })),
);

function categoryRules(c: Category): Rule[] {
  const p = c.prefix;
  const n = `'${c.name}' (${c.code})`;
  return [
    rule(
      `${p}-01`,
      'BT-118',
      `An invoice using VAT category ${n} on a line, allowance or charge shall have ${c.perRate ? 'at least one' : 'exactly one'} VAT breakdown (BG-23) with that category, and only then`,
      (doc, fail) => {
        const used = usedCategories(doc, c.code).length > 0;
        const count = subtotalCategories(doc, c.code, false).length;
        const ok = used
          ? c.perRate
            ? count > 0
            : count === 1
          : count === 0 || (!c.perRate && count === 1);
        if (!ok) fail();
      },
    ),
    partyRule(`${p}-02`, c, 'line', (doc) => lineCategories(doc, c.code)),
    partyRule(`${p}-03`, c, 'allowance', (doc) =>
      acCategories(doc.allowances, c.code),
    ),
    partyRule(`${p}-04`, c, 'charge', (doc) =>
      acCategories(doc.charges, c.code),
    ),
    rateRule(`${p}-05`, 'BT-152', c, 'invoiced item', (doc) =>
      lineCategories(doc, c.code),
    ),
    rateRule(`${p}-06`, 'BT-96', c, 'document level allowance', (doc) =>
      acCategories(doc.allowances, c.code),
    ),
    rateRule(`${p}-07`, 'BT-103', c, 'document level charge', (doc) =>
      acCategories(doc.charges, c.code),
    ),
    rule(
      `${p}-08`,
      'BT-116',
      `For VAT category ${n}${c.perRate ? ' and each rate' : ''} the taxable amount (BT-116) shall equal the line net amounts plus charges minus allowances of that category`,
      (doc, fail) => {
        for (const category of subtotalCategories(doc, c.code, true)) {
          if (!taxableMatches(doc, c, category)) fail(category.parentNode!);
        }
      },
    ),
    rule(
      `${p}-09`,
      'BT-117',
      c.perRate
        ? `For VAT category ${n} the tax amount (BT-117) shall equal the taxable amount (BT-116) times the rate (BT-119)`
        : `For VAT category ${n} the VAT category tax amount (BT-117) shall be 0`,
      (doc, fail) => {
        for (const category of subtotalCategories(doc, c.code, true)) {
          const subtotal = category.parentNode!;
          if (!taxAmountMatches(c, subtotal, category)) fail(subtotal);
        }
      },
    ),
    rule(
      `${p}-10`,
      'BT-120',
      c.exemption === 'required'
        ? `A VAT breakdown with category ${n} shall have an exemption reason (BT-120, cbc:TaxExemptionReason) or code (BT-121)`
        : `A VAT breakdown with category ${n} shall not have an exemption reason (BT-120) or code (BT-121)`,
      (doc, fail) => {
        for (const category of subtotalCategories(doc, c.code, true)) {
          const reason =
            has(category, 'TaxExemptionReason') ||
            has(category, 'TaxExemptionReasonCode');
          if (reason !== (c.exemption === 'required')) fail(category);
        }
      },
    ),
  ];
}

function extraRules(c: Category): Rule[] {
  if (c.code === 'K') {
    return [
      rule(
        'BR-IC-11',
        'BT-72',
        'An intra-community supply (K) shall have the actual delivery date (BT-72) or the invoicing period (BG-14)',
        (doc, fail) => {
          if (subtotalCategories(doc, 'K', true).length === 0) return;
          const delivered = has(doc.root, 'Delivery/ActualDeliveryDate');
          const period = kids(doc.root, 'InvoicePeriod').some(
            (p) => kids(p).length > 0,
          );
          if (!delivered && !period) fail();
        },
      ),
      rule(
        'BR-IC-12',
        'BT-80',
        'An intra-community supply (K) shall have the deliver to country code (BT-80, cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode)',
        (doc, fail) => {
          if (subtotalCategories(doc, 'K', true).length === 0) return;
          const country = all(
            doc.root,
            'Delivery/DeliveryLocation/Address/Country/IdentificationCode',
          );
          if (!country.some((el) => (el.textContent ?? '').trim().length > 1))
            fail();
        },
      ),
    ];
  }
  if (c.code !== 'O') return [];
  const onlyO = (
    id: string,
    what: string,
    pick: (doc: UblDocument) => UblElement[],
  ) =>
    rule(
      id,
      'BT-118',
      `An invoice with VAT category 'Not subject to VAT' (O) shall not contain ${what} with another VAT category`,
      (doc, fail) => {
        if (subtotalCategories(doc, 'O', true).length === 0) return;
        for (const category of pick(doc))
          if (categoryCode(category) !== 'O') fail(category);
      },
    );
  return [
    onlyO('BR-O-11', 'a VAT breakdown (BG-23)', (doc) =>
      doc.subtotals.map((st) => kid(st, 'TaxCategory')).filter(isElement),
    ),
    onlyO('BR-O-12', 'an invoice line (BT-151)', (doc) => doc.lineCategories()),
    onlyO('BR-O-13', 'a document level allowance (BT-95)', (doc) =>
      doc.allowances.flatMap((ac) => kids(ac, 'TaxCategory')),
    ),
    onlyO('BR-O-14', 'a document level charge (BT-102)', (doc) =>
      doc.charges.flatMap((ac) => kids(ac, 'TaxCategory')),
    ),
  ];
}

function isElement(el: UblElement | undefined): el is UblElement {
  return el !== undefined;
}

/** Every line, allowance or charge category with `code`, any scheme. */
function usedCategories(doc: UblDocument, code: string): UblElement[] {
  const fromLines = doc.lineCategories();
  const fromAc = [...doc.allowances, ...doc.charges].flatMap((ac) =>
    kids(ac, 'TaxCategory'),
  );
  return [...fromLines, ...fromAc].filter((c) => categoryCode(c) === code);
}

/** Breakdown categories with `code` (VAT scheme only when `vat`). */
function subtotalCategories(
  doc: UblDocument,
  code: string,
  vat: boolean,
): UblElement[] {
  return doc.subtotals
    .map((st) => kid(st, 'TaxCategory'))
    .filter(isElement)
    .filter((c) => categoryCode(c) === code && (!vat || isVatScheme(c)));
}

function lineCategories(doc: UblDocument, code: string): UblElement[] {
  return doc
    .lineCategories()
    .filter((c) => categoryCode(c) === code && isVatScheme(c));
}

function acCategories(acs: UblElement[], code: string): UblElement[] {
  return acs
    .flatMap((ac) => kids(ac, 'TaxCategory'))
    .filter((c) => categoryCode(c) === code && isVatScheme(c));
}

function partyRule(
  id: string,
  c: Category,
  where: 'line' | 'allowance' | 'charge',
  pick: (doc: UblDocument) => UblElement[],
): Rule {
  const seller = {
    'vat-or-registration':
      'the seller VAT identifier (BT-31), the seller tax registration identifier (BT-32) and/or the seller tax representative VAT identifier (BT-63)',
    'vat-only':
      'the seller VAT identifier (BT-31) or the seller tax representative VAT identifier (BT-63)',
    none: 'neither the seller VAT identifier (BT-31), the seller tax representative VAT identifier (BT-63) nor the buyer VAT identifier (BT-48)',
  }[c.seller];
  const buyer =
    c.buyer === 'vat'
      ? ' and the buyer VAT identifier (BT-48)'
      : c.buyer === 'vat-or-legal'
        ? ' and the buyer VAT identifier (BT-48) or legal registration identifier (BT-47)'
        : '';
  const message = `An invoice with an ${where} of VAT category '${c.name}' (${c.code}) shall contain ${seller}${buyer}`;
  return rule(id, 'BT-31', message, (doc, fail) => {
    const elements = pick(doc);
    if (elements.length === 0 || partiesOk(doc, c)) return;
    for (const el of elements) fail(el);
  });
}

function partiesOk(doc: UblDocument, c: Category): boolean {
  const sellerVat = doc.sellerVatId() !== undefined;
  const repVat = doc.taxRepresentativeVatId() !== undefined;
  const buyerVat = doc.buyerVatId() !== undefined;
  if (c.seller === 'none') return !sellerVat && !repVat && !buyerVat;
  const registration = doc.sellerTaxRegistrationId() !== undefined;
  const seller =
    c.seller === 'vat-only'
      ? sellerVat || repVat
      : sellerVat || repVat || registration;
  if (!seller) return false;
  if (c.buyer === 'vat') return buyerVat;
  if (c.buyer === 'vat-or-legal')
    return buyerVat || has(doc.buyer, 'PartyLegalEntity/CompanyID');
  return true;
}

function rateRule(
  id: string,
  field: string,
  c: Category,
  what: string,
  pick: (doc: UblDocument) => UblElement[],
): Rule {
  const rate = {
    positive: 'greater than zero',
    zero: '0',
    absent: 'absent',
    'non-negative': '0 or greater',
  }[c.rate];
  return rule(
    id,
    field,
    `The ${what} VAT rate (${field}, cbc:Percent) of category '${c.name}' (${c.code}) shall be ${rate}`,
    (doc, fail) => {
      for (const category of pick(doc))
        if (!rateOk(c, category)) fail(category);
    },
  );
}

function rateOk(c: Category, category: UblElement): boolean {
  const percent = numAt(category, 'Percent');
  if (c.rate === 'absent') return percent === undefined;
  if (percent === undefined || percent.isNaN()) return false;
  if (c.rate === 'positive') return percent.greaterThan(0);
  if (c.rate === 'zero') return percent.isZero();
  return percent.greaterThanOrEqualTo(0);
}

function taxableMatches(
  doc: UblDocument,
  c: Category,
  category: UblElement,
): boolean {
  const subtotal = category.parentNode!;
  const taxable = numAt(subtotal, 'TaxableAmount') ?? new Decimal(NaN);
  const rate = numAt(category, 'Percent');
  const sameRate = (cat: UblElement | undefined): boolean => {
    if (!cat || categoryCode(cat) !== c.code) return false;
    if (!c.perRate) return true;
    const r = numAt(cat, 'Percent');
    return r !== undefined && rate !== undefined && r.equals(rate);
  };
  const lines = doc.lines.filter((l) =>
    sameRate(at(l, 'Item/ClassifiedTaxCategory')),
  );
  const charges = doc.charges.filter((ac) => sameRate(kid(ac, 'TaxCategory')));
  const allowances = doc.allowances.filter((ac) =>
    sameRate(kid(ac, 'TaxCategory')),
  );
  if (c.perRate && lines.length + charges.length + allowances.length === 0)
    return false;
  const sum = (els: UblElement[], name: string) =>
    els.reduce((s, el) => s.plus(num(kid(el, name)) ?? 0), new Decimal(0));
  const expected = sum(lines, 'LineExtensionAmount')
    .plus(sum(charges, 'Amount'))
    .minus(sum(allowances, 'Amount'));
  if (!c.perRate) return equalsRounded(taxable, expected);
  return (
    taxable.minus(1).lessThan(expected) && taxable.plus(1).greaterThan(expected)
  );
}

function taxAmountMatches(
  c: Category,
  subtotal: UblElement,
  category: UblElement,
): boolean {
  const tax = numAt(subtotal, 'TaxAmount') ?? new Decimal(NaN);
  if (!c.perRate) return tax.isZero();
  const taxable = numAt(subtotal, 'TaxableAmount') ?? new Decimal(NaN);
  const percent = numAt(category, 'Percent') ?? new Decimal(NaN);
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
