import { describe, expect, it } from 'vitest';
import type { ClientCache } from '../../clients/client-cache.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import { CallOutcome } from '../call-context.ts';
import { GatewayError } from '../proxy-errors.ts';
import { admit, hasDotSegment, parsePath } from './admit.ts';
import { fakeClient, fakeProvider, fakeReq } from './test-kit.ts';

const provider = fakeProvider({ slug: 'nvd' });
const other = fakeProvider({ slug: 'other' });
const clients = {
  authenticate: (key: string) =>
    key === 'good'
      ? fakeClient()
      : key === 'narrow'
        ? fakeClient({ allowedProviderIds: new Set([other.id]) })
        : undefined,
} as unknown as ClientCache;
const providers = {
  bySlug: (slug: string) => [provider, other].find((p) => p.slug === slug),
} as unknown as ProviderCache;
const deps = { clients, providers, maxRequestBytes: 1024 };

function start(
  path: string,
  method = 'GET',
  headers: Record<string, string> = { authorization: 'Bearer good' },
) {
  return {
    requestId: 'r',
    started: 0,
    method,
    path: path.split('?')[0]!,
    req: fakeReq(path, method, headers),
  };
}

async function refusal(path: string, method?: string, headers?: Record<string, string>) {
  const outcome = new CallOutcome();
  const error = await admit(start(path, method, headers), outcome, undefined, deps).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(GatewayError);
  return { error: error as GatewayError, outcome };
}

describe('admit stage', () => {
  it('admits a known client to an allowed provider, keeping the query for upstream', async () => {
    const outcome = new CallOutcome();
    const request = await admit(start('/proxy/nvd/v1/cves?x=1'), outcome, undefined, deps);
    expect(request).toMatchObject({ provider, restPath: '/v1/cves', rest: '/v1/cves?x=1', body: undefined });
    expect(outcome.client?.id).toBe('client-1');
    expect(outcome.provider).toBe(provider);
  });

  it('refuses TRACE, CONNECT and dot segments before anything else', async () => {
    expect((await refusal('/proxy/nvd/x', 'TRACE')).error.code).toBe('METHOD_NOT_ALLOWED');
    expect((await refusal('/proxy/nvd/a/%2e%2e/b')).error.code).toBe('INVALID_PATH');
    expect(hasDotSegment('/a..b/.well-known')).toBe(false);
    expect(hasDotSegment('/a/..;x/b')).toBe(true);
    expect(() => parsePath('/proxy/NVD/x')).toThrow(GatewayError);
  });

  it('refuses a missing or unknown client key', async () => {
    expect((await refusal('/proxy/nvd/x', 'GET', {})).error.code).toBe('UNAUTHENTICATED');
    expect((await refusal('/proxy/nvd/x', 'GET', { 'x-tollgate-key': 'bad' })).error.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('answers a provider the client may not call like one that does not exist, recorded as FORBIDDEN', async () => {
    const missing = await refusal('/proxy/nope/x');
    const hidden = await refusal('/proxy/nvd/x', 'GET', { authorization: 'Bearer narrow' });
    expect(hidden.error.code).toBe('PROVIDER_NOT_FOUND');
    expect(hidden.error.status).toBe(missing.error.status);
    expect(hidden.error.outcome).toBe('FORBIDDEN');
    expect(missing.error.outcome).toBe('NOT_FOUND');
    // Usage still learns whose refusal it was.
    expect(hidden.outcome.provider).toBe(provider);
  });
});
