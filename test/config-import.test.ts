import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ProviderEntity } from '../src/modules/providers/provider.entity.ts';
import { ExportConfig, ImportConfig } from './documents.ts';
import {
  createDatabase,
  startTestApp,
  TEST_JWT_SECRET,
  TEST_MASTER_KEY_1,
  type TestApp,
} from './helpers/app.ts';
import { call, createClient, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

let t: TestApp;
let upstream: Upstream;
beforeAll(async () => {
  [t, upstream] = await Promise.all([startTestApp(), startUpstream({ kind: 'json', body: { ok: true } })]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close()]);
});

type Doc = {
  version: number;
  providers: Record<string, unknown>[];
  budgets: Record<string, unknown>[];
  clients: Record<string, unknown>[];
  alertChannels: Record<string, unknown>[];
};

async function exported(): Promise<string> {
  return (await gql(t.graphqlUrl, ExportConfig, {}, await t.token('admin'))).data?.exportConfig ?? '';
}

async function importDoc(document: string, options: { dryRun?: boolean; prune?: boolean } = {}) {
  const result = await gql(t.graphqlUrl, ImportConfig, { document, ...options }, await t.token('admin'));
  return result.data?.importConfig;
}

describe('configuration as code', () => {
  it('export then import changes nothing; an edited document is planned, dry-run, then applied in one go', async () => {
    await setUpProvider(t, upstream.url, { slug: 'cfg-main' });
    await createClient(t, { name: 'cfg-team' });
    const original = await exported();
    const same = await importDoc(original);
    expect(same).toMatchObject({ __typename: 'ImportConfigPayload', applied: false });
    if (same?.__typename === 'ImportConfigPayload') {
      expect(same.plan.every((i) => i.action === 'UNCHANGED')).toBe(true);
    }

    const doc = parse(original) as Doc;
    const main = doc.providers.find((p) => p.slug === 'cfg-main')!;
    main.timeoutMs = 12_345;
    doc.providers.push({
      slug: 'cfg-backup',
      name: 'Backup',
      baseUrl: upstream.url,
      allowPrivateNetwork: true,
      auth: { style: 'NONE' },
    });
    main.fallbacks = ['cfg-backup'];
    doc.clients.push({ name: 'cfg-new-app', allowedProviders: ['cfg-backup'] });
    doc.budgets.push({
      name: 'cfg-new-app daily',
      scope: 'CLIENT',
      client: 'cfg-new-app',
      period: 'DAY',
      timeZone: 'UTC',
      limitMicros: 1_000_000,
    });
    doc.alertChannels.push({ name: 'cfg-hook', url: 'https://hooks.example.com/x', kinds: ['KEY'] });
    const edited = stringify(doc);

    const dry = await importDoc(edited, { dryRun: true });
    expect(dry).toMatchObject({ applied: false });
    if (dry?.__typename !== 'ImportConfigPayload') throw new Error(JSON.stringify(dry));
    const changes = dry.plan
      .filter((i) => i.action !== 'UNCHANGED')
      .map((i) => `${i.action} ${i.section} ${i.key}`);
    expect(changes.sort()).toEqual(
      [
        'CREATE alertChannels cfg-hook',
        'CREATE budgets cfg-new-app daily',
        'CREATE clients cfg-new-app',
        'CREATE providers cfg-backup',
        'UPDATE providers cfg-main',
      ].sort(),
    );
    expect(dry.plan.find((i) => i.key === 'cfg-main')?.fields.sort()).toEqual(['fallbacks', 'timeoutMs']);
    expect(await t.app.orm.em.fork().count(ProviderEntity, { slug: 'cfg-backup' })).toBe(0);

    const applied = await importDoc(edited);
    if (applied?.__typename !== 'ImportConfigPayload') throw new Error(JSON.stringify(applied));
    expect(applied.applied).toBe(true);
    expect(applied.clientKeys.map((k) => k.name)).toEqual(['cfg-new-app']);
    expect(applied.channelSecrets[0]?.value).toMatch(/^whsec_/);
    // The new client works at once through the new provider.
    await refreshCaches(t);
    expect((await call(t, applied.clientKeys[0]!.value, 'cfg-backup/ping')).status).toBe(200);
    // What is now exported is what was applied: importing it again is a no-op.
    const again = await importDoc(await exported());
    if (again?.__typename !== 'ImportConfigPayload') throw new Error(JSON.stringify(again));
    expect(again.plan.filter((i) => i.action !== 'UNCHANGED')).toEqual([]);
  });

  it('refuses an invalid document with every problem and its path, writing nothing', async () => {
    const before = await exported();
    const doc = parse(before) as Doc;
    doc.version = 2;
    doc.providers.push({ slug: 'bad one', name: 'x', baseUrl: 'ftp://nowhere' });
    doc.providers.push({ slug: 'cfg-main', name: 'twice', baseUrl: 'https://api.example.com' });
    doc.budgets.push({
      name: 'b',
      scope: 'GLOBAL',
      period: 'DAY',
      timeZone: 'UTC',
      limitMicros: 5,
      thresholds: [90, 50],
    });
    const result = await importDoc(stringify(doc));
    if (result?.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
    const paths = result.fieldErrors.map((e) => e.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'document.version',
        expect.stringMatching(/^document\.providers\.\d+\.slug$/),
        expect.stringMatching(/^document\.providers\.\d+\.baseUrl$/),
        expect.stringMatching(/^document\.budgets\.\d+\.thresholds/),
      ]),
    );
    const notYaml = await importDoc('providers: [ {');
    expect(notYaml).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['document'] }] });
    const dangling = parse(before) as Doc;
    dangling.providers[0]!.fallbacks = ['no-such-provider'];
    const refused = await importDoc(stringify(dangling));
    expect(refused).toMatchObject({ __typename: 'ValidationError' });
    expect(await exported()).toBe(before);
  });

  it('deletes what the document leaves out only with prune', async () => {
    await setUpProvider(t, upstream.url, { slug: 'cfg-doomed' });
    const doc = parse(await exported()) as Doc;
    doc.providers = doc.providers.filter((p) => p.slug !== 'cfg-doomed');
    const kept = await importDoc(stringify(doc), { dryRun: true });
    if (kept?.__typename !== 'ImportConfigPayload') throw new Error(JSON.stringify(kept));
    expect(kept.plan.find((i) => i.key === 'cfg-doomed')?.action).toBe('UNCHANGED');
    const pruned = await importDoc(stringify(doc), { prune: true });
    if (pruned?.__typename !== 'ImportConfigPayload') throw new Error(JSON.stringify(pruned));
    expect(pruned.plan.find((i) => i.key === 'cfg-doomed')?.action).toBe('DELETE');
    expect(await t.app.orm.em.fork().count(ProviderEntity, { slug: 'cfg-doomed' })).toBe(0);
  });

  it('applies from the command line and from TOLLGATE_CONFIG_FILE at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(
      file,
      stringify({
        version: 1,
        providers: [{ slug: 'from-file', name: 'From file', baseUrl: 'https://api.example.com/v1' }],
      }),
    );
    const env = {
      ...process.env,
      DATABASE_URL: t.config.database.url,
      TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
      TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
      LOG_LEVEL: 'error',
    };
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['src/cli/main.ts', 'config', 'apply', file, ...args], { env });
    const dry = await run(['--dry-run']);
    expect(dry.stdout).toMatch(/^CREATE\s+providers from-file$/m);
    expect(dry.stdout).toContain('Nothing applied');
    expect(await t.app.orm.em.fork().count(ProviderEntity, { slug: 'from-file' })).toBe(0);

    const fresh = await startTestApp({
      databaseUrl: await createDatabase(),
      env: { TOLLGATE_CONFIG_FILE: file },
    });
    try {
      expect(await fresh.app.orm.em.fork().count(ProviderEntity, { slug: 'from-file' })).toBe(1);
    } finally {
      await fresh.stop();
    }
    writeFileSync(file, 'version: 1\nproviders:\n  - slug: "NOT A SLUG"\n');
    await expect(
      startTestApp({ databaseUrl: await createDatabase(), env: { TOLLGATE_CONFIG_FILE: file } }),
    ).rejects.toThrow(/TOLLGATE_CONFIG_FILE .* was refused: document\.providers\.0\./);
  });
});
