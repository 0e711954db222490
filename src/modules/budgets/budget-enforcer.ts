import { sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventOutbox } from '../alerts/webhook-delivery.ts';
import { type EventBus, stamp } from '../events/event-bus.ts';
import { keepFresh } from '../events/keep-fresh.ts';
import { type Budget, BudgetEntity } from './budget.entity.ts';
import type {
  BudgetLedger,
  LedgerAccount,
  LedgerFigures,
  LedgerHold,
  ReserveOutcome,
} from './budget-ledger.ts';
import { type PeriodBounds, periodBounds } from './budget-period.ts';

const DAY_SECONDS = 86_400;
/** How long a replica leaves the claim of a threshold another replica crossed to that replica. */
const LATE_CLAIM_MS = 2_000;

/** Budgets reserved for one call on one provider; settled once when the call ends. */
export interface BudgetReservation {
  providerId: string;
  budgets: Budget[];
  bounds: PeriodBounds[];
  hold: LedgerHold;
  settled: boolean;
}

export type ReserveResult =
  | { ok: true; reservation: BudgetReservation | null }
  | {
      ok: false;
      budget: Budget;
      resetsAt: Date | null;
      /** The refusing budget's figures: spent, and held for calls in flight. */
      spentMicros: number;
      reservedMicros: number;
    };

export interface BudgetStatus {
  bounds: PeriodBounds;
  spentMicros: number;
  reservedMicros: number;
}

interface Period {
  bounds: PeriodBounds;
  account: LedgerAccount;
}

/** What a reservation for one call touches: the budgets that apply and their current accounts. */
export interface ReservePlan {
  providerId: string;
  budgets: Budget[];
  periods: Period[];
  accounts: LedgerAccount[];
  /** What PostgreSQL says was spent on account `i` (an account Redis does not have yet). */
  seed: (index: number) => Promise<number>;
}

/**
 * Enforces budgets on the hot path from memory: the budgets themselves are cached (refreshed on
 * budget events from any replica), reservations and settlements go to the ledger, and threshold
 * crossings become alerts, each claimed once per budget, period and threshold in PostgreSQL so
 * that neither replicas nor restarts repeat one.
 */
export class BudgetEnforcer {
  readonly #orm: Orm;
  readonly #events: EventBus;
  readonly #ledger: BudgetLedger;
  readonly #logger: Logger;
  #global: Budget[] = [];
  #byProvider = new Map<string, Budget[]>();
  #byClient = new Map<string, Budget[]>();
  #byClientProvider = new Map<string, Budget[]>();
  #all: Budget[] = [];
  readonly #periods = new Map<string, Period>();
  /** Ledger accounts this replica has seeded from PostgreSQL (a new budget's, until its first reload). */
  readonly #seeded = new Set<string>();
  /** Alerts known to be claimed (by anyone), by `<account key>:<threshold>`. */
  readonly #claimed = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #chains = new Map<string, Promise<void>>();
  /** Claims of thresholds another replica crossed, waiting in case it could not claim them. */
  readonly #late = new Set<NodeJS.Timeout>();
  #stop: (() => void) | undefined;
  readonly #now: () => Date;
  readonly #outbox: EventOutbox | undefined;

  constructor(deps: {
    orm: Orm;
    events: EventBus;
    ledger: BudgetLedger;
    logger: Logger;
    /** Where an alert's webhook deliveries are enqueued, in the transaction that claims it. */
    outbox?: EventOutbox;
    now?: () => Date;
  }) {
    this.#now = deps.now ?? (() => new Date());
    this.#outbox = deps.outbox;
    this.#orm = deps.orm;
    this.#events = deps.events;
    this.#ledger = deps.ledger;
    this.#logger = deps.logger;
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = keepFresh(() => this.reload(), {
      events: this.#events,
      topics: ['budget.changed'],
      intervalMs: refreshIntervalMs,
    });
  }

  /** Stops listening and waits for settlements and alerts in flight. */
  async stop(): Promise<void> {
    this.#stop?.();
    // Left to the replicas that stay (and to the next settlement after a restart).
    for (const timer of this.#late) clearTimeout(timer);
    this.#late.clear();
    await this.drain();
  }

  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Loads every budget and seeds the accounts of their current periods before using them. */
  async reload(): Promise<void> {
    let budgets: Budget[];
    try {
      budgets = await this.#orm.em.fork().find(BudgetEntity, {}, { orderBy: { createdAt: 'asc' } });
    } catch (error) {
      this.#logger.warn(
        { err: (error as Error).message },
        'budget reload failed; keeping the previous budgets',
      );
      return;
    }
    // A changed period or time zone means other accounts: forget the cached periods.
    for (const budget of budgets) {
      const cached = this.#periods.get(budget.id);
      if (cached && !cached.account.key.startsWith(accountPrefix(budget))) this.#periods.delete(budget.id);
    }
    await Promise.all(
      budgets.map(async (budget) => {
        const period = this.#period(budget, this.#now());
        try {
          await this.#seed(budget, period);
        } catch (error) {
          this.#logger.warn(
            { err: (error as Error).message, budget: budget.name },
            'could not seed a budget',
          );
        }
      }),
    );
    const group = (key: (b: Budget) => string | null) => {
      const map = new Map<string, Budget[]>();
      for (const budget of budgets) {
        const k = key(budget);
        if (k !== null) map.set(k, [...(map.get(k) ?? []), budget]);
      }
      return map;
    };
    this.#global = budgets.filter((b) => b.scope === 'GLOBAL');
    this.#byProvider = group((b) => (b.scope === 'PROVIDER' ? (b.providerId ?? null) : null));
    this.#byClient = group((b) => (b.scope === 'CLIENT' ? (b.clientId ?? null) : null));
    this.#byClientProvider = group((b) =>
      b.scope === 'CLIENT_PROVIDER' ? `${b.clientId}:${b.providerId}` : null,
    );
    this.#all = budgets;
  }

  /** Every budget, as last loaded. */
  all(): Budget[] {
    return this.#all;
  }

  /** The budgets a call by `clientId` served by `providerId` counts against. */
  applicable(clientId: string | null, providerId: string): Budget[] {
    const found = [...this.#global, ...(this.#byProvider.get(providerId) ?? [])];
    if (clientId) {
      found.push(
        ...(this.#byClient.get(clientId) ?? []),
        ...(this.#byClientProvider.get(`${clientId}:${providerId}`) ?? []),
      );
    }
    return found;
  }

  /** True when some budget could apply to this provider: worth estimating the call's cost. */
  mayApply(clientId: string | null, providerId: string): boolean {
    return this.#all.length > 0 && this.applicable(clientId, providerId).length > 0;
  }

  /** The first `BLOCK` budget that a call by `clientId` served by `providerId` counts against. */
  blocking(clientId: string | null, providerId: string): Budget | undefined {
    return this.applicable(clientId, providerId).find((b) => b.action === 'BLOCK');
  }

  /**
   * Reserves `amountMicros` on every budget that applies, or names the one that refuses. The
   * reservation lapses after `holdMs` if it is never settled (its replica died).
   */
  async reserve(
    clientId: string | null,
    providerId: string,
    amountMicros: number,
    holdMs: number,
  ): Promise<ReserveResult> {
    const plan = this.plan(clientId, providerId);
    if (!plan) return { ok: true, reservation: null };
    // An account the ledger has not seen is started from PostgreSQL (once per period).
    const outcome = await this.#ledger.reserve(plan.accounts, amountMicros, { holdMs, seed: plan.seed });
    return this.conclude(plan, outcome);
  }

  /** The budgets a call counts against and their current accounts; null when none applies. */
  plan(clientId: string | null, providerId: string): ReservePlan | null {
    const budgets = this.applicable(clientId, providerId);
    if (budgets.length === 0) return null;
    const now = this.#now();
    const periods = budgets.map((budget) => this.#period(budget, now));
    return {
      providerId,
      budgets,
      periods,
      accounts: periods.map((p) => p.account),
      seed: (i) => this.#spentInDatabase(budgets[i]!, periods[i]!.bounds),
    };
  }

  /** What the ledger (or a script holding with its rules) decided, as a reservation or a refusal. */
  conclude(plan: ReservePlan, outcome: ReserveOutcome): ReserveResult {
    const { budgets, periods, providerId } = plan;
    if (!outcome.ok) {
      const figures = outcome.figures[outcome.blockedAt];
      return {
        ok: false,
        budget: budgets[outcome.blockedAt]!,
        resetsAt: periods[outcome.blockedAt]!.bounds.end,
        spentMicros: figures?.spentMicros ?? 0,
        reservedMicros: figures?.reservedMicros ?? 0,
      };
    }
    return {
      ok: true,
      reservation: {
        providerId,
        budgets,
        bounds: periods.map((p) => p.bounds),
        hold: outcome.hold,
        settled: false,
      },
    };
  }

  /**
   * The ledger, for the proxy's admission: it decides a call's holds in its own script (with its
   * rate limits, in one round trip) through `prepareShared` and `concludeShared`.
   */
  get ledger(): BudgetLedger {
    return this.#ledger;
  }

  /** Replaces the reservation by the call's actual cost (0 releases it). Runs in the background. */
  settle(reservation: BudgetReservation | null, actualMicros: number): void {
    if (!reservation || reservation.settled) return;
    reservation.settled = true;
    this.#track(
      this.#ledger
        .settle(reservation.hold, actualMicros)
        .then((figures) => this.#checkThresholds(reservation, figures, actualMicros)),
    );
  }

  /** Spent and reserved in the budget's current period. */
  async status(budget: Budget): Promise<BudgetStatus> {
    const period = this.#period(budget, this.#now());
    // A budget created a moment ago (its reload still on the way) starts at what was already spent.
    if (!this.#seeded.has(period.account.key)) await this.#seed(budget, period);
    const [figures] = await this.#ledger.read([period.account.key]);
    return { bounds: period.bounds, ...(figures ?? { spentMicros: 0, reservedMicros: 0 }) };
  }

  #period(budget: Budget, now: Date): Period {
    const cached = this.#periods.get(budget.id);
    if (
      cached &&
      cached.account.limitMicros === budget.limitMicros &&
      cached.account.blocks === (budget.action === 'BLOCK') &&
      (cached.bounds.end === null || now < cached.bounds.end) &&
      now >= cached.bounds.start
    ) {
      return cached;
    }
    const bounds = periodBounds(budget.period, budget.timeZone, now, budget.createdAt);
    const ttlSeconds = bounds.end
      ? Math.ceil((bounds.end.getTime() - now.getTime()) / 1000) + 7 * DAY_SECONDS
      : 0;
    const period = {
      bounds,
      account: {
        key: `${accountPrefix(budget)}${bounds.start.getTime()}`,
        limitMicros: budget.limitMicros,
        blocks: budget.action === 'BLOCK',
        ttlSeconds,
      },
    };
    this.#periods.set(budget.id, period);
    return period;
  }

  async #seed(budget: Budget, period: Period): Promise<void> {
    await this.#ledger.seed(period.account, await this.#spentInDatabase(budget, period.bounds));
    this.#seeded.add(period.account.key);
  }

  async #spentInDatabase(budget: Budget, bounds: PeriodBounds): Promise<number> {
    const provider = budget.providerId ? sql`and served_by_provider_id = ${budget.providerId}` : sql``;
    const client = budget.clientId ? sql`and client_id = ${budget.clientId}` : sql``;
    const end = bounds.end ? sql`and at < ${bounds.end}` : sql``;
    const result = await sql<{ spent: string | null }>`
      select sum(cost_micros) as spent from usage_events
      where at >= ${bounds.start} ${end} ${provider} ${client}`.execute(this.#orm.em.fork().getKysely());
    return Number(result.rows[0]?.spent ?? 0);
  }

  /**
   * Claims the thresholds the account has reached. The settlement that crossed a threshold claims
   * it at once, with the spend at the crossing. A replica that finds a threshold already passed
   * (another replica's settlement crossed it) claims it only after LATE_CLAIM_MS, in case the
   * crossing replica could not (PostgreSQL away, or it died): claiming at once would race the
   * crossing replica's claim and could announce the crossing with a later figure.
   */
  #checkThresholds(reservation: BudgetReservation, figures: LedgerFigures[], actualMicros: number): void {
    reservation.budgets.forEach((budget, i) => {
      const spent = figures[i]?.spentMicros ?? 0;
      const before = spent - actualMicros;
      const account = reservation.hold.accounts[i]!;
      for (const threshold of alertThresholds(budget)) {
        const level = (threshold / 100) * budget.limitMicros;
        if (spent < level) break;
        const claim = `${account.key}:${threshold}`;
        if (this.#claimed.has(claim)) continue;
        this.#claimed.add(claim);
        const run = () => this.#announce(budget, reservation.bounds[i]!, threshold, spent, claim);
        if (before < level) {
          run();
          continue;
        }
        const timer = setTimeout(() => {
          this.#late.delete(timer);
          run();
        }, LATE_CLAIM_MS);
        timer.unref();
        this.#late.add(timer);
      }
    });
  }

  /** Claims one threshold, in order after this replica's other claims for the budget. */
  #announce(budget: Budget, bounds: PeriodBounds, threshold: number, spent: number, claim: string): void {
    // One chain per budget, so that this replica announces its thresholds in order.
    const previous = this.#chains.get(budget.id) ?? Promise.resolve();
    const next = previous.then(() =>
      this.#claim(budget, bounds, threshold, spent).catch((error: unknown) => {
        // Not claimed (PostgreSQL unavailable): the next settlement tries again.
        this.#claimed.delete(claim);
        this.#logger.warn(
          { err: (error as Error).message, budget: budget.name },
          'budget alert not recorded yet',
        );
      }),
    );
    this.#chains.set(budget.id, next);
    this.#track(
      next.finally(() => {
        if (this.#chains.get(budget.id) === next) this.#chains.delete(budget.id);
      }),
    );
  }

  /**
   * Records the crossing; only the replica whose insert wins announces it. The alert's webhook
   * deliveries are enqueued in the same transaction: a claimed alert is never left unsent.
   */
  async #claim(budget: Budget, bounds: PeriodBounds, threshold: number, spentMicros: number): Promise<void> {
    const event = await this.#orm.em.fork().transactional(async (em) => {
      const result = await sql<{ id: string }>`
        insert into budget_alerts (id, budget_id, period_start, threshold, spent_micros, limit_micros, at)
        values (gen_random_uuid(), ${budget.id}, ${bounds.start}, ${threshold}, ${spentMicros}, ${budget.limitMicros}, now())
        on conflict (budget_id, period_start, threshold) do nothing
        returning id`.execute(em.getKysely());
      if (result.rows.length === 0) return undefined;
      const event = stamp({
        budgetId: budget.id,
        budgetName: budget.name,
        threshold,
        spentMicros,
        limitMicros: budget.limitMicros,
        percentUsed: Math.round((spentMicros / budget.limitMicros) * 10_000) / 100,
        action: budget.action,
        periodStart: bounds.start.toISOString(),
        periodEnd: bounds.end?.toISOString() ?? null,
      });
      await this.#outbox?.enqueue(em, { topic: 'budget.alert', event });
      return event;
    });
    if (!event) return;
    this.#logger.info({ budget: budget.name, threshold, spentMicros }, 'budget threshold crossed');
    this.#events.publish('budget.alert', event, { outboxed: this.#outbox !== undefined });
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise
      .catch((error: unknown) =>
        this.#logger.warn({ err: (error as Error).message }, 'budget settlement failed'),
      )
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}

function accountPrefix(budget: Budget): string {
  return `tollgate:budget:${budget.id}:${budget.period}:${budget.timeZone}:`;
}

/** The configured thresholds, plus 100 %: reaching the limit is always announced. */
export function alertThresholds(budget: Budget): number[] {
  return budget.thresholds.includes(100) ? budget.thresholds : [...budget.thresholds, 100];
}
