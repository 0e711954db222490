import { describe, expect, it } from 'vitest';
import { MAX_PATTERN_INPUT, matchesKeyPattern, riskyPatternReason } from './key-pattern.ts';

describe('key patterns that can backtrack catastrophically', () => {
  it.each([
    '^(a+)+$',
    '^(a*)*$',
    '(a|a)*$',
    '^(a|aa)+$',
    '^(\\w?){20}\\w{20}$',
    '^(?:[a-z]+-)+$',
    '^((ab)*c)+$',
    '^(?<x>a+){2,}$',
    '(a+)+?',
    '^(a)\\1$',
    '^(?<x>a)\\k<x>$',
  ])('refuses %s', (pattern) => {
    expect(riskyPatternReason(pattern)).toBeDefined();
  });

  it.each([
    '^sk-[A-Za-z0-9_-]{20,}$',
    '^(sk|pk)_[a-z0-9]+$',
    '^(?:sk-)?[A-Za-z0-9]{32}$',
    '^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$',
    '^\\p{L}+$',
    '^\\u{1F600}+$',
    '^[(+*)]+$',
    '^\\(a+\\)+$',
    '^(ab){3}$',
    '^(?=.*\\d)[a-z\\d]{10,}$',
  ])('accepts %s', (pattern) => {
    expect(riskyPatternReason(pattern)).toBeUndefined();
  });

  it('never tests a string longer than the cap', () => {
    expect(matchesKeyPattern('^a+$', 'a'.repeat(MAX_PATTERN_INPUT))).toBe(true);
    expect(matchesKeyPattern('^a+$', 'a'.repeat(MAX_PATTERN_INPUT + 1))).toBe(false);
  });
});
