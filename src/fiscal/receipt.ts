import { Decimal } from 'decimal.js';
import { isValidOib } from '../companies/oib.js';
import { invalidInput } from '../errors/tenantgate-error.js';

/** An amount: a decimal string with a dot (`"12.50"`) or a Decimal. */
export type AmountInput = string | Decimal;

/** One line of a tax breakdown (VAT `Pdv`, consumption tax `Pnp`). */
export interface TaxLineInput {
  /** Percent, `"25.00"`. */
  rate: AmountInput;
  base: AmountInput;
  amount: AmountInput;
}

/** A tax other than VAT and consumption tax (`OstaliPor`). */
export interface OtherTaxInput extends TaxLineInput {
  name: string;
}

/** A fee (`Naknade`), for example packaging return. */
export interface FeeInput {
  name: string;
  amount: AmountInput;
}

/** Payment methods: G cash, K card, T transfer, O other. */
export type PaymentMethod = 'G' | 'K' | 'T' | 'O';

/**
 * A receipt to fiscalize, in the platform's terms. Amounts are decimal
 * strings with a dot or Decimal values (never floats) and are rounded
 * half-up to two places. Negative amounts are allowed only with
 * `storno: true`.
 */
export interface ReceiptInput {
  /** The issuer's OIB; must be the certificate's. */
  oib: string;
  /** `USustPdv`: whether the issuer is in the VAT system. */
  inVatSystem: boolean;
  /** The issue instant (stored); formatted in Europe/Zagreb. */
  issuedAt: Date;
  /** `OznSlijed`: numbering per premises (P) or per device (N). */
  sequenceMark: 'P' | 'N';
  /** `BrOznRac`: digits, no leading zeros. */
  number: string;
  /** `OznPosPr`: `[0-9a-zA-Z]{1,20}`. */
  premises: string;
  /** `OznNapUr`: digits. */
  device: string;
  vat?: TaxLineInput[];
  consumptionTax?: TaxLineInput[];
  otherTaxes?: OtherTaxInput[];
  /** `IznosOslobPdv`: amount exempt from VAT. */
  exemptAmount?: AmountInput;
  /** `IznosMarza`: margin scheme amount. */
  marginAmount?: AmountInput;
  /** `IznosNePodlOpor`: amount not subject to tax. */
  notTaxableAmount?: AmountInput;
  fees?: FeeInput[];
  /** `IznosUkupno`. */
  total: AmountInput;
  paymentMethod: PaymentMethod;
  /** `OibOper`: the OIB of the person who issued the receipt. */
  operatorOib: string;
  /** A cancelling receipt: amounts may be negative. Default false. */
  storno?: boolean;
  /** `ParagonBrRac`: the paper receipt number, for late delivery. */
  paragonNumber?: string;
  /** `SpecNamj`: reserved free text. */
  specialPurpose?: string;
  /** `OibPrimateljaRacuna`: the buyer, for B2B cash or card sales. */
  buyerOib?: string;
}

export interface TaxLine {
  rate: string;
  base: string;
  amount: string;
}

/** A receipt checked and normalised: every value as CIS wants it. */
export interface Receipt {
  oib: string;
  inVatSystem: boolean;
  issuedAt: Date;
  sequenceMark: 'P' | 'N';
  number: string;
  premises: string;
  device: string;
  vat: TaxLine[];
  consumptionTax: TaxLine[];
  otherTaxes: (TaxLine & { name: string })[];
  exemptAmount: string | null;
  marginAmount: string | null;
  notTaxableAmount: string | null;
  fees: { name: string; amount: string }[];
  total: string;
  paymentMethod: PaymentMethod;
  operatorOib: string;
  paragonNumber: string | null;
  specialPurpose: string | null;
  buyerOib: string | null;
}

const AMOUNT = /^[+-]?\d{1,15}(?:\.\d+)?$/;

/**
 * Checks a receipt and normalises it. Throws INVALID_INPUT naming the
 * field and the rule: an OIB with a bad check digit, an amount with a
 * comma, a missing operator OIB, a negative total without storno.
 */
export function prepareReceipt(input: ReceiptInput): Receipt {
  const negative = input.storno === true;
  const money = (field: string, value: AmountInput) =>
    amount(field, value, negative);
  const lines = (field: string, list: TaxLineInput[] = []) =>
    list.map((line, i) => ({
      rate: rate(`${field}[${i}].rate`, line.rate),
      base: money(`${field}[${i}].base`, line.base),
      amount: money(`${field}[${i}].amount`, line.amount),
    }));

  const receipt: Receipt = {
    oib: oib('oib', input.oib),
    inVatSystem: bool('inVatSystem', input.inVatSystem),
    issuedAt: instant('issuedAt', input.issuedAt),
    sequenceMark: oneOf('sequenceMark', input.sequenceMark, ['P', 'N']),
    number: pattern('number', input.number, /^[1-9]\d{0,19}$/, 'digits'),
    premises: pattern('premises', input.premises, /^[0-9a-zA-Z]{1,20}$/),
    device: pattern('device', input.device, /^[1-9]\d{0,19}$/, 'digits'),
    vat: lines('vat', input.vat),
    consumptionTax: lines('consumptionTax', input.consumptionTax),
    otherTaxes: (input.otherTaxes ?? []).map((line, i) => ({
      name: text(`otherTaxes[${i}].name`, line.name, 100),
      ...lines('otherTaxes', [line])[0]!,
    })),
    exemptAmount: optional(input.exemptAmount, (v) => money('exemptAmount', v)),
    marginAmount: optional(input.marginAmount, (v) => money('marginAmount', v)),
    notTaxableAmount: optional(input.notTaxableAmount, (v) =>
      money('notTaxableAmount', v),
    ),
    fees: (input.fees ?? []).map((fee, i) => ({
      name: text(`fees[${i}].name`, fee.name, 100),
      amount: money(`fees[${i}].amount`, fee.amount),
    })),
    total: money('total', input.total),
    paymentMethod: oneOf('paymentMethod', input.paymentMethod, [
      'G',
      'K',
      'T',
      'O',
    ]),
    operatorOib: oib('operatorOib', input.operatorOib),
    paragonNumber: optional(input.paragonNumber, (v) =>
      text('paragonNumber', v, 100),
    ),
    specialPurpose: optional(input.specialPurpose, (v) =>
      text('specialPurpose', v, 1000),
    ),
    buyerOib: optional(input.buyerOib, (v) => oib('buyerOib', v)),
  };
  if (receipt.buyerOib && receipt.paymentMethod === 'T') {
    throw invalidInput(
      'paymentMethod',
      'buyer-oib-not-with-transfer',
      'paymentMethod: T (transfer) is not allowed with OibPrimateljaRacuna',
    );
  }
  return receipt;
}

function amount(field: string, value: AmountInput, negative: boolean) {
  const decimal = toDecimal(field, value);
  if (decimal.isNegative() && !decimal.isZero() && !negative) {
    throw invalidInput(
      field,
      'negative-needs-storno',
      `${field}: a negative amount needs storno: true`,
    );
  }
  const fixed = decimal.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2);
  if (!/^[+-]?\d{1,15}\.\d{2}$/.test(fixed)) {
    throw invalidInput(field, 'max-15-digits', `${field}: too large`);
  }
  return fixed;
}

function rate(field: string, value: AmountInput): string {
  const decimal = toDecimal(field, value);
  if (decimal.isNegative() || decimal.greaterThan(999)) {
    throw invalidInput(field, 'rate-range', `${field}: 0 to 999 percent`);
  }
  return decimal.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2);
}

function toDecimal(field: string, value: AmountInput): Decimal {
  if (value instanceof Decimal) {
    if (value.isFinite()) return value;
    throw invalidInput(field, 'finite', `${field}: not a finite number`);
  }
  if (typeof value !== 'string') {
    throw invalidInput(
      field,
      'decimal-string',
      `${field}: give a decimal string or Decimal, never a float`,
    );
  }
  if (value.includes(',')) {
    throw invalidInput(
      field,
      'dot-decimal',
      `${field}: '${value}' uses a comma; write amounts with a dot`,
    );
  }
  if (!AMOUNT.test(value)) {
    throw invalidInput(field, 'decimal', `${field}: '${value}' is no amount`);
  }
  return new Decimal(value);
}

function oib(field: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw invalidInput(field, 'required', `${field}: an OIB is required`);
  }
  if (!isValidOib(value)) {
    throw invalidInput(
      field,
      'iso7064-mod11-10',
      `${field}: '${value}' is not 11 digits with a valid check digit`,
    );
  }
  return value;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw invalidInput(field, 'boolean', `${field}: true or false`);
}

function instant(field: string, value: unknown): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  throw invalidInput(field, 'instant', `${field}: a valid Date is required`);
}

function oneOf<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
): T {
  if (value !== undefined && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw invalidInput(
    field,
    'enum',
    `${field}: one of ${allowed.join(', ')}, got '${value ?? ''}'`,
  );
}

function pattern(
  field: string,
  value: string | undefined,
  re: RegExp,
  rule = 'pattern',
): string {
  if (value !== undefined && re.test(value)) return value;
  throw invalidInput(
    field,
    rule,
    `${field}: '${value ?? ''}' does not match ${re.source}`,
  );
}

function text(field: string, value: string | undefined, max: number): string {
  if (value === undefined || value.length < 1 || value.length > max) {
    throw invalidInput(field, 'length', `${field}: 1 to ${max} characters`);
  }
  if (NOT_XML_CHAR.test(value)) {
    throw invalidInput(
      field,
      'xml-characters',
      `${field}: a character XML 1.0 cannot carry`,
    );
  }
  return value;
}

/** Control characters (but tab, LF, CR), lone surrogates, U+FFFE/F. */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function optional<T, R>(value: T | undefined, parse: (v: T) => R): R | null {
  return value === undefined || value === null ? null : parse(value);
}
