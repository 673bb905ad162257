import { zagrebParts } from '../fiscal/zagreb-time.js';

/**
 * Croatian public holidays and working days, on calendar dates written
 * `YYYY-MM-DD` as they fall in Europe/Zagreb. Legal deadlines (CIS late
 * delivery, Fiskalizacija 2.0 reporting) count these days, not instants.
 *
 * The holiday list is the one in force since 1 January 2020 (Zakon o
 * blagdanima, spomendanima i neradnim danima, NN 110/19). Earlier years
 * had a different list, so they are refused rather than answered wrongly.
 */

/** One public holiday: its date and its Croatian name. */
export interface PublicHoliday {
  date: string;
  name: string;
}

/** The first year the current holiday list applies to. */
export const FIRST_SUPPORTED_YEAR = 2020;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

const FIXED: readonly (readonly [string, string])[] = [
  ['01-01', 'Nova godina'],
  ['01-06', 'Bogojavljenje ili Sveta tri kralja'],
  ['05-01', 'Praznik rada'],
  ['05-30', 'Dan državnosti'],
  ['06-22', 'Dan antifašističke borbe'],
  ['08-05', 'Dan pobjede i domovinske zahvalnosti i Dan hrvatskih branitelja'],
  ['08-15', 'Velika Gospa'],
  ['11-01', 'Svi sveti'],
  [
    '11-18',
    'Dan sjećanja na žrtve Domovinskog rata i Dan sjećanja na žrtvu Vukovara i Škabrnje',
  ],
  ['12-25', 'Božić'],
  ['12-26', 'Sveti Stjepan'],
];

/** Days after Easter Sunday of the holidays that move with Easter. */
const MOVABLE: readonly (readonly [number, string])[] = [
  [0, 'Uskrs'],
  [1, 'Uskrsni ponedjeljak'],
  [60, 'Tijelovo'],
];

const cache = new Map<number, PublicHoliday[]>();

/**
 * Easter Sunday of a Gregorian year (the anonymous Gregorian computus,
 * also known as Meeus/Jones/Butcher), as `YYYY-MM-DD`.
 */
export function easterSunday(year: number): string {
  assertYear(year);
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return formatDate(Date.UTC(year, month - 1, day));
}

/**
 * The public holidays of a year in date order (14 entries). Throws a
 * RangeError for years before 2020 or after 9999.
 */
export function publicHolidays(year: number): PublicHoliday[] {
  assertYear(year);
  const known = cache.get(year);
  if (known) return known.map((holiday) => ({ ...holiday }));

  const easter = parseDate(easterSunday(year));
  const holidays: PublicHoliday[] = [
    ...FIXED.map(([monthDay, name]) => ({ date: `${year}-${monthDay}`, name })),
    ...MOVABLE.map(([offset, name]) => ({
      date: formatDate(easter + offset * DAY_MS),
      name,
    })),
  ].sort((x, y) => x.date.localeCompare(y.date));
  cache.set(year, holidays);
  return holidays.map((holiday) => ({ ...holiday }));
}

/** Whether a date is a Croatian public holiday. */
export function isPublicHoliday(date: string): boolean {
  const year = Number(date.slice(0, 4));
  parseDate(date);
  return publicHolidays(year).some((holiday) => holiday.date === date);
}

/** Whether a date is a working day: Monday to Friday and not a holiday. */
export function isWorkingDay(date: string): boolean {
  const weekday = new Date(parseDate(date)).getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  return !isPublicHoliday(date);
}

/**
 * The date `n` working days after `date` (before it for negative `n`);
 * `date` itself is never counted, so `addWorkingDays(friday, 1)` is the
 * next Monday that is not a holiday. `n = 0` returns `date` unchanged.
 */
export function addWorkingDays(date: string, n: number): string {
  if (!Number.isInteger(n)) {
    throw new RangeError(`addWorkingDays: ${n} is not an integer`);
  }
  let day = parseDate(date);
  const step = n < 0 ? -DAY_MS : DAY_MS;
  let left = Math.abs(n);
  while (left > 0) {
    day += step;
    if (isWorkingDay(formatDate(day))) left -= 1;
  }
  return formatDate(day);
}

/** `date` when it is a working day, otherwise the next working day. */
export function onOrNextWorkingDay(date: string): string {
  return isWorkingDay(date) ? date : addWorkingDays(date, 1);
}

/** The date `n` calendar days after `date` (before it when negative). */
export function addCalendarDays(date: string, n: number): string {
  return formatDate(parseDate(date) + n * DAY_MS);
}

/** The Europe/Zagreb calendar date of an instant, as `YYYY-MM-DD`. */
export function zagrebDate(instant: Date): string {
  const parts = zagrebParts(instant);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** Whether a string is a real calendar date written `YYYY-MM-DD`. */
export function isCalendarDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [, y, m, d] = match;
  const time = Date.UTC(Number(y), Number(m) - 1, Number(d));
  return formatDate(time) === value;
}

function parseDate(date: string): number {
  if (!isCalendarDate(date)) {
    throw new RangeError(`not a YYYY-MM-DD calendar date: ${date}`);
  }
  const year = Number(date.slice(0, 4));
  assertYear(year);
  return Date.UTC(year, Number(date.slice(5, 7)) - 1, Number(date.slice(8)));
}

function formatDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

function assertYear(year: number): void {
  if (!Number.isInteger(year) || year < FIRST_SUPPORTED_YEAR || year > 9999) {
    throw new RangeError(
      `Croatian holidays are known for ${FIRST_SUPPORTED_YEAR}-9999, not ${year}`,
    );
  }
}
