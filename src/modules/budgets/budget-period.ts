/**
 * Budget periods in a time zone: a DAY starts at local midnight, a WEEK on Monday at local
 * midnight (ISO weeks), a MONTH on the 1st at local midnight, and TOTAL never ends. Daylight
 * saving changes make some local days 23 or 25 hours long; the bounds follow the wall clock.
 */

export const BUDGET_PERIODS = ['DAY', 'WEEK', 'MONTH', 'TOTAL'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export interface PeriodBounds {
  start: Date;
  /** Null for TOTAL. */
  end: Date | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** True for an IANA time zone name this runtime knows (`Europe/Paris`, `UTC`...). */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** The wall-clock date and time at `instant` in `timeZone`. */
function localParts(
  instant: number,
  timeZone: string,
): LocalDate & { hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/** The instant of local midnight starting `date` in `timeZone` (normalises day overflow). */
function localMidnight(date: LocalDate, timeZone: string): Date {
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  // Two passes settle the offset even when midnight is near a daylight-saving change.
  const first = wall - offsetAt(wall, timeZone);
  return new Date(wall - offsetAt(first, timeZone));
}

/** The period of `period` containing `now`, in `timeZone`. */
export function periodBounds(
  period: BudgetPeriod,
  timeZone: string,
  now: Date,
  totalStart: Date,
): PeriodBounds {
  if (period === 'TOTAL') return { start: totalStart, end: null };
  const today = localParts(now.getTime(), timeZone);
  if (period === 'DAY') {
    return {
      start: localMidnight(today, timeZone),
      end: localMidnight({ ...today, day: today.day + 1 }, timeZone),
    };
  }
  if (period === 'WEEK') {
    const weekday = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay();
    const monday = { ...today, day: today.day - ((weekday + 6) % 7) };
    return {
      start: localMidnight(monday, timeZone),
      end: localMidnight({ ...monday, day: monday.day + 7 }, timeZone),
    };
  }
  return {
    start: localMidnight({ ...today, day: 1 }, timeZone),
    end: localMidnight({ ...today, month: today.month + 1, day: 1 }, timeZone),
  };
}
