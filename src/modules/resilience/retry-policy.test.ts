import { describe, expect, it } from 'vitest';
import { backoff, mayRetryCall, mayRetryNow, parseRetryAfter, RetryBudget } from './retry-policy.ts';

const retry = {
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  retryNonIdempotent: false,
  budgetPercent: 20,
};

describe('retry policy', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(['2', '9'])).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('backs off exponentially with full jitter, capped, and never below Retry-After', () => {
    // The largest draw the jitter can make shows the exponential curve and its cap.
    const top = () => 0.999999;
    expect(backoff(retry, 1, undefined, top)).toBeCloseTo(100, 0);
    expect(backoff(retry, 2, undefined, top)).toBeCloseTo(200, 0);
    expect(backoff(retry, 3, undefined, top)).toBeCloseTo(400, 0);
    expect(backoff(retry, 10, undefined, top)).toBeCloseTo(1000, 0);
    expect(backoff(retry, 2, undefined, () => 0.5)).toBe(100);
    expect(backoff(retry, 1, 3000)).toBe(3000);
    for (let i = 0; i < 50; i++) expect(backoff(retry, 10, undefined)).toBeLessThanOrEqual(1000);
  });

  it('retries only replayable bodies of idempotent methods unless told otherwise', () => {
    expect(mayRetryCall('GET', true, retry)).toBe(true);
    expect(mayRetryCall('POST', true, retry)).toBe(false);
    expect(mayRetryCall('POST', true, { ...retry, retryNonIdempotent: true })).toBe(true);
    expect(mayRetryCall('GET', false, retry)).toBe(false);
  });

  it('retries while attempts, deadline and budget allow, spending a token only when it retries', () => {
    const budget = new RetryBudget(0);
    const base = { retryable: true, maxAttempts: 3, waitMs: 100, now: 0, deadlineAt: 1000, budget };
    expect(mayRetryNow({ ...base, attempt: 3 })).toBe(false);
    expect(mayRetryNow({ ...base, attempt: 1, waitMs: 1000 })).toBe(false);
    expect(budget.tokens).toBe(3);
    expect(mayRetryNow({ ...base, attempt: 1 })).toBe(true);
    expect(mayRetryNow({ ...base, attempt: 1 })).toBe(true);
    expect(mayRetryNow({ ...base, attempt: 1 })).toBe(true);
    // The reserve is spent and a 0 % budget earns nothing back.
    budget.onRequest();
    expect(mayRetryNow({ ...base, attempt: 1 })).toBe(false);
  });

  it('earns retry tokens as a share of requests, up to a cap', () => {
    const budget = new RetryBudget(50);
    for (let i = 0; i < 100; i++) budget.onRequest();
    expect(budget.tokens).toBe(RetryBudget.CAP);
  });
});
