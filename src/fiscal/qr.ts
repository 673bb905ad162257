import { Decimal } from 'decimal.js';
import {
  addCalendarDays,
  addWorkingDays,
  zagrebDate,
} from '../calendar/croatian-calendar.js';
import { zagrebParts, zagrebQrTime } from './zagreb-time.js';

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
 * The late-delivery deadline of a receipt issued at `from`: the end
 * (23:59:59.999 in Europe/Zagreb) of the `days`-th working day after
 * its Zagreb issue date, weekends and Croatian public holidays not
 * counted. Default two, the rule after a CIS outage; five applies after
 * a device failure.
 */
export function deliveryDeadline(from: Date, days = 2): Date {
  return endOfZagrebDay(deliveryDeadlineDate(from, days));
}

/** The deadline's Zagreb calendar date, `YYYY-MM-DD`. */
export function deliveryDeadlineDate(from: Date, days = 2): string {
  return addWorkingDays(zagrebDate(from), days);
}

/** The last millisecond of a Zagreb calendar date. */
function endOfZagrebDay(date: string): Date {
  const next = addCalendarDays(date, 1);
  const [y, m, d] = next.split('-').map(Number);
  const utcMidnight = Date.UTC(y as number, (m as number) - 1, d as number);
  // Zagreb is UTC+1 or UTC+2; midnight always exists there.
  for (const hours of [1, 2]) {
    const instant = new Date(utcMidnight - hours * 3_600_000);
    const p = zagrebParts(instant);
    if (`${p.year}-${p.month}-${p.day}` === next && p.hour === '00') {
      return new Date(instant.getTime() - 1);
    }
  }
  throw new RangeError(`no Zagreb midnight before ${next}`);
}
