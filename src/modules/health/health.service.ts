import { type Kysely, sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { NotFoundError } from '../../shared/errors.ts';
import type { ProviderCache } from '../providers/provider-cache.ts';
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
    return (await this.currentMany([providerId]))[0] ?? null;
  }

  /** The current rows of many providers in one query, in the order asked (null where none). */
  async currentMany(providerIds: readonly string[]): Promise<(ProviderHealthRow | null)[]> {
    if (providerIds.length === 0) return [];
    const rows = await this.#orm.em
      .fork()
      .find(ProviderHealthEntity, { providerId: { $in: [...providerIds] } });
    const byId = new Map(rows.map((r) => [r.providerId, r]));
    return providerIds.map((id) => byId.get(id) ?? null);
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
    return (await this.uptimeMany([providerId], from, to))[0]!;
  }

  /**
   * Uptime of many providers over the same window in two queries (the status each was in at
   * `from`, and the changes within), so an overview of every provider costs no more than one.
   */
  async uptimeMany(providerIds: readonly string[], from: Date, to: Date): Promise<Uptime[]> {
    if (providerIds.length === 0) return [];
    const em = this.#orm.em.fork();
    const ids = [...providerIds];
    const [before, changes] = await Promise.all([
      sql<{ provider_id: string; to: HealthStatus }>`
        select distinct on (provider_id) provider_id, "to" from health_transitions
        where provider_id = any(${ids}::uuid[]) and at < ${from}
        order by provider_id, at desc`.execute(em.getKysely() as Kysely<unknown>),
      em.find(
        HealthTransitionEntity,
        { providerId: { $in: ids }, at: { $gte: from, $lt: to } },
        { orderBy: { at: 'asc' } },
      ),
    ]);
    const startStatus = new Map(before.rows.map((r) => [r.provider_id, r.to]));
    const changesOf = Map.groupBy(changes, (c) => c.providerId);
    return ids.map((id) => timeInStatus(startStatus.get(id) ?? 'UNKNOWN', changesOf.get(id) ?? [], from, to));
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

function timeInStatus(
  initial: HealthStatus,
  changes: readonly HealthTransition[],
  from: Date,
  to: Date,
): Uptime {
  const spent: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 0, DOWN: 0, UNKNOWN: 0 };
  let status = initial;
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
