import { describe, expect, it } from 'vitest';
import { providerSpecSchema } from '../providers/provider.validation.ts';
import { backoff, parseRetryAfter, pathTemplate } from './call-timing.ts';

describe('call timing helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(['2', '9'])).toBe(2000);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(inTenSeconds)).toBeGreaterThan(8000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped, and never below Retry-After', () => {
    const provider = providerSpecSchema.parse({
      slug: 'p',
      name: 'p',
      baseUrl: 'https://api.example.com',
      retry: { baseDelayMs: 100, maxDelayMs: 1000 },
    });
    for (let i = 0; i < 50; i++) {
      expect(backoff(provider as never, 1, undefined)).toBeLessThanOrEqual(100);
      expect(backoff(provider as never, 10, undefined)).toBeLessThanOrEqual(1000);
      expect(backoff(provider as never, 1, 3000)).toBe(3000);
    }
  });

  it('templates paths so usage groups by endpoint', () => {
    expect(pathTemplate('/rest/json/cves/2.0/CVE-2021-44228')).toBe('/rest/json/cves/2.0/:id');
    expect(pathTemplate('/v1/items/123?x=1')).toBe('/v1/items/:id');
    expect(pathTemplate('/v1/files/file-abcdefghijklmnopqrstuvwxyz/content')).toBe('/v1/files/:id/content');
    expect(pathTemplate('/v1/chat/completions')).toBe('/v1/chat/completions');
  });
});
