import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.ts';
import type { CircuitChangedEvent } from '../events/event-bus.ts';
import { CircuitRegistry } from './circuit-registry.ts';
import type { CircuitStore } from './circuit-store.ts';

const logger = createLogger('silent');
const provider = {
  id: 'p1',
  slug: 'p1',
  timeoutMs: 1000,
  breaker: { failureThreshold: 2, halfOpenAfterMs: 100, successThreshold: 2 },
};

function registry(store?: CircuitStore) {
  const events: CircuitChangedEvent[] = [];
  const circuits = new CircuitRegistry({ logger, store, onTransition: (event) => events.push(event) });
  return { circuits, events };
}

describe('circuit registry', () => {
  it('opens after the failure threshold and tells the hook, with no bus or Redis of its own', async () => {
    const { circuits, events } = registry();
    circuits.report(provider, false, false, 'status 503');
    expect(events).toEqual([]);
    circuits.report(provider, false, false, 'status 503');
    expect(events.map((e) => [e.from, e.to])).toEqual([['CLOSED', 'OPEN']]);
    expect(await circuits.admit(provider)).toMatchObject({ ok: false, held: false });
  });

  it('closes only after N good half-open probes, one probe at a time', async () => {
    const { circuits, events } = registry();
    const at = Date.now();
    circuits.circuit(provider.id, provider.breaker).status = {
      state: 'OPEN',
      since: at,
      failures: 2,
      nextProbeAt: at - 1,
      reason: 'test',
    };
    const first = await circuits.admit(provider);
    expect(first).toEqual({ ok: true, probe: true });
    // A second caller during the probe is refused rather than stacking up behind it.
    expect(await circuits.admit(provider)).toMatchObject({ ok: false });
    circuits.report(provider, true, true, 'status 200');
    expect(circuits.status(provider.id).state).toBe('HALF_OPEN');
    expect(await circuits.admit(provider)).toEqual({ ok: true, probe: true });
    circuits.report(provider, true, true, 'status 200');
    expect(circuits.status(provider.id).state).toBe('CLOSED');
    expect(events.map((e) => e.to)).toEqual(['HALF_OPEN', 'CLOSED']);
  });

  it('keeps an operator trip until reset, whatever the upstream does', async () => {
    const { circuits } = registry();
    await circuits.trip(provider, 'maintenance', 'ops');
    circuits.report(provider, true, false, 'status 200');
    expect(await circuits.admit(provider)).toEqual({ ok: false, held: true });
    await circuits.reset(provider, 'done');
    expect(await circuits.admit(provider)).toEqual({ ok: true, probe: false });
  });

  it('adopts other replicas\u2019 transitions but not its own echo', () => {
    const { circuits, events } = registry();
    circuits.report(provider, false, false, 'x');
    circuits.report(provider, false, false, 'x');
    const own = events[0]!;
    circuits.adopt({ ...own, to: 'CLOSED' });
    expect(circuits.status(provider.id).state).toBe('OPEN');
    circuits.adopt({ ...own, id: 'other', to: 'CLOSED', failures: 0 });
    expect(circuits.status(provider.id).state).toBe('CLOSED');
  });

  it('lets another replica hold the probe slot through the store', async () => {
    const store: CircuitStore = {
      saveSnapshot: async () => undefined,
      loadSnapshots: async (ids) => ids.map(() => null),
      claimProbe: async () => null,
      countGoodProbe: async () => 0,
      endProbe: async () => undefined,
    };
    const { circuits } = registry(store);
    const at = Date.now();
    circuits.circuit(provider.id, provider.breaker).status = {
      state: 'OPEN',
      since: at,
      failures: 2,
      nextProbeAt: at - 1,
      reason: 'test',
    };
    expect(await circuits.admit(provider)).toMatchObject({ ok: false, retryAfterMs: 1000 });
  });
});
