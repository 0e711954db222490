import { describe, expect, it } from 'vitest';
import { isTimeZone, periodBounds } from './budget-period.ts';

const never = new Date(0);

describe('budget periods', () => {
  it('knows real time zones and refuses made-up ones', () => {
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone('+05:00x')).toBe(false);
  });

  it('starts a day at local midnight', () => {
    const bounds = periodBounds('DAY', 'America/New_York', new Date('2026-07-10T03:30:00Z'), never);
    // 03:30 UTC is still 9 July in New York (UTC-4 in summer).
    expect(bounds.start.toISOString()).toBe('2026-07-09T04:00:00.000Z');
    expect(bounds.end?.toISOString()).toBe('2026-07-10T04:00:00.000Z');
  });

  it('follows daylight saving: the spring-forward day has 23 hours', () => {
    const bounds = periodBounds('DAY', 'Europe/Paris', new Date('2026-03-29T12:00:00Z'), never);
    expect(bounds.start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(bounds.end?.toISOString()).toBe('2026-03-29T22:00:00.000Z');
  });

  it('starts a week on Monday and a month on the 1st, across year ends', () => {
    // Sunday 3 January 2027, 10:00 in Tokyo: the week began on Monday 28 December 2026.
    const week = periodBounds('WEEK', 'Asia/Tokyo', new Date('2027-01-03T01:00:00Z'), never);
    expect(week.start.toISOString()).toBe('2026-12-27T15:00:00.000Z');
    expect(week.end?.toISOString()).toBe('2027-01-03T15:00:00.000Z');
    const month = periodBounds('MONTH', 'Asia/Kolkata', new Date('2026-12-31T20:00:00Z'), never);
    // 01:30 on 1 January 2027 in India (UTC+5:30): January has begun there.
    expect(month.start.toISOString()).toBe('2026-12-31T18:30:00.000Z');
    expect(month.end?.toISOString()).toBe('2027-01-31T18:30:00.000Z');
  });

  it('a TOTAL period starts when the budget does and never ends', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    expect(periodBounds('TOTAL', 'UTC', new Date(), created)).toEqual({ start: created, end: null });
  });
});
