import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** One budget's account for one period, as the ledger sees it. */
export interface LedgerAccount {
  /** `tollgate:budget:<budget id>:...:<period start ms>` */
  key: string;
  limitMicros: number;
  /** ALERT_ONLY budgets are counted but never refuse a call. */
  blocks: boolean;
  /** Seconds to keep the account after its last change; 0 keeps it (TOTAL periods). */
  ttlSeconds: number;
}

export interface LedgerFigures {
  spentMicros: number;
  reservedMicros: number;
}

/** What a successful reservation holds, to settle it later. */
export interface LedgerHold {
  accounts: LedgerAccount[];
  amountMicros: number;
  /** Identifies the hold in Redis (`<random>:<amount>`); null when held in this process. */
  id: string | null;
}

export type ReserveOutcome =
  | { ok: true; figures: LedgerFigures[]; hold: LedgerHold }
  /** `blockedAt` indexes the account that refused. */
  | { ok: false; blockedAt: number; figures: LedgerFigures[] };

// Each account is a hash (s: spent, r: reserved) and a sorted set of holds (member
// "<id>:<amount>", score: when the hold lapses). Holds that lapse (their replica died, or a
// timed-out command ran late) are released by the next script that touches the account, so a
// reservation can never stay stuck. Everything runs atomically in Redis, so concurrent calls on
// every replica see one ledger. KEYS come in pairs: hash, holds.
const PURGE = `
local function purge(h, z, now)
  local lapsed = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  for _, member in ipairs(lapsed) do
    local amount = tonumber(string.match(member, ':(%d+)$'))
    redis.call('ZREM', z, member)
    local r = redis.call('HINCRBY', h, 'r', -amount)
    if r < 0 then redis.call('HSET', h, 'r', 0) end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// ARGV: amount, requireExisting, holdMember, holdMs, then per account: limit, blocks, ttl.
// With requireExisting = '1', an account missing from Redis (a new period, or Redis lost its
// data) stops the script with { -1, indexes... } so that the caller can seed it first.
const RESERVE = `${PURGE}
local amount = tonumber(ARGV[1])
local accounts = #KEYS / 2
if ARGV[2] == '1' then
  local missing = { -1 }
  for i = 1, accounts do
    if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then missing[#missing + 1] = i end
  end
  if #missing > 1 then return missing end
end
local figures = {}
local blocked = 0
for i = 1, accounts do
  local h = KEYS[2 * i - 1]
  purge(h, KEYS[2 * i], now)
  local values = redis.call('HMGET', h, 's', 'r')
  local spent = tonumber(values[1] or '0')
  local reserved = tonumber(values[2] or '0')
  figures[i] = { spent, reserved }
  local base = 5 + (i - 1) * 3
  if blocked == 0 and ARGV[base + 1] == '1' then
    local limit = tonumber(ARGV[base])
    if spent >= limit or (amount > 0 and spent + reserved + amount > limit) then blocked = i end
  end
end
local out = { blocked }
for i = 1, accounts do
  local h = KEYS[2 * i - 1]
  local reserved = figures[i][2]
  if blocked == 0 then
    reserved = redis.call('HINCRBY', h, 'r', amount)
    redis.call('ZADD', KEYS[2 * i], now + tonumber(ARGV[4]), ARGV[3])
    local ttl = tonumber(ARGV[5 + (i - 1) * 3 + 2])
    if ttl > 0 then
      redis.call('EXPIRE', h, ttl)
      redis.call('EXPIRE', KEYS[2 * i], ttl)
    end
  end
  out[#out + 1] = figures[i][1]
  out[#out + 1] = reserved
end
return out
`;

// ARGV: holdMember, actual, then per account: ttl. Releasing a hold that already lapsed (or
// never landed) changes nothing, so a settlement may safely be sent twice.
const SETTLE = `${PURGE}
local member = ARGV[1]
local amount = tonumber(string.match(member, ':(%d+)$'))
local actual = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local h = KEYS[2 * i - 1]
  purge(h, KEYS[2 * i], now)
  if redis.call('ZREM', KEYS[2 * i], member) == 1 then
    local r = redis.call('HINCRBY', h, 'r', -amount)
    if r < 0 then redis.call('HSET', h, 'r', 0) end
  end
  local s = redis.call('HINCRBY', h, 's', actual)
  local ttl = tonumber(ARGV[2 + i])
  if ttl > 0 then redis.call('EXPIRE', h, ttl) end
  local values = redis.call('HMGET', h, 'r')
  out[#out + 1] = s
  out[#out + 1] = tonumber(values[1] or '0')
end
return out
`;

const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'r', 0)
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

type Commands = Redis & {
  budgetReserve(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  budgetSettle(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  budgetSeed(key: string, spent: number, ttl: number): Promise<number>;
};

const keysOf = (accounts: LedgerAccount[]) => accounts.flatMap((a) => [a.key, `${a.key}:holds`]);

/**
 * Spent and reserved micro-units per budget account. With Redis the accounts live there and
 * every reservation is one atomic script across all the budgets a call touches, so replicas
 * cannot overspend together; holds lapse after `holdMs` if never settled. Without Redis the
 * accounts live in this process (atomic here, since a reservation runs without yielding). If
 * Redis fails, this process carries on from its last known figures, and once Redis answers
 * again it releases the holds whose fate it could not know and hands over the spend it settled.
 */
export class BudgetLedger {
  readonly #redis: Commands | undefined;
  readonly #logger: Logger;
  readonly #local = new Map<string, LedgerFigures>();
  /** Spend settled locally while Redis was unreachable, still owed to Redis. */
  readonly #owed = new Map<string, number>();
  /** Holds sent to Redis whose reply never came: they may have landed, so they are released. */
  #uncertain: LedgerHold[] = [];
  #degraded = false;

  constructor(deps: { redis?: Redis; logger: Logger }) {
    this.#logger = deps.logger;
    if (deps.redis) {
      const redis = deps.redis as Commands;
      redis.defineCommand('budgetReserve', { lua: RESERVE });
      redis.defineCommand('budgetSettle', { lua: SETTLE });
      redis.defineCommand('budgetSeed', { lua: SEED, numberOfKeys: 1 });
      this.#redis = redis;
    }
  }

  /** True while Redis is configured but unreachable and this process decides alone. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /**
   * Holds `amountMicros` on every account for up to `holdMs`, or refuses naming the first
   * account that cannot take it. An account used for the first time (new period, lost Redis
   * data) is first started at `seed(index)`, what PostgreSQL says was spent.
   */
  async reserve(
    accounts: LedgerAccount[],
    amountMicros: number,
    options: { holdMs: number; seed?: (index: number) => Promise<number> },
  ): Promise<ReserveOutcome> {
    const { seed } = options;
    if (this.#redis) {
      const hold: LedgerHold = {
        accounts,
        amountMicros,
        id: `${randomBytes(9).toString('base64url')}:${amountMicros}`,
      };
      try {
        await this.#catchUp();
        const args = accounts.flatMap((a) => [a.limitMicros, a.blocks ? '1' : '0', a.ttlSeconds]);
        const run = (requireExisting: boolean) => {
          const sent = this.#redis!.budgetReserve(
            accounts.length * 2,
            ...keysOf(accounts),
            amountMicros,
            requireExisting ? '1' : '0',
            hold.id!,
            options.holdMs,
            ...args,
          );
          sent.catch(() => this.#uncertain.push(hold));
          return sent;
        };
        let out = await run(seed !== undefined);
        if (out[0] === -1 && seed) {
          for (const index of out.slice(1)) {
            const account = accounts[index - 1]!;
            const spent = await seed(index - 1).catch(() => 0);
            await this.#redis.budgetSeed(account.key, spent, account.ttlSeconds);
            // PostgreSQL's figure already holds what was settled here during an outage.
            this.#owed.delete(account.key);
          }
          out = await run(false);
        }
        this.#recovered();
        const figures = this.#mirror(accounts, out.slice(1));
        const blocked = out[0] ?? 0;
        return blocked === 0 ? { ok: true, figures, hold } : { ok: false, blockedAt: blocked - 1, figures };
      } catch (error) {
        this.#failed(error);
      }
    }
    if (seed) {
      for (const [index, account] of accounts.entries()) {
        if (!this.#local.has(account.key)) {
          const spentMicros = await seed(index).catch(() => 0);
          if (!this.#local.has(account.key)) this.#local.set(account.key, { spentMicros, reservedMicros: 0 });
        }
      }
    }
    return this.#reserveLocally(accounts, amountMicros);
  }

  /** Turns a hold into actual spend (0 for a failed call) and returns the new figures. */
  async settle(hold: LedgerHold, actualMicros: number): Promise<LedgerFigures[]> {
    const { accounts } = hold;
    if (this.#redis && hold.id) {
      try {
        const out = await this.#redis.budgetSettle(
          accounts.length * 2,
          ...keysOf(accounts),
          hold.id,
          actualMicros,
          ...accounts.map((a) => a.ttlSeconds),
        );
        this.#recovered();
        return this.#mirror(accounts, out);
      } catch (error) {
        this.#failed(error);
        // The hold may or may not have been released: it is released (again, harmlessly) later.
        this.#uncertain.push({ ...hold });
      }
    }
    const figures = accounts.map((account) => {
      const entry = this.#entry(account.key);
      if (!hold.id) entry.reservedMicros = Math.max(0, entry.reservedMicros - hold.amountMicros);
      entry.spentMicros += actualMicros;
      return { ...entry };
    });
    if (this.#redis && actualMicros > 0) {
      for (const account of accounts)
        this.#owed.set(account.key, (this.#owed.get(account.key) ?? 0) + actualMicros);
    }
    return figures;
  }

  /** Current figures, from Redis when it answers. */
  async read(keys: string[]): Promise<LedgerFigures[]> {
    if (this.#redis && keys.length > 0) {
      try {
        const pipeline = this.#redis.pipeline();
        for (const key of keys) pipeline.hmget(key, 's', 'r');
        const results = (await pipeline.exec()) ?? [];
        return keys.map((key, i) => {
          const [error, values] = results[i] ?? [null, [null, null]];
          if (error) throw error;
          const [s, r] = values as (string | null)[];
          return { spentMicros: Number(s ?? 0) + (this.#owed.get(key) ?? 0), reservedMicros: Number(r ?? 0) };
        });
      } catch (error) {
        this.#failed(error);
      }
    }
    return keys.map((key) => ({ ...(this.#local.get(key) ?? { spentMicros: 0, reservedMicros: 0 }) }));
  }

  /**
   * Starts an account at what PostgreSQL says was spent, unless it exists already (another
   * replica, or this process, has been counting it and knows better).
   */
  async seed(account: LedgerAccount, spentMicros: number): Promise<void> {
    if (this.#redis) {
      try {
        await this.#redis.budgetSeed(account.key, spentMicros, account.ttlSeconds);
        return;
      } catch (error) {
        this.#failed(error);
      }
    }
    if (!this.#local.has(account.key)) this.#local.set(account.key, { spentMicros, reservedMicros: 0 });
  }

  #reserveLocally(accounts: LedgerAccount[], amountMicros: number): ReserveOutcome {
    const entries = accounts.map((a) => this.#entry(a.key));
    const blockedAt = accounts.findIndex((account, i) => {
      const entry = entries[i]!;
      return (
        account.blocks &&
        (entry.spentMicros >= account.limitMicros ||
          (amountMicros > 0 && entry.spentMicros + entry.reservedMicros + amountMicros > account.limitMicros))
      );
    });
    if (blockedAt >= 0) return { ok: false, blockedAt, figures: entries.map((e) => ({ ...e })) };
    for (const entry of entries) entry.reservedMicros += amountMicros;
    return { ok: true, figures: entries.map((e) => ({ ...e })), hold: { accounts, amountMicros, id: null } };
  }

  #entry(key: string): LedgerFigures {
    let entry = this.#local.get(key);
    if (!entry) {
      entry = { spentMicros: 0, reservedMicros: 0 };
      this.#local.set(key, entry);
    }
    return entry;
  }

  /** Keeps the last figures Redis gave, to carry on from if it goes away. */
  #mirror(accounts: LedgerAccount[], flat: number[]): LedgerFigures[] {
    return accounts.map((account, i) => {
      const figures = { spentMicros: Number(flat[i * 2] ?? 0), reservedMicros: Number(flat[i * 2 + 1] ?? 0) };
      this.#local.set(account.key, { ...figures });
      return figures;
    });
  }

  /** After an outage: release the holds whose fate is unknown, then pay the spend owed. */
  async #catchUp(): Promise<void> {
    if (!this.#redis || (this.#owed.size === 0 && this.#uncertain.length === 0)) return;
    const uncertain = this.#uncertain;
    this.#uncertain = [];
    const owed = [...this.#owed];
    this.#owed.clear();
    try {
      for (const hold of uncertain) {
        await this.#redis.budgetSettle(
          hold.accounts.length * 2,
          ...keysOf(hold.accounts),
          hold.id!,
          0,
          ...hold.accounts.map((a) => a.ttlSeconds),
        );
      }
      const pipeline = this.#redis.pipeline();
      for (const [key, micros] of owed) pipeline.hincrby(key, 's', micros);
      await pipeline.exec();
      this.#logger.info(
        { released: uncertain.length, accounts: owed.length },
        'budget ledger: holds and spend from the redis outage handed over',
      );
    } catch (error) {
      this.#uncertain.push(...uncertain);
      for (const [key, micros] of owed) this.#owed.set(key, (this.#owed.get(key) ?? 0) + micros);
      throw error;
    }
  }

  #failed(error: unknown): void {
    if (!this.#degraded) {
      this.#logger.warn(
        { err: (error as Error).message },
        'budget ledger: redis unavailable, enforcing budgets from this process alone',
      );
    }
    this.#degraded = true;
  }

  #recovered(): void {
    if (this.#degraded) this.#logger.info('budget ledger: redis is back; budgets are shared again');
    this.#degraded = false;
  }
}
