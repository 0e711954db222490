import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BudgetLedger,
  type LedgerAccount,
  type LedgerFigures,
  type LedgerHold,
  type ReserveOutcome,
} from '../src/modules/budgets/budget-ledger.ts';
import { AdmissionService } from '../src/modules/proxy/admission.ts';
import { RedisGate } from '../src/modules/resilience/shared-state.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createRedis } from '../src/shared/redis.ts';

/**
 * Properties of the budget ledger (fast-check): under any interleaving of reserve, settle,
 * release (a settle at 0) and lapse (a hold whose time ran out), a blocking account's spent +
 * reserved never exceeds its limit, and a reservation is refused only when it would have gone
 * over. Settlements here cost at most what was held (the proxy holds the most a call can cost);
 * what a call costs beyond its hold is spent all the same, and then refuses further calls.
 * Without Redis (one process) and with three replicas over a real Redis.
 */

const logger = createLogger('silent');
let runs = 0;

/** Three accounts: two blocking with small limits, one ALERT_ONLY that never refuses. */
function accountsOf(prefix: string, limits: [number, number]): LedgerAccount[] {
  return [
    { key: `${prefix}:a`, limitMicros: limits[0], blocks: true, ttlSeconds: 600 },
    { key: `${prefix}:b`, limitMicros: limits[1], blocks: true, ttlSeconds: 600 },
    { key: `${prefix}:alert`, limitMicros: 1, blocks: false, ttlSeconds: 600 },
  ];
}

const stepArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      replica: fc.integer({ min: 0, max: 2 }),
      // Which accounts the call touches (a bit mask over the three, at least one).
      mask: fc.integer({ min: 1, max: 7 }),
      amount: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
      // A hold that lapses almost at once (its replica died, or it ran late), or one that lasts.
      lapses: fc.boolean(),
      // Over Redis: decided by the proxy's admission script rather than the ledger's own, with
      // or without a provider limit that may refuse (then nothing may be held).
      via: fc.constantFrom('ledger' as const, 'admission' as const, 'admission+limit' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      // The share of the hold the call actually cost; 0 is a release (the call failed).
      share: fc.constantFrom(0, 0, 0.25, 0.5, 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lapse' as const) }) },
);
type StepValue = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;
/** Steps in waves: the steps of a wave run side by side, their Redis scripts in any order. */
const wavesArb = fc.array(fc.array(stepArb, { minLength: 1, maxLength: 4 }), { maxLength: 12 });

interface Run {
  accounts: LedgerAccount[];
  /** Holds not yet settled, with whether they were made to lapse. */
  holds: { hold: LedgerHold; lapses: boolean }[];
  /** The model: what was settled per account. */
  spent: Map<string, number>;
}

/**
 * What the ledger says matches the model: spent exactly; reserved at least the holds that cannot
 * have lapsed and at most all those not settled (a lapsing hold may or may not have gone yet;
 * `lapses` false: none goes); and the blocking accounts within their limits.
 */
async function agrees(ledger: BudgetLedger, run: Run, lapses: boolean): Promise<void> {
  const figures = await ledger.read(run.accounts.map((a) => a.key));
  run.accounts.forEach((account, i) => {
    const on = run.holds.filter(({ hold }) => hold.accounts.includes(account));
    const sum = (holds: typeof on) => holds.reduce((n, { hold }) => n + hold.amountMicros, 0);
    const low = sum(lapses ? on.filter((h) => !h.lapses) : on);
    const f = figures[i]!;
    const what = `${account.key}: ${JSON.stringify(f)}`;
    expect(f.spentMicros, what).toBe(run.spent.get(account.key) ?? 0);
    expect(f.reservedMicros, what).toBeGreaterThanOrEqual(low);
    expect(f.reservedMicros, what).toBeLessThanOrEqual(sum(on));
  });
  within(run.accounts, figures);
}

function within(accounts: LedgerAccount[], figures: LedgerFigures[]): void {
  accounts.forEach((account, i) => {
    const f = figures[i]!;
    if (account.blocks) {
      expect(f.spentMicros + f.reservedMicros, `${account.key}: ${JSON.stringify(f)}`).toBeLessThanOrEqual(
        account.limitMicros,
      );
    }
  });
}

/**
 * A reservation through the proxy's admission script (one evaluation with the rate limits), with
 * a provider limit of 2 calls a minute when `limited`: a call it refuses holds nothing.
 */
async function admit(
  admission: AdmissionService,
  run: Run,
  accounts: LedgerAccount[],
  amount: number,
  holdMs: number,
  limited: boolean,
): Promise<ReserveOutcome | undefined> {
  const provider = limited
    ? {
        steadyKey: `${run.accounts[0]!.key}:rl`,
        burstKey: `${run.accounts[0]!.key}:rl:burst`,
        points: 2,
        periodMs: 60_000,
        burst: 0,
        burstMs: 600_000,
      }
    : null;
  const decided = await admission.decide({
    client: null,
    provider,
    budget: { accounts, amountMicros: amount, holdMs },
  });
  expect(decided, 'the admission script decided').toBeDefined();
  const { holds } = decided!;
  if (!limited) return holds;
  if (holds && !holds.ok) {
    expect(
      decided!.provider,
      'a call its budgets refused takes nothing from its provider limit',
    ).toBeUndefined();
    return holds;
  }
  if (decided!.provider!.allowed) return holds;
  expect(holds, 'a call its provider limit refused holds nothing').toBeUndefined();
  return undefined;
}

/** Runs one step on `ledger`, checking what it answers. */
async function step(
  ledger: BudgetLedger,
  run: Run,
  s: StepValue,
  admission?: AdmissionService,
): Promise<void> {
  if (s.kind === 'reserve') {
    const accounts = run.accounts.filter((_, i) => s.mask & (1 << i));
    const holdMs = s.lapses ? 1 : 60_000;
    const out =
      admission && s.via !== 'ledger'
        ? await admit(admission, run, accounts, s.amount, holdMs, s.via === 'admission+limit')
        : await ledger.reserve(accounts, s.amount, { holdMs });
    if (!out) return;
    within(accounts, out.figures);
    if (out.ok) {
      run.holds.push({ hold: out.hold, lapses: s.lapses });
    } else {
      // Refused only for a reason: that account was at its limit, or the amount did not fit.
      const account = accounts[out.blockedAt]!;
      const f = out.figures[out.blockedAt]!;
      expect(account.blocks).toBe(true);
      expect(
        f.spentMicros >= account.limitMicros ||
          f.spentMicros + f.reservedMicros + s.amount > account.limitMicros,
        `${account.key} refused ${s.amount} at ${JSON.stringify(f)}`,
      ).toBe(true);
    }
  } else if (s.kind === 'settle' && run.holds.some((h) => !h.lapses)) {
    // Only a hold that lasts is settled: a lapsing hold stands for a call whose replica died. In
    // Tollgate a hold outlives its call's deadline by a minute (stages/reserve-budget.ts), so a
    // live call settles before its hold can lapse; a settle after the lapse would charge spend
    // the limit had already given back (the cost is kept, never lost, but may overshoot).
    const settleable = run.holds.filter((h) => !h.lapses);
    const chosen = settleable[s.pick % settleable.length]!;
    const [{ hold }] = run.holds.splice(run.holds.indexOf(chosen), 1) as [Run['holds'][number]];
    const actual = Math.floor(hold.amountMicros * s.share);
    for (const a of hold.accounts) run.spent.set(a.key, (run.spent.get(a.key) ?? 0) + actual);
    const figures = await ledger.settle(hold, actual);
    within(hold.accounts, figures);
  } else if (s.kind === 'lapse') {
    await new Promise((r) => setTimeout(r, 3));
  }
}

describe('budget ledger: properties', () => {
  it('without Redis: under any sequence of reserve, settle and release, spent + reserved stays within every blocking limit, and refusals have a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
        wavesArb,
        async (limits, waves) => {
          const ledger = new BudgetLedger({ logger });
          const run: Run = { accounts: accountsOf(`alone:${runs++}`, limits), holds: [], spent: new Map() };
          for (const wave of waves) {
            await Promise.all(wave.map((s) => step(ledger, run, s)));
            // In one process a hold lasts until it is settled.
            await agrees(ledger, run, false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('three replicas over a real Redis', () => {
    const replicas: { gate: RedisGate; ledger: BudgetLedger; admission: AdmissionService }[] = [];
    beforeAll(async () => {
      const url = inject('redisUrl');
      if (!url) return;
      for (let i = 0; i < 3; i++) {
        const redis = createRedis(url);
        redis.on('error', () => undefined);
        await redis.connect();
        const gate = new RedisGate({ redis, logger });
        await gate.start();
        const ledger = new BudgetLedger({ gate, logger, replicas: 3 });
        replicas.push({ gate, ledger, admission: new AdmissionService({ gate, ledger, logger }) });
      }
    });
    afterAll(() => {
      for (const { gate } of replicas) {
        gate.stop();
        gate.redis.disconnect();
      }
    });

    it.skipIf(!inject('redisUrl'))(
      'under any interleaving of reserve (by the ledger or the admission script), settle, release and lapse across replicas, spent + reserved stays within every blocking limit, and refusals have a reason',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
            wavesArb,
            async (limits, waves) => {
              const run: Run = {
                accounts: accountsOf(`tollgate:budget:property:${process.pid}:${runs++}`, limits),
                holds: [],
                spent: new Map(),
              };
              for (const wave of waves) {
                // A hold may be settled by a replica other than the one that made it (it is
                // settled where its call ends; here, anywhere): the ledger's state is in Redis.
                await Promise.all(
                  wave.map((s, i) => {
                    const replica = replicas[s.kind === 'reserve' ? s.replica : i % 3]!;
                    return step(replica.ledger, run, s, replica.admission);
                  }),
                );
                await agrees(replicas[0]!.ledger, run, true);
              }
              for (const { gate } of replicas) expect(gate.degraded).toBe(false);
            },
          ),
          { numRuns: 200 },
        );
      },
    );
  });
});
