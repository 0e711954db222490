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

  /** The newest `last` transitions of each provider, in the order asked: two queries however many. */
  async historyMany(providerIds: readonly string[], last: number): Promise<HealthTransition[][]> {
    const rows = await this.#newestPer<HealthTransition>(
      'health_transitions',
      HealthTransitionEntity,
      providerIds,
      last,
    );
    return groupByProvider(providerIds, rows);
  }

  /** The newest `last` probe results of each provider, in the order asked. */
  async probesMany(providerIds: readonly string[], last: number): Promise<HealthCheck[][]> {
    const rows = await this.#newestPer<HealthCheck>('health_checks', HealthCheckEntity, providerIds, last);
    return groupByProvider(providerIds, rows);
  }

  /** Picks the ids of each provider's newest rows (a window over the (provider_id, at) index), then loads them. */
  async #newestPer<T extends { providerId: string; at: Date }>(
    table: string,
    entity: typeof HealthTransitionEntity | typeof HealthCheckEntity,
    providerIds: readonly string[],
    last: number,
  ): Promise<T[]> {
    if (providerIds.length === 0) return [];
    const em = this.#orm.em.fork();
    const db = em.getKysely() as Kysely<unknown>;
    const picked = await sql<{ id: string }>`
      select id from (
        select id, row_number() over (partition by provider_id order by at desc) as n
        from ${sql.table(table)} where provider_id = any(${[...providerIds]}::uuid[])) as ranked
      where n <= ${clamp(last)}`.execute(db);
    if (picked.rows.length === 0) return [];
    const rows = await em.find(
      entity as typeof HealthCheckEntity,
      { id: { $in: picked.rows.map((r) => r.id) } },
      { orderBy: { at: 'desc' } },
    );
    return rows as unknown as T[];
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

/** Rows split by provider, in the order of `providerIds` (each list keeps the rows' order). */
function groupByProvider<T extends { providerId: string }>(providerIds: readonly string[], rows: T[]): T[][] {
  const byProvider = new Map<string, T[]>(providerIds.map((id) => [id, []]));
  for (const row of rows) byProvider.get(row.providerId)?.push(row);
  return providerIds.map((id) => byProvider.get(id) ?? []);
}
