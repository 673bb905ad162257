import { Decimal } from 'decimal.js';
import { zagrebQrTime } from './zagreb-time.js';

/** Where the Tax Administration verifies a receipt. */
export const QR_BASE = 'https://porezna.gov.hr/rn';

/**
 * The receipt's verification link for its QR code: the JIR, the Zagreb
 * issue time `yyyyMMdd_HHmm` and the total in cents.
 */
export function receiptQrUrl(jir: string, issuedAt: Date, total: string) {
  const cents = new Decimal(total).times(100).toFixed(0);
  const query = new URLSearchParams({
    jir,
    datv: zagrebQrTime(issuedAt),
    izn: cents,
  });
  return `${QR_BASE}?${query.toString()}`;
}

/**
 * The late-delivery deadline: `days` working days (Monday to Friday,
 * public holidays not counted out) after `from`. Default two, the rule
 * after a CIS outage; five applies after a device failure.
 */
export function deliveryDeadline(from: Date, days = 2): Date {
  const at = new Date(from);
  let left = days;
  while (left > 0) {
    at.setUTCDate(at.getUTCDate() + 1);
    const day = at.getUTCDay();
    if (day !== 0 && day !== 6) left--;
  }
  return at;
}
