import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ProviderEntity } from '../src/modules/providers/provider.entity.ts';
import { ImportConfig } from './documents.ts';
import { startTestApp, TEST_JWT_SECRET, TEST_MASTER_KEY_1, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

/**
 * A configuration document with a field Tollgate does not know (a typo, a field of another
 * version) is refused with the field's path, as GraphQL refuses an unknown input field: silently
 * ignoring it would apply something other than what its author meant.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

/** A valid document with misspelt fields at every level and in every section. */
const DOCUMENT = stringify({
  version: 1,
  provider: [],
  providers: [
    {
      slug: 'typo-provider',
      name: 'Typo',
      baseURL: 'https://api.example.com',
      baseUrl: 'https://api.example.com',
      retry: { maxAttemps: 5 },
      rateLimit: { points: 10, periodMs: 1000, brust: 5 },
      pricing: { models: [{ model: 'm', inputPerMillionMicros: 1, outputPerMillionMicros: 1, cached: 1 }] },
    },
  ],
  budgets: [
    { name: 'typo-budget', scope: 'GLOBAL', period: 'DAY', timeZone: 'UTC', limitMicros: 1000, limit: 5 },
  ],
  clients: [{ name: 'typo-client', rateLimits: { points: 1, periodMs: 1000 } }],
  alertChannels: [{ name: 'typo-channel', url: 'https://hooks.example.com/x', kinds: ['KEY'], kind: 'JOB' }],
});

const UNKNOWN = [
  'document.provider',
  'document.providers.0.baseURL',
  'document.providers.0.retry.maxAttemps',
  'document.providers.0.rateLimit.brust',
  'document.providers.0.pricing.models.0.cached',
  'document.budgets.0.limit',
  'document.clients.0.rateLimits',
  'document.alertChannels.0.kind',
];

describe('importConfig with unknown fields', () => {
  it('refuses every unknown field with its path, in a dry run and when applying, writing nothing', async () => {
    const admin = await t.token('admin');
    for (const dryRun of [true, false]) {
      const { data } = await gql(t.graphqlUrl, ImportConfig, { document: DOCUMENT, dryRun }, admin);
      const result = data?.importConfig;
      if (result?.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
      const paths = result.fieldErrors.map((e) => e.path.join('.'));
      expect(paths.sort(), `dryRun ${dryRun}`).toEqual([...UNKNOWN].sort());
      for (const error of result.fieldErrors) expect(error.message).toMatch(/not a known field/);
    }
    expect(await t.app.orm.em.fork().count(ProviderEntity, { slug: 'typo-provider' })).toBe(0);
  });

  it('refuses them in `config apply` too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-unknown-'));
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(file, DOCUMENT);
    try {
      const run = promisify(execFile)(process.execPath, ['src/cli/main.ts', 'config', 'apply', file], {
        env: {
          ...process.env,
          DATABASE_URL: t.config.database.url,
          TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
          TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
          LOG_LEVEL: 'error',
        },
      });
      const failure = (await run.then(
        () => ({ stdout: '', stderr: 'exited 0' }),
        (error: { stdout: string; stderr: string }) => error,
      )) as { stdout: string; stderr: string };
      const output = `${failure.stdout}\n${failure.stderr}`;
      for (const path of UNKNOWN) expect(output).toContain(path);
      expect(await t.app.orm.em.fork().count(ProviderEntity, { slug: 'typo-provider' })).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
