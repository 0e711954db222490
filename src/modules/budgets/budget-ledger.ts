import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** One budget's account for one period, as the ledger sees it. */
export interface LedgerAccount {
  /** `tollgate:budget:<budget id>:<period start ms>` */
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

export type ReserveOutcome =
  | { ok: true; figures: LedgerFigures[]; local: boolean }
  /** `blockedAt` indexes the account that refused. */
  | { ok: false; blockedAt: number; figures: LedgerFigures[] };

// Both scripts run atomically in Redis, so concurrent calls on every replica see one ledger.
// An account refuses when it is already spent, or when this reservation would take it over.
const RESERVE = `
local amount = tonumber(ARGV[1])
local figures = {}
local blocked = 0
for i = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[i], 's', 'r')
  local spent = tonumber(values[1] or '0')
  local reserved = tonumber(values[2] or '0')
  figures[i] = { spent, reserved }
  local base = 2 + (i - 1) * 3
  if blocked == 0 and ARGV[base + 1] == '1' then
    local limit = tonumber(ARGV[base])
    if spent >= limit or (amount > 0 and spent + reserved + amount > limit) then blocked = i end
  end
end
local out = { blocked }
for i = 1, #KEYS do
  local reserved = figures[i][2]
  if blocked == 0 then
    reserved = redis.call('HINCRBY', KEYS[i], 'r', amount)
    local ttl = tonumber(ARGV[2 + (i - 1) * 3 + 2])
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  end
  out[#out + 1] = figures[i][1]
  out[#out + 1] = reserved
end
return out
`;

const SETTLE = `
local reserved = tonumber(ARGV[1])
local actual = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local r = redis.call('HINCRBY', KEYS[i], 'r', -reserved)
  if r < 0 then
    redis.call('HSET', KEYS[i], 'r', 0)
    r = 0
  end
  local s = redis.call('HINCRBY', KEYS[i], 's', actual)
  local ttl = tonumber(ARGV[2 + i])
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  out[#out + 1] = s
  out[#out + 1] = r
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

/**
 * Spent and reserved micro-units per budget account. With Redis the accounts live there and
 * every reservation is one atomic script across all the budgets a call touches, so replicas
 * cannot overspend together. Without Redis they live in this process (atomic here, since each
 * reservation runs without yielding). If Redis fails, this process carries on from its last
 * known figures and hands Redis the spend it settled meanwhile once Redis answers again.
 */
export class BudgetLedger {
  readonly #redis: Commands | undefined;
  readonly #logger: Logger;
  readonly #local = new Map<string, LedgerFigures>();
  /** Spend settled locally while Redis was unreachable, still owed to Redis. */
  readonly #owed = new Map<string, number>();
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

  async reserve(accounts: LedgerAccount[], amountMicros: number): Promise<ReserveOutcome> {
    if (this.#redis) {
      try {
        await this.#payDebts();
        const args = accounts.flatMap((a) => [a.limitMicros, a.blocks ? '1' : '0', a.ttlSeconds]);
        const out = await this.#redis.budgetReserve(
          accounts.length,
          ...accounts.map((a) => a.key),
          amountMicros,
          ...args,
        );
        this.#recovered();
        const figures = this.#mirror(accounts, out.slice(1));
        const blocked = out[0] ?? 0;
        return blocked === 0
          ? { ok: true, figures, local: false }
          : { ok: false, blockedAt: blocked - 1, figures };
      } catch (error) {
        this.#failed(error);
      }
    }
    return { ...this.#reserveLocally(accounts, amountMicros), local: !!this.#redis } as ReserveOutcome;
  }

  /** Turns a reservation into actual spend (0 for a failed call) and returns the new figures. */
  async settle(
    accounts: LedgerAccount[],
    reservedMicros: number,
    actualMicros: number,
    local: boolean,
  ): Promise<LedgerFigures[]> {
    if (this.#redis && !local) {
      try {
        const out = await this.#redis.budgetSettle(
          accounts.length,
          ...accounts.map((a) => a.key),
          reservedMicros,
          actualMicros,
          ...accounts.map((a) => a.ttlSeconds),
        );
        this.#recovered();
        return this.#mirror(accounts, out);
      } catch (error) {
        this.#failed(error);
        // The reservation stays in Redis until the account expires; the spend is owed.
      }
    }
    // A reservation held in Redis stays there (it expires with the account) if Redis failed.
    const heldHere = local || !this.#redis;
    const figures = accounts.map((account) => {
      const entry = this.#entry(account.key);
      if (heldHere) entry.reservedMicros = Math.max(0, entry.reservedMicros - reservedMicros);
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
          const figures = {
            spentMicros: Number(s ?? 0) + (this.#owed.get(key) ?? 0),
            reservedMicros: Number(r ?? 0),
          };
          return figures;
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

  #reserveLocally(
    accounts: LedgerAccount[],
    amountMicros: number,
  ): { ok: true; figures: LedgerFigures[] } | { ok: false; blockedAt: number; figures: LedgerFigures[] } {
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
    return { ok: true, figures: entries.map((e) => ({ ...e })) };
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

  async #payDebts(): Promise<void> {
    if (!this.#redis || this.#owed.size === 0) return;
    const owed = [...this.#owed];
    this.#owed.clear();
    try {
      const pipeline = this.#redis.pipeline();
      for (const [key, micros] of owed) pipeline.hincrby(key, 's', micros);
      await pipeline.exec();
      this.#logger.info(
        { accounts: owed.length },
        'budget spend settled during the redis outage handed over',
      );
    } catch (error) {
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
