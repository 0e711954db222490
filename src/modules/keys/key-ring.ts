import { randomInt } from 'node:crypto';
import { providerEnvKeyName } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus, KeyChangedEvent } from '../events/event-bus.ts';
import { keepFresh } from '../events/keep-fresh.ts';
import { Reloader } from '../events/reloader.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { KeyCooldowns } from '../resilience/key-cooldowns.ts';
import { type KeyStatus, ProviderKeyEntity } from './provider-key.entity.ts';
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

export type KeySource = 'STORED' | 'ENV' | 'NONE';

/**
 * The decrypted keys of every provider, in memory, so a proxied call never waits on PostgreSQL
 * or on decryption. Reloaded on key and provider events (from any replica) and periodically as
 * a safety net. Keys that fail to decrypt are left out, and the failure is audited once.
 */
export class KeyRing {
  readonly #orm: Orm;
  readonly #vault: Vault;
  readonly #keys: ProviderKeyService;
  readonly #logger: Logger;
  readonly #envKeys: Record<string, string>;
  #byProvider = new Map<string, UsableKey[]>();
  #slugById = new Map<string, string>();
  /** Keys the provider answered 429 for, left alone for a while. */
  readonly cooldowns = new KeyCooldowns();
  readonly #disabled = new Set<string>();
  readonly #events: EventBus;
  #stop: (() => void) | undefined;
  readonly #reloader: Reloader<{ keys: Map<string, UsableKey[]>; slugs: Map<string, string> }>;

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
    this.#reloader = new Reloader(
      () => this.#load(),
      ({ keys, slugs }) => {
        this.#byProvider = keys;
        this.#slugById = slugs;
      },
      // Keep serving with what we have; the next event or refresh tries again.
      (error) => this.#logger.warn({ err: error }, 'key ring reload failed; keeping the previous keys'),
    );
  }

  async start(refreshIntervalMs: number): Promise<void> {
    await this.reload();
    this.#stop = keepFresh(() => this.reload(), {
      events: this.#events,
      topics: ['key.changed', 'provider.changed'],
      intervalMs: refreshIntervalMs,
      invalidate: (change) => {
        this.#reloader.invalidate();
        if (change.topic === 'key.changed' && STOPS_A_KEY.has(change.event.change))
          this.#drop(change.event.keyId);
      },
    });
  }

  stop(): void {
    this.#stop?.();
  }

  /** Reloads everything; resolves after a load that started after this call. */
  reload(): Promise<void> {
    return this.#reloader.run();
  }

  /** A key that must not be injected any more leaves at once, before the reload confirms it. */
  #drop(keyId: string): void {
    const next = new Map<string, UsableKey[]>();
    for (const [providerId, keys] of this.#byProvider) {
      next.set(
        providerId,
        keys.filter((k) => k.id !== keyId),
      );
    }
    this.#byProvider = next;
  }

  async #load(): Promise<{ keys: Map<string, UsableKey[]>; slugs: Map<string, string> }> {
    const em = this.#orm.em.fork();
    const providers = await em.find(ProviderEntity, {}, { fields: ['id', 'slug'] });
    const rows = await em.find(ProviderKeyEntity, { status: { $in: ['ACTIVE', 'RETIRING'] }, problem: null });
    const next = new Map<string, UsableKey[]>();
    for (const row of rows) {
      if (!row.ciphertext) continue;
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
        continue;
      }
      const list = next.get(providerId) ?? [];
      list.push({
        id: row.id,
        secret,
        status: row.status,
        weight: row.weight,
        expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
      });
      next.set(providerId, list);
    }
    return { keys: next, slugs: new Map(providers.map((p) => [p.id, p.slug])) };
  }

  /** Where a provider's key comes from, for GraphQL. */
  sourceOf(providerId: string, slug: string): KeySource {
    if ((this.#byProvider.get(providerId)?.length ?? 0) > 0) return 'STORED';
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
    const stored = this.#byProvider.get(providerId);
    if (!stored || stored.length === 0) {
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
    const stored = this.#byProvider.get(providerId) ?? [];
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
