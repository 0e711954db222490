import { describe, expect, it } from 'vitest';
import { KeyCooldowns, MAX_COOLDOWN_MS } from './key-cooldowns.ts';

describe('key cool-downs', () => {
  it('cools a key for its Retry-After, at most a minute, one second when none was given', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('a', 5_000, 0);
    cooldowns.coolDown('b', 3_600_000, 0);
    cooldowns.coolDown('c', undefined, 0);
    expect(cooldowns.isCooling('a', 4_999)).toBe(true);
    expect(cooldowns.isCooling('a', 5_000)).toBe(false);
    expect(cooldowns.isCooling('b', MAX_COOLDOWN_MS - 1)).toBe(true);
    expect(cooldowns.isCooling('b', MAX_COOLDOWN_MS)).toBe(false);
    expect(cooldowns.isCooling('c', 999)).toBe(true);
    expect(cooldowns.isCooling('c', 1_000)).toBe(false);
  });

  it('keeps the later of two cool-downs', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('a', 10_000, 0);
    cooldowns.coolDown('a', 1_000, 0);
    expect(cooldowns.isCooling('a', 5_000)).toBe(true);
  });

  it('says when the first of a set of keys that all cool down is free', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('a', 10_000, 0);
    cooldowns.coolDown('b', 2_000, 0);
    expect(cooldowns.allCoolingUntil(['a', 'b'], 0)).toBe(2_000);
    expect(cooldowns.allCoolingUntil(['a', 'b', 'c'], 0)).toBeUndefined();
    expect(cooldowns.allCoolingUntil([], 0)).toBeUndefined();
  });
});
