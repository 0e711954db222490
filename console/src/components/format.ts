/** Display formats shared by every page (en-US, UTC-agnostic: times are shown in local time). */

const number = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});

export function formatNumber(value: number): string {
  return Math.abs(value) >= 100_000 ? compact.format(value) : number.format(value);
}

/** Micros are millionths of a US dollar (the schema's Micros scalar). */
export function formatMicros(micros: number): string {
  const dollars = micros / 1_000_000;
  return dollars !== 0 && Math.abs(dollars) < 1 ? usdSmall.format(dollars) : usd.format(dollars);
}

/** A 0–1 ratio as a percentage. */
export function formatRatio(ratio: number, digits = 1): string {
  return `${(ratio * 100).toFixed(digits)} %`;
}

export function formatPercent(percent: number | null | undefined, digits = 2): string {
  return percent == null ? '—' : `${percent.toFixed(digits)} %`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms == null) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

const relative = new Intl.RelativeTimeFormat('en-US', { numeric: 'auto', style: 'narrow' });

/** "12 s ago", "in 3 min"; the exact time is for a title attribute (formatTime). */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  if (abs < 60) return relative.format(seconds, 'second');
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86_400), 'day');
}

const time = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium' });
const clock = new Intl.DateTimeFormat('en-US', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

export function formatTime(iso: string | null | undefined): string {
  return iso ? time.format(new Date(iso)) : '—';
}

export function formatClock(iso: string): string {
  return clock.format(new Date(iso));
}

/** "1 provider", "1,204 providers": a count with its noun (a plain English plural). */
export function countOf(count: number, noun: string): string {
  return `${number.format(count)} ${count === 1 ? noun : `${noun}s`}`;
}
