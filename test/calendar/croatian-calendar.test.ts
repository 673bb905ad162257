import { describe, expect, it } from 'vitest';
import {
  addWorkingDays,
  easterSunday,
  isCalendarDate,
  isPublicHoliday,
  isWorkingDay,
  onOrNextWorkingDay,
  publicHolidays,
  zagrebDate,
} from '../../src/calendar/croatian-calendar.js';

describe('Easter (Gregorian computus)', () => {
  it.each([
    [2020, '2020-04-12'],
    [2021, '2021-04-04'],
    [2022, '2022-04-17'],
    [2023, '2023-04-09'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2028, '2028-04-16'],
    [2038, '2038-04-25'],
    [2285, '2285-03-22'],
  ])('falls in %i on %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });
});

describe('public holidays', () => {
  it('lists the fourteen holidays of 2026 in date order', () => {
    expect(publicHolidays(2026).map((holiday) => holiday.date)).toEqual([
      '2026-01-01',
      '2026-01-06',
      '2026-04-05',
      '2026-04-06',
      '2026-05-01',
      '2026-05-30',
      '2026-06-04',
      '2026-06-22',
      '2026-08-05',
      '2026-08-15',
      '2026-11-01',
      '2026-11-18',
      '2026-12-25',
      '2026-12-26',
    ]);
  });

  it('names Corpus Christi sixty days after Easter', () => {
    const named = publicHolidays(2025).find((h) => h.name === 'Tijelovo');
    expect(named?.date).toBe('2025-06-19');
  });

  it('does not let a caller change the list another caller sees', () => {
    const first = publicHolidays(2027);
    first.splice(0, first.length);
    expect(publicHolidays(2027)).toHaveLength(14);
  });

  it('refuses years before the current holiday law', () => {
    expect(() => publicHolidays(2019)).toThrow(RangeError);
    expect(() => isWorkingDay('2019-12-31')).toThrow(RangeError);
  });
});

describe('working days', () => {
  it('treats weekends and holidays as non-working', () => {
    expect(isWorkingDay('2026-04-03')).toBe(true); // Good Friday works
    expect(isWorkingDay('2026-04-04')).toBe(false); // Saturday
    expect(isWorkingDay('2026-04-06')).toBe(false); // Easter Monday
    expect(isWorkingDay('2026-06-22')).toBe(false); // Monday holiday
    expect(isPublicHoliday('2026-05-30')).toBe(true); // on a Saturday
  });

  it('counts across a weekend', () => {
    expect(addWorkingDays('2026-03-13', 1)).toBe('2026-03-16');
    expect(addWorkingDays('2026-03-14', 1)).toBe('2026-03-16');
    expect(addWorkingDays('2026-03-12', 5)).toBe('2026-03-19');
  });

  it('counts across Easter Sunday and Monday', () => {
    expect(addWorkingDays('2026-04-03', 1)).toBe('2026-04-07');
    expect(addWorkingDays('2026-04-01', 5)).toBe('2026-04-09');
  });

  it('counts across Corpus Christi', () => {
    expect(addWorkingDays('2026-06-03', 1)).toBe('2026-06-05');
  });

  it('counts across Christmas and St Stephen', () => {
    expect(addWorkingDays('2026-12-24', 1)).toBe('2026-12-28');
    expect(addWorkingDays('2026-12-22', 5)).toBe('2026-12-30');
  });

  it('counts across New Year and Epiphany into the next year', () => {
    expect(addWorkingDays('2025-12-31', 1)).toBe('2026-01-02');
    expect(addWorkingDays('2026-12-31', 1)).toBe('2027-01-04');
    expect(addWorkingDays('2026-12-31', 5)).toBe('2027-01-11');
  });

  it('counts backwards for a negative count', () => {
    expect(addWorkingDays('2026-04-07', -1)).toBe('2026-04-03');
    expect(addWorkingDays('2027-01-04', -1)).toBe('2026-12-31');
  });

  it('returns the date itself for zero', () => {
    expect(addWorkingDays('2026-04-05', 0)).toBe('2026-04-05');
  });

  it('moves a deadline on a non-working day to the next working day', () => {
    expect(onOrNextWorkingDay('2026-06-20')).toBe('2026-06-23');
    expect(onOrNextWorkingDay('2026-07-20')).toBe('2026-07-20');
  });

  it('refuses malformed and impossible dates', () => {
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(() => addWorkingDays('2026-02-30', 1)).toThrow(RangeError);
    expect(() => addWorkingDays('2026-01-05', 1.5)).toThrow(RangeError);
  });
});

describe('Zagreb calendar date of an instant', () => {
  it('is the next day late in the UTC evening', () => {
    expect(zagrebDate(new Date('2026-12-31T23:30:00Z'))).toBe('2027-01-01');
    expect(zagrebDate(new Date('2026-06-30T22:30:00Z'))).toBe('2026-07-01');
    expect(zagrebDate(new Date('2026-06-30T21:30:00Z'))).toBe('2026-06-30');
  });
});
