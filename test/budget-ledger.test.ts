import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetLedger, type LedgerAccount } from '../src/modules/budgets/budget-ledger.ts';
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

/** A ledger on its own redis-server, which the test may freeze or kill. */
async function ledgerWithOwnRedis(): Promise<{ ledger: BudgetLedger; port: number; redis: Redis }> {
  const port = await freePort();
  server = await startRedisServer(port);
  redis = createRedis(`redis://127.0.0.1:${port}`);
  redis.on('error', () => undefined);
  await redis.connect();
  return { ledger: new BudgetLedger({ redis, logger: createLogger('silent') }), port, redis };
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
    expect(shared.hold.id).not.toBeNull();
    await ledger.settle(shared.hold, 2000);
    // Started at what PostgreSQL knew (1000), plus this call.
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 3000, reservedMicros: 0 }]);

    // Frozen: commands time out (and run later, when Redis wakes up).
    server!.kill('SIGSTOP');
    const alone = await ledger.reserve([a], 4000, fromDatabase);
    expect(alone).toMatchObject({ ok: true, hold: { id: null } });
    expect(ledger.degraded).toBe(true);
    // 3000 spent + 4000 held: another 4000 would pass the limit.
    expect((await ledger.reserve([a], 4000, fromDatabase)).ok).toBe(false);
    if (alone.ok) await ledger.settle(alone.hold, 4000);

    server!.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 200));
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
    await new Promise((r) => setTimeout(r, 2500));
    expect((await ledger.reserve([a], 500, { ...hold, seed: async () => 9000 })).ok).toBe(true);
    expect(await ledger.read([a.key])).toEqual([{ spentMicros: 9000, reservedMicros: 500 }]);
    expect((await ledger.reserve([a], 1000, { ...hold, seed: async () => 0 })).ok).toBe(false);
  });
});
