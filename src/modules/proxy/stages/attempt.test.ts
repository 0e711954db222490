import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../../../test/helpers/upstream.ts';
import { createLogger } from '../../../shared/logger.ts';
import { KeyRefusals } from '../../keys/key-refusals.ts';
import type { ProviderKeyService } from '../../keys/provider-key.service.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import { CircuitRegistry } from '../../resilience/circuit-registry.ts';
import { RateLimits } from '../../resilience/rate-limits.ts';
import { UpstreamAgents } from '../../upstream/upstream-agents.ts';
import { ProxyState } from '../proxy-state.ts';
import { type AttemptDeps, attempt } from './attempt.ts';
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

function deps(keys = [key('k1'), key('k2')]) {
  const keyRing = fakeKeyRing(keys);
  const invalid: string[] = [];
  const keyService = {
    markInvalid: async (id: string) => invalid.push(id),
    recordRefusal: async () => undefined,
  } as unknown as ProviderKeyService;
  const d: AttemptDeps = {
    limits: new RateLimits({ replicas: 1, logger }),
    breakers: new CircuitRegistry({ logger }),
    keyRing,
    refusals: new KeyRefusals({ keyRing, keys: keyService, logger }),
    agents,
    state: new ProxyState({ staleCacheMaxBytes: 1 << 20 }),
  };
  return { d, keyRing, invalid };
}

function provider(spec: Record<string, unknown> = {}): Provider {
  return fakeProvider({ baseUrl: upstream.url, retry: { baseDelayMs: 0, maxDelayMs: 0 }, ...spec });
}

describe('attempt stage', () => {
  it('retries a 5xx of an idempotent call and answers with the good attempt', async () => {
    upstream.reset();
    upstream.behave((_req, i) =>
      i === 0 ? { kind: 'status', status: 503 } : { kind: 'json', body: { ok: true } },
    );
    const { d } = deps();
    const p = provider();
    const ctx = fakeContext({ provider: p });
    const result = await attempt(ctx, p, d);
    expect(result.response.statusCode).toBe(200);
    expect(result.attempts).toBe(2);
    expect(ctx.outcome.attempts).toBe(2);
    expect(d.state.lastFailure(p.id)?.reason).toBe('status 503');
    await result.response.body.dump();
    result.release?.();
  });

  it('moves to another key after a 429 and cools the first one down', async () => {
    upstream.reset();
    upstream.behave((req) =>
      String(req.headers.authorization).includes('k1')
        ? { kind: 'status', status: 429, headers: { 'retry-after': '30' } }
        : { kind: 'json' },
    );
    const { d, keyRing } = deps();
    const p = provider();
    const result = await attempt(fakeContext({ provider: p }), p, d);
    expect(result.response.statusCode).toBe(200);
    expect(result.key?.id).toBe('k2');
    expect(keyRing.cooldowns.isCooling('k1')).toBe(true);
    await result.response.body.dump();
  });

  it('marks a key INVALID when another key is accepted after its 401', async () => {
    upstream.reset();
    upstream.behave((req) =>
      String(req.headers.authorization).includes('k1') ? { kind: 'status', status: 401 } : { kind: 'json' },
    );
    const { d, keyRing, invalid } = deps();
    const p = provider();
    const result = await attempt(fakeContext({ provider: p }), p, d);
    expect(result.response.statusCode).toBe(200);
    expect(keyRing.disabled.has('k1')).toBe(true);
    expect(invalid).toEqual(['k1']);
    await result.response.body.dump();
  });

  it('refuses at once when the bulkhead is full, and sends nothing upstream', async () => {
    upstream.reset();
    upstream.behave({ kind: 'hang' });
    const { d } = deps();
    const p = provider({ timeoutMs: 5_000, bulkhead: { maxConcurrent: 1, maxQueue: 0, maxQueueWaitMs: 0 } });
    const first = fakeContext({ provider: p });
    const hanging = attempt(first, p, d).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await attempt(fakeContext({ provider: p }), p, d).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'PROVIDER_SATURATED', retryAfterMs: 1000 });
    expect(upstream.requests.length).toBe(1);
    first.life.leave();
    await hanging;
    first.life.end();
    expect(d.state.bulkheads.status(p.id)).toMatchObject({ active: 0 });
  });

  it('refuses a disabled provider and an open circuit before calling upstream', async () => {
    upstream.reset();
    const { d } = deps();
    const disabled = provider({ enabled: false });
    expect(
      await attempt(fakeContext({ provider: disabled }), disabled, d).catch((e: unknown) => e),
    ).toMatchObject({
      code: 'PROVIDER_DISABLED',
    });
    const p = provider();
    await d.breakers.trip(p, 'maintenance', 'ops');
    expect(await attempt(fakeContext({ provider: p }), p, d).catch((e: unknown) => e)).toMatchObject({
      code: 'CIRCUIT_OPEN',
      retryable: false,
    });
    expect(upstream.requests.length).toBe(0);
  });
});
