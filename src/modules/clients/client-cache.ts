import { timingSafeEqual } from 'node:crypto';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { ConfigMirror, type MirrorRow, type MirrorStats } from '../events/config-mirror.ts';
import type { ClientChangedEvent, EventBus } from '../events/event-bus.ts';
import { followChanges } from '../events/keep-fresh.ts';
import type { RateLimitPolicy } from '../providers/provider.validation.ts';
import { type Client, ClientEntity } from './client.entity.ts';
import { CLIENT_KEY_PREFIX, clientKeyDigest, clientKeyPrefix } from './client.service.ts';
import { type ClientColumns, clientColumnsOf } from './client.validation.ts';

/** What the proxy knows about a caller after authentication. */
export interface AuthenticatedClient {
  id: string;
  name: string;
  allowedProviderIds: ReadonlySet<string> | null;
  rateLimit: RateLimitPolicy | null;
  expiresAt: number | null;
}

interface Entry extends AuthenticatedClient {
  prefix: string;
  hash: Buffer;
}

/**
 * How the proxy holds each client setting. Keyed by the settings columns, so that a new setting
 * (see client.validation.ts) does not compile until it says how it is held here.
 */
const HELD = {
  name: (name) => ({ name }),
  allowedProviderIds: (ids) => ({ allowedProviderIds: ids ? new Set(ids) : null }),
  rateLimit: (rateLimit) => ({ rateLimit }),
  expiresAt: (at) => ({ expiresAt: at ? at.getTime() : null }),
} satisfies { [K in keyof ClientColumns]-?: (value: ClientColumns[K]) => Partial<AuthenticatedClient> };

function entryOf(row: Client): Entry {
  const columns = clientColumnsOf(row);
  const held = Object.entries(HELD).map(([column, hold]) =>
    (hold as (value: unknown) => Partial<AuthenticatedClient>)(columns[column as keyof ClientColumns]),
  );
  return Object.assign(
    { id: row.id, prefix: row.keyPrefix, hash: Buffer.from(row.keyHash, 'hex') },
    ...held,
  ) as Entry;
}

/**
 * Active clients by key prefix, in memory: authenticating a proxied call is a hash and a
 * constant-time comparison, never a database query. A client event from any replica changes
 * that one client here (a revocation drops it at once; a creation or an update reads its row),
 * so a change costs the same at 100 clients as at 100,000. A paged reload every refresh interval
 * repairs what lost events missed (see ConfigMirror). On the replica that ran a mutation, the
 * change is in before the mutation returns.
 */
export class ClientCache {
  readonly #orm: Orm;
  readonly #events: EventBus;
  readonly #mirror: ConfigMirror<Entry>;
  #stop: (() => void) | undefined;

  constructor(deps: { orm: Orm; events: EventBus; logger: Logger; pageSize?: number }) {
    this.#orm = deps.orm;
    this.#events = deps.events;
    this.#mirror = new ConfigMirror<Entry>({
      source: { loadMany: (ids) => this.#loadMany(ids), loadPage: (after, limit) => this.#loadPage(after, limit) },
      keyOf: (entry) => entry.prefix,
      idOf: (entry) => entry.id,
      ...(deps.pageSize ? { pageSize: deps.pageSize } : {}),
      onError: (error, what) =>
        deps.logger.warn(
          { err: error },
          what === 'reload'
            ? 'client cache reload failed; keeping the previous clients'
            : 'client cache could not read changed clients; the next reload will',
        ),
    });
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = followChanges({
      events: this.#events,
      topics: ['client.changed'],
      intervalMs: refreshIntervalMs,
      apply: (change) => (change.topic === 'client.changed' ? this.#apply(change.event) : Promise.resolve()),
      refresh: () => this.reload(),
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads every client from PostgreSQL (paged); resolves after a reload that started after this call. */
  reload(): Promise<void> {
    return this.#mirror.reloadAll();
  }

  /** What the cache has done (full reloads, rows read by id) and how many clients it holds. */
  get stats(): MirrorStats {
    return this.#mirror.stats;
  }

  /** A revoked client's keys stop at once; any other change reads the client's row. */
  #apply(event: ClientChangedEvent): Promise<void> {
    const revoked = event.change === 'REVOKED';
    return this.#mirror.apply({ id: event.clientId, version: event.version, dropped: revoked, final: revoked });
  }

  async #loadMany(ids: string[]): Promise<MirrorRow<Entry>[]> {
    const rows = await this.#orm.em.fork().find(ClientEntity, { id: { $in: ids } });
    return rows.map((row) => ({
      id: row.id,
      version: row.version,
      value: row.status === 'ACTIVE' ? entryOf(row) : null,
    }));
  }

  async #loadPage(after: string | null, limit: number): Promise<MirrorRow<Entry>[]> {
    const rows = await this.#orm.em
      .fork()
      .find(
        ClientEntity,
        after === null ? { status: 'ACTIVE' } : { status: 'ACTIVE', id: { $gt: after } },
        { orderBy: { id: 'asc' }, limit },
      );
    return rows.map((row) => ({ id: row.id, version: row.version, value: entryOf(row) }));
  }

  /** The active, unexpired client a key belongs to, or undefined. */
  authenticate(key: string, now = Date.now()): AuthenticatedClient | undefined {
    if (!key.startsWith(CLIENT_KEY_PREFIX) || key.length > 200) return undefined;
    const entries = this.#mirror.byKey(clientKeyPrefix(key));
    if (entries.length === 0) return undefined;
    const presented = clientKeyDigest(key);
    for (const entry of entries) {
      if (timingSafeEqual(entry.hash, presented)) {
        return entry.expiresAt !== null && entry.expiresAt <= now ? undefined : entry;
      }
    }
    return undefined;
  }
}
