import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from './helpers/console.ts';

/**
 * What the first visit downloads and runs carries only the GraphQL documents it uses: the entry
 * (which sends the Overview's and the viewer's queries) and the application chunk it preloads
 * hold no document of a lazily loaded page (console/graphql-documents.ts; without it, codegen's
 * map put every page's documents in the entry).
 */
const DIST = fileURLToPath(new URL('../console/dist/', import.meta.url));

let entry: string;
let application: string;

beforeAll(async () => {
  await ensureConsoleBuilt();
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const file = (pattern: RegExp) => {
    const name = pattern.exec(html)?.[1];
    if (!name) throw new Error(`not in index.html: ${pattern}`);
    return readFileSync(join(DIST, name.replace(/^\/console\//, '')), 'utf8');
  };
  entry = file(/<script type="module"[^>]* src="([^"]+)"/);
  application = file(/<link rel="modulepreload"[^>]* href="([^"]+)"/);
}, 120_000);

describe('console bundle', () => {
  it('keeps the documents of lazily loaded pages out of the first visit’s scripts', () => {
    // Booleans, not toContain: a failure would print the whole minified chunk.
    expect(entry.includes('ConsoleOverview')).toBe(true);
    expect(entry.includes('ConsoleViewer')).toBe(true);
    for (const lazy of ['ConsoleAuditLog', 'ConsoleBudgets', 'ConsoleProviderList', 'ConsoleUsage']) {
      expect(entry.includes(lazy), `${lazy} in the entry`).toBe(false);
      expect(application.includes(lazy), `${lazy} in the application chunk`).toBe(false);
    }
  });
});
