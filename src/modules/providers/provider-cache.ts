import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { ConfigMirror, type MirrorRow, type MirrorStats } from '../events/config-mirror.ts';
import type { EventBus, ProviderChangedEvent } from '../events/event-bus.ts';
import { followChanges } from '../events/keep-fresh.ts';
import { type Provider, ProviderEntity } from './provider.entity.ts';

/**
 * Every provider's configuration in memory, by slug and id, so the proxy resolves a provider
 * without PostgreSQL. A provider event (from any replica) reads that provider's row alone, or
 * drops a deleted one; a paged reload every refresh interval repairs what lost events missed.
 * While PostgreSQL is down the last good copy keeps serving. A change made on this replica is in
 * the cache before its mutation returns (see EventBus.publishApplied).
 */
export class ProviderCache {
  readonly #orm: Orm;
  readonly #events: EventBus;
  readonly #mirror: ConfigMirror<Provider>;
  #stop: (() => void) | undefined;

  constructor(deps: { orm: Orm; events: EventBus; logger: Logger }) {
    this.#orm = deps.orm;
    this.#events = deps.events;
    this.#mirror = new ConfigMirror<Provider>({
      source: {
        loadMany: (ids) => this.#loadMany(ids),
        loadPage: (after, limit) => this.#loadPage(after, limit),
      },
      keyOf: (provider) => provider.slug,
      idOf: (provider) => provider.id,
      // Providers carry more settings than clients: smaller pages keep each one short.
      pageSize: 200,
      onError: (error, what) =>
        deps.logger.warn(
          { err: (error as Error).message },
          what === 'reload'
            ? 'provider cache reload failed; keeping the previous providers'
            : 'provider cache could not read changed providers; the next reload will',
        ),
    });
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = followChanges({
      events: this.#events,
      topics: ['provider.changed'],
      intervalMs: refreshIntervalMs,
      apply: (change) =>
        change.topic === 'provider.changed' ? this.#apply(change.event) : Promise.resolve(),
      refresh: () => this.reload(),
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads every provider (paged); resolves after a reload that started after this call. */
  reload(): Promise<void> {
    return this.#mirror.reloadAll();
  }

  get stats(): MirrorStats {
    return this.#mirror.stats;
  }

  #apply(event: ProviderChangedEvent): Promise<void> {
    const deleted = event.change === 'DELETED';
    return this.#mirror.apply({
      id: event.providerId,
      version: event.version,
      dropped: deleted,
      final: deleted,
    });
  }

  async #loadMany(ids: string[]): Promise<MirrorRow<Provider>[]> {
    const rows = await this.#orm.em.fork().find(ProviderEntity, { id: { $in: ids } });
    return rows.map((row) => ({ id: row.id, version: row.version, value: row }));
  }

  async #loadPage(after: string | null, limit: number): Promise<MirrorRow<Provider>[]> {
    const rows = await this.#orm.em
      .fork()
      .find(ProviderEntity, after === null ? {} : { id: { $gt: after } }, { orderBy: { id: 'asc' }, limit });
    return rows.map((row) => ({ id: row.id, version: row.version, value: row }));
  }

  bySlug(slug: string): Provider | undefined {
    // The newest holder of a slug (a provider deleted and made again under it, events out of order).
    return this.#mirror.byKey(slug).at(-1);
  }

  ids(): string[] {
    return [...this.#mirror.ids()];
  }

  byId(id: string): Provider | undefined {
    return this.#mirror.get(id);
  }
}
