import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeClientKey, generateClientKey } from '../src/modules/clients/client.service.ts';
import { RevokeClient } from './documents.ts';
import { startReplicas, type TestApp } from './helpers/app.ts';
import { createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';

/**
 * A configuration change costs one row, not the whole table: with a few thousand clients, a
 * client created or revoked on one replica takes effect on the other after that replica reads
 * the one client (counted on its own connection pool), events that arrive late do not bring back
 * what is revoked, a burst of events is read in a few queries, and the periodic reload (paged)
 * repairs what a lost event missed.
 */
const BULK_CLIENTS = 3000;

/** What one replica reads from a table (the clients table unless told): statements and rows, while `on`. */
class ClientReads {
  on = false;
  table = /from "clients"/;
  statements: { text: string; rows: number }[] = [];
  readonly #patched = new WeakSet<PoolClient>();

  constructor(pool: Pool) {
    pool.on('acquire', (client) => {
      if (this.#patched.has(client)) return;
      this.#patched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<{ rowCount?: number }>;
      Object.assign(client, {
        query: async (...args: unknown[]) => {
          const result = await query(...args);
          const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: unknown })?.text);
          if (this.on && this.table.test(text))
            this.statements.push({ text: text.slice(0, 160), rows: result?.rowCount ?? 0 });
          return result;
        },
      });
    });
  }

  get rows(): number {
    return this.statements.reduce((sum, s) => sum + s.rows, 0);
  }

  async during(work: () => Promise<unknown>, table = /from "clients"/): Promise<void> {
    this.table = table;
    this.statements = [];
    this.on = true;
    try {
      await work();
    } finally {
      this.on = false;
    }
  }
}

let a: TestApp;
let b: TestApp;
let databaseUrl: string;
let reads: ClientReads;
let admin: string;
let redis: Redis;

/** Inserts clients straight into PostgreSQL (no events): `count` rows in one statement. */
async function insertClients(
  count: number,
  status: 'ACTIVE' | 'REVOKED' = 'ACTIVE',
): Promise<{ id: string; key: string }[]> {
  const made = Array.from({ length: count }, () => ({ id: randomUUID(), key: generateClientKey() }));
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const described = made.map(({ key }) => describeClientKey(key));
    await db.query(
      `insert into clients (id, name, status, key_prefix, key_hash, key_rotated_at, created_by, created_at, updated_at, version)
       select id, 'bulk-' || id, $4::text, prefix, hash, now(), 'test', now(), now(), 1
       from unnest($1::uuid[], $2::text[], $3::text[]) as t(id, prefix, hash)`,
      [made.map((m) => m.id), described.map((d) => d.prefix), described.map((d) => d.hash), status],
    );
  } finally {
    await db.end();
  }
  return made;
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query<T>(text, values)).rows;
  } finally {
    await db.end();
  }
}

/** An event as another replica would publish it (through Redis), possibly late or stale. */
async function publishFromElsewhere(event: Record<string, unknown>): Promise<void> {
  await redis.publish(
    'tollgate:events',
    JSON.stringify({
      origin: `elsewhere-${randomUUID()}`,
      topic: 'client.changed',
      event: { id: randomUUID(), at: new Date().toISOString(), actor: 'test', ...event },
    }),
  );
}

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
  redis = new Redis(redisUrl);
  // Only events refresh the caches here, unless a test waits for the safety net on purpose.
  ({ a, b, databaseUrl } = await startReplicas({
    REDIS_URL: redisUrl,
    TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '600000',
  }));
  await insertClients(BULK_CLIENTS);
  await Promise.all([a.app.services.clientCache.reload(), b.app.services.clientCache.reload()]);
  reads = new ClientReads(await b.app.orm.em.getConnection().getNativeClient());
  admin = await a.token('admin');
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('a client change reaches another replica as that one client', () => {
  it('a client created on A is served on B after B reads only that client', async () => {
    const before = b.app.services.clientCache.stats;
    let created: { id: string; key: string } | undefined;
    await reads.during(async () => {
      created = await createClient(a);
      await expect
        .poll(() => b.app.services.clientCache.authenticate(created!.key)?.name, {
          timeout: 5000,
          interval: 5,
        })
        .toMatch(/^app-/);
    });
    console.log('B read for the creation:', reads.statements);
    expect(reads.rows, 'client rows B read for one new client').toBeLessThanOrEqual(2);
    expect(b.app.services.clientCache.stats.fullReloads).toBe(before.fullReloads);
  });

  it('a client revoked on A is refused on B without B reading the clients table again', async () => {
    const { id, key } = await createClient(a);
    await expect
      .poll(() => b.app.services.clientCache.authenticate(key)?.id, { timeout: 5000 })
      .toBeDefined();
    const before = b.app.services.clientCache.stats;
    await reads.during(async () => {
      const revoked = await gql(a.graphqlUrl, RevokeClient, { id }, admin);
      expect(revoked.data?.revokeClient?.__typename).toBe('ClientPayload');
      await expect
        .poll(() => b.app.services.clientCache.authenticate(key), { timeout: 5000, interval: 5 })
        .toBeUndefined();
    });
    expect(reads.rows, 'client rows B read for one revocation').toBe(0);
    expect(b.app.services.clientCache.stats.fullReloads).toBe(before.fullReloads);
  });

  it('a stale event that arrives after the revocation does not bring the client back', async () => {
    const { id, key } = await createClient(a);
    const clientId = b.app.services.clientCache.authenticate(key)?.id ?? id;
    await gql(a.graphqlUrl, RevokeClient, { id }, admin);
    await expect.poll(() => b.app.services.clientCache.authenticate(key), { timeout: 5000 }).toBeUndefined();
    // The creation and an update, as a slow replica would deliver them after the revocation.
    await reads.during(async () => {
      await publishFromElsewhere({ change: 'CREATED', clientId, version: 1 });
      await publishFromElsewhere({ change: 'UPDATED', clientId, version: 2 });
      // An event without a version (an older replica's) is read from PostgreSQL: still revoked.
      await publishFromElsewhere({ change: 'UPDATED', clientId });
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(b.app.services.clientCache.authenticate(key)).toBeUndefined();
    expect(reads.rows, 'client rows B read for three stale events').toBeLessThanOrEqual(1);
  });

  it('a burst of 200 client events is read in a few queries, not one reload per event', async () => {
    const burst = await insertClients(200);
    const before = b.app.services.clientCache.stats;
    await reads.during(async () => {
      await Promise.all(
        burst.map(({ id }) => publishFromElsewhere({ change: 'CREATED', clientId: id, version: 1 })),
      );
      await expect
        .poll(() => burst.filter(({ key }) => b.app.services.clientCache.authenticate(key)).length, {
          timeout: 10_000,
          interval: 10,
        })
        .toBe(200);
    });
    console.log(`B read the burst of 200 in ${reads.statements.length} statements, ${reads.rows} rows`);
    expect(reads.rows, 'client rows B read for 200 changed clients').toBeLessThanOrEqual(200);
    expect(reads.statements.length).toBeLessThanOrEqual(20);
    expect(b.app.services.clientCache.stats.fullReloads).toBe(before.fullReloads);
  });

  it('reloads asked for together run as one (or one more), each a page at a time', async () => {
    await reads.during(() =>
      Promise.all(Array.from({ length: 10 }, () => b.app.services.clientCache.reload())),
    );
    const active = BULK_CLIENTS + 200 + 10;
    console.log(`10 concurrent reloads: ${reads.statements.length} statements, ${reads.rows} rows`);
    // At most two reloads' worth of rows (the one under way and the one after it).
    expect(reads.rows).toBeLessThanOrEqual(2 * active);
    expect(Math.max(...reads.statements.map((s) => s.rows)), 'rows in one statement').toBeLessThanOrEqual(
      1000,
    );
  });
});

describe('the safety-net reload', () => {
  it('repairs lost events: a client revoked and one created without an event take effect at the next reload', async () => {
    const { key: revokedKey } = await createClient(a);
    await expect
      .poll(() => b.app.services.clientCache.authenticate(revokedKey), { timeout: 5000 })
      .toBeDefined();
    const revokedId = b.app.services.clientCache.authenticate(revokedKey)!.id;
    const [added] = await insertClients(1);
    // Written behind Tollgate's back: no event is published, as when Redis lost it.
    await sql(`update clients set status = 'REVOKED', version = version + 1 where id = $1`, [revokedId]);
    expect(b.app.services.clientCache.authenticate(revokedKey)).toBeDefined();
    expect(b.app.services.clientCache.authenticate(added!.key)).toBeUndefined();
    await b.app.services.clientCache.reload();
    expect(b.app.services.clientCache.authenticate(revokedKey)).toBeUndefined();
    expect(b.app.services.clientCache.authenticate(added!.key)?.id).toBe(added!.id);
  });
});

describe('provider and key changes reach another replica as one row each', () => {
  it('a provider and its key created on A are used on B after B reads that provider and that key', async () => {
    // Many providers already, so that reading them all would show.
    const { slug: template } = await setUpProvider(a, 'http://127.0.0.1:9', { keys: [] });
    const columns = (
      await sql<{ column_name: string }>(
        `select column_name from information_schema.columns where table_name = 'providers' order by ordinal_position`,
      )
    ).map((r) => r.column_name);
    const values = columns.map((c) =>
      c === 'id' ? 'gen_random_uuid()' : c === 'slug' || c === 'name' ? `'bulk-p-' || i` : `t."${c}"`,
    );
    await sql(
      `insert into providers (${columns.map((c) => `"${c}"`).join(', ')})
       select ${values.join(', ')} from providers t, generate_series(1, 300) as i where t.slug = $1`,
      [template],
    );
    await Promise.all([b.app.services.providerCache.reload(), b.app.services.keyRing.reload()]);
    const providersBefore = b.app.services.providerCache.stats;
    const keysBefore = b.app.services.keyRing.stats;
    let slug = '';
    await reads.during(async () => {
      ({ slug } = await setUpProvider(a, 'http://127.0.0.1:9', { keys: ['sk-one-row-0123456789'] }));
      await expect.poll(() => b.app.services.providerCache.bySlug(slug)?.slug, { timeout: 5000 }).toBe(slug);
      const id = b.app.services.providerCache.bySlug(slug)!.id;
      await expect
        .poll(() => b.app.services.keyRing.select(id)?.secret, { timeout: 5000 })
        .toBe('sk-one-row-0123456789');
    }, /from "(providers|provider_keys)"/);
    console.log('B read for a provider and its key:', reads.statements);
    expect(reads.rows, 'provider and key rows B read').toBeLessThanOrEqual(4);
    expect(b.app.services.providerCache.stats.fullReloads).toBe(providersBefore.fullReloads);
    expect(b.app.services.keyRing.stats.fullReloads).toBe(keysBefore.fullReloads);
  });
});
