import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { parseOrThrow } from '../../shared/validation.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus, KeyChangedEvent } from '../events/event-bus.ts';
import { MAX_PATTERN_INPUT, matchesKeyPattern } from '../providers/key-pattern.ts';
import { type Provider, ProviderEntity } from '../providers/provider.entity.ts';
import { authStrategy } from '../upstream/auth-styles.ts';
import { addKeySchema, last4, rotateKeySchema, updateKeySchema } from './key.validation.ts';
import type { KeyTransitionScheduler } from './key-transitions.ts';
import { type ProviderKey, ProviderKeyEntity } from './provider-key.entity.ts';
import type { Vault } from './vault.ts';

const SYSTEM: Actor = { subject: 'system', role: 'admin', requestId: undefined };
const INPUT = ['input'];

/**
 * Provider keys: add, rotate with overlap, revoke, update, and the scheduled transitions (grace
 * end, expiry). Every change is audited in the same transaction and announced on the bus so
 * every replica's key ring reloads. Secrets go in encrypted and never come back out of here.
 */
export class ProviderKeyService {
  readonly #orm: Orm;
  readonly #vault: Vault;
  readonly #audit: AuditService;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #transitions: KeyTransitionScheduler;

  constructor(deps: {
    orm: Orm;
    vault: Vault;
    audit: AuditService;
    events: EventBus;
    logger: Logger;
    transitions: KeyTransitionScheduler;
  }) {
    this.#orm = deps.orm;
    this.#transitions = deps.transitions;
    this.#vault = deps.vault;
    this.#audit = deps.audit;
    this.#events = deps.events;
    this.#logger = deps.logger;
  }

  async listForProvider(providerId: string): Promise<ProviderKey[]> {
    return this.#orm.em
      .fork()
      .find(ProviderKeyEntity, { provider: providerId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** The keys of many providers in one query, each provider's oldest first, in the order asked. */
  async listForProviders(providerIds: readonly string[]): Promise<ProviderKey[][]> {
    if (providerIds.length === 0) return [];
    const keys = await this.#orm.em
      .fork()
      .find(
        ProviderKeyEntity,
        { provider: { $in: [...providerIds] } },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
    const byProvider = new Map<string, ProviderKey[]>(providerIds.map((id) => [id, []]));
    for (const key of keys) byProvider.get(key.provider.id)?.push(key);
    return providerIds.map((id) => byProvider.get(id) ?? []);
  }

  async get(keyId: string): Promise<ProviderKey | null> {
    if (!isUuid(keyId)) return null;
    return this.#orm.em.fork().findOne(ProviderKeyEntity, { id: keyId }, { populate: ['provider'] });
  }

  async add(actor: Actor, input: unknown): Promise<ProviderKey> {
    requireRole(actor, 'admin');
    const data = parseOrThrow(addKeySchema, input, INPUT);
    const key = await this.#orm.em.fork().transactional(async (em) => {
      const provider = await em.findOne(ProviderEntity, { slug: data.provider });
      if (!provider) throw new NotFoundError('Provider', data.provider);
      checkSecretShape(provider, data.secret, [...INPUT, 'secret']);
      const key = await this.#createKey(em, provider, {
        secret: data.secret,
        label: data.label,
        weight: data.weight,
        expiresAt: data.expiresAt,
        createdBy: actor.subject,
      });
      this.#audit.record(em, actor, {
        action: 'key.add',
        targetType: 'ProviderKey',
        targetId: key.id,
        details: {
          provider: provider.slug,
          label: key.label,
          last4: key.last4,
          fingerprint: key.fingerprint,
        },
      });
      return key;
    });
    await this.#announce('ADDED', key, actor);
    return key;
  }

  /** The new key is ACTIVE at once; the old one serves only as a fallback until its grace ends. */
  async rotate(actor: Actor, input: unknown): Promise<{ newKey: ProviderKey; oldKey: ProviderKey }> {
    requireRole(actor, 'admin');
    const data = parseOrThrow(rotateKeySchema, input, INPUT);
    const result = await this.#orm.em.fork().transactional(async (em) => {
      const old = await em.findOne(ProviderKeyEntity, { id: data.keyId }, { populate: ['provider'] });
      if (!old) throw new NotFoundError('ProviderKey', data.keyId);
      if (old.status === 'REVOKED' || old.status === 'EXPIRED') {
        throw new ConflictError(`Key "${old.label}" is ${old.status}; add a new key instead of rotating it.`);
      }
      const provider = old.provider.$;
      checkSecretShape(provider, data.newSecret, [...INPUT, 'newSecret']);
      const newKey = await this.#createKey(em, provider, {
        secret: data.newSecret,
        label: data.label ?? old.label,
        weight: old.weight,
        expiresAt: null,
        createdBy: actor.subject,
      });
      old.replacedById = newKey.id;
      if (data.graceSeconds === 0) {
        revokeInPlace(old);
      } else {
        old.status = 'RETIRING';
        old.graceUntil = new Date(Date.now() + data.graceSeconds * 1000);
        await this.#transitions.at(em, old.graceUntil);
      }
      this.#audit.record(em, actor, {
        action: 'key.rotate',
        targetType: 'ProviderKey',
        targetId: old.id,
        details: {
          provider: provider.slug,
          newKeyId: newKey.id,
          newLast4: newKey.last4,
          newFingerprint: newKey.fingerprint,
          graceSeconds: data.graceSeconds,
        },
      });
      return { newKey, oldKey: old };
    });
    await this.#announce('ROTATED', result.newKey, actor, `replaces ${result.oldKey.id}`);
    return result;
  }

  async revoke(actor: Actor, keyId: string): Promise<ProviderKey> {
    requireRole(actor, 'admin');
    const key = await this.#orm.em.fork().transactional(async (em) => {
      const key = await this.#load(em, keyId);
      if (key.status === 'REVOKED') throw new ConflictError(`Key "${key.label}" is already revoked.`);
      revokeInPlace(key);
      this.#audit.record(em, actor, {
        action: 'key.revoke',
        targetType: 'ProviderKey',
        targetId: key.id,
        details: { provider: key.provider.getEntity().slug, label: key.label, last4: key.last4 },
      });
      return key;
    });
    await this.#announce('REVOKED', key, actor);
    return key;
  }

  async update(actor: Actor, input: unknown): Promise<ProviderKey> {
    requireRole(actor, 'admin');
    const data = parseOrThrow(updateKeySchema, input, INPUT);
    const key = await this.#orm.em.fork().transactional(async (em) => {
      const key = await this.#load(em, data.keyId);
      if (key.status === 'REVOKED')
        throw new ConflictError(`Key "${key.label}" is revoked and cannot be changed.`);
      // Each changed field with its value before and after, as other entities' updates are audited.
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (data.label !== undefined && data.label !== key.label) {
        changes.label = { from: key.label, to: data.label };
        key.label = data.label;
      }
      if (data.weight !== undefined && data.weight !== key.weight) {
        changes.weight = { from: key.weight, to: data.weight };
        key.weight = data.weight;
      }
      if (data.expiresAt !== undefined) {
        const from = key.expiresAt?.toISOString() ?? null;
        const to = data.expiresAt?.toISOString() ?? null;
        if (from !== to) changes.expiresAt = { from, to };
        key.expiresAt = data.expiresAt;
        // A new expiry in the future brings an expired key back.
        if (key.status === 'EXPIRED' && data.expiresAt) key.status = 'ACTIVE';
        if (data.expiresAt) await this.#transitions.at(em, data.expiresAt);
      }
      this.#audit.record(em, actor, {
        action: 'key.update',
        targetType: 'ProviderKey',
        targetId: key.id,
        details: { provider: key.provider.getEntity().slug, label: key.label, changes },
      });
      return key;
    });
    await this.#announce('UPDATED', key, actor);
    return key;
  }

  /**
   * The scheduled step: RETIRING keys past their grace become REVOKED, keys past expiresAt
   * become EXPIRED. Each row changes in one UPDATE ... RETURNING, so when several replicas
   * sweep at once every transition happens (and is audited) exactly once.
   */
  async sweep(now = new Date()): Promise<{ revoked: number; expired: number }> {
    const em = this.#orm.em.fork();
    const revoked = (await em.execute(
      `update provider_keys set status = 'REVOKED', ciphertext = null, kid = null, grace_until = null, updated_at = now(),
         version = version + 1
       where status = 'RETIRING' and grace_until <= ? returning id, provider_id, label, last4`,
      [now],
    )) as { id: string; provider_id: string; label: string; last4: string }[];
    const expired = (await em.execute(
      `update provider_keys set status = 'EXPIRED', updated_at = now(), version = version + 1
       where status in ('ACTIVE', 'RETIRING') and expires_at <= ? returning id, provider_id, label, last4`,
      [now],
    )) as { id: string; provider_id: string; label: string; last4: string }[];
    if (revoked.length + expired.length === 0) return { revoked: 0, expired: 0 };

    const slugs = await this.#slugsOf(
      em,
      [...revoked, ...expired].map((r) => r.provider_id),
    );
    for (const row of revoked) {
      this.#audit.record(em, SYSTEM, {
        action: 'key.grace_end',
        targetType: 'ProviderKey',
        targetId: row.id,
        details: { provider: slugs.get(row.provider_id), label: row.label, last4: row.last4 },
      });
    }
    for (const row of expired) {
      this.#audit.record(em, SYSTEM, {
        action: 'key.expire',
        targetType: 'ProviderKey',
        targetId: row.id,
        details: { provider: slugs.get(row.provider_id), label: row.label, last4: row.last4 },
      });
    }
    await em.flush();
    for (const row of revoked) this.#announceRow('REVOKED', row, slugs, 'grace period ended');
    for (const row of expired) this.#announceRow('EXPIRED', row, slugs, 'expiresAt passed');
    this.#logger.info({ revoked: revoked.length, expired: expired.length }, 'key sweep');
    return { revoked: revoked.length, expired: expired.length };
  }

  /** The provider refused the key (401/403): it is not used again until an admin acts. */
  async markInvalid(keyId: string, reason: string): Promise<boolean> {
    return this.#flagOnce(keyId, 'INVALID', reason, 'key.invalid');
  }

  /**
   * The provider refused the key on one call, without evidence that the key itself is at fault
   * (no other key to compare, no health check refusing it): audited, the key stays as it is.
   */
  async recordRefusal(keyId: string, problem: string): Promise<boolean> {
    const em = this.#orm.em.fork();
    const key = isUuid(keyId)
      ? await em.findOne(ProviderKeyEntity, { id: keyId }, { populate: ['provider'] })
      : null;
    if (!key) return false;
    this.#audit.record(em, SYSTEM, {
      action: 'key.refused',
      targetType: 'ProviderKey',
      targetId: key.id,
      details: {
        provider: key.provider.getEntity().slug,
        label: key.label,
        last4: key.last4,
        status: key.status,
        problem,
      },
    });
    await em.flush();
    return true;
  }

  /** A stored ciphertext would not decrypt: audited and announced once, the key is not used. */
  async recordDecryptFailure(keyId: string, reason: string): Promise<boolean> {
    return this.#flagOnce(keyId, null, `decryption failed: ${reason}`, 'key.decrypt_failed');
  }

  async #flagOnce(
    keyId: string,
    status: 'INVALID' | null,
    problem: string,
    action: string,
  ): Promise<boolean> {
    const em = this.#orm.em.fork();
    const rows = (await em.execute(
      `update provider_keys set problem = ?, ${status ? `status = '${status}',` : ''} updated_at = now(), version = version + 1
       where id = ? and problem is null returning id, provider_id, label, last4`,
      [problem, keyId],
    )) as { id: string; provider_id: string; label: string; last4: string }[];
    const row = rows[0];
    if (!row) return false;
    const slugs = await this.#slugsOf(em, [row.provider_id]);
    this.#audit.record(em, SYSTEM, {
      action,
      targetType: 'ProviderKey',
      targetId: row.id,
      details: { provider: slugs.get(row.provider_id), label: row.label, last4: row.last4, problem },
    });
    await em.flush();
    this.#announceRow(status ? 'INVALID' : 'DECRYPT_FAILED', row, slugs, problem);
    return true;
  }

  async #createKey(
    em: EntityManager,
    provider: Provider,
    data: { secret: string; label: string; weight: number; expiresAt: Date | null; createdBy: string },
  ): Promise<ProviderKey> {
    const id = randomUUID();
    if (data.expiresAt) await this.#transitions.at(em, data.expiresAt);
    const { ciphertext, kid } = await this.#vault.encrypt(data.secret, {
      providerId: provider.id,
      keyId: id,
    });
    return em.create(ProviderKeyEntity, {
      id,
      provider,
      label: data.label,
      status: 'ACTIVE',
      weight: data.weight,
      ciphertext,
      kid,
      last4: last4(data.secret),
      fingerprint: this.#vault.fingerprint(data.secret),
      expiresAt: data.expiresAt,
      createdBy: data.createdBy,
    });
  }

  async #load(em: EntityManager, keyId: string): Promise<ProviderKey> {
    const key = isUuid(keyId)
      ? await em.findOne(ProviderKeyEntity, { id: keyId }, { populate: ['provider'] })
      : null;
    if (!key) throw new NotFoundError('ProviderKey', keyId);
    return key;
  }

  async #slugsOf(em: EntityManager, providerIds: string[]): Promise<Map<string, string>> {
    const providers = await em.find(
      ProviderEntity,
      { id: { $in: [...new Set(providerIds)] } },
      { fields: ['id', 'slug'] },
    );
    return new Map(providers.map((p) => [p.id, p.slug]));
  }

  #announce(
    change: KeyChangedEvent['change'],
    key: ProviderKey,
    actor: Actor,
    detail: string | null = null,
  ): Promise<unknown> {
    // Returns once this replica's key ring has it: a revoked key is not injected here from then on.
    return this.#events.publishApplied('key.changed', {
      change,
      providerId: key.provider.id,
      providerSlug: key.provider.isInitialized() ? key.provider.getEntity().slug : '',
      keyId: key.id,
      version: key.version,
      actor: actor.subject,
      detail,
    });
  }

  #announceRow(
    change: KeyChangedEvent['change'],
    row: { id: string; provider_id: string },
    slugs: Map<string, string>,
    detail: string,
  ): void {
    this.#events.publish('key.changed', {
      change,
      providerId: row.provider_id,
      providerSlug: slugs.get(row.provider_id) ?? '',
      keyId: row.id,
      actor: 'system',
      detail,
    });
  }
}

function revokeInPlace(key: ProviderKey): void {
  key.status = 'REVOKED';
  key.graceUntil = null;
  // A revoked secret is never needed again: keep no copy of it, encrypted or not.
  key.ciphertext = null;
  key.kid = null;
}

function checkSecretShape(provider: Provider, secret: string, path: string[]): void {
  const styleProblem = authStrategy(provider.auth.style).checkSecret(secret);
  if (styleProblem) throw new ValidationError([{ path, message: styleProblem }]);
  if (!provider.keyPattern) return;
  // A pattern saved before risky shapes were refused still runs on a bounded input.
  if (secret.length > MAX_PATTERN_INPUT) {
    throw new ValidationError([
      {
        path,
        message: `is too long to check against the provider's key pattern (at most ${MAX_PATTERN_INPUT} characters)`,
      },
    ]);
  }
  if (!matchesKeyPattern(provider.keyPattern, secret)) {
    throw new ValidationError([
      {
        path,
        message: `does not look like a ${provider.name} key (it must match the provider's key pattern)`,
      },
    ]);
  }
}
