import { randomInt } from 'node:crypto';
import { providerEnvKeyName } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { ConfigMirror, type MirrorRow, type MirrorStats } from '../events/config-mirror.ts';
import type { EventBus, KeyChangedEvent, ProviderChangedEvent } from '../events/event-bus.ts';
import { followChanges } from '../events/keep-fresh.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { KeyCooldowns } from '../resilience/key-cooldowns.ts';
import { type KeyStatus, type ProviderKey, ProviderKeyEntity } from './provider-key.entity.ts';
import type { ProviderKeyService } from './provider-key.service.ts';
import { decryptionReason, type Vault } from './vault.ts';

/** Key events after which the key must not be injected any more. */
const STOPS_A_KEY = new Set<KeyChangedEvent['change']>(['REVOKED', 'EXPIRED', 'INVALID', 'DECRYPT_FAILED']);

/** A key ready for the hot path: decrypted, with what selection needs. */
export interface UsableKey {
  /** The ProviderKey id, or `env` for the development fallback. */
  id: string;
  secret: string;
  status: KeyStatus;
  weight: number;
  expiresAt: number | null;
}

interface HeldKey extends UsableKey {
  providerId: string;
}

export type KeySource = 'STORED' | 'ENV' | 'NONE';

/**
 * The decrypted keys of every provider, in memory, so a proxied call never waits on PostgreSQL
 * or on decryption. A key event (from any replica) reads and decrypts that key alone, or drops a
 * key that must stop at once; a provider event updates that provider's slug or drops a deleted
 * provider's keys. A paged reload every refresh interval repairs what lost events missed. Keys
 * that fail to decrypt are left out, and the failure is audited once.
 */
export class KeyRing {
  readonly #orm: Orm;
  readonly #vault: Vault;
  readonly #keys: ProviderKeyService;
  readonly #logger: Logger;
  readonly #envKeys: Record<string, string>;
  readonly #mirror: ConfigMirror<HeldKey>;
  #slugById = new Map<string, string>();
  /** Keys the provider answered 429 for, left alone for a while. */
  readonly cooldowns = new KeyCooldowns();
  readonly #disabled = new Set<string>();
  readonly #events: EventBus;
  #stop: (() => void) | undefined;

  constructor(deps: {
    orm: Orm;
    vault: Vault;
    keys: ProviderKeyService;
    events: EventBus;
    logger: Logger;
    envKeys: Record<string, string>;
  }) {
    this.#orm = deps.orm;
    this.#vault = deps.vault;
    this.#keys = deps.keys;
    this.#logger = deps.logger;
    this.#envKeys = deps.envKeys;
    this.#events = deps.events;
    this.#mirror = new ConfigMirror<HeldKey>({
      source: {
        loadMany: (ids) => this.#loadMany(ids),
        loadPage: (after, limit) => this.#loadPage(after, limit),
      },
      keyOf: (key) => key.providerId,
      idOf: (key) => key.id,
      // Keep serving with what we have; the next event or refresh tries again.
      onError: (error, what) =>
        this.#logger.warn(
          { err: error },
          what === 'reload'
            ? 'key ring reload failed; keeping the previous keys'
            : 'key ring could not read changed keys; the next reload will',
        ),
    });
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = followChanges({
      events: this.#events,
      topics: ['key.changed', 'provider.changed'],
      intervalMs: refreshIntervalMs,
      apply: (change) => {
        if (change.topic === 'key.changed') return this.#applyKey(change.event);
        if (change.topic === 'provider.changed') this.#applyProvider(change.event);
        return Promise.resolve();
      },
      refresh: () => this.reload(),
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads every key (paged) and the providers' slugs; resolves after a reload that started after this call. */
  async reload(): Promise<void> {
    await Promise.all([this.#reloadSlugs(), this.#mirror.reloadAll()]);
  }

  /** Never rejects (the periodic refresh does not wait for it): a failure keeps the slugs held. */
  async #reloadSlugs(): Promise<void> {
    try {
      const providers = await this.#orm.em.fork().find(ProviderEntity, {}, { fields: ['id', 'slug'] });
      this.#slugById = new Map(providers.map((p) => [p.id, p.slug]));
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'key ring could not reload provider slugs; keeping the previous ones',
      );
    }
  }

  get stats(): MirrorStats {
    return this.#mirror.stats;
  }

  /** A key that must not be injected any more leaves at once, before its row is read again. */
  #applyKey(event: KeyChangedEvent): Promise<void> {
    return this.#mirror.apply({
      id: event.keyId,
      version: event.version,
      dropped: STOPS_A_KEY.has(event.change),
      final: event.change === 'REVOKED',
    });
  }

  /** The slug is for the development env key; a deleted provider's keys went with it. */
  #applyProvider(event: ProviderChangedEvent): void {
    if (event.change === 'DELETED') {
      this.#slugById.delete(event.providerId);
      this.#mirror.dropByKey(event.providerId);
    } else {
      this.#slugById.set(event.providerId, event.slug);
    }
  }

  async #loadMany(ids: string[]): Promise<MirrorRow<HeldKey>[]> {
    const rows = await this.#orm.em.fork().find(ProviderKeyEntity, { id: { $in: ids } });
    return Promise.all(
      rows.map(async (row) => ({ id: row.id, version: row.version, value: await this.#usable(row) })),
    );
  }

  async #loadPage(after: string | null, limit: number): Promise<MirrorRow<HeldKey>[]> {
    const usable = { status: { $in: ['ACTIVE', 'RETIRING'] as KeyStatus[] }, problem: null };
    const rows = await this.#orm.em
      .fork()
      .find(ProviderKeyEntity, after === null ? usable : { ...usable, id: { $gt: after } }, {
        orderBy: { id: 'asc' },
        limit,
      });
    return Promise.all(
      rows.map(async (row) => ({ id: row.id, version: row.version, value: await this.#usable(row) })),
    );
  }

  /** The key as the hot path holds it, or null when it must not be injected (or fails to decrypt). */
  async #usable(row: ProviderKey): Promise<HeldKey | null> {
    if (!['ACTIVE', 'RETIRING'].includes(row.status) || row.problem !== null || !row.ciphertext) return null;
    const providerId = row.provider.id;
    let secret: string;
    try {
      secret = await this.#vault.decrypt(row.ciphertext, { providerId, keyId: row.id });
    } catch (error) {
      this.#logger.error(
        { keyId: row.id, providerId, reason: (error as Error).message },
        'provider key failed to decrypt',
      );
      void this.#keys.recordDecryptFailure(row.id, decryptionReason(error)).catch(() => undefined);
      return null;
    }
    return {
      id: row.id,
      providerId,
      secret,
      status: row.status,
      weight: row.weight,
      expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    };
  }

  /** Where a provider's key comes from, for GraphQL. */
  sourceOf(providerId: string, slug: string): KeySource {
    if (this.#mirror.byKey(providerId).length > 0) return 'STORED';
    return this.#envKeys[providerEnvKeyName(slug)] ? 'ENV' : 'NONE';
  }

  /**
   * Picks a key for a call: weighted at random among usable ACTIVE keys; RETIRING keys only
   * when no ACTIVE key is usable; the development env key only when no key is stored.
   * `exclude` holds keys that already failed for this call.
   */
  select(
    providerId: string,
    exclude: ReadonlySet<string> = new Set(),
    now = Date.now(),
  ): UsableKey | undefined {
    const stored = this.#mirror.byKey(providerId);
    if (stored.length === 0) {
      const slug = this.#slugById.get(providerId);
      const secret = slug ? this.#envKeys[providerEnvKeyName(slug)] : undefined;
      return secret && !exclude.has('env')
        ? { id: 'env', secret, status: 'ACTIVE', weight: 1, expiresAt: null }
        : undefined;
    }
    const usable = stored.filter(
      (k) =>
        !exclude.has(k.id) &&
        !this.#disabled.has(k.id) &&
        (k.expiresAt === null || k.expiresAt > now) &&
        !this.cooldowns.isCooling(k.id, now),
    );
    const active = usable.filter((k) => k.status === 'ACTIVE');
    return weightedPick(active.length > 0 ? active : usable.filter((k) => k.status === 'RETIRING'));
  }

  /** True when the provider has keys but every one is cooling down; the earliest time one is free. */
  coolingUntil(providerId: string, now = Date.now()): number | undefined {
    const stored = this.#mirror.byKey(providerId);
    return this.cooldowns.allCoolingUntil(
      stored.map((k) => k.id),
      now,
    );
  }

  /**
   * The provider refused this key (401/403): stop using it here at once. Remembered across
   * reloads, since a reload already under way may still see the key as ACTIVE.
   */
  disable(keyId: string): void {
    this.#disabled.add(keyId);
  }

  /** Leave the key alone until `untilMs` (see KeyCooldowns; the proxy cools keys from a 429's Retry-After). */
  coolDown(keyId: string, untilMs: number): void {
    this.cooldowns.coolUntil(keyId, untilMs);
  }
}

function weightedPick(keys: UsableKey[]): UsableKey | undefined {
  if (keys.length <= 1) return keys[0];
  const total = keys.reduce((sum, k) => sum + k.weight, 0);
  let ticket = randomInt(total);
  for (const key of keys) {
    ticket -= key.weight;
    if (ticket < 0) return key;
  }
  return keys.at(-1);
}
