import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../src/modules/events/event-bus.ts';
import {
  type Admission,
  type BreakerTarget,
  createCircuitRegistry,
} from '../src/modules/resilience/circuit-registry.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Properties of the circuit breaker (fast-check), on a fake clock: no sequence of calls,
 * outcomes, departures, operator trips and resets, on two replicas that hear each other's
 * transitions, leaves a circuit stuck (half-open or open with nothing that will ever let a call
 * through); and only reported upstream failures count towards opening it.
 */

const logger = createLogger('silent');
/** Lets the event bus deliver one replica's transitions to the other. */
const settle = () => new Promise<void>((r) => setImmediate(r));

const targetArb = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  halfOpenAfterMs: fc.constantFrom(100, 1_000, 30_000),
  successThreshold: fc.integer({ min: 1, max: 3 }),
});

function targetOf(breaker: BreakerTarget['breaker']): BreakerTarget {
  return { id: 'provider-1', slug: 'p', breaker, timeoutMs: 5_000 };
}

/**
 * What can happen, on replica 0 or 1 (`pick` chooses among the calls in flight). Operators act
 * seldom, so that sequences reach the open and half-open states often.
 */
const stepArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('call' as const), replica: fc.integer({ min: 0, max: 1 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('end' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('success', 'failure', 'failure', 'left'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('trip' as const, 'reset' as const),
      replica: fc.integer({ min: 0, max: 1 }),
    }),
  },
);

describe('circuit breaker: properties', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('no sequence of events leaves a circuit stuck: once the calls in flight end and the half-open delay passes, calls go again and good probes close it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await fc.assert(
      fc.asyncProperty(targetArb, fc.array(stepArb, { maxLength: 60 }), async (policy, steps) => {
        const events = new EventBus({ logger });
        const replicas = [
          createCircuitRegistry({ events, logger }),
          createCircuitRegistry({ events, logger }),
        ];
        const target = targetOf(policy);
        const inFlight: { replica: number; probe: boolean }[] = [];
        let isolated = false;
        const end = (call: { replica: number; probe: boolean }, outcome: string) => {
          // As the proxy does: an outcome is reported; a caller who left only gives back the probe.
          if (outcome === 'left') {
            if (call.probe) replicas[call.replica]!.abandon(target);
          } else replicas[call.replica]!.report(target, outcome === 'success', call.probe, outcome);
        };
        for (const step of steps) {
          if (step.kind === 'call') {
            const admission: Admission = await replicas[step.replica]!.admit(target);
            if (admission.ok) inFlight.push({ replica: step.replica, probe: admission.probe });
          } else if (step.kind === 'end' && inFlight.length > 0) {
            const [call] = inFlight.splice(step.pick % inFlight.length, 1);
            end(call!, step.outcome);
          } else if (step.kind === 'wait') {
            vi.advanceTimersByTime(step.ms);
          } else if (step.kind === 'trip') {
            await replicas[step.replica]!.trip(target, 'operator', 'test');
            isolated = true;
          } else if (step.kind === 'reset') {
            await replicas[step.replica]!.reset(target, 'operator');
            isolated = false;
          }
          await settle();
        }
        // Every call in flight ends (the proxy always reports or gives back a probe).
        for (const call of inFlight.splice(0)) end(call, 'failure');
        await settle();
        if (isolated) {
          // An operator's trip holds on every replica until a reset, whatever happened meanwhile.
          for (const breakers of replicas)
            expect(await breakers.admit(target)).toEqual({ ok: false, held: true });
          return;
        }
        // From here every call succeeds: each round waits out the half-open delay (and its jitter).
        for (let round = 0; round < 2 * policy.successThreshold + 1; round++) {
          vi.advanceTimersByTime(Math.ceil(policy.halfOpenAfterMs * 1.2) + 1);
          for (const breakers of replicas) {
            const admission = await breakers.admit(target);
            expect(admission, `round ${round}: ${JSON.stringify(breakers.status(target.id))}`).toMatchObject({
              ok: true,
            });
            if (admission.ok) breakers.report(target, true, admission.probe, 'ok');
            await settle();
          }
        }
        for (const breakers of replicas) expect(breakers.status(target.id).state).toBe('CLOSED');
        for (const breakers of replicas) breakers.stop();
      }),
      { numRuns: 1000 },
    );
  });

  it('only reported upstream failures count: the circuit opens at the call that makes failureThreshold consecutive failures, and a caller who left counts for nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await fc.assert(
      fc.asyncProperty(
        targetArb,
        fc.array(fc.constantFrom('success', 'failure', 'left'), { maxLength: 30 }),
        async (policy, outcomes) => {
          const events = new EventBus({ logger });
          const breakers = createCircuitRegistry({ events, logger });
          const target = targetOf(policy);
          let consecutive = 0;
          for (const outcome of outcomes) {
            const admission = await breakers.admit(target);
            const open = consecutive >= policy.failureThreshold;
            // The clock stands still: once open, the circuit stays open.
            expect(admission.ok).toBe(!open);
            if (!admission.ok) continue;
            if (outcome === 'left') {
              if (admission.probe) breakers.abandon(target);
            } else {
              breakers.report(target, outcome === 'success', admission.probe, outcome);
              consecutive = outcome === 'success' ? 0 : consecutive + 1;
            }
            const status = breakers.status(target.id);
            expect(status.state).toBe(consecutive >= policy.failureThreshold ? 'OPEN' : 'CLOSED');
            expect(status.failures).toBe(Math.min(consecutive, policy.failureThreshold));
          }
          breakers.stop();
        },
      ),
      { numRuns: 300 },
    );
  });
});
