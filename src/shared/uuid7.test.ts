import { describe, expect, it } from 'vitest';
import { uuid7 } from './uuid7.ts';

describe('uuid7', () => {
  it('is a version 7, variant 1 UUID that sorts by time', () => {
    const a = uuid7(1_700_000_000_000);
    const b = uuid7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.slice(0, 13)).toBe('018bcfe5-6800');
    expect(new Set(Array.from({ length: 1000 }, () => uuid7(1)))).toHaveProperty('size', 1000);
  });

  it('stays unique and well-formed across many ids in the same millisecond and across milliseconds', () => {
    const ids = new Set<string>();
    for (let ms = 0; ms < 5; ms++) for (let i = 0; i < 20_000; i++) ids.add(uuid7(1_700_000_000_000 + ms));
    expect(ids.size).toBe(100_000);
    for (const id of [...ids].slice(0, 50))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
