/**
 * OIB, the Croatian personal identification number: 11 digits, the last
 * an ISO 7064 MOD 11,10 check digit. Always a string (leading zeros).
 */
export function oibCheckDigit(first10: string): number {
  let product = 10;
  for (const ch of first10) {
    let sum = (Number(ch) + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product;
  return check === 10 ? 0 : check;
}

export function isValidOib(value: string): boolean {
  if (!/^[0-9]{11}$/.test(value)) return false;
  return oibCheckDigit(value.slice(0, 10)) === Number(value[10]);
}

/** A valid OIB from any 10 leading digits. */
export function completeOib(first10: string): string {
  return first10 + String(oibCheckDigit(first10));
}
