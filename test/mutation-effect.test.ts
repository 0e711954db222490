import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AddProviderKey,
  RevokeClient,
  RevokeProviderKey,
  RotateClientKey,
  SetProviderEnabled,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

/**
 * A mutation that stops something (a client key, a provider key, a provider) has taken effect on
 * the replica that ran it by the time it returns: a call started the moment the answer arrives
 * is refused. Events reach the caches asynchronously (through Redis here, as in a cluster), so
 * without that guarantee a few of these trials are served with what was just revoked.
 */
const TRIALS = 10;

let t: TestApp;
let upstream: Upstream;
let admin: string;
beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
  upstream = await startUpstream({ kind: 'json', body: { ok: true } });
  // Only events refresh the caches: the periodic safety net would hide nothing in 10 minutes.
  t = await startTestApp({ env: { REDIS_URL: redisUrl, TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '600000' } });
  admin = await t.token('admin');
});
afterAll(async () => {
  await t?.stop();
  await upstream?.close();
});

const codeOf = async (response: Response) =>
  ((await response.json()) as { error?: { code?: string } }).error?.code ?? `status ${response.status}`;

describe('a mutation has taken effect on its own replica when it returns', () => {
  it('revokeClient: a call made at once with the revoked key is refused, in every trial', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const served: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const client = await createClient(t);
      expect((await call(t, client.key, `${slug}/x`)).status).toBe(200);
      const revoked = await gql(t.graphqlUrl, RevokeClient, { id: client.id }, admin);
      const response = await call(t, client.key, `${slug}/x`);
      expect(revoked.data?.revokeClient?.__typename).toBe('ClientPayload');
      if (response.status !== 401) served.push(trial);
      await response.body?.cancel();
    }
    expect(served, 'trials in which the revoked key was still served').toEqual([]);
  });

  it('rotateClientKey: at once the old key is refused and the new one is accepted, in every trial', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const wrong: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const client = await createClient(t);
      expect((await call(t, client.key, `${slug}/x`)).status).toBe(200);
      const rotated = await gql(t.graphqlUrl, RotateClientKey, { id: client.id }, admin);
      const [old, fresh] = await Promise.all([
        call(t, client.key, `${slug}/x`),
        rotated.data?.rotateClientKey?.__typename === 'ClientKeyPayload'
          ? call(t, rotated.data.rotateClientKey.key, `${slug}/x`)
          : Promise.reject(new Error(JSON.stringify(rotated))),
      ]);
      if (old.status !== 401) wrong.push(`trial ${trial}: old key answered ${old.status}`);
      if (fresh.status !== 200) wrong.push(`trial ${trial}: new key answered ${fresh.status}`);
      await Promise.all([old.body?.cancel(), fresh.body?.cancel()]);
    }
    expect(wrong).toEqual([]);
  });

  it('revokeProviderKey: a call made at once never carries the revoked key, in every trial', async () => {
    const secrets = [`sk-keep-${randomBytes(8).toString('hex')}`];
    const { slug } = await setUpProvider(t, upstream.url, { keys: secrets });
    const client = await createClient(t);
    const used: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const secret = `sk-gone-${trial}-${randomBytes(8).toString('hex')}`;
      const added = await gql(
        t.graphqlUrl,
        AddProviderKey,
        // Heavier than the key that stays, so a revoked key still in the ring would likely be picked.
        { input: { provider: slug, secret, label: `gone-${trial}`, weight: 100 } },
        admin,
      );
      if (added.data?.addProviderKey?.__typename !== 'ProviderKeyPayload')
        throw new Error(JSON.stringify(added));
      const revoked = await gql(
        t.graphqlUrl,
        RevokeProviderKey,
        { keyId: added.data.addProviderKey.key.id },
        admin,
      );
      expect(revoked.data?.revokeProviderKey?.__typename).toBe('ProviderKeyPayload');
      upstream.reset();
      const response = await call(t, client.key, `${slug}/x`);
      expect(response.status).toBe(200);
      await response.body?.cancel();
      if (upstream.requests.some((r) => String(r.headers.authorization).includes(secret))) used.push(trial);
    }
    expect(used, 'trials in which the revoked key was sent upstream').toEqual([]);
  });

  it('setProviderEnabled(false): a call made at once is refused with PROVIDER_DISABLED, in every trial', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const client = await createClient(t);
    const answers: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const enabled = await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: true }, admin);
      expect(enabled.data?.setProviderEnabled?.__typename).toBe('ProviderPayload');
      const served = await call(t, client.key, `${slug}/x`);
      const disabled = await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: false }, admin);
      const refused = await call(t, client.key, `${slug}/x`);
      expect(disabled.data?.setProviderEnabled?.__typename).toBe('ProviderPayload');
      answers.push(`${served.status} then ${await codeOf(refused)}`);
      await served.body?.cancel();
    }
    expect(answers).toEqual(Array(TRIALS).fill('200 then PROVIDER_DISABLED'));
  });
});
