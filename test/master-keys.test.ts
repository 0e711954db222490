import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseMasterKeys } from '../src/config.ts';
import { Vault } from '../src/modules/keys/vault.ts';
import { CreateAlertChannel, CreateProvider, MasterKeys, RotateMasterKey } from './documents.ts';
import {
  createDatabase,
  startTestApp,
  TEST_MASTER_KEY_0,
  TEST_MASTER_KEY_1,
  type TestApp,
} from './helpers/app.ts';
import { query } from './helpers/db.ts';
import { fromGlobalId, gql } from './helpers/graphql.ts';

const SECRETS = 10_000;
const vaultOf = (entries: string) => new Vault(parseMasterKeys(entries, 'test', []));

/** Writes `count` keys encrypted under the old master key straight into the table, as an earlier version would have. */
async function seedKeys(
  databaseUrl: string,
  providerId: string,
  count: number,
): Promise<Map<string, string>> {
  const old = vaultOf(TEST_MASTER_KEY_0);
  const secrets = new Map<string, string>();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let start = 0; start < count; start += 500) {
      const values: unknown[] = [];
      const rows: string[] = [];
      for (let i = start; i < Math.min(start + 500, count); i++) {
        const id = randomUUID();
        const secret = `sk-seeded-${i}-${randomUUID()}`;
        secrets.set(id, secret);
        const { ciphertext } = await old.encrypt(secret, { providerId, keyId: id });
        const n = values.length;
        rows.push(
          `($${n + 1}, $${n + 2}, 'seed', 'ACTIVE', 1, $${n + 3}, 'test0', 'xxxx', 'f', 'seed', now(), now(), 1)`,
        );
        values.push(id, providerId, ciphertext);
      }
      await client.query(
        `insert into provider_keys (id, provider_id, label, status, weight, ciphertext, kid, last4, fingerprint, created_by, created_at, updated_at, version)
         values ${rows.join(',')}`,
        values,
      );
    }
  } finally {
    await client.end();
  }
  return secrets;
}

async function rotation(t: TestApp, token: string) {
  return (await gql(t.graphqlUrl, MasterKeys, {}, token)).data?.masterKeys;
}

describe('master keys', () => {
  it(`rotates ${SECRETS} secrets to a new master key, resumes after an interruption, and then no longer needs the old key`, async () => {
    const databaseUrl = await createDatabase();

    // 1. An installation whose secrets are all under the old key "test0".
    const before = await startTestApp({ databaseUrl, env: { TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_0 } });
    const admin = await before.token('admin');
    const created = await gql(
      before.graphqlUrl,
      CreateProvider,
      { input: { slug: 'bulk', name: 'Bulk', baseUrl: 'https://api.example.com' } },
      admin,
    );
    const payload = created.data?.createProvider;
    const providerId = fromGlobalId(
      payload?.__typename === 'ProviderPayload' ? payload.provider.id : undefined,
    );
    // A webhook channel: its signing secret is under the master key too.
    const channel = await gql(
      before.graphqlUrl,
      CreateAlertChannel,
      { input: { name: 'rotated', url: 'https://hooks.example.com/x', kinds: ['KEY'] } },
      admin,
    );
    const channelSecret =
      channel.data?.createAlertChannel?.__typename === 'AlertChannelCreatedPayload'
        ? channel.data.createAlertChannel.secret
        : '';
    await before.stop();
    const secrets = await seedKeys(databaseUrl, providerId, SECRETS);

    // 2. Dropping the old key before rotating is refused, with the kid and how many secrets it locks.
    await expect(
      startTestApp({ databaseUrl, env: { TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1 } }),
    ).rejects.toThrow(
      `Master key "test0" is not configured, but ${SECRETS + 1} stored secret(s) are encrypted under it`,
    );

    // 3. New current key first, old key after: start the rotation, then interrupt it part-way.
    const both = `${TEST_MASTER_KEY_1},${TEST_MASTER_KEY_0}`;
    const first = await startTestApp({ databaseUrl, env: { TOLLGATE_MASTER_KEYS: both } });
    const started = Date.now();
    const begun = await gql(first.graphqlUrl, RotateMasterKey, {}, await first.token('admin'));
    expect(begun.data?.rotateMasterKey).toMatchObject({
      targetKid: 'test1',
      status: 'RUNNING',
      total: SECRETS + 1,
    });
    const viewer = await first.token('viewer');
    await expect
      .poll(async () => (await rotation(first, viewer))?.rotation?.processed ?? 0, {
        timeout: 30_000,
        interval: 20,
      })
      .toBeGreaterThan(0);
    await first.stop();
    const interrupted = (
      await query<{ processed: number; status: string }>(
        databaseUrl,
        'select processed, status from master_key_rotations',
      )
    )[0];
    console.log(`interrupted after ${interrupted?.processed} of ${SECRETS} secrets`);
    expect(interrupted?.status).toBe('RUNNING');
    expect(interrupted?.processed).toBeLessThan(SECRETS);

    // 4. The next start resumes and finishes.
    const second = await startTestApp({ databaseUrl, env: { TOLLGATE_MASTER_KEYS: both } });
    const secondViewer = await second.token('viewer');
    await expect
      .poll(async () => (await rotation(second, secondViewer))?.rotation?.status, {
        timeout: 120_000,
        interval: 200,
      })
      .toBe('DONE');
    console.log(
      `rotated ${SECRETS} secrets in ${Date.now() - started} ms (including one interruption and restart)`,
    );
    // It ran as jobs: the interrupted run failed over to a retry, and a later run finished it.
    const runs = await query<{ state: string }>(
      databaseUrl,
      `select state::text from pgboss.job where name = 'master-key-rotation'`,
    );
    expect(runs.some((r) => r.state === 'completed')).toBe(true);
    const done = await rotation(second, secondViewer);
    expect(done?.rotation).toMatchObject({
      processed: SECRETS + 1,
      failed: 0,
      total: SECRETS + 1,
      finishedAt: expect.any(String),
    });
    expect(done?.usage).toEqual(
      expect.arrayContaining([
        { kid: 'test1', secrets: SECRETS + 1, configured: true, current: true },
        { kid: 'test0', secrets: 0, configured: true, current: false },
      ]),
    );
    await second.stop();

    // 5. The old key can go: Tollgate starts without it and every secret decrypts under the new one.
    const after = await startTestApp({ databaseUrl, env: { TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1 } });
    try {
      const current = vaultOf(TEST_MASTER_KEY_1);
      const rows = await query<{ id: string; ciphertext: string; kid: string }>(
        databaseUrl,
        'select id, ciphertext, kid from provider_keys',
      );
      expect(rows).toHaveLength(SECRETS);
      for (const row of rows) {
        expect(row.kid).toBe('test1');
        expect(await current.decrypt(row.ciphertext, { providerId, keyId: row.id })).toBe(
          secrets.get(row.id),
        );
      }
      const picked = after.app.services.keyRing.select(providerId);
      expect(picked && secrets.get(picked.id)).toBe(picked?.secret);
      const [stored] = await after.app.services.alertChannels.list();
      expect(stored?.secretKid).toBe('test1');
      expect(await after.app.services.alertChannels.secretOf(stored!)).toBe(channelSecret);
    } finally {
      await after.stop();
    }
  }, 180_000); // a runaway guard, not a speed check: 10,000 rotations take 20–50 s on a busy 2-core machine
});
