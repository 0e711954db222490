import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Every `file › test name` that SECURITY.md cites as evidence. */
function citedTests(): { file: string; name: string }[] {
  const text = readFileSync(new URL('../SECURITY.md', import.meta.url), 'utf8');
  return [...text.matchAll(/`((?:test|src)\/[\w./-]+\.test\.ts) › ([^`]+)`/g)].map((m) => ({
    file: m[1]!,
    name: m[2]!,
  }));
}

describe('SECURITY.md', () => {
  it('backs its claims with tests that exist, by file and exact name', () => {
    const cited = citedTests();
    expect(cited.length).toBeGreaterThan(30);
    const missing = cited.filter(({ file, name }) => {
      const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      // Names may be template literals; compare against the source with interpolations as written.
      return (
        !source.includes(`'${name}'`) && !source.includes(`\`${name}\``) && !source.includes(`"${name}"`)
      );
    });
    expect(missing).toEqual([]);
  });
});
