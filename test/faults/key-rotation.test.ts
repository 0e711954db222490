import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotateProviderKey } from '../documents.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  report,
  sleep,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 6: a provider key rotated through GraphQL (rotateProviderKey with no grace: the new
 * key is added and the old one revoked in one step) while two replicas carry load. The upstream
 * records the key each call brought: within a second every replica sends the new one, and no
 * call fails.
 */

const OLD = 'sk-old-0123456789abcdef';
const NEW = 'sk-new-fedcba9876543210';

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream({ kind: 'json', body: { ok: true } });
  cluster = await startCluster({ replicas: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario 6: provider key rotation under load', () => {
  it('every replica uses the new key within one second; no call fails', async () => {
    const { slug, keyIds } = await createProvider(cluster, upstream.url, {
      keys: [OLD],
      input: { timeoutMs: 3_000 },
    });
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);

    const load = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/rotate/${n}`,
      concurrency: 4,
      pauseMs: 10,
      giveUpMs: 10_000,
      prefix: 'rotate',
      // The upstream learns which replica forwarded each call.
      headers: (_n, replica) => ({ 'x-fault-replica': replica.name }),
    }).start();
    await sleep(2_000);
    const [a] = cluster.replicas;
    const requestedAt = Date.now();
    const rotated = await cluster.gql(
      RotateProviderKey,
      { input: { keyId: keyIds[0]!, newSecret: NEW, graceSeconds: 0 } },
      a,
    );
    const rotatedAt = Date.now();
    await sleep(3_000);
    const outcomes = await load.stop();

    const seen = upstream.requests.filter((r) => r.path.startsWith('/rotate'));
    const perReplica: Record<
      string,
      { lastOldMsAfterRotation: number | null; firstNewMsAfterRotation: number | null }
    > = {};
    for (const replica of cluster.replicas) {
      const mine = seen.filter((r) => r.headers['x-fault-replica'] === replica.name);
      const lastOld = mine.filter((r) => r.headers.authorization === `Bearer ${OLD}`).at(-1);
      const firstNew = mine.find((r) => r.headers.authorization === `Bearer ${NEW}`);
      perReplica[replica.name] = {
        lastOldMsAfterRotation: lastOld ? lastOld.at - rotatedAt : null,
        firstNewMsAfterRotation: firstNew ? firstNew.at - rotatedAt : null,
      };
    }
    const lateOld = seen.filter(
      (r) => r.at > rotatedAt + 1_000 && r.headers.authorization !== `Bearer ${NEW}`,
    );
    report('6 key rotation', {
      calls: outcomes.length,
      statuses: tally(outcomes, (o) => `${o.status}${o.code ? ` ${o.code}` : ''}`),
      mutationMs: rotatedAt - requestedAt,
      perReplica,
      keysSeen: tally(seen, (r) => (r.headers.authorization === `Bearer ${NEW}` ? 'new' : 'old')),
      oldKeyMoreThan1sAfter: lateOld.length,
    });

    expect(rotated.data?.rotateProviderKey?.__typename).toBe('RotateProviderKeyPayload');
    expect(outcomes.filter((o) => o.status !== 200 || o.error || o.bodyError)).toEqual([]);
    expect(lateOld).toEqual([]);
    for (const replica of cluster.replicas) {
      const figures = perReplica[replica.name]!;
      expect(figures.firstNewMsAfterRotation).not.toBeNull();
      expect(figures.lastOldMsAfterRotation ?? -1).toBeLessThanOrEqual(1_000);
    }
    // Every call after the switch carried the new key, on both replicas.
    expect(seen.filter((r) => r.at > rotatedAt + 1_000).length).toBeGreaterThan(50);
  });
});
