import { describe, expect, it } from 'vitest';
import {
  daysLeft,
  incomingDeadline,
  isOverdue,
  monthlyDeadline,
  outgoingDeadline,
} from '../../src/reporting/deadlines.js';

describe('outgoing e-invoices are due when issued', () => {
  it('is due on its issue date, even a Sunday', () => {
    expect(outgoingDeadline('2026-04-05')).toBe('2026-04-05');
  });
});

describe('incoming e-invoices: 5 working days after receipt', () => {
  it('skips a weekend', () => {
    // Received Thursday 12 March 2026 (Zagreb).
    expect(incomingDeadline(new Date('2026-03-12T09:00:00Z'))).toBe(
      '2026-03-19',
    );
  });

  it('skips Easter Monday', () => {
    // Received Wednesday 1 April 2026: Thu, Fri, (Easter), Tue, Wed, Thu.
    expect(incomingDeadline(new Date('2026-04-01T10:00:00Z'))).toBe(
      '2026-04-09',
    );
  });

  it('skips Christmas, St Stephen, New Year and Epiphany', () => {
    // Received Wednesday 23 December 2026: 24, 28, 29, 30, 31.
    expect(incomingDeadline(new Date('2026-12-23T10:00:00Z'))).toBe(
      '2026-12-31',
    );
    // Received Thursday 31 December 2026: 4, 5, 7, 8, 11 January.
    expect(incomingDeadline(new Date('2026-12-31T10:00:00Z'))).toBe(
      '2027-01-11',
    );
  });

  it('counts from the Zagreb date, not the UTC date', () => {
    // 23:30 UTC on Thursday 12 March is already Friday in Zagreb.
    expect(incomingDeadline(new Date('2026-03-12T23:30:00Z'))).toBe(
      '2026-03-20',
    );
    // 22:30 UTC is 23:30 on Thursday in Zagreb.
    expect(incomingDeadline(new Date('2026-03-12T22:30:00Z'))).toBe(
      '2026-03-19',
    );
  });
});

describe('payments and rejections: the 20th of the next month', () => {
  it('is the 20th when that is a working day', () => {
    expect(monthlyDeadline('2026-06-03')).toBe('2026-07-20');
  });

  it('crosses the year in December', () => {
    expect(monthlyDeadline('2026-12-31')).toBe('2027-01-20');
  });

  it('moves a Saturday 20th past a Monday holiday', () => {
    // 20 June 2026 is a Saturday and 22 June (Monday) a holiday.
    expect(monthlyDeadline('2026-05-31')).toBe('2026-06-23');
  });

  it('moves a Sunday 20th to the Monday', () => {
    expect(monthlyDeadline('2026-08-01')).toBe('2026-09-21');
  });
});

describe('overdue', () => {
  it('is due today with 0 days left and overdue the day after', () => {
    expect(daysLeft('2026-07-20', '2026-07-20')).toBe(0);
    expect(isOverdue('2026-07-20', '2026-07-20')).toBe(false);
    expect(isOverdue('2026-07-20', '2026-07-21')).toBe(true);
    expect(daysLeft('2026-07-20', '2026-07-10')).toBe(10);
  });

  it('refuses a malformed date', () => {
    expect(() => monthlyDeadline('2026-13-01')).toThrow(RangeError);
  });
});
