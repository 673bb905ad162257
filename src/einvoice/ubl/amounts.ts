/**
 * The amounts of an invoice model: line nets, the VAT breakdown (EN and
 * HR) and the document totals, all in decimal arithmetic with EN 16931
 * rounding. The builder writes what this computes and nothing else.
 */
import { Decimal } from 'decimal.js';
import { invalidInput } from '../../errors/tenantgate-error.js';
import type {
  AllowanceChargeModel,
  Amount,
  InvoiceModel,
  LineModel,
  VatModel,
} from './model.js';
import { lineNetAmount, vatAmount } from './rounding.js';

/** Labels of amounts outside the VAT base (HR extension, HR-BR-30). */
export const OUT_OF_BASE = new Set(['HR:POVNAK', 'HR:PP', 'HR:PPMV', 'HR:N']);

/** One row of a VAT breakdown, EN (BG-23) or HR (HR-BG-2). */
export interface Breakdown {
  category: string;
  rate: Decimal | undefined;
  label: string;
  taxable: Decimal;
  tax: Decimal;
  vat: VatModel;
  /** HR breakdown rows outside the VAT base use tax scheme OTH. */
  scheme: 'VAT' | 'OTH';
}

/** The totals the builder derived, as written into the document. */
export interface UblTotals {
  lineExtension: Decimal;
  allowances: Decimal;
  charges: Decimal;
  taxExclusive: Decimal;
  tax: Decimal;
  taxInclusive: Decimal;
  prepaid: Decimal;
  payable: Decimal;
}

export function dec(value: Amount | undefined, field: string): Decimal {
  try {
    const d = new Decimal(value ?? 0);
    if (!d.isFinite()) throw new Error('not finite');
    return d;
  } catch {
    throw invalidInput(
      field,
      'decimal',
      `${field}: '${value}' is not a number`,
    );
  }
}

export function lineNet(line: LineModel, i: number): Decimal {
  const field = `lines[${i}]`;
  return lineNetAmount({
    quantity: dec(line.quantity, `${field}.quantity`),
    price: dec(line.price, `${field}.price`),
    baseQuantity: dec(line.baseQuantity ?? 1, `${field}.baseQuantity`),
    allowances: (line.allowances ?? []).map((a, j) =>
      dec(a.amount, `${field}.allowances[${j}].amount`),
    ),
    charges: (line.charges ?? []).map((c, j) =>
      dec(c.amount, `${field}.charges[${j}].amount`),
    ),
  });
}

function sumAmounts(items: AllowanceChargeModel[], field: string): Decimal {
  return items.reduce(
    (s, item, i) =>
      s.plus(
        dec(item.amount, `${field}[${i}].amount`).toDecimalPlaces(
          2,
          Decimal.ROUND_HALF_UP,
        ),
      ),
    new Decimal(0),
  );
}

export function computeTotals(
  model: InvoiceModel,
  nets: Decimal[],
  allowances: AllowanceChargeModel[],
  charges: AllowanceChargeModel[],
): UblTotals {
  const lineExtension = nets.reduce((s, n) => s.plus(n), new Decimal(0));
  const allowanceTotal = sumAmounts(allowances, 'allowances');
  const chargeTotal = sumAmounts(charges, 'charges');
  const taxExclusive = lineExtension.minus(allowanceTotal).plus(chargeTotal);
  const tax = vatBreakdown(model, nets).reduce(
    (s, row) => s.plus(row.tax),
    new Decimal(0),
  );
  const taxInclusive = taxExclusive.plus(tax);
  const prepaid = dec(model.prepaidAmount, 'prepaidAmount');
  return {
    lineExtension,
    allowances: allowanceTotal,
    charges: chargeTotal,
    taxExclusive,
    tax,
    taxInclusive,
    prepaid,
    payable: taxInclusive.minus(prepaid),
  };
}

export function rateOf(vat: VatModel, field: string): Decimal | undefined {
  if (vat.category === 'O') return undefined;
  if (vat.category === 'S' && vat.rate === undefined) {
    throw invalidInput(
      `${field}.rate`,
      'BR-S-05',
      `${field}.rate: required for category S`,
    );
  }
  return dec(vat.rate ?? 0, `${field}.rate`);
}

/** HR-TB-2 label: explicit, or derived from the category and rate. */
export function labelOf(vat: VatModel): string {
  if (vat.label) return vat.label;
  if (vat.category === 'S')
    return `HR:PDV${new Decimal(vat.rate ?? 0).toFixed()}`;
  return `HR:${vat.category}`;
}

interface Contribution {
  vat: VatModel;
  amount: Decimal;
  field: string;
}

export function contributions(
  model: InvoiceModel,
  nets: Decimal[],
): Contribution[] {
  const round = (a: Amount, f: string) =>
    dec(a, f).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  return [
    ...model.lines.map((l, i) => ({
      vat: l.vat,
      amount: nets[i]!,
      field: `lines[${i}].vat`,
    })),
    ...(model.charges ?? []).map((c, i) => ({
      vat: c.vat,
      amount: round(c.amount, `charges[${i}].amount`),
      field: `charges[${i}].vat`,
    })),
    ...(model.allowances ?? []).map((a, i) => ({
      vat: a.vat,
      amount: round(a.amount, `allowances[${i}].amount`).negated(),
      field: `allowances[${i}].vat`,
    })),
  ];
}

/** BG-23: one row per category and rate, VAT from the row's base. */
export function vatBreakdown(
  model: InvoiceModel,
  nets: Decimal[],
): Breakdown[] {
  return group(contributions(model, nets), (c) => {
    const rate = rateOf(c.vat, c.field);
    return {
      key: `${c.vat.category}|${rate?.toFixed() ?? ''}`,
      rate,
      label: labelOf(c.vat),
      category: c.vat.category,
      scheme: 'VAT' as const,
    };
  });
}

/** HR-BG-2: as BG-23, but amounts outside the VAT base become O/OTH. */
export function hrBreakdown(model: InvoiceModel, nets: Decimal[]): Breakdown[] {
  return group(contributions(model, nets), (c) => {
    const label = labelOf(c.vat);
    if (OUT_OF_BASE.has(label)) {
      return {
        key: `O|${label}`,
        rate: new Decimal(0),
        label,
        category: 'O',
        scheme: 'OTH' as const,
      };
    }
    const rate = rateOf(c.vat, c.field);
    return {
      key: `${c.vat.category}|${rate?.toFixed() ?? ''}|${label}`,
      rate,
      label,
      category: c.vat.category,
      scheme: 'VAT' as const,
    };
  });
}

function group(
  items: Contribution[],
  keyOf: (c: Contribution) => {
    key: string;
    rate: Decimal | undefined;
    label: string;
    category: string;
    scheme: 'VAT' | 'OTH';
  },
): Breakdown[] {
  const rows = new Map<string, Breakdown>();
  for (const item of items) {
    const k = keyOf(item);
    const row = rows.get(k.key) ?? {
      category: k.category,
      rate: k.rate,
      label: k.label,
      taxable: new Decimal(0),
      tax: new Decimal(0),
      vat: item.vat,
      scheme: k.scheme,
    };
    row.taxable = row.taxable.plus(item.amount);
    rows.set(k.key, row);
  }
  for (const row of rows.values()) {
    row.tax =
      row.category === 'S' && row.rate
        ? vatAmount(row.taxable, row.rate)
        : new Decimal(0);
  }
  return [...rows.values()];
}
