import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddProviderKey,
  AuditLog,
  CreateProvider,
  ProviderKeys,
  RevokeProviderKey,
  RotateProviderKey,
  UpdateProviderKey,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { dumpDatabase, query } from './helpers/db.ts';
import { fromGlobalId, gql } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;
/** Every secret this file stores: none may appear in the database, the logs or a response. */
const secrets: string[] = [];
const secret = (prefix = 'sk-test') => {
  const value = `${prefix}-${randomBytes(18).toString('base64url')}`;
  secrets.push(value);
  return value;
};
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const responses: string[] = [];

async function createProvider(extra: Record<string, unknown> = {}): Promise<{ slug: string; id: string }> {
  const slug = unique('keys');
  const result = await gql(
    t.graphqlUrl,
    CreateProvider,
    { input: { slug, name: `P ${slug}`, baseUrl: 'https://api.example.com', ...extra } },
    admin,
  );
  if (result.data?.createProvider.__typename !== 'ProviderPayload') throw new Error(JSON.stringify(result));
  return {
    slug,
    id: fromGlobalId(result.data.createProvider.provider.id),
  };
}

async function addKey(provider: string, value: string, extra: Record<string, unknown> = {}) {
  const result = await gql(
    t.graphqlUrl,
    AddProviderKey,
    { input: { provider, secret: value, ...extra } },
    admin,
  );
  responses.push(JSON.stringify(result));
  if (result.data?.addProviderKey.__typename !== 'ProviderKeyPayload')
    throw new Error(JSON.stringify(result));
  return result.data.addProviderKey.key;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin', { subject: 'key-admin' });
});

afterAll(async () => {
  // The acceptance check: after everything this file did, no secret is anywhere it should not be.
  const dump = await dumpDatabase(t.config.database.url!);
  const logs = t.logs.text;
  await t?.stop();
  expect(secrets.length).toBeGreaterThan(5);
  for (const value of secrets) {
    expect(dump).not.toContain(value);
    expect(logs).not.toContain(value);
    for (const response of responses) expect(response).not.toContain(value);
  }
});

describe('provider keys (the vault)', () => {
  it('stores a key encrypted, shows only last4 and a fingerprint, and serves it to the key ring', async () => {
    const provider = await createProvider();
    const value = secret();
    const key = await addKey(provider.slug, value, { label: 'primary', weight: 2 });
    expect(key).toMatchObject({
      label: 'primary',
      status: 'ACTIVE',
      weight: 2,
      last4: value.slice(-4),
      masterKeyId: 'test1',
      createdBy: 'key-admin',
    });
    expect(key.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const [row] = await query<{ ciphertext: string; kid: string }>(
      t.config.database.url!,
      'select ciphertext, kid from provider_keys where id = $1',
      [key.id],
    );
    expect(row?.kid).toBe('test1');
    expect(row?.ciphertext.split('.')).toHaveLength(5); // compact JWE
    const header = JSON.parse(Buffer.from(row!.ciphertext.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({
      alg: 'dir',
      enc: 'A256GCM',
      kid: 'test1',
      tg_kid: key.id,
      tg_pid: provider.id,
    });

    await t.app.services.keyRing.reload();
    expect(t.app.services.keyRing.select(provider.id)).toMatchObject({ id: key.id, secret: value });
    const listed = await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, await t.token('viewer'));
    expect(listed.data?.provider).toMatchObject({
      keySource: 'STORED',
      keys: [{ id: key.id, last4: value.slice(-4) }],
    });
    responses.push(JSON.stringify(listed));
  });

  it('gives the same secret the same fingerprint and different IVs each time', async () => {
    const provider = await createProvider();
    const value = secret();
    const a = await addKey(provider.slug, value, { label: 'a' });
    const b = await addKey(provider.slug, value, { label: 'b' });
    expect(a.fingerprint).toBe(b.fingerprint);
    const rows = await query<{ ciphertext: string }>(
      t.config.database.url!,
      'select ciphertext from provider_keys where id = any($1)',
      [[a.id, b.id]],
    );
    expect(rows[0]?.ciphertext).not.toBe(rows[1]?.ciphertext);
  });

  it.each([
    ['a non-ASCII letter (U+010D)', '\u010d'],
    ['a line separator (U+2028)', '\u2028'],
    ['CR/LF', '\r\n'],
    ['NUL', '\u0000'],
    ['a tab', '\t'],
    ['DEL', '\u007f'],
    ['a Latin-1 letter', '\u00e9'],
    ['an emoji', '\ud83d\ude00'],
  ])('refuses a secret with %s, at add and at rotation, with a field error', async (_name, character) => {
    const provider = await createProvider();
    const bad = `sk-${character}-AAAAAAAAAAAAAAAAAAAA`;
    const added = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: provider.slug, secret: bad } },
      admin,
    );
    expect(added.data?.addProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'secret'] }],
    });
    const good = await addKey(provider.slug, secret('sk'));
    const rotated = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: good.id, newSecret: bad } },
      admin,
    );
    expect(rotated.data?.rotateProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'newSecret'] }],
    });
    const keys = await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin);
    expect(keys.data?.provider?.keys).toHaveLength(1);
  });

  it('refuses bad input with typed errors and writes nothing', async () => {
    const provider = await createProvider({ keyPattern: '^sk-[A-Za-z0-9_-]{20,}$' });
    const bad: [Record<string, unknown>, string, string[]][] = [
      [{ provider: provider.slug, secret: '' }, 'ValidationError', ['input', 'secret']],
      [{ provider: provider.slug, secret: `sk-${'x'.repeat(9000)}` }, 'ValidationError', ['input', 'secret']],
      [
        { provider: provider.slug, secret: 'sk-abc\r\nX-Injected: 1' },
        'ValidationError',
        ['input', 'secret'],
      ],
      [
        { provider: provider.slug, secret: ' sk-leading-space-aaaaaaaaaaaaaaa' },
        'ValidationError',
        ['input', 'secret'],
      ],
      [
        { provider: provider.slug, secret: 'not-the-right-kind-of-key' },
        'ValidationError',
        ['input', 'secret'],
      ],
      [{ provider: provider.slug, secret: secret('sk'), weight: 0 }, 'ValidationError', ['input', 'weight']],
      [
        { provider: provider.slug, secret: secret('sk'), expiresAt: '2001-01-01T00:00:00Z' },
        'ValidationError',
        ['input', 'expiresAt'],
      ],
      [{ provider: 'no-such-provider', secret: secret('sk') }, 'NotFoundError', []],
    ];
    for (const [input, type, path] of bad) {
      const result = await gql(t.graphqlUrl, AddProviderKey, { input: input as never }, admin);
      const payload = result.data?.addProviderKey;
      expect(payload?.__typename, JSON.stringify(result).slice(0, 300)).toBe(type);
      if (payload?.__typename === 'ValidationError')
        expect(payload.fieldErrors.map((e) => e.path)).toContainEqual(path);
      expect(JSON.stringify(result)).not.toContain('X-Injected');
    }
    const keys = await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin);
    expect(keys.data?.provider?.keys).toEqual([]);
    const audit = await gql(
      t.graphqlUrl,
      AuditLog,
      { first: 50, filter: { action: 'key.add', actor: 'key-admin' } },
      admin,
    );
    expect(JSON.stringify(audit)).not.toContain(provider.slug);

    const good = await addKey(provider.slug, secret('sk'));
    const unknown = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: '00000000-0000-4000-8000-000000000000', newSecret: secret('sk') } },
      admin,
    );
    expect(unknown.data?.rotateProviderKey.__typename).toBe('NotFoundError');
    const garbageId = await gql(t.graphqlUrl, RevokeProviderKey, { keyId: 'not-a-uuid' }, admin);
    expect(garbageId.data?.revokeProviderKey.__typename).toBe('NotFoundError');
    const grace = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: good.id, newSecret: secret('sk'), graceSeconds: 99_999_999 } },
      admin,
    );
    expect(grace.data?.rotateProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'graceSeconds'] }],
    });
    await gql(t.graphqlUrl, RevokeProviderKey, { keyId: good.id }, admin);
    const revokedRotation = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: good.id, newSecret: secret('sk') } },
      admin,
    );
    expect(revokedRotation.data?.rotateProviderKey).toMatchObject({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
    const after = await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin);
    expect(after.data?.provider?.keys.map((k) => k.status)).toEqual(['REVOKED']);
  });

  it("refuses a secret its provider's auth style cannot send, with a message that says how to fix it", async () => {
    const bearer = await createProvider();
    const pasted = `Bearer ${secret('sk')}`;
    const refused = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: bearer.slug, secret: pasted } },
      admin,
    );
    responses.push(JSON.stringify(refused));
    expect(refused.data?.addProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'secret'], message: expect.stringContaining('without the "Bearer " prefix') },
      ],
    });
    const spaced = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: bearer.slug, secret: `${secret('sk')} ${secret('sk')}` } },
      admin,
    );
    responses.push(JSON.stringify(spaced));
    expect(spaced.data?.addProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'secret'], message: expect.stringContaining('must not contain spaces') },
      ],
    });
    const good = await addKey(bearer.slug, secret('sk'));
    const rotated = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: good.id, newSecret: `bearer ${secret('sk')}` } },
      admin,
    );
    responses.push(JSON.stringify(rotated));
    expect(rotated.data?.rotateProviderKey).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'newSecret'] }],
    });
    const keys = await gql(t.graphqlUrl, ProviderKeys, { slug: bearer.slug }, admin);
    expect(keys.data?.provider?.keys.map((k) => k.id)).toEqual([good.id]);

    // A header of the provider's own naming carries whatever printable value the API wants.
    const header = await createProvider({ auth: { style: 'HEADER', name: 'X-Api-Token' } });
    await addKey(header.slug, `Token ${secret('abc')}`);
  });

  it('rotates with overlap: calls select the new key, the old one is REVOKED (and audited) when its grace ends', async () => {
    const provider = await createProvider();
    const a = await addKey(provider.slug, secret(), { label: 'A' });
    const valueB = secret();
    const rotated = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: a.id, newSecret: valueB, graceSeconds: 2 } },
      admin,
    );
    responses.push(JSON.stringify(rotated));
    const payload = rotated.data?.rotateProviderKey;
    if (payload?.__typename !== 'RotateProviderKeyPayload') throw new Error(JSON.stringify(rotated));
    expect(payload.newKey).toMatchObject({ status: 'ACTIVE', label: 'A' });
    expect(payload.oldKey).toMatchObject({ status: 'RETIRING', graceUntil: expect.any(String) });

    // The transition is a job due at the grace end, written in the rotation's transaction.
    const [job] = await query<{ start_after: Date }>(
      t.config.database.url!,
      `select start_after from pgboss.job where name = 'key-transitions' and state = 'created'
       order by abs(extract(epoch from start_after - $1::timestamptz)) limit 1`,
      [payload.oldKey.graceUntil],
    );
    expect(
      Math.abs(new Date(job!.start_after).getTime() - Date.parse(payload.oldKey.graceUntil!)),
    ).toBeLessThan(5);

    await t.app.services.keyRing.reload();
    for (let i = 0; i < 50; i++)
      expect(t.app.services.keyRing.select(provider.id)?.id).toBe(payload.newKey.id);

    await expect
      .poll(
        async () =>
          (await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin)).data?.provider?.keys.find(
            (k) => k.id === a.id,
          )?.status,
        {
          timeout: 8000,
          interval: 200,
        },
      )
      .toBe('REVOKED');
    const [row] = await query<{ ciphertext: string | null }>(
      t.config.database.url!,
      'select ciphertext from provider_keys where id = $1',
      [a.id],
    );
    expect(row?.ciphertext).toBeNull();
    const audit = await gql(t.graphqlUrl, AuditLog, { first: 10, filter: { targetId: a.id } }, admin);
    expect(audit.data?.auditLog.edges.map((e) => e.node.action)).toEqual([
      'key.grace_end',
      'key.rotate',
      'key.add',
    ]);
    expect(audit.data?.auditLog.edges[0]?.node.actor).toBe('system');
  });

  it('uses a RETIRING key only when no ACTIVE key can serve', async () => {
    const provider = await createProvider();
    const a = await addKey(provider.slug, secret(), { label: 'A' });
    const rotated = await gql(
      t.graphqlUrl,
      RotateProviderKey,
      { input: { keyId: a.id, newSecret: secret(), graceSeconds: 3600 } },
      admin,
    );
    if (rotated.data?.rotateProviderKey.__typename !== 'RotateProviderKeyPayload')
      throw new Error('rotate failed');
    const b = rotated.data.rotateProviderKey.newKey;
    await t.app.services.keyRing.reload();
    expect(t.app.services.keyRing.select(provider.id)?.id).toBe(b.id);
    expect(t.app.services.keyRing.select(provider.id, new Set([b.id]))?.id).toBe(a.id);
    t.app.services.keyRing.coolDown(b.id, Date.now() + 60_000);
    expect(t.app.services.keyRing.select(provider.id)?.id).toBe(a.id);
  });

  it('spreads calls over ACTIVE keys by weight', async () => {
    const provider = await createProvider();
    const light = await addKey(provider.slug, secret(), { label: 'light', weight: 1 });
    const heavy = await addKey(provider.slug, secret(), { label: 'heavy', weight: 3 });
    await t.app.services.keyRing.reload();
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const id = t.app.services.keyRing.select(provider.id)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const share = (counts.get(heavy.id) ?? 0) / 4000;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
    expect(counts.get(light.id)).toBeGreaterThan(0);
  });

  it('updates label, weight and expiry; an expired key stops serving and is marked EXPIRED', async () => {
    const provider = await createProvider();
    const key = await addKey(provider.slug, secret());
    const updated = await gql(
      t.graphqlUrl,
      UpdateProviderKey,
      {
        input: {
          keyId: key.id,
          label: 'renamed',
          weight: 5,
          expiresAt: new Date(Date.now() + 1500).toISOString(),
        },
      },
      admin,
    );
    expect(updated.data?.updateProviderKey).toMatchObject({ key: { label: 'renamed', weight: 5 } });
    // Audited with each field's value before and after, like other entities' updates.
    const audit = await gql(
      t.graphqlUrl,
      AuditLog,
      { first: 5, filter: { action: 'key.update', targetId: key.id } },
      admin,
    );
    expect(audit.data?.auditLog.edges[0]?.node.details).toEqual({
      provider: provider.slug,
      label: 'renamed',
      changes: {
        label: { from: key.label, to: 'renamed' },
        weight: { from: 1, to: 5 },
        expiresAt: { from: null, to: expect.any(String) },
      },
    });
    await expect
      .poll(
        async () =>
          (await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin)).data?.provider?.keys[0]
            ?.status,
        { timeout: 8000, interval: 200 },
      )
      .toBe('EXPIRED');
    await t.app.services.keyRing.reload();
    expect(t.app.services.keyRing.select(provider.id)).toBeUndefined();
  });

  it('fails closed on a tampered or moved ciphertext: the key is not used, the failure is audited, serving goes on', async () => {
    const provider = await createProvider();
    const victim = await addKey(provider.slug, secret(), { label: 'victim' });
    const other = await addKey(provider.slug, secret(), { label: 'other' });
    // Copy the other key's ciphertext onto the victim's row (a "moved" secret).
    await query(
      t.config.database.url!,
      'update provider_keys set ciphertext = (select ciphertext from provider_keys where id = $2) where id = $1',
      [victim.id, other.id],
    );
    await t.app.services.keyRing.reload();
    for (let i = 0; i < 30; i++) expect(t.app.services.keyRing.select(provider.id)?.id).toBe(other.id);
    await expect
      .poll(
        async () =>
          (await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, admin)).data?.provider?.keys.find(
            (k) => k.id === victim.id,
          )?.problem,
        {
          timeout: 5000,
        },
      )
      .toMatch(/decryption failed: it belongs to another key/);

    // Flip one byte of the other key's ciphertext body.
    const [row] = await query<{ ciphertext: string }>(
      t.config.database.url!,
      'select ciphertext from provider_keys where id = $1',
      [other.id],
    );
    const parts = row!.ciphertext.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = (body[0] ?? 0) ^ 0xff;
    parts[3] = body.toString('base64url');
    await query(t.config.database.url!, 'update provider_keys set ciphertext = $2 where id = $1', [
      other.id,
      parts.join('.'),
    ]);
    await t.app.services.keyRing.reload();
    expect(t.app.services.keyRing.select(provider.id)).toBeUndefined();
    const auditedTargets = async () =>
      (
        await gql(t.graphqlUrl, AuditLog, { first: 10, filter: { action: 'key.decrypt_failed' } }, admin)
      ).data?.auditLog.edges.map((e) => e.node.targetId) ?? [];
    await expect
      .poll(auditedTargets, { timeout: 5000 })
      .toEqual(expect.arrayContaining([victim.id, other.id]));
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });

  it('falls back to TOLLGATE_PROVIDER_KEY_<SLUG> for a provider with no stored key', async () => {
    const devSecret = secret('dev');
    const env = await startTestApp({
      env: { TOLLGATE_PROVIDER_KEY_DEV_ONLY: devSecret },
      databaseUrl: undefined,
    });
    try {
      const token = await env.token('admin');
      const created = await gql(
        env.graphqlUrl,
        CreateProvider,
        { input: { slug: 'dev-only', name: 'Dev', baseUrl: 'https://api.example.com' } },
        token,
      );
      const payload = created.data?.createProvider;
      const id = fromGlobalId(payload?.__typename === 'ProviderPayload' ? payload.provider.id : undefined);
      await env.app.services.keyRing.reload();
      expect(env.app.services.keyRing.select(id)).toMatchObject({ id: 'env', secret: devSecret });
      const keys = await gql(env.graphqlUrl, ProviderKeys, { slug: 'dev-only' }, token);
      expect(keys.data?.provider).toMatchObject({ keySource: 'ENV', keys: [] });
      expect(JSON.stringify(keys)).not.toContain(devSecret);
    } finally {
      await env.stop();
    }
  });

  it('lets viewers read key metadata but never change keys', async () => {
    const provider = await createProvider();
    const viewer = await t.token('viewer');
    const attempt = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: provider.slug, secret: secret() } },
      viewer,
    );
    expect(attempt.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const operator = await t.token('operator');
    const again = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: provider.slug, secret: secret() } },
      operator,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(
      (await gql(t.graphqlUrl, ProviderKeys, { slug: provider.slug }, viewer)).data?.provider?.keys,
    ).toEqual([]);
  });
});
