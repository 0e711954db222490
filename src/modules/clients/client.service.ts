import { hash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import { writeUnique } from '../../db/write-unique.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { ConflictError, NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { type CountedPage, keysetQuery, type PageArgs, planPage, toPage } from '../../shared/pagination.ts';
import { parseOrThrow } from '../../shared/validation.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ClientChangedEvent, EventBus } from '../events/event-bus.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { type Client, ClientEntity } from './client.entity.ts';
import {
  type ClientSpec,
  clientColumns,
  clientCreateSchema,
  clientPatchSchema,
} from './client.validation.ts';

export const CLIENT_KEY_PREFIX = 'tg_';
const PREFIX_LENGTH = 8;
const INPUT = ['input'];

/** A client key: `tg_` + 32 random bytes, base64url. */
export function generateClientKey(): string {
  return `${CLIENT_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What is stored of a client key: a short prefix to find it by, and its SHA-256. */
export function describeClientKey(key: string): { prefix: string; hash: string } {
  return { prefix: clientKeyPrefix(key), hash: hash('sha256', key) };
}

export function clientKeyPrefix(key: string): string {
  return key.slice(CLIENT_KEY_PREFIX.length, CLIENT_KEY_PREFIX.length + PREFIX_LENGTH);
}

/**
 * SHA-256 of a client key, for comparing with timingSafeEqual. This runs on every proxied call:
 * the one-shot hash to hex and back is about twice as fast as createHash or a 'buffer' digest.
 */
export function clientKeyDigest(key: string): Buffer {
  return Buffer.from(hash('sha256', key), 'hex');
}

export interface ClientWithKey {
  client: Client;
  /** Shown once: only its hash is kept. */
  key: string;
}

/** Clients and their keys. A key is returned at creation and rotation only, never again. */
export class ClientService {
  readonly #orm: Orm;
  readonly #audit: AuditService;
  readonly #events: EventBus;

  constructor(deps: { orm: Orm; audit: AuditService; events: EventBus }) {
    this.#orm = deps.orm;
    this.#audit = deps.audit;
    this.#events = deps.events;
  }

  /** Many clients in one query, in the order asked (null where none). */
  async getMany(ids: readonly string[]): Promise<(Client | null)[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return ids.map(() => null);
    const rows = await this.#orm.em.fork().find(ClientEntity, { id: { $in: valid } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async get(id: string): Promise<Client | null> {
    if (!isUuid(id)) return null;
    return this.#orm.em.fork().findOne(ClientEntity, { id });
  }

  async list(filter: { status?: 'ACTIVE' | 'REVOKED' | null }, page: PageArgs): Promise<CountedPage<Client>> {
    const plan = planPage(page);
    const query = keysetQuery(plan, 'createdAt', 'asc');
    const matching: Record<string, unknown> = {};
    if (filter.status) matching.status = filter.status;
    const em = this.#orm.em.fork();
    const rows = await em.find(
      ClientEntity,
      { ...query.where, ...matching },
      { orderBy: query.orderBy, limit: query.limit },
    );
    return {
      ...toPage<Client>(rows, plan, (row) => ({ at: row.createdAt, id: row.id })),
      totalCount: () => em.count(ClientEntity, matching),
    };
  }

  async create(actor: Actor, input: unknown): Promise<ClientWithKey> {
    requireRole(actor, 'admin');
    const data = parseOrThrow(clientCreateSchema, input, INPUT);
    const key = generateClientKey();
    const { prefix, hash } = describeClientKey(key);
    const client = await this.#write(async (em) => {
      const allowedProviderIds = await resolveProviders(em, data.allowedProviders);
      const client = em.create(ClientEntity, {
        ...clientColumns(data, allowedProviderIds),
        status: 'ACTIVE',
        keyPrefix: prefix,
        keyHash: hash,
        keyRotatedAt: new Date(),
        createdBy: actor.subject,
      });
      this.#audit.record(em, actor, {
        action: 'client.create',
        targetType: 'Client',
        targetId: client.id,
        details: { name: data.name, keyPrefix: prefix, allowedProviders: data.allowedProviders },
      });
      return client;
    });
    await this.#announce('CREATED', client, actor);
    return { client, key };
  }

  /**
   * Changes a client's name, allowed providers, rate limit or expiry (not its key). `version` is the
   * one the caller read: a client changed since is refused, so two people cannot undo each other.
   */
  async update(actor: Actor, id: string, version: number, input: unknown): Promise<Client> {
    requireRole(actor, 'admin');
    const patch = parseOrThrow(clientPatchSchema, input, INPUT);
    const client = await this.#write(async (em) => {
      const client = await load(em, id);
      if (client.version !== version)
        throw new VersionMismatchError(`Client "${client.name}"`, version, client.version);
      if (client.status === 'REVOKED')
        throw new ConflictError(`Client "${client.name}" is revoked; create a new client.`);
      // Every setting the patch carries (absent ones keep their value), in the spec's terms.
      const changed = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const { allowedProviders, ...columns } = changed as Partial<ClientSpec>;
      Object.assign(client, columns);
      if (allowedProviders !== undefined)
        client.allowedProviderIds = await resolveProviders(em, allowedProviders);
      this.#audit.record(em, actor, {
        action: 'client.update',
        targetType: 'Client',
        targetId: client.id,
        details: changed,
      });
      return client;
    });
    await this.#announce('UPDATED', client, actor);
    return client;
  }

  /** Issues a new key; the old one stops working at once, on every replica. */
  async rotateKey(actor: Actor, id: string): Promise<ClientWithKey> {
    requireRole(actor, 'admin');
    const key = generateClientKey();
    const { prefix, hash } = describeClientKey(key);
    const client = await this.#write(async (em) => {
      const client = await load(em, id);
      if (client.status === 'REVOKED')
        throw new ConflictError(`Client "${client.name}" is revoked; create a new client.`);
      const oldPrefix = client.keyPrefix;
      client.keyPrefix = prefix;
      client.keyHash = hash;
      client.keyRotatedAt = new Date();
      this.#audit.record(em, actor, {
        action: 'client.rotate_key',
        targetType: 'Client',
        targetId: client.id,
        details: { oldKeyPrefix: oldPrefix, keyPrefix: prefix },
      });
      return client;
    });
    await this.#announce('ROTATED', client, actor);
    return { client, key };
  }

  async revoke(actor: Actor, id: string): Promise<Client> {
    requireRole(actor, 'admin');
    const client = await this.#write(async (em) => {
      const client = await load(em, id);
      if (client.status === 'REVOKED') throw new ConflictError(`Client "${client.name}" is already revoked.`);
      client.status = 'REVOKED';
      this.#audit.record(em, actor, {
        action: 'client.revoke',
        targetType: 'Client',
        targetId: client.id,
        details: { name: client.name },
      });
      return client;
    });
    await this.#announce('REVOKED', client, actor);
    return client;
  }

  #write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return writeUnique(
      this.#orm,
      { path: [...INPUT, 'name'], message: 'is already used by another client' },
      work,
    );
  }

  /** Returns once this replica's client cache has it: the old key is refused here from then on. */
  async #announce(change: ClientChangedEvent['change'], client: Client, actor: Actor): Promise<void> {
    await this.#events.publishApplied('client.changed', {
      change,
      clientId: client.id,
      version: client.version,
      actor: actor.subject,
    });
  }
}

async function load(em: EntityManager, id: string): Promise<Client> {
  const client = isUuid(id) ? await em.findOne(ClientEntity, { id }) : null;
  if (!client) throw new NotFoundError('Client', id);
  return client;
}

async function resolveProviders(em: EntityManager, slugs: string[] | null): Promise<string[] | null> {
  if (slugs === null) return null;
  const providers = await em.find(ProviderEntity, { slug: { $in: slugs } }, { fields: ['id', 'slug'] });
  const bySlug = new Map(providers.map((p) => [p.slug, p.id]));
  const errors = slugs
    .map((slug, i) =>
      bySlug.has(slug)
        ? undefined
        : { path: [...INPUT, 'allowedProviders', String(i)], message: `provider "${slug}" does not exist` },
    )
    .filter((e): e is { path: string[]; message: string } => e !== undefined);
  if (errors.length > 0) throw new ValidationError(errors);
  return slugs.map((slug) => bySlug.get(slug)!);
}
