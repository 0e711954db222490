import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../../../test/helpers/upstream.ts';
import { createLogger } from '../../../shared/logger.ts';
import type { BudgetEnforcer } from '../../budgets/budget-enforcer.ts';
import { KeyRefusals } from '../../keys/key-refusals.ts';
import type { ProviderKeyService } from '../../keys/provider-key.service.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import { CircuitRegistry } from '../../resilience/circuit-registry.ts';
import { RateLimits } from '../../resilience/rate-limits.ts';
import { UpstreamAgents } from '../../upstream/upstream-agents.ts';
import { ProxyState } from '../proxy-state.ts';
import { StaleCache } from '../stale-cache.ts';
import { type RouteDeps, route } from './route.ts';
import { fakeContext, fakeKeyRing, fakeProvider, key } from './test-kit.ts';

const logger = createLogger('silent');
let upstream: Upstream;
const agents = new UpstreamAgents();

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  await agents.close(0);
});

function deps(providers: Provider[]): RouteDeps {
  const keyRing = fakeKeyRing([key('k1')]);
  const keys = {
    markInvalid: async () => undefined,
    recordRefusal: async () => undefined,
  } as unknown as ProviderKeyService;
  return {
    providers: { byId: (id: string) => providers.find((p) => p.id === id) } as unknown as ProviderCache,
    budgets: { mayApply: () => false, settle: () => undefined } as unknown as BudgetEnforcer,
    limits: new RateLimits({ replicas: 1, logger }),
    breakers: new CircuitRegistry({ logger }),
    keyRing,
    refusals: new KeyRefusals({ keyRing, keys, logger }),
    agents,
    state: new ProxyState({ staleCacheMaxBytes: 1 << 20 }),
  };
}

const live = (spec: Record<string, unknown> = {}) =>
  fakeProvider({ baseUrl: upstream.url, retry: { maxAttempts: 1 }, ...spec });

describe('route stage', () => {
  it('serves from the first fallback provider when the primary cannot', async () => {
    upstream.reset();
    upstream.behave({ kind: 'json', body: { from: 'fallback' } });
    const fallback = live();
    const primary = live({ enabled: false, fallbackIds: ['missing', fallback.id] });
    const ctx = fakeContext({ provider: primary });
    const result = await route(ctx, undefined, deps([primary, fallback]));
    expect(result.response.statusCode).toBe(200);
    expect(ctx.outcome.fallback).toBe('provider');
    expect(ctx.outcome.servedBy).toBe(fallback);
    await result.response.body.dump();
  });

  it('answers with the static body when nothing else can, and passes a lone 5xx through', async () => {
    upstream.reset();
    upstream.behave({ kind: 'status', status: 502, body: 'broken' });
    const degraded = live({ degradedMode: { staticBody: '{"degraded":true}', staticStatus: 200 } });
    const ctx = fakeContext({ provider: degraded });
    const result = await route(ctx, undefined, deps([degraded]));
    expect(ctx.outcome.fallback).toBe('static');
    expect(result.response.statusCode).toBe(200);
    const plain = live();
    const passed = await route(fakeContext({ provider: plain }), undefined, deps([plain]));
    expect(passed.response.statusCode).toBe(502);
    await passed.response.body.dump();
  });

  it('replays a stale answer to the same GET, with its age, when the provider fails', async () => {
    upstream.reset();
    upstream.behave({ kind: 'status', status: 503 });
    const p = live({ degradedMode: { staleOnError: true } });
    const d = deps([p]);
    d.state.staleCache.put(StaleCache.key(p.id, 'client-1', '/v1/things'), {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"cached":true}'),
      storedAt: Date.now() - 5_000,
    });
    const ctx = fakeContext({ provider: p });
    const result = await route(ctx, undefined, d);
    expect(ctx.outcome.fallback).toBe('stale-cache');
    expect(result.response.headers.age).toBe('5');
  });

  it('throws the primary\u2019s refusal when there is no alternative, and never falls back for the caller\u2019s own faults', async () => {
    const p = live({ enabled: false });
    expect(
      await route(fakeContext({ provider: p }), undefined, deps([p])).catch((e: unknown) => e),
    ).toMatchObject({
      code: 'PROVIDER_DISABLED',
    });
  });
});
