/**
 * Log-scale latency buckets shared by SQL (rollups, raw aggregation) and JavaScript
 * (percentiles). Bucket 0 holds calls under 1 ms; bucket b ≥ 1 holds [1.2^(b-1), 1.2^b) ms; the
 * last bucket also holds everything slower (from about 25 minutes). A percentile read from a
 * bucket is its geometric middle, so it is within about 10 % of the exact value (0.5 ms below 1 ms).
 */
export const HISTOGRAM_BUCKETS = 80;
const GROWTH = 1.2;
const LOG_GROWTH = Math.log(GROWTH);

export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(HISTOGRAM_BUCKETS - 1, 1 + Math.floor(Math.log(ms) / LOG_GROWTH));
}

/** The same bucket as `bucketOf`, computed by PostgreSQL for a column of milliseconds. */
export function bucketSql(column: string): string {
  return `(case when ${column} < 1 then 0 else least(${HISTOGRAM_BUCKETS - 1}, 1 + floor(ln(${column}) / ln(${GROWTH}))::int) end)`;
}

/** The value that represents bucket `b` (its geometric middle). */
export function bucketValue(b: number): number {
  if (b <= 0) return 0.5;
  return GROWTH ** (b - 0.5);
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
}

/** Nearest-rank percentile (q in 0–1) of the calls counted in `histogram`; null when empty. */
export function percentile(histogram: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of histogram) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b] ?? 0;
    if (seen >= rank) return Math.round(bucketValue(b) * 100) / 100;
  }
  return Math.round(bucketValue(histogram.length - 1) * 100) / 100;
}
