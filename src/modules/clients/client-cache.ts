import { timingSafeEqual } from 'node:crypto';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus } from '../events/event-bus.ts';
import { keepFresh } from '../events/keep-fresh.ts';
import { Reloader } from '../events/reloader.ts';
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
  return Object.assign({ id: row.id, hash: Buffer.from(row.keyHash, 'hex') }, ...held) as Entry;
}

/**
 * Active clients by key prefix, in memory: authenticating a proxied call is a hash and a
 * constant-time comparison, never a database query. Reloaded on client events from any
 * replica (a revocation takes effect everywhere within the event's delivery time) and
 * periodically as a safety net. A revoked or rotated client's entries are dropped as soon as
 * the event arrives, before the reload; on the replica that ran the mutation, before it returns.
 */
export class ClientCache {
  readonly #orm: Orm;
  readonly #logger: Logger;
  #byPrefix = new Map<string, Entry[]>();
  readonly #events: EventBus;
  readonly #reloader: Reloader<Map<string, Entry[]>>;
  #stop: (() => void) | undefined;

  constructor(deps: { orm: Orm; events: EventBus; logger: Logger }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
    this.#events = deps.events;
    this.#reloader = new Reloader(
      () => this.#load(),
      (next) => {
        this.#byPrefix = next;
      },
      (error) =>
        this.#logger.warn({ err: error }, 'client cache reload failed; keeping the previous clients'),
    );
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = keepFresh(() => this.reload(), {
      events: this.#events,
      topics: ['client.changed'],
      intervalMs: refreshIntervalMs,
      invalidate: (change) => {
        if (change.topic !== 'client.changed') return;
        const { change: kind, clientId } = change.event;
        if (kind === 'REVOKED' || kind === 'ROTATED') this.#forget(clientId);
      },
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads from PostgreSQL; resolves after a load that started after this call. */
  reload(): Promise<void> {
    return this.#reloader.run();
  }

  /** Stops accepting a client's keys at once (a reload under way must not bring them back). */
  #forget(clientId: string): void {
    this.#reloader.invalidate();
    const next = new Map<string, Entry[]>();
    for (const [prefix, entries] of this.#byPrefix) {
      const kept = entries.filter((e) => e.id !== clientId);
      if (kept.length > 0) next.set(prefix, kept);
    }
    this.#byPrefix = next;
  }

  async #load(): Promise<Map<string, Entry[]>> {
    const rows = await this.#orm.em.fork().find(ClientEntity, { status: 'ACTIVE' });
    const next = new Map<string, Entry[]>();
    for (const row of rows) {
      const entry = entryOf(row);
      next.set(row.keyPrefix, [...(next.get(row.keyPrefix) ?? []), entry]);
    }
    return next;
  }

  /** The active, unexpired client a key belongs to, or undefined. */
  authenticate(key: string, now = Date.now()): AuthenticatedClient | undefined {
    if (!key.startsWith(CLIENT_KEY_PREFIX) || key.length > 200) return undefined;
    const entries = this.#byPrefix.get(clientKeyPrefix(key));
    if (!entries) return undefined;
    const presented = clientKeyDigest(key);
    for (const entry of entries) {
      if (timingSafeEqual(entry.hash, presented)) {
        return entry.expiresAt !== null && entry.expiresAt <= now ? undefined : entry;
      }
    }
    return undefined;
  }
}
