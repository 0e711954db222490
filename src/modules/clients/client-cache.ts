import { timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { ConfigMirror, type MirrorRow, type MirrorStats } from '../events/config-mirror.ts';
import type { ClientChangedEvent, EventBus } from '../events/event-bus.ts';
import { followChanges } from '../events/keep-fresh.ts';
import type { RateLimitPolicy } from '../providers/provider.validation.ts';
import type { Client } from './client.entity.ts';
import { CLIENT_KEY_PREFIX, clientKeyDigest, clientKeyPrefix } from './client.service.ts';
import type { ClientColumns } from './client.validation.ts';

const COLUMNS = sql.raw(
  'id, version, status, key_prefix, key_hash, name, allowed_provider_ids, rate_limit, expires_at',
);

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

/** A client's row as the cache reads it: the key columns and the settings, without the ORM. */
interface ClientRow {
  id: string;
  version: number;
  status: Client['status'];
  key_prefix: string;
  key_hash: string;
  name: string;
  allowed_provider_ids: string[] | null;
  rate_limit: RateLimitPolicy | null;
  expires_at: Date | string | null;
}

function columnsOf(row: ClientRow): ClientColumns {
  return {
    name: row.name,
    allowedProviderIds: row.allowed_provider_ids,
    rateLimit: row.rate_limit,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  };
}

function entryOf(row: ClientRow): Entry {
  const columns = columnsOf(row);
  const held = Object.entries(HELD).map(([column, hold]) =>
    (hold as (value: unknown) => Partial<AuthenticatedClient>)(columns[column as keyof ClientColumns]),
  );
  return Object.assign(
    { id: row.id, prefix: row.key_prefix, hash: Buffer.from(row.key_hash, 'hex') },
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
      source: {
        loadMany: (ids) => this.#loadMany(ids),
        loadPage: (after, limit) => this.#loadPage(after, limit),
      },
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
    return this.#mirror.apply({
      id: event.clientId,
      version: event.version,
      dropped: revoked,
      final: revoked,
    });
  }

  /*
   * Plain SQL rather than the ORM: the full reload reads 100,000 clients, and hydrating entities
   * (identity map, change-tracking snapshots) would hold the event loop for tens of ms a page.
   */
  async #loadMany(ids: string[]): Promise<MirrorRow<Entry>[]> {
    const rows = await sql<ClientRow>`select ${COLUMNS} from clients where id = any(${ids}::uuid[])`.execute(
      this.#db(),
    );
    return rows.rows.map((row) => ({
      id: row.id,
      version: row.version,
      value: row.status === 'ACTIVE' ? entryOf(row) : null,
    }));
  }

  async #loadPage(after: string | null, limit: number): Promise<MirrorRow<Entry>[]> {
    const rows = await sql<ClientRow>`select ${COLUMNS} from clients
      where status = 'ACTIVE' and (${after}::uuid is null or id > ${after}::uuid)
      order by id limit ${limit}`.execute(this.#db());
    return rows.rows.map((row) => ({ id: row.id, version: row.version, value: entryOf(row) }));
  }

  #db(): Kysely<unknown> {
    return this.#orm.em.fork().getKysely() as Kysely<unknown>;
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
