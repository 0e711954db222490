import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus } from '../events/event-bus.ts';
import { keepFresh } from '../events/keep-fresh.ts';
import { Reloader } from '../events/reloader.ts';
import { type Provider, ProviderEntity } from './provider.entity.ts';

/**
 * Every provider's configuration in memory, by slug and id, so the proxy resolves a provider
 * without PostgreSQL. Reloaded on provider events (from any replica) and periodically. While
 * PostgreSQL is down the last good copy keeps serving. A change made on this replica is in
 * the cache before its mutation returns (see EventBus.publishApplied).
 */
export class ProviderCache {
  readonly #orm: Orm;
  readonly #logger: Logger;
  #bySlug = new Map<string, Provider>();
  #byId = new Map<string, Provider>();
  readonly #events: EventBus;
  readonly #reloader: Reloader<Provider[]>;
  #stop: (() => void) | undefined;

  constructor(deps: { orm: Orm; events: EventBus; logger: Logger }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
    this.#events = deps.events;
    this.#reloader = new Reloader(
      () => this.#orm.em.fork().find(ProviderEntity, {}),
      (rows) => {
        this.#bySlug = new Map(rows.map((p) => [p.slug, p]));
        this.#byId = new Map(rows.map((p) => [p.id, p]));
      },
      (error) =>
        this.#logger.warn(
          { err: (error as Error).message },
          'provider cache reload failed; keeping the previous providers',
        ),
    );
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = keepFresh(() => this.reload(), {
      events: this.#events,
      topics: ['provider.changed'],
      intervalMs: refreshIntervalMs,
      // A load under way may predate the change (an enabled flag, a new base URL): not applied.
      invalidate: () => this.#reloader.invalidate(),
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads from PostgreSQL; resolves after a load that started after this call. */
  reload(): Promise<void> {
    return this.#reloader.run();
  }

  bySlug(slug: string): Provider | undefined {
    return this.#bySlug.get(slug);
  }

  ids(): string[] {
    return [...this.#byId.keys()];
  }

  byId(id: string): Provider | undefined {
    return this.#byId.get(id);
  }
}
