import { describe, expect, it } from 'vitest';
import { bucketOf, emptyHistogram, HISTOGRAM_BUCKETS, percentile } from './latency-histogram.ts';

describe('latency histogram', () => {
  it('puts sub-millisecond calls in bucket 0 and grows by 20 % per bucket', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.99)).toBe(0);
    expect(bucketOf(1)).toBe(1);
    expect(bucketOf(1.19)).toBe(1);
    expect(bucketOf(1.21)).toBe(2);
    expect(bucketOf(10 * 60 * 60 * 1000)).toBe(HISTOGRAM_BUCKETS - 1);
  });

  it('reads percentiles within the bucket precision of the exact values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 0.3 + i * 2.7);
    const histogram = emptyHistogram();
    for (const v of values) histogram[bucketOf(v)]! += 1;
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const estimate = percentile(histogram, q)!;
      expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(Math.max(0.5, exact * 0.1));
    }
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
  });
});
