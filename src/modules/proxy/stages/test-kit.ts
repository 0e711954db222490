/**
 * Fakes for the stage tests: a provider, a client, a call context and the small services the
 * stages talk to, so each stage runs on its own, without a server or a database.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthenticatedClient } from '../../clients/client-cache.ts';
import type { KeyRing, UsableKey } from '../../keys/key-ring.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import { providerSpecSchema } from '../../providers/provider.validation.ts';
import { KeyCooldowns } from '../../resilience/key-cooldowns.ts';
import { type AdmittedRequest, type CallContext, CallLifetime, CallOutcome } from '../call-context.ts';

let next = 0;

export function fakeProvider(spec: Record<string, unknown> = {}): Provider {
  const slug = (spec.slug as string | undefined) ?? `p${++next}`;
  const parsed = providerSpecSchema.parse({
    name: slug,
    baseUrl: 'http://127.0.0.1:9',
    allowPrivateNetwork: true,
    ...spec,
    slug,
  });
  const { fallbacks: _fallbacks, ...columns } = parsed;
  return {
    ...columns,
    id: `id-${slug}`,
    fallbackIds: (spec.fallbackIds as string[]) ?? [],
    version: 1,
  } as unknown as Provider;
}

export function fakeClient(overrides: Partial<AuthenticatedClient> = {}): AuthenticatedClient {
  return {
    id: 'client-1',
    name: 'client',
    allowedProviderIds: null,
    rateLimit: null,
    expiresAt: null,
    ...overrides,
  };
}

export function fakeReq(url: string, method = 'GET', headers: Record<string, string> = {}): IncomingMessage {
  return { url, method, headers } as unknown as IncomingMessage;
}

export function fakeContext(overrides: Partial<AdmittedRequest> = {}): CallContext {
  const provider = overrides.provider ?? fakeProvider();
  const request: AdmittedRequest = {
    requestId: 'req-1',
    started: performance.now(),
    method: 'GET',
    path: `/proxy/${provider.slug}/v1/things`,
    req: fakeReq(`/proxy/${provider.slug}/v1/things`),
    client: fakeClient(),
    provider,
    restPath: '/v1/things',
    rest: '/v1/things',
    body: undefined,
    ...overrides,
  };
  return { request, outcome: new CallOutcome(), life: new CallLifetime(), trace: undefined };
}

/** A key ring holding the given keys for every provider, with real cool-downs. */
export function fakeKeyRing(keys: UsableKey[]): KeyRing & { disabled: Set<string> } {
  const cooldowns = new KeyCooldowns();
  const disabled = new Set<string>();
  const ring = {
    cooldowns,
    disabled,
    select: (_providerId: string, exclude: ReadonlySet<string> = new Set()) =>
      keys.find((k) => !exclude.has(k.id) && !disabled.has(k.id) && !cooldowns.isCooling(k.id)),
    coolingUntil: () => cooldowns.allCoolingUntil(keys.map((k) => k.id)),
    disable: (id: string) => disabled.add(id),
  };
  return ring as unknown as KeyRing & { disabled: Set<string> };
}

export function key(id: string): UsableKey {
  return { id, secret: `secret-${id}-0123456789`, status: 'ACTIVE', weight: 1, expiresAt: null };
}
