import { Decimal } from 'decimal.js';

/**
 * EN 16931 rounding to two decimals, half away from zero, so that
 * -2.345 becomes -2.35 exactly as 2.345 becomes 2.35 (symmetric).
 */
export function roundAmount(value: Decimal.Value): Decimal {
  return new Decimal(value).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/**
 * A line net amount (BT-131): quantity × price ÷ base quantity, rounded,
 * minus the rounded line allowances plus the rounded line charges.
 */
export function lineNetAmount(input: {
  quantity: Decimal.Value;
  price: Decimal.Value;
  baseQuantity?: Decimal.Value;
  allowances?: Decimal.Value[];
  charges?: Decimal.Value[];
}): Decimal {
  const gross = roundAmount(
    new Decimal(input.quantity)
      .times(input.price)
      .dividedBy(input.baseQuantity ?? 1),
  );
  const sum = (values: Decimal.Value[] = []) =>
    values.reduce<Decimal>((s, v) => s.plus(roundAmount(v)), new Decimal(0));
  return gross.minus(sum(input.allowances)).plus(sum(input.charges));
}

/** VAT of one category (BT-117): from the category base, rounded. */
export function vatAmount(
  taxableAmount: Decimal.Value,
  ratePercent: Decimal.Value,
): Decimal {
  return roundAmount(
    new Decimal(taxableAmount).times(ratePercent).dividedBy(100),
  );
}

/** Writes an amount with exactly two decimals (`1234.50`). */
export function formatAmount(value: Decimal): string {
  return value.toFixed(2);
}
