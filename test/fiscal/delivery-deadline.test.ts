import { describe, expect, it } from 'vitest';
import { deliveryDeadline, deliveryDeadlineDate } from '../../src/fiscal/qr.js';

/** A Zagreb wall-clock time in summer (UTC+2) or winter (UTC+1). */
function zagreb(local: string, offsetHours: 1 | 2): Date {
  return new Date(`${local}+0${offsetHours}:00`);
}

describe('late-delivery deadline: two working days after issue', () => {
  it.each([
    ['Monday → Wednesday', zagreb('2026-05-11T10:00:00', 2), '2026-05-13'],
    [
      'Friday → Tuesday over the weekend',
      zagreb('2026-05-15T10:00:00', 2),
      '2026-05-19',
    ],
    [
      'Friday before Easter Monday → Wednesday',
      zagreb('2026-04-03T10:00:00', 2),
      '2026-04-08',
    ],
    [
      'Wednesday before Corpus Christi (Thursday) → Monday',
      zagreb('2026-06-03T10:00:00', 2),
      '2026-06-08',
    ],
    [
      'Wednesday before Christmas → Monday after it',
      zagreb('2026-12-23T10:00:00', 1),
      '2026-12-28',
    ],
    [
      '00:30 Friday in Zagreb (Thursday in UTC) counts from Friday',
      new Date('2026-05-14T22:30:00Z'),
      '2026-05-19',
    ],
  ])('%s', (_name, issuedAt, expected) => {
    expect(deliveryDeadlineDate(issuedAt)).toBe(expected);
  });

  it('five working days after a device failure, over New Year and Epiphany', () => {
    expect(deliveryDeadlineDate(zagreb('2026-12-30T12:00:00', 1), 5)).toBe(
      '2027-01-08',
    );
  });

  it('ends at midnight in Zagreb, summer and winter time', () => {
    expect(deliveryDeadline(zagreb('2026-05-15T10:00:00', 2))).toEqual(
      new Date('2026-05-19T21:59:59.999Z'),
    );
    expect(deliveryDeadline(zagreb('2026-12-23T10:00:00', 1))).toEqual(
      new Date('2026-12-28T22:59:59.999Z'),
    );
  });

  it('a deadline on the day clocks go back still ends at Zagreb midnight', () => {
    // Thursday 22 Oct 2026 + 2 working days = Monday 26 Oct; the clocks
    // change on Sunday 25 Oct, so the deadline is in winter time.
    expect(deliveryDeadline(zagreb('2026-10-22T09:00:00', 2))).toEqual(
      new Date('2026-10-26T22:59:59.999Z'),
    );
  });
});
