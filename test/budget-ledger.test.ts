import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetLedger, type LedgerAccount } from '../src/modules/budgets/budget-ledger.ts';
import { RedisGate } from '../src/modules/resilience/shared-state.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createRedis } from '../src/shared/redis.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';

const account = (key: string, limitMicros: number, blocks = true): LedgerAccount => ({
  key,
  limitMicros,
  blocks,
  ttlSeconds: 3600,
});
const hold = { holdMs: 60_000 };

let server: ChildProcess | undefined;
let redis: Redis | undefined;
afterEach(() => {
  redis?.disconnect();
  server?.kill('SIGKILL');
});

let gate: RedisGate | undefined;
afterEach(() => gate?.stop());

/** Log records at warn level and above, to tell an outage from a bug. */
const logged: { level: string; msg: string; script?: string }[] = [];

/** A ledger on its own redis-server, which the test may freeze or kill. */
async function ledgerWithOwnRedis(
  replicas = 1,
): Promise<{ ledger: BudgetLedger; port: number; redis: Redis; gate: RedisGate }> {
  const port = await freePort();
  server = await startRedisServer(port);
  redis = createRedis(`redis://127.0.0.1:${port}`);
  redis.on('error', () => undefined);
  await redis.connect();
  logged.length = 0;
  const logger = createLogger('warn', {
    write: (line: string) => {
      logged.push(JSON.parse(line));
    },
  });
  gate = new RedisGate({ redis, logger, probeIntervalMs: 100 });
  await gate.start();
  return { ledger: new BudgetLedger({ gate, logger, replicas }), port, redis, gate };
}

async function waitUntil(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

describe('budget ledger', () => {
  it('without Redis: refuses the reservation that would go over, and settles to actual cost', async () => {
    const ledger = new BudgetLedger({ logger: createLogger('silent') });
    const a = account('a', 1000);
    const first = await ledger.reserve([a], 600, hold);
    if (!first.ok) throw new Error('refused');
    expect(await ledger.reserve([a], 500, hold)).toMatchObject({ ok: false, blockedAt: 0 });
    expect(await ledger.settle(first.hold, 250)).toEqual([{ spentMicros: 250, reservedMicros: 0 }]);
    const second = await ledger.reserve([a], 750, hold);
    if (!second.ok) throw new Error('refused');
    // An account at its limit refuses even a free call; an ALERT_ONLY one never refuses.
    await ledger.settle(second.hold, 750);
    expect((await ledger.reserve([a], 0, hold)).ok).toBe(false);
    expect((await ledger.reserve([account('a', 1000, false)], 5000, hold)).ok).toBe(true);
  });

  it('releases a hold that is never settled (its replica died) when it lapses', async () => {
    const { ledger, port } = await ledgerWithOwnRedis();
    const a = account(`lapse:${port}`, 1000);
    expect((await ledger.reserve([a], 1000, { holdMs: 300 })).ok).toBe(true);
    expect((await ledger.reserve([a], 1, hold)).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect((await ledger.reserve([a], 1000, hold)).ok).toBe(true);
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 0, reservedMicros: 1000 }]);
  });

  it('with Redis frozen it decides alone, then releases what it held and hands over the spend', async () => {
    const { ledger, port, redis: client } = await ledgerWithOwnRedis();
    const a = account(`frozen:${port}`, 10_000);
    const fromDatabase = { ...hold, seed: async () => 1000 };
    const shared = await ledger.reserve([a], 2000, fromDatabase);
    if (!shared.ok) throw new Error('refused');
    expect(shared.hold.local).toBe(false);
    await ledger.settle(shared.hold, 2000);
    // Started at what PostgreSQL knew (1000), plus this call.
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 3000, reservedMicros: 0 }]);

    // Frozen: commands time out (and run later, when Redis wakes up).
    server!.kill('SIGSTOP');
    const alone = await ledger.reserve([a], 4000, fromDatabase);
    expect(alone).toMatchObject({ ok: true, hold: { local: true } });
    expect(ledger.degraded).toBe(true);
    // 3000 spent + 4000 held: another 4000 would pass the limit.
    expect((await ledger.reserve([a], 4000, fromDatabase)).ok).toBe(false);
    if (alone.ok) await ledger.settle(alone.hold, 4000);

    server!.kill('SIGCONT');
    await waitUntil(() => gate!.available);
    // The late-running reservations are released, the 4000 spent alone is handed over.
    expect((await ledger.reserve([a], 1000, fromDatabase)).ok).toBe(true);
    expect(ledger.degraded).toBe(false);
    expect(await client.hget(a.key, 's')).toBe('7000');
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 7000, reservedMicros: 1000 }]);
  });

  it('starts an account Redis lost from what PostgreSQL says was spent', async () => {
    const { ledger, port } = await ledgerWithOwnRedis();
    const a = account(`lost:${port}`, 10_000);
    const first = await ledger.reserve([a], 1000, { ...hold, seed: async () => 0 });
    if (first.ok) await ledger.settle(first.hold, 1000);
    // Redis restarts empty: the next call seeds the account from the database's figure.
    server!.kill('SIGKILL');
    await once(server!, 'exit');
    server = await startRedisServer(port);
    await waitUntil(() => gate!.available);
    expect((await ledger.reserve([a], 500, { ...hold, seed: async () => 9000 })).ok).toBe(true);
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 9000, reservedMicros: 500 }]);
    expect((await ledger.reserve([a], 1000, { ...hold, seed: async () => 0 })).ok).toBe(false);
  });

  it('settles a call whose estimate was 0: its actual cost is spent, not lost', async () => {
    const { ledger, port, redis: client } = await ledgerWithOwnRedis();
    const a = account(`zero:${port}`, 1000);
    for (let i = 0; i < 3; i++) {
      const free = await ledger.reserve([a], 0, hold);
      if (!free.ok) throw new Error('refused');
      expect(await ledger.settle(free.hold, 22)).toEqual([{ spentMicros: 22 * (i + 1), reservedMicros: 0 }]);
    }
    // Released for nothing too (a failed call estimated at 0).
    const failed = await ledger.reserve([a], 0, hold);
    if (failed.ok) await ledger.settle(failed.hold, 0);
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['66', '0']);
    expect(ledger.degraded).toBe(false);
    expect(logged).toEqual([]);
  });

  it('never takes reserved below 0: a hold settled twice, or after it lapsed, is released once', async () => {
    const { ledger, port, redis: client } = await ledgerWithOwnRedis();
    const a = account(`negative:${port}`, 10_000);
    const first = await ledger.reserve([a], 300, hold);
    const second = await ledger.reserve([a], 500, { holdMs: 200 });
    if (!first.ok || !second.ok) throw new Error('refused');
    await ledger.settle(first.hold, 100);
    await ledger.settle(first.hold, 0);
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['100', '500']);
    await new Promise((r) => setTimeout(r, 300));
    // The second hold lapsed: the settlement releases it with the lapsed ones, once.
    expect(await ledger.settle(second.hold, 50)).toEqual([{ spentMicros: 150, reservedMicros: 0 }]);
    await ledger.settle(second.hold, 0);
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['150', '0']);
    expect(await client.zcard(`${a.key}:holds`)).toBe(0);
  });

  it('keeps amounts near and past 2^53 exact (Redis integers are 64-bit, Lua numbers doubles)', async () => {
    const { ledger, port, redis: client } = await ledgerWithOwnRedis();
    const max = Number.MAX_SAFE_INTEGER; // 9007199254740991
    const a = account(`huge:${port}`, max);
    const first = await ledger.reserve([a], max - 1, hold);
    if (!first.ok) throw new Error('refused');
    expect(await client.hget(a.key, 'r')).toBe('9007199254740990');
    // 1 more fits exactly; 2 more would pass the limit by one micro-unit.
    expect((await ledger.reserve([a], 2, hold)).ok).toBe(false);
    const last = await ledger.reserve([a], 1, hold);
    if (!last.ok) throw new Error('refused');
    await ledger.settle(first.hold, max);
    await ledger.settle(last.hold, max);
    // Spent past 2^53 in Redis, written digit for digit (Lua alone would write 1.8014398509482e+16).
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['18014398509481982', '0']);
    expect((await ledger.reserve([account(a.key, max, false)], 10 ** 17, hold)).ok).toBe(true);
    expect(await client.hget(a.key, 'r')).toBe('9007199254740991');
    expect(logged).toEqual([]);
  });

  it('reads reservedMicros without the holds that have lapsed', async () => {
    const { ledger, port } = await ledgerWithOwnRedis();
    const a = account(`read-lapsed:${port}`, 10_000);
    expect((await ledger.reserve([a], 700, { holdMs: 200 })).ok).toBe(true);
    expect((await ledger.reserve([a], 100, hold)).ok).toBe(true);
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 0, reservedMicros: 800 }]);
    await new Promise((r) => setTimeout(r, 300));
    // No call on the budget since: the read alone leaves the lapsed hold out.
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 0, reservedMicros: 100 }]);
  });

  it('reports a script error as a bug (not "redis unavailable") and still counts the spend', async () => {
    const { ledger, port, redis: client, gate: own } = await ledgerWithOwnRedis();
    const a = account(`bug:${port}`, 10_000);
    const before = await ledger.reserve([a], 100, hold);
    if (!before.ok) throw new Error('refused');
    // Data the scripts cannot read: every script on this account refuses, changing nothing.
    await client.hset(a.key, 'r', 'not a number');
    const settled = await ledger.settle(before.hold, 100);
    expect(settled).toEqual([{ spentMicros: 100, reservedMicros: 0 }]);
    expect(await client.hget(a.key, 's')).toBeNull();
    expect(own.available).toBe(true);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.map((l) => [l.level, l.script])).toEqual([['error', 'budget settle']]);
    expect(logged.map((l) => l.msg).join(' ')).not.toMatch(/unavailable/);
    // Repaired, the next call hands the spend over to Redis.
    await client.hset(a.key, 'r', '0');
    expect((await ledger.reserve([a], 10, hold)).ok).toBe(true);
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['100', '10']);
  });

  it('a reservation or settlement that Redis runs after its caller gave up changes nothing', async () => {
    const { ledger, port, redis: client, gate: own } = await ledgerWithOwnRedis();
    const a = account(`late:${port}`, 10_000);
    const first = await ledger.reserve([a], 1000, hold);
    if (!first.ok) throw new Error('refused');
    server!.kill('SIGSTOP');
    // Both time out and are queued in the frozen Redis; both were decided here instead.
    const [late, settled] = await Promise.all([
      ledger.reserve([a], 2000, hold),
      ledger.settle(first.hold, 1000),
    ]);
    expect(late).toMatchObject({ ok: true, hold: { local: true } });
    expect(settled).toEqual([{ spentMicros: 1000, reservedMicros: 0 }]);
    await new Promise((r) => setTimeout(r, 700));
    server!.kill('SIGCONT');
    await waitUntil(async () => own.available && (await client.hget(a.key, 's')) === '1000');
    // The hold that ran late never landed; the settlement that ran late did not count twice.
    expect(await client.hmget(a.key, 's', 'r')).toEqual(['1000', '0']);
    expect(await client.zcard(`${a.key}:holds`)).toBe(0);
  });

  it('with Redis unavailable each replica spends only its share of what was left', async () => {
    // Three replicas: room for 9 calls of 100 when Redis freezes, so 3 for this one.
    const { ledger, port } = await ledgerWithOwnRedis(3);
    const a = account(`share:${port}`, 1000);
    for (let i = 0; i < 1; i++) {
      const r = await ledger.reserve([a], 100, hold);
      if (r.ok) await ledger.settle(r.hold, 100);
    }
    server!.kill('SIGSTOP');
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      const r = await ledger.reserve([a], 100, hold);
      if (r.ok) {
        admitted++;
        await ledger.settle(r.hold, 100);
      }
    }
    expect(admitted).toBe(3);
    // A call estimated at 0 is refused too once the share is spent.
    expect((await ledger.reserve([a], 0, hold)).ok).toBe(false);
    server!.kill('SIGCONT');
  });

  it('without Redis: an account seeded from PostgreSQL starts there, a later seed does not reset it, and the ledger is never degraded', async () => {
    const ledger = new BudgetLedger({ logger: createLogger('silent') });
    expect(ledger.degraded).toBe(false);
    expect(ledger.shared).toBe(false);
    const a = account('seeded', 1000);
    await ledger.seed(a, 900);
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 900, reservedMicros: 0 }]);
    expect(await ledger.reserve([a], 200, hold)).toMatchObject({ ok: false, blockedAt: 0 });
    // The account is counted here since: PostgreSQL's figure (which lags) does not replace it.
    const fits = await ledger.reserve([a], 100, hold);
    if (!fits.ok) throw new Error('refused');
    await ledger.settle(fits.hold, 100);
    await ledger.seed(a, 0);
    expect(await ledger.read([a.key, 'never-seen'])).toEqual([
      { spentMicros: 1000, reservedMicros: 0 },
      { spentMicros: 0, reservedMicros: 0 },
    ]);
  });

  it('while Redis is unavailable: reads give what Redis last said, an account never seen starts from PostgreSQL, a release owes nothing, and a hold made alone is spent once when settled after Redis returns', async () => {
    const { ledger, port, redis: client } = await ledgerWithOwnRedis();
    const a = account(`outage-read:${port}`, 10_000);
    const b = account(`outage-unseen:${port}`, 10_000);
    const first = await ledger.reserve([a], 1000, hold);
    if (!first.ok) throw new Error('refused');
    await ledger.settle(first.hold, 1000);
    const inFlight = await ledger.reserve([a], 500, hold);
    if (!inFlight.ok) throw new Error('refused');

    server!.kill('SIGSTOP');
    // The read that finds Redis frozen answers with the figures Redis gave last.
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 1000, reservedMicros: 500 }]);
    expect(ledger.degraded).toBe(true);
    // Never seen by this replica: its share is taken from PostgreSQL's figure (9,950 spent).
    expect(await ledger.reserve([b], 100, { ...hold, seed: async () => 9950 })).toMatchObject({ ok: false });
    // A call held before the outage fails: released, and nothing is owed to Redis for it.
    expect(await ledger.settle(inFlight.hold, 0)).toEqual([{ spentMicros: 1000, reservedMicros: 0 }]);
    const alone = await ledger.reserve([a], 300, hold);
    expect(alone).toMatchObject({ ok: true, hold: { local: true } });

    server!.kill('SIGCONT');
    await waitUntil(() => gate!.available);
    if (alone.ok) await ledger.settle(alone.hold, 300);
    // The hold whose release Redis never saw is released; the call made alone is spent once.
    await waitUntil(async () => (await client.hget(a.key, 'r')) === '0');
    expect(await client.hget(a.key, 's')).toBe('1300');
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 1300, reservedMicros: 0 }]);
  });

  it("a reservation script that fails (a bug, not an outage) is logged with its name and the call is decided from this replica's share", async () => {
    const { ledger, port, redis: client, gate: own } = await ledgerWithOwnRedis(2);
    const a = account(`reserve-bug:${port}`, 1000);
    const first = await ledger.reserve([a], 100, hold);
    if (!first.ok) throw new Error('refused');
    await client.hset(a.key, 's', 'not a number');
    // Room left when Redis last answered: 1000 − 100 held = 900, this replica's share 450.
    expect(await ledger.reserve([a], 400, hold)).toMatchObject({ ok: true, hold: { local: true } });
    expect(await ledger.reserve([a], 100, hold)).toMatchObject({ ok: false, blockedAt: 0 });
    expect(own.available).toBe(true);
    expect(logged.map((l) => [l.level, l.script])).toEqual([
      ['error', 'budget reserve'],
      ['error', 'budget reserve'],
    ]);
  });
});
