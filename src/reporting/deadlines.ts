import {
  addWorkingDays,
  isCalendarDate,
  onOrNextWorkingDay,
  zagrebDate,
} from '../calendar/croatian-calendar.js';

/**
 * The legal deadlines of Fiskalizacija 2.0 reporting, as the last
 * Europe/Zagreb calendar day (`YYYY-MM-DD`) a report may be made on.
 *
 * - An outgoing e-invoice (`I`) is reported when it is issued: due on
 *   its issue date, so it is listed as due at once.
 * - An incoming e-invoice (`U`) within 5 working days of its receipt.
 * - A payment (Naplata) and a rejection (Odbijanje) by the 20th of the
 *   month after the payment or rejection. When the 20th is not a
 *   working day the deadline moves to the next working day (the general
 *   rule for deadlines that end on a Saturday, Sunday or public holiday,
 *   Opći porezni zakon); docs/reporting.md says so.
 */

/** Working days an incoming e-invoice may wait for its report. */
export const INCOMING_WORKING_DAYS = 5;

/** The day of the following month payments and rejections are due. */
export const MONTHLY_DUE_DAY = 20;

/** An outgoing e-invoice: due on the day it was issued. */
export function outgoingDeadline(issueDate: string): string {
  assertDate(issueDate, 'issueDate');
  return issueDate;
}

/** An incoming e-invoice: 5 working days after the day it arrived. */
export function incomingDeadline(receivedAt: Date): string {
  return addWorkingDays(zagrebDate(receivedAt), INCOMING_WORKING_DAYS);
}

/**
 * A payment or rejection on `eventDate`: the 20th of the next month,
 * or the first working day after it when the 20th is not one.
 */
export function monthlyDeadline(eventDate: string): string {
  assertDate(eventDate, 'eventDate');
  const year = Number(eventDate.slice(0, 4));
  const month = Number(eventDate.slice(5, 7));
  const nextYear = month === 12 ? year + 1 : year;
  const nextMonth = month === 12 ? 1 : month + 1;
  const day = String(MONTHLY_DUE_DAY).padStart(2, '0');
  const twentieth = `${nextYear}-${String(nextMonth).padStart(2, '0')}-${day}`;
  return onOrNextWorkingDay(twentieth);
}

/**
 * Whole calendar days from `today` to `deadline` (negative once it has
 * passed). A report due today has 0 days left and is not yet overdue.
 */
export function daysLeft(deadline: string, today: string): number {
  assertDate(deadline, 'deadline');
  assertDate(today, 'today');
  return Math.round((Date.parse(deadline) - Date.parse(today)) / 86_400_000);
}

/** Whether the deadline's day has passed in Zagreb. */
export function isOverdue(deadline: string, today: string): boolean {
  return daysLeft(deadline, today) < 0;
}

function assertDate(value: string, field: string): void {
  if (!isCalendarDate(value)) {
    throw new RangeError(`${field}: not a YYYY-MM-DD date: ${value}`);
  }
}
