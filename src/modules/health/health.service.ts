import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { NotFoundError } from '../../shared/errors.ts';
import type { ProviderCache } from '../proxy/provider-cache.ts';
import {
  type HealthCheck,
  HealthCheckEntity,
  type HealthStatus,
  type HealthTransition,
  HealthTransitionEntity,
  ProviderHealthEntity,
  type ProviderHealthRow,
} from './health.entity.ts';
import type { HealthMonitor, ProbeResult } from './health-monitor.ts';

export interface Uptime {
  from: Date;
  to: Date;
  /** Time not DOWN as a share of the time whose status was known; null when none was. */
  availabilityPercent: number | null;
  healthyMs: number;
  degradedMs: number;
  downMs: number;
  unknownMs: number;
}

/** Reads of provider health (current status, history, uptime) and on-demand probes. */
export class HealthService {
  readonly #orm: Orm;
  readonly #monitor: HealthMonitor;
  readonly #providers: ProviderCache;

  constructor(deps: { orm: Orm; monitor: HealthMonitor; providers: ProviderCache }) {
    this.#orm = deps.orm;
    this.#monitor = deps.monitor;
    this.#providers = deps.providers;
  }

  async current(providerId: string): Promise<ProviderHealthRow | null> {
    return this.#orm.em.fork().findOne(ProviderHealthEntity, { providerId });
  }

  async history(providerId: string, last: number): Promise<HealthTransition[]> {
    return this.#orm.em
      .fork()
      .find(HealthTransitionEntity, { providerId }, { orderBy: { at: 'desc' }, limit: clamp(last) });
  }

  async probes(providerId: string, last: number): Promise<HealthCheck[]> {
    return this.#orm.em
      .fork()
      .find(HealthCheckEntity, { providerId }, { orderBy: { at: 'desc' }, limit: clamp(last) });
  }

  /** Time in each status over [from, to), from the recorded transitions. */
  async uptime(providerId: string, from: Date, to: Date): Promise<Uptime> {
    const em = this.#orm.em.fork();
    const [before] = await em.find(
      HealthTransitionEntity,
      { providerId, at: { $lt: from } },
      { orderBy: { at: 'desc' }, limit: 1 },
    );
    const changes = await em.find(
      HealthTransitionEntity,
      { providerId, at: { $gte: from, $lt: to } },
      { orderBy: { at: 'asc' } },
    );
    const spent: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 0, DOWN: 0, UNKNOWN: 0 };
    let status: HealthStatus = before?.to ?? 'UNKNOWN';
    let since = from.getTime();
    for (const change of changes) {
      const at = change.at.getTime();
      spent[status] += at - since;
      status = change.to;
      since = at;
    }
    spent[status] += Math.max(0, Math.min(to.getTime(), Date.now()) - since);
    const known = spent.HEALTHY + spent.DEGRADED + spent.DOWN;
    return {
      from,
      to,
      availabilityPercent: known === 0 ? null : Math.round(((known - spent.DOWN) / known) * 10_000) / 100,
      healthyMs: spent.HEALTHY,
      degradedMs: spent.DEGRADED,
      downMs: spent.DOWN,
      unknownMs: spent.UNKNOWN,
    };
  }

  /** Probes the provider now (operator and above), whether or not scheduled probes are on. */
  async test(actor: Actor, slug: string): Promise<{ result: ProbeResult; providerId: string }> {
    requireRole(actor, 'operator');
    const provider = this.#providers.bySlug(slug);
    if (!provider) throw new NotFoundError('Provider', slug);
    await this.#monitor.ensureRows([provider.id]);
    const result = (await this.#monitor.check(provider, 'MANUAL'))!;
    return { result, providerId: provider.id };
  }
}

function clamp(n: number): number {
  return Math.min(Math.max(n, 1), 200);
}
