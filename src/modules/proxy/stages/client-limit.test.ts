import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.ts';
import { RateLimits } from '../../resilience/rate-limits.ts';
import { clientLimit } from './client-limit.ts';
import { fakeClient, fakeContext } from './test-kit.ts';

describe('client limit stage', () => {
  it('lets a client without a limit through and refuses one over its limit with Retry-After', async () => {
    const limits = new RateLimits({ replicas: 1, logger: createLogger('silent') });
    await clientLimit(fakeContext(), limits);
    const rateLimit = {
      points: 1,
      periodMs: 60_000,
      burst: 0,
      mode: 'REJECT' as const,
      maxQueueWaitMs: 0,
      maxQueueSize: 0,
    };
    const ctx = fakeContext({ client: fakeClient({ id: 'limited', rateLimit }) });
    await clientLimit(ctx, limits);
    const refused = await clientLimit(ctx, limits).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED' });
    expect((refused as { headers: Record<string, string> }).headers['retry-after']).toBeDefined();
  });
});
