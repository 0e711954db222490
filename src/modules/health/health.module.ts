import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { DataPlane } from '../proxy/proxy.module.ts';
import { HealthService } from './health.service.ts';
import { HealthMonitor } from './health-monitor.ts';

/** Provider health: the monitor that probes (it stops before the pools it probes through close). */
export function healthModule(deps: {
  config: Config;
  orm: Orm;
  plane: DataPlane;
  keyRing: KeyRing;
  events: EventBus;
  logger: Logger;
}): Module<{ health: HealthService; monitor: HealthMonitor }, { monitor: Component }> {
  const { orm, plane } = deps;
  const monitor = new HealthMonitor({
    orm,
    providers: plane.providerCache,
    keyRing: deps.keyRing,
    limits: plane.limits,
    breakers: plane.breakers,
    agents: plane.agents,
    events: deps.events,
    logger: deps.logger,
    settings: deps.config.health,
  });
  return {
    services: { health: new HealthService({ orm, monitor, providers: plane.providerCache }), monitor },
    components: {
      monitor: { name: 'health monitor', start: () => monitor.start(), stop: () => monitor.stop() },
    },
  };
}
