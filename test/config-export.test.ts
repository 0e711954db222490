import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CreateAlertChannel, CreateBudget, ExportConfig } from './documents.ts';
import { startTestApp, TEST_JWT_SECRET, TEST_MASTER_KEY_1, type TestApp } from './helpers/app.ts';
import { createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe('configuration export', () => {
  it('exports every provider, budget, client and channel as sorted YAML, never a secret', async () => {
    const admin = await t.token('admin');
    const backup = await setUpProvider(t, 'http://127.0.0.1:9/', {
      slug: 'b-backup',
      keys: ['sk-backup-secret-0123456789'],
    });
    await setUpProvider(t, 'http://127.0.0.1:9/', {
      slug: 'a-main',
      keys: ['sk-main-secret-0123456789'],
      input: { fallbacks: [backup.slug], pricing: { perRequestMicros: 250 } },
    });
    const client = await createClient(t, { name: 'team-z', allowedProviders: ['b-backup', 'a-main'] });
    await gql(
      t.graphqlUrl,
      CreateBudget,
      {
        input: {
          name: 'team-z daily',
          scope: 'CLIENT',
          client: client.id,
          period: 'DAY',
          limitMicros: 5_000_000,
        },
      },
      admin,
    );
    const channel = await gql(
      t.graphqlUrl,
      CreateAlertChannel,
      { input: { name: 'ops', url: 'https://hooks.example.com/tollgate', kinds: ['KEY', 'BUDGET_ALERT'] } },
      admin,
    );
    const secret =
      channel.data?.createAlertChannel?.__typename === 'AlertChannelCreatedPayload'
        ? channel.data.createAlertChannel.secret
        : '';

    const result = await gql(t.graphqlUrl, ExportConfig, {}, await t.token('operator'));
    const yaml = result.data?.exportConfig ?? '';
    for (const hidden of ['sk-backup-secret-0123456789', 'sk-main-secret-0123456789', client.key, secret]) {
      expect(yaml).not.toContain(hidden);
    }
    const document = parse(yaml) as {
      version: number;
      providers: { slug: string; fallbacks: string[]; pricing: { perRequestMicros: number } }[];
      budgets: { name: string; client: string; scope: string }[];
      clients: { name: string; allowedProviders: string[] }[];
      alertChannels: { name: string; kinds: string[] }[];
    };
    expect(document.version).toBe(1);
    expect(document.providers.map((p) => p.slug)).toEqual(['a-main', 'b-backup']);
    expect(document.providers[0]).toMatchObject({
      fallbacks: ['b-backup'],
      pricing: { perRequestMicros: 250 },
    });
    // Settings objects list their keys alphabetically, whatever order the database keeps them in.
    const retry = (document.providers[0] as unknown as { retry: Record<string, unknown> }).retry;
    expect(Object.keys(retry)).toEqual(Object.keys(retry).sort());
    expect(Object.keys(retry).length).toBeGreaterThan(3);
    expect(document.budgets).toEqual([
      expect.objectContaining({ name: 'team-z daily', scope: 'CLIENT', client: 'team-z' }),
    ]);
    expect(document.clients).toEqual([
      expect.objectContaining({ name: 'team-z', allowedProviders: ['a-main', 'b-backup'] }),
    ]);
    expect(document.alertChannels).toEqual([
      expect.objectContaining({ name: 'ops', kinds: ['BUDGET_ALERT', 'KEY'] }),
    ]);

    // Stable: a second export is byte for byte the same; the CLI prints the same document as an
    // admin's export (an operator's has the alert-channel URLs redacted).
    const again = await gql(t.graphqlUrl, ExportConfig, {}, await t.token('operator'));
    expect(again.data?.exportConfig).toBe(yaml);
    const whole = (await gql(t.graphqlUrl, ExportConfig, {}, admin)).data?.exportConfig ?? '';
    expect(whole).toContain('url: https://hooks.example.com/tollgate');
    expect(yaml).not.toContain('hooks.example.com/tollgate');
    const cli = await promisify(execFile)(process.execPath, ['src/cli/main.ts', 'config', 'export'], {
      env: {
        ...process.env,
        DATABASE_URL: t.config.database.url,
        TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
        TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
        LOG_LEVEL: 'error',
      },
    });
    expect(cli.stdout).toBe(whole);

    // A viewer reads the same document as an operator: alert-channel URLs redacted, no secret.
    const viewer = await gql(t.graphqlUrl, ExportConfig, {}, await t.token('viewer'));
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data?.exportConfig).toBe(yaml);
    expect(yaml).toContain('url: https://hooks.example.com/…');
  });
});
