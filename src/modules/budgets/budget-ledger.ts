import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { type RedisGate, RedisScriptError, RedisUnavailableError } from '../resilience/shared-state.ts';
import {
  decideAlone,
  micros,
  type OutageAccount,
  outageFigures,
  release,
  shareOf,
} from './budget-ledger-alone.ts';
import { PAY, READ, RESERVE, SEED, SETTLE } from './budget-ledger-scripts.ts';

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
  /** Identifies the hold in Redis (`<random>:<amount>`). */
  id: string;
  /** Held in this process only (no Redis, or Redis unavailable): not in Redis's figures. */
  local: boolean;
}

export type ReserveOutcome =
  | { ok: true; figures: LedgerFigures[]; hold: LedgerHold }
  /** `blockedAt` indexes the account that refused. */
  | { ok: false; blockedAt: number; figures: LedgerFigures[] };

type Commands = Redis & {
  budgetReserve(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
  budgetSettle(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  budgetRead(numKeys: number, ...keys: string[]): Promise<string[]>;
  budgetSeed(key: string, holds: string, spent: string, ttl: number): Promise<(string | number)[]>;
  budgetPay(numKeys: number, ...args: string[]): Promise<number>;
};

/** A reservation decided in Redis by a script (the ledger's, or the proxy's admission). */
export interface SharedReservation {
  hold: LedgerHold;
  /** A (hash, holds) pair per account. */
  keys: string[];
  /** The amount held, in micro-units as the scripts take it. */
  amount: string;
  holdMs: number;
  /** Per account: limit, blocks ('1' or '0'), ttl seconds. */
  accountArgs: (string | number)[];
}

const localId = (amount: string) => `${randomBytes(9).toString('base64url')}:${amount}`;
const keysOf = (accounts: LedgerAccount[]) => accounts.flatMap((a) => [a.key, `${a.key}:holds`]);
const ZERO: LedgerFigures = { spentMicros: 0, reservedMicros: 0 };

/**
 * Spent and reserved micro-units per budget account. With Redis the accounts live there and
 * every reservation is one atomic script across all the budgets a call touches, so replicas
 * cannot overspend together; holds lapse after `holdMs` if never settled. Without Redis the
 * accounts live in this process (atomic here, since a reservation runs without yielding).
 *
 * While Redis is unavailable each replica spends at most its share of what was left when it
 * last heard from Redis: (limit − spent − reserved) ÷ replicas per account, so the replicas
 * together stay within the limit. Once Redis answers again it releases the holds whose fate it
 * could not know and hands over the spend it settled alone. A script that fails (a bug, not an
 * outage) is logged at error level with its name and the call is decided the same way.
 */
export class BudgetLedger {
  readonly #redis: Commands | undefined;
  readonly #gate: RedisGate | undefined;
  readonly #logger: Logger;
  readonly #replicas: number;
  /** Without Redis: the accounts themselves. */
  readonly #local = new Map<string, LedgerFigures>();
  /** With Redis: the last figures it gave per account. */
  readonly #view = new Map<string, LedgerFigures>();
  /** With Redis unavailable: what this replica did alone, per account. */
  readonly #outage = new Map<string, OutageAccount>();
  /** Spend settled while Redis was unavailable, still owed to Redis. */
  readonly #owed = new Map<string, number>();
  /** Holds whose release Redis may not have seen: released (again, harmlessly) later. */
  #uncertain: LedgerHold[] = [];
  #catchingUp: Promise<void> | undefined;

  constructor(deps: { gate?: RedisGate; logger: Logger; replicas?: number }) {
    this.#logger = deps.logger;
    this.#replicas = Math.max(1, deps.replicas ?? 1);
    this.#gate = deps.gate;
    if (deps.gate) {
      const redis = deps.gate.redis as Commands;
      redis.defineCommand('budgetReserve', { lua: RESERVE });
      redis.defineCommand('budgetSettle', { lua: SETTLE });
      redis.defineCommand('budgetRead', { lua: READ });
      redis.defineCommand('budgetSeed', { lua: SEED, numberOfKeys: 2 });
      redis.defineCommand('budgetPay', { lua: PAY });
      this.#redis = redis;
      deps.gate.onRecovered(() => void this.#catchUp().catch(() => undefined));
    }
  }

  /** True while Redis is configured but unavailable and this process decides alone. */
  get degraded(): boolean {
    return this.#gate?.degraded ?? false;
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
    const amount = micros(amountMicros, 'a reservation');
    amountMicros = Number(amount);
    const seed = (i: number) => (options.seed ? options.seed(i).catch(() => 0) : Promise.resolve(0));
    if (!this.#redis) {
      for (const [index, account] of accounts.entries()) {
        if (!this.#local.has(account.key)) {
          const spentMicros = await seed(index);
          if (!this.#local.has(account.key)) this.#local.set(account.key, { spentMicros, reservedMicros: 0 });
        }
      }
      return decideAlone(
        accounts.map((a) => this.#localAccount(a.key)),
        accounts,
        amountMicros,
        localId(amount),
      );
    }
    if (this.#gate!.available) {
      try {
        return await this.#reserveShared(accounts, amount, options);
      } catch (error) {
        this.#fellBack('reserve', error);
      }
    }
    const entries: OutageAccount[] = [];
    for (const [index, account] of accounts.entries()) {
      entries.push(await this.#outageAccount(account, () => seed(index)));
    }
    return decideAlone(entries, accounts, amountMicros, localId(amount));
  }

  /** Turns a hold into actual spend (0 for a failed call) and returns the new figures. */
  async settle(hold: LedgerHold, actualMicros: number): Promise<LedgerFigures[]> {
    const actual = micros(actualMicros, 'an actual cost');
    actualMicros = Number(actual);
    const { accounts } = hold;
    if (!this.#redis) {
      return accounts.map((account) => {
        const entry = this.#localAccount(account.key);
        entry.reservedMicros = Math.max(0, entry.reservedMicros - hold.amountMicros);
        entry.spentMicros += actualMicros;
        return { ...entry };
      });
    }
    if (this.#gate!.available) {
      try {
        const out = await this.#gate!.run('budget settle', () =>
          this.#redis!.budgetSettle(
            accounts.length * 2,
            ...keysOf(accounts),
            hold.id,
            actual,
            this.#gate!.deadline(),
            ...accounts.map((a) => a.ttlSeconds),
          ),
        );
        // A hold made alone is not in Redis (the script only added its spend): forget it here.
        if (hold.local) for (const a of accounts) release(this.#outage.get(a.key), hold.amountMicros);
        return this.#mirror(accounts, out);
      } catch (error) {
        this.#fellBack('settle', error);
      }
    }
    // Alone: the hold may or may not have been released in Redis; it is released (again,
    // harmlessly) once Redis answers, and the spend is handed over then.
    if (!hold.local) this.#uncertain.push(hold);
    const figures: LedgerFigures[] = [];
    for (const account of accounts) {
      const entry = await this.#outageAccount(account, async () => 0);
      if (hold.local) {
        release(entry, hold.amountMicros);
        entry.spent += actualMicros;
      } else {
        // Held before the outage: it was part of the room the share was taken from.
        entry.base.reservedMicros = Math.max(0, entry.base.reservedMicros - hold.amountMicros);
        entry.base.spentMicros += actualMicros;
      }
      if (actualMicros > 0) this.#owed.set(account.key, (this.#owed.get(account.key) ?? 0) + actualMicros);
      figures.push(outageFigures(entry));
    }
    return figures;
  }

  /** Current figures (holds that have lapsed left out), from Redis when it answers. */
  async read(keys: string[]): Promise<LedgerFigures[]> {
    if (!this.#redis) return keys.map((key) => ({ ...(this.#local.get(key) ?? ZERO) }));
    if (this.#gate!.available && keys.length > 0) {
      try {
        const flat = await this.#gate!.run('budget read', () =>
          this.#redis!.budgetRead(keys.length * 2, ...keys.flatMap((k) => [k, `${k}:holds`])),
        );
        return keys.map((key, i) => ({
          spentMicros: Number(flat[i * 2] ?? 0) + (this.#owed.get(key) ?? 0),
          reservedMicros: Number(flat[i * 2 + 1] ?? 0),
        }));
      } catch (error) {
        this.#fellBack('read', error);
      }
    }
    return keys.map((key) => {
      const entry = this.#outage.get(key);
      return entry ? outageFigures(entry) : { ...(this.#view.get(key) ?? ZERO) };
    });
  }

  /**
   * Starts an account at what PostgreSQL says was spent, unless it exists already (another
   * replica, or this process, has been counting it and knows better). Either way the figures
   * Redis holds become this replica's view, the room its share is taken from if Redis goes away.
   */
  async seed(account: LedgerAccount, spentMicros: number): Promise<void> {
    const spent = micros(spentMicros, 'a seed');
    if (this.#redis && this.#gate!.available) {
      try {
        const out = await this.#gate!.run('budget seed', () =>
          this.#redis!.budgetSeed(account.key, `${account.key}:holds`, spent, account.ttlSeconds),
        );
        this.#mirror([account], out.slice(1));
        return;
      } catch (error) {
        this.#fellBack('seed', error);
      }
    }
    const figures = this.#redis ? this.#view : this.#local;
    if (!figures.has(account.key)) figures.set(account.key, { spentMicros, reservedMicros: 0 });
  }

  /** True when a reservation now is decided in Redis (configured, and answering). */
  get shared(): boolean {
    return this.#redis !== undefined && this.#gate!.available;
  }

  /**
   * A reservation to be decided in Redis, by the ledger's script or by a script of the caller's
   * own that holds with the same rules (the proxy's admission, which decides rate limits in the
   * same evaluation): the hold it makes, the KEYS of its accounts and the figures it needs. First
   * hands over what an outage left (nothing to do, and no round trip, nearly always).
   */
  async prepareShared(
    accounts: LedgerAccount[],
    amountMicros: number,
    holdMs: number,
  ): Promise<SharedReservation> {
    const amount = micros(amountMicros, 'a reservation');
    const id = `${randomBytes(9).toString('base64url')}:${amount}`;
    await this.#catchUp();
    return {
      hold: { accounts, amountMicros: Number(amount), id, local: false },
      keys: keysOf(accounts),
      amount,
      holdMs,
      accountArgs: accounts.flatMap((a) => [
        micros(a.limitMicros, 'a limit'),
        a.blocks ? '1' : '0',
        a.ttlSeconds,
      ]),
    };
  }

  /** What a script said of a shared reservation: `blocked` (1-based, 0 for none), then spent, reserved per account. */
  concludeShared(reservation: SharedReservation, blocked: number, flat: (string | number)[]): ReserveOutcome {
    const figures = this.#mirror(reservation.hold.accounts, flat);
    return blocked === 0
      ? { ok: true, figures, hold: reservation.hold }
      : { ok: false, blockedAt: blocked - 1, figures };
  }

  /** A shared reservation's script timed out: it may have run, with its answer lost on the way. */
  lostShared(reservation: SharedReservation): void {
    this.#uncertain.push(reservation.hold);
  }

  /** Starts the accounts a script found missing (1-based `indexes`) at what `seed` says was spent. */
  async seedShared(
    accounts: LedgerAccount[],
    indexes: (string | number)[],
    seed: (index: number) => Promise<number>,
  ): Promise<void> {
    for (const index of indexes) {
      const account = accounts[Number(index) - 1]!;
      const spent = await seed(Number(index) - 1).catch(() => 0);
      const [created] = await this.#gate!.run('budget seed', () =>
        this.#redis!.budgetSeed(
          account.key,
          `${account.key}:holds`,
          micros(spent, 'a seed'),
          account.ttlSeconds,
        ),
      );
      // PostgreSQL's figure already holds what was settled here during an outage.
      if (Number(created) === 1) this.#owed.delete(account.key);
    }
  }

  async #reserveShared(
    accounts: LedgerAccount[],
    amount: string,
    options: { holdMs: number; seed?: (index: number) => Promise<number> },
  ): Promise<ReserveOutcome> {
    const { seed } = options;
    const reservation = await this.prepareShared(accounts, Number(amount), options.holdMs);
    const run = (requireExisting: boolean) =>
      this.#gate!.run('budget reserve', (redis) =>
        (redis as Commands).budgetReserve(
          accounts.length * 2,
          ...reservation.keys,
          reservation.amount,
          requireExisting ? '1' : '0',
          reservation.hold.id,
          reservation.holdMs,
          this.#gate!.deadline(),
          ...reservation.accountArgs,
        ),
      ).catch((error: unknown) => {
        if (error instanceof RedisUnavailableError) this.lostShared(reservation);
        throw error;
      });
    let out = await run(seed !== undefined);
    if (Number(out[0]) === -1 && seed) {
      await this.seedShared(accounts, out.slice(1), seed);
      out = await run(false);
    }
    return this.concludeShared(reservation, Number(out[0] ?? 0), out.slice(1));
  }

  /** This replica's share of an account while Redis is unavailable, from its last view. */
  async #outageAccount(account: LedgerAccount, seed: () => Promise<number>): Promise<OutageAccount> {
    const existing = this.#outage.get(account.key);
    if (existing) return existing;
    const view = this.#view.get(account.key) ?? { spentMicros: await seed(), reservedMicros: 0 };
    const again = this.#outage.get(account.key);
    if (again) return again;
    const entry = shareOf(account, view, this.#replicas);
    this.#outage.set(account.key, entry);
    return entry;
  }

  #localAccount(key: string): LedgerFigures {
    let entry = this.#local.get(key);
    if (!entry) {
      entry = { ...ZERO };
      this.#local.set(key, entry);
    }
    return entry;
  }

  /** Keeps the last figures Redis gave, to take a share of if it goes away. */
  #mirror(accounts: LedgerAccount[], flat: (string | number)[]): LedgerFigures[] {
    return accounts.map((account, i) => {
      const figures = { spentMicros: Number(flat[i * 2] ?? 0), reservedMicros: Number(flat[i * 2 + 1] ?? 0) };
      this.#view.set(account.key, { ...figures });
      return figures;
    });
  }

  /**
   * After an outage: pay the spend owed (what matters most), then release the holds whose fate
   * is unknown, then forget the outage shares. One at a time.
   */
  #catchUp(): Promise<void> {
    if (this.#owed.size === 0 && this.#uncertain.length === 0) {
      if (this.#outage.size > 0) this.#endShares();
      return Promise.resolve();
    }
    this.#catchingUp ??= this.#handOver().finally(() => {
      this.#catchingUp = undefined;
    });
    return this.#catchingUp;
  }

  /**
   * Forgets the shares of accounts with nothing held alone any more. One with calls still held
   * alone keeps its share until they settle: while a script keeps failing (a bug: the gate stays
   * open, and every call comes here first), each call would otherwise start from a fresh share.
   */
  #endShares(): void {
    for (const [key, entry] of this.#outage) if (entry.held === 0) this.#outage.delete(key);
  }

  async #handOver(): Promise<void> {
    const owed = [...this.#owed];
    // Taken now: holds that fall back while this runs are released by the next hand-over.
    const uncertain = this.#uncertain;
    this.#uncertain = [];
    if (owed.length > 0) {
      try {
        await this.#gate!.run('budget pay', () =>
          this.#redis!.budgetPay(
            owed.length,
            ...owed.map(([key]) => key),
            this.#gate!.deadline(),
            ...owed.map(([, m]) => micros(m, 'owed spend')),
          ),
        );
      } catch (error) {
        this.#uncertain.unshift(...uncertain);
        throw error;
      }
      for (const [key, m] of owed) {
        const left = (this.#owed.get(key) ?? 0) - m;
        if (left > 0) this.#owed.set(key, left);
        else this.#owed.delete(key);
      }
    }
    let released = 0;
    for (const [i, hold] of uncertain.entries()) {
      try {
        await this.#gate!.run('budget release', () =>
          this.#redis!.budgetSettle(
            hold.accounts.length * 2,
            ...keysOf(hold.accounts),
            hold.id,
            '0',
            this.#gate!.deadline(),
            ...hold.accounts.map((a) => a.ttlSeconds),
          ),
        );
        released++;
      } catch (error) {
        if (error instanceof RedisUnavailableError) {
          this.#uncertain.push(...uncertain.slice(i));
          throw error;
        }
        // A bug: the hold still lapses on its own after its hold time.
        this.#fellBack('release', error);
      }
    }
    // Unless Redis went away again meanwhile, the shares taken during the outage are over.
    if (this.#gate!.available) this.#endShares();
    this.#logger.info(
      { released, accounts: owed.length },
      'budget ledger: holds and spend from the redis outage handed over',
    );
  }

  /** Redis could not be used: an outage (the gate has said so) or a bug (said here). */
  #fellBack(operation: string, error: unknown): void {
    if (error instanceof RedisUnavailableError) return;
    this.#logger.error(
      { err: error, script: error instanceof RedisScriptError ? error.script : `budget ${operation}` },
      'budget ledger: a redis script failed (a bug, not an outage): this call is decided from this replica’s share of the budget and its spend is handed over with the outage rule',
    );
  }
}
