import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type {
  BudgetLedger,
  LedgerAccount,
  ReserveOutcome,
  SharedReservation,
} from '../budgets/budget-ledger.ts';
import type { LimitDecision, SharedLimit } from '../resilience/rate-limits.ts';
import { type RedisGate, RedisScriptError, RedisUnavailableError } from '../resilience/shared-state.ts';
import {
  ACCOUNTS_MISSING,
  ADMIT,
  BUDGET_REFUSED,
  CLIENT_REFUSED,
  PROVIDER_REFUSED,
} from './admission-script.ts';

/** What one admission decides in Redis: each part is optional (a client without a limit...). */
export interface AdmissionInput {
  client: SharedLimit | null;
  provider: SharedLimit | null;
  budget: {
    accounts: LedgerAccount[];
    amountMicros: number;
    holdMs: number;
    /** What PostgreSQL says was spent on account `i`, for an account Redis does not have yet. */
    seed?: (index: number) => Promise<number>;
  } | null;
}

/**
 * What the script decided. `client` refused: nothing else was decided. `holds` refused: the
 * provider's limit was not taken. `provider` refused: nothing is held (`holds` undefined).
 */
export interface AdmissionDecision {
  client: LimitDecision | undefined;
  provider: LimitDecision | undefined;
  holds: ReserveOutcome | undefined;
}

type Commands = Redis & {
  tollgateAdmit(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
};

/** Stands for a limit the script does not decide (a KEYS entry it never touches). */
const NO_KEY = 'tollgate:admission:none';
/** Script failures are bugs: logged at error level, at most once a minute. */
const BUG_LOG_INTERVAL_MS = 60_000;

/**
 * Admission in Redis: a call's client limit, budget holds and provider limit decided by one
 * evaluation of the admission script (admission-script.ts) through the Redis gate, so that an
 * admitted call waits on one round trip instead of one per limit and budget. It keeps the state
 * `RateLimits` and the budget ledger keep. When Redis cannot decide (unavailable, frozen, or a
 * script bug), `decide` answers undefined and the call is decided step by step, by the same
 * limits and ledger, which fall back to their local shares as they always have.
 */
export class AdmissionService {
  readonly #gate: RedisGate;
  readonly #ledger: BudgetLedger;
  readonly #logger: Logger;
  #lastBugLog = 0;

  constructor(deps: { gate: RedisGate; ledger: BudgetLedger; logger: Logger }) {
    this.#gate = deps.gate;
    this.#ledger = deps.ledger;
    this.#logger = deps.logger;
    deps.gate.redis.defineCommand('tollgateAdmit', { lua: ADMIT });
  }

  /** True while Redis answers (else calls are decided step by step, from the local fallbacks). */
  get available(): boolean {
    return this.#gate.available;
  }

  async decide(input: AdmissionInput): Promise<AdmissionDecision | undefined> {
    if (!this.#gate.available) return undefined;
    const ledger = this.#ledger;
    let reservation: SharedReservation | undefined;
    try {
      const { budget } = input;
      if (budget)
        reservation = await ledger.prepareShared(budget.accounts, budget.amountMicros, budget.holdMs);
      let out = await this.#run(input, reservation, true);
      if (Number(out[0]) === ACCOUNTS_MISSING && budget) {
        // The first call of a period: its accounts start at what PostgreSQL says was spent.
        await ledger.seedShared(budget.accounts, out.slice(1), budget.seed ?? (async () => 0));
        out = await this.#run(input, reservation, false);
      }
      return this.#read(input, reservation, out);
    } catch (error) {
      // Timed out: the script may have run, its answer lost; its hold is released later.
      if (error instanceof RedisUnavailableError) {
        if (reservation) ledger.lostShared(reservation);
      } else {
        this.#reportBug(error);
      }
      return undefined;
    }
  }

  #run(
    input: AdmissionInput,
    reservation: SharedReservation | undefined,
    requireExisting: boolean,
  ): Promise<(string | number)[]> {
    const { client, provider } = input;
    const limitArgs = (l: SharedLimit | null) =>
      l ? [l.points, l.periodMs, l.burst, l.burstMs] : [0, 0, 0, 0];
    const keys = [
      client?.steadyKey ?? NO_KEY,
      client?.burstKey ?? NO_KEY,
      provider?.steadyKey ?? NO_KEY,
      provider?.burstKey ?? NO_KEY,
      ...(reservation?.keys ?? []),
    ];
    return this.#gate.run('admission', (redis) =>
      (redis as Commands).tollgateAdmit(
        keys.length,
        ...keys,
        this.#gate.deadline(),
        ...limitArgs(client),
        ...limitArgs(provider),
        reservation ? reservation.hold.accounts.length : 0,
        reservation?.amount ?? '0',
        requireExisting ? '1' : '0',
        reservation?.hold.id ?? '-',
        reservation?.holdMs ?? 0,
        ...(reservation?.accountArgs ?? []),
      ),
    );
  }

  #read(
    input: AdmissionInput,
    reservation: SharedReservation | undefined,
    out: (string | number)[],
  ): AdmissionDecision {
    const code = Number(out[0]);
    const decision = (limit: SharedLimit | null, at: number): LimitDecision | undefined =>
      limit
        ? {
            allowed: Number(out[at]) === 1,
            limit: limit.points + limit.burst,
            remaining: Math.max(Number(out[at + 1]), 0),
            resetMs: Number(out[at + 2]),
            waitedMs: 0,
          }
        : undefined;
    const client = decision(input.client, 1);
    if (code === CLIENT_REFUSED) return { client, provider: undefined, holds: undefined };
    const provider = code === BUDGET_REFUSED ? undefined : decision(input.provider, 4);
    // The figures are kept either way (the room an outage share is taken from).
    const holds = reservation && this.#ledger.concludeShared(reservation, Number(out[7]), out.slice(8));
    // The provider refused: the script held nothing.
    return { client, provider, holds: code === PROVIDER_REFUSED ? undefined : holds };
  }

  #reportBug(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastBugLog < BUG_LOG_INTERVAL_MS) return;
    this.#lastBugLog = now;
    this.#logger.error(
      { err: error, script: error instanceof RedisScriptError ? error.script : 'admission' },
      'admission script failed (a bug, not an outage): calls are decided step by step meanwhile',
    );
  }
}
