import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../shared/tracing.ts';
import type { BudgetEnforcer } from '../budgets/budget-enforcer.ts';
import type { ClientCache } from '../clients/client-cache.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { ProviderKeyService } from '../keys/provider-key.service.ts';
import { ProviderCache } from '../providers/provider-cache.ts';
import { CircuitIsolations } from '../resilience/circuit-isolations.ts';
import { type CircuitRegistry, createCircuitRegistry } from '../resilience/circuit-registry.ts';
import { RateLimits } from '../resilience/rate-limits.ts';
import type { RedisGate } from '../resilience/shared-state.ts';
import { UpstreamAgents } from '../upstream/upstream-agents.ts';
import type { UsageRecorder } from '../usage/usage-recorder.ts';
import { AdmissionService } from './admission.ts';
import { createProxyHandler, type ProxyDeps } from './proxy.handler.ts';
import { ProxyState } from './proxy-state.ts';

/** What the data plane keeps in memory, shared by the proxy, the health monitor and GraphQL. */
export interface DataPlane {
  providerCache: ProviderCache;
  breakers: CircuitRegistry;
  limits: RateLimits;
  agents: UpstreamAgents;
  proxyState: ProxyState;
}

/**
 * The data plane's state: providers in memory, circuits, rate limits and the upstream
 * connection pools. Its components stop after the HTTP server has drained (and the pools after
 * the jobs that deliver webhooks through them).
 */
export function dataPlaneModule(deps: {
  config: Config;
  orm: Orm;
  events: EventBus;
  gate: RedisGate | undefined;
  logger: Logger;
}): Module<DataPlane, { agents: Component; providerCache: Component; breakers: Component }> {
  const { config, orm, events, gate, logger } = deps;
  const refreshMs = config.caches.refreshIntervalMs;
  const breakers = createCircuitRegistry({ events, logger, gate, isolations: new CircuitIsolations(orm) });
  const providerCache = new ProviderCache({ orm, events, logger });
  const limits = new RateLimits({ gate, replicas: config.proxy.replicas, logger });
  const agents = new UpstreamAgents();
  // Per-call state operators see (retry budgets, the stale cache, last failures), owned by the proxy's stages.
  const proxyState = new ProxyState({ staleCacheMaxBytes: config.proxy.staleCacheMaxBytes });
  return {
    services: { providerCache, breakers, limits, agents, proxyState },
    components: {
      agents: { name: 'upstream connection pools', stop: () => agents.close() },
      providerCache: {
        name: 'provider cache',
        start: () => providerCache.start(refreshMs),
        stop: () => providerCache.stop(),
      },
      breakers: {
        name: 'circuit breakers',
        start: async () => {
          const restored = await breakers.restore(providerCache.ids());
          if (restored > 0) logger.info({ circuits: restored }, 'restored open and isolated circuits');
          breakers.start(refreshMs);
        },
        stop: () => breakers.stop(),
      },
    },
  };
}

/** The /proxy route over the data plane's state. */
export function proxyRoute(deps: {
  config: Config;
  plane: DataPlane;
  clients: ClientCache;
  keyRing: KeyRing;
  keys: ProviderKeyService;
  budgets: BudgetEnforcer;
  usage: UsageRecorder;
  logger: Logger;
  tracing: Tracing | undefined;
  verifyKey: ProxyDeps['verifyKey'];
  gate: RedisGate | undefined;
}) {
  const { plane, gate } = deps;
  return createProxyHandler({
    providers: plane.providerCache,
    clients: deps.clients,
    keyRing: deps.keyRing,
    keys: deps.keys,
    limits: plane.limits,
    budgets: deps.budgets,
    admission: gate
      ? new AdmissionService({ gate, ledger: deps.budgets.ledger, logger: deps.logger })
      : undefined,
    breakers: plane.breakers,
    usage: deps.usage,
    agents: plane.agents,
    logger: deps.logger,
    config: deps.config.proxy,
    state: plane.proxyState,
    tracing: deps.tracing,
    verifyKey: deps.verifyKey,
  });
}
