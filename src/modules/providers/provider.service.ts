import {
  type EntityManager,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { ConflictError, NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import { type CountedPage, keysetQuery, type PageArgs, planPage, toPage } from '../../shared/pagination.ts';
import { parseOrThrow } from '../../shared/validation.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { BudgetEntity } from '../budgets/budget.entity.ts';
import type { EventBus } from '../events/event-bus.ts';
import { CircuitIsolationEntity } from '../resilience/circuit-isolation.entity.ts';
import { type Provider, ProviderEntity } from './provider.entity.ts';
import {
  degradedModeSchema,
  type PROVIDER_KINDS,
  type ProviderSpec,
  type ProviderSpecInput,
  providerSpecSchema,
} from './provider.validation.ts';

export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface ProviderFilter {
  enabled?: boolean | null;
  kind?: ProviderKind | null;
  search?: string | null;
}

/** A partial update: every field optional, nested settings replaced whole. */
export type ProviderPatch = Partial<Omit<ProviderSpecInput, 'slug'>>;

const INPUT = ['input'];

export class ProviderService {
  readonly #orm: Orm;
  readonly #audit: AuditService;
  readonly #events: EventBus;

  constructor(deps: { orm: Orm; audit: AuditService; events: EventBus }) {
    this.#orm = deps.orm;
    this.#audit = deps.audit;
    this.#events = deps.events;
  }

  /** Returns once this replica's caches have the change (a disabled provider is refused here). */
  async #announce(
    actor: Actor,
    change: 'CREATED' | 'UPDATED' | 'DELETED',
    provider: Provider,
  ): Promise<Provider> {
    await this.#events.publishApplied('provider.changed', {
      change,
      providerId: provider.id,
      slug: provider.slug,
      version: provider.version,
      actor: actor.subject,
    });
    return provider;
  }

  async findBySlug(slug: string): Promise<Provider | null> {
    return this.#orm.em.fork().findOne(ProviderEntity, { slug });
  }

  async findByIds(ids: readonly string[]): Promise<Provider[]> {
    if (ids.length === 0) return [];
    return this.#orm.em.fork().find(ProviderEntity, { id: { $in: [...ids] } });
  }

  async list(filter: ProviderFilter, page: PageArgs): Promise<CountedPage<Provider>> {
    const plan = planPage(page);
    const query = keysetQuery(plan, 'createdAt', 'asc');
    const matching: Record<string, unknown> = {};
    if (filter.enabled != null) matching.enabled = filter.enabled;
    if (filter.kind) matching.kind = filter.kind;
    if (filter.search) {
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      matching.$and = [{ $or: [{ slug: { $ilike: like } }, { name: { $ilike: like } }] }];
    }
    const em = this.#orm.em.fork();
    const rows = await em.find(
      ProviderEntity,
      { ...query.where, ...matching },
      { orderBy: query.orderBy, limit: query.limit },
    );
    return {
      ...toPage<Provider>(rows, plan, (row) => ({ at: row.createdAt, id: row.id })),
      totalCount: () => em.count(ProviderEntity, matching),
    };
  }

  async create(actor: Actor, input: ProviderSpecInput): Promise<Provider> {
    requireRole(actor, 'admin');
    const spec = parseOrThrow(providerSpecSchema, input, INPUT);
    const created = await this.#write(async (em) => {
      const fallbackIds = await this.#resolveFallbacks(em, spec, undefined);
      const provider = em.create(ProviderEntity, { ...specColumns(spec), fallbackIds });
      this.#audit.record(em, actor, {
        action: 'provider.create',
        targetType: 'Provider',
        targetId: provider.slug,
        details: { spec },
      });
      return provider;
    });
    return this.#announce(actor, 'CREATED', created);
  }

  async update(actor: Actor, slug: string, version: number, patch: ProviderPatch): Promise<Provider> {
    requireRole(actor, 'admin');
    const updated = await this.#write(async (em) => {
      const provider = await this.#load(em, slug, version);
      const current = await this.#specOf(em, provider);
      const merged = { ...mergePatch(current, patch), slug: provider.slug };
      const spec = parseOrThrow(providerSpecSchema, merged, INPUT);
      const fallbackIds = await this.#resolveFallbacks(em, spec, provider.id);
      const before = current;
      em.assign(provider, { ...specColumns(spec), fallbackIds });
      const changes = diff(before, spec);
      if (Object.keys(changes).length > 0) {
        this.#audit.record(em, actor, {
          action: 'provider.update',
          targetType: 'Provider',
          targetId: slug,
          details: { changes },
        });
      }
      return provider;
    });
    return this.#announce(actor, 'UPDATED', updated);
  }

  async setEnabled(
    actor: Actor,
    slug: string,
    enabled: boolean,
    version: number | null | undefined,
  ): Promise<Provider> {
    requireRole(actor, 'admin');
    const updated = await this.#write(async (em) => {
      const provider = await this.#load(em, slug, version);
      if (provider.enabled !== enabled) {
        provider.enabled = enabled;
        this.#audit.record(em, actor, {
          action: enabled ? 'provider.enable' : 'provider.disable',
          targetType: 'Provider',
          targetId: slug,
        });
      }
      return provider;
    });
    return this.#announce(actor, 'UPDATED', updated);
  }

  async delete(actor: Actor, slug: string, version: number | null | undefined): Promise<Provider> {
    requireRole(actor, 'admin');
    const deleted = await this.#write(async (em) => {
      const provider = await this.#load(em, slug, version);
      const dependents = await em.find(ProviderEntity, {
        fallbackIds: { $contains: [provider.id] },
      } as never);
      if (dependents.length > 0) {
        throw new ConflictError(
          `Provider "${slug}" is a fallback of ${dependents.map((d) => `"${d.slug}"`).join(', ')}; remove it there first.`,
        );
      }
      const budgets = await em.count(BudgetEntity, { providerId: provider.id });
      if (budgets > 0) {
        throw new ConflictError(
          `Provider "${slug}" has ${budgets} budget${budgets === 1 ? '' : 's'}; delete ${budgets === 1 ? 'it' : 'them'} first.`,
        );
      }
      const snapshot = { ...provider };
      // An operator's trip goes with its provider (a new one with the slug starts closed).
      await em.nativeDelete(CircuitIsolationEntity, { providerId: provider.id });
      em.remove(provider);
      this.#audit.record(em, actor, { action: 'provider.delete', targetType: 'Provider', targetId: slug });
      return snapshot;
    });
    return this.#announce(actor, 'DELETED', deleted);
  }

  /** The spec a provider row represents, with fallbacks as slugs (the form inputs use). */
  async #specOf(em: EntityManager, provider: Provider): Promise<ProviderSpec> {
    const fallbacks = await em.find(ProviderEntity, { id: { $in: provider.fallbackIds } });
    const slugById = new Map(fallbacks.map((f) => [f.id, f.slug]));
    return {
      slug: provider.slug,
      name: provider.name,
      kind: provider.kind,
      baseUrl: provider.baseUrl,
      enabled: provider.enabled,
      auth: provider.auth,
      timeoutMs: provider.timeoutMs,
      retry: provider.retry,
      breaker: provider.breaker,
      bulkhead: provider.bulkhead,
      rateLimit: provider.rateLimit ?? null,
      healthCheck: provider.healthCheck,
      pricing: provider.pricing,
      fallbacks: provider.fallbackIds
        .map((id) => slugById.get(id))
        .filter((s): s is string => s !== undefined),
      allowPrivateNetwork: provider.allowPrivateNetwork,
      keyPattern: provider.keyPattern ?? null,
      degradedMode: provider.degradedMode ?? degradedModeSchema.parse(undefined),
    };
  }

  async #load(em: EntityManager, slug: string, version: number | null | undefined): Promise<Provider> {
    const provider = await em.findOne(ProviderEntity, { slug });
    if (!provider) throw new NotFoundError('Provider', slug);
    if (version != null && provider.version !== version) {
      throw new VersionMismatchError(`Provider "${slug}"`, version, provider.version);
    }
    return provider;
  }

  /** Maps fallback slugs to ids, refusing unknown providers and cycles with field-level errors. */
  async #resolveFallbacks(
    em: EntityManager,
    spec: ProviderSpec,
    selfId: string | undefined,
  ): Promise<string[]> {
    if (spec.fallbacks.length === 0) return [];
    // The provider graph is small (tens of rows); loading it whole keeps cycle detection simple.
    const all = await em.find(ProviderEntity, {}, { fields: ['id', 'slug', 'fallbackIds'] });
    const bySlug = new Map(all.map((p) => [p.slug, p]));
    const errors: { path: string[]; message: string }[] = [];
    const ids = spec.fallbacks.map((slug, i) => {
      const target = bySlug.get(slug);
      if (!target)
        errors.push({
          path: [...INPUT, 'fallbacks', String(i)],
          message: `provider "${slug}" does not exist`,
        });
      return target?.id ?? '';
    });
    if (errors.length > 0) throw new ValidationError(errors);

    const self = selfId ?? 'new';
    const edges = new Map(all.map((p) => [p.id, p.fallbackIds]));
    edges.set(self, ids);
    const slugOf = new Map(all.map((p) => [p.id, p.slug]));
    slugOf.set(self, spec.slug);
    const path = findCycle(self, edges);
    if (path) {
      throw new ValidationError([
        {
          path: [...INPUT, 'fallbacks'],
          message: `fallbacks would form a cycle: ${path.map((id) => slugOf.get(id) ?? id).join(' -> ')}`,
        },
      ]);
    }
    return ids;
  }

  /** One transaction per write; concurrent edits and duplicate slugs become typed errors. */
  async #write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.#orm.em.fork().transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ValidationError([
          { path: [...INPUT, 'slug'], message: 'is already used by another provider' },
        ]);
      }
      if (error instanceof OptimisticLockError) {
        throw new ConflictError(
          'The provider was changed by someone else at the same time; reload and try again.',
        );
      }
      throw error;
    }
  }
}

export function specColumns(spec: ProviderSpec) {
  const { fallbacks: _fallbacks, ...columns } = spec;
  return columns;
}

const MERGED_SETTINGS = [
  'retry',
  'breaker',
  'bulkhead',
  'healthCheck',
  'pricing',
  'rateLimit',
  'degradedMode',
] as const;

/**
 * Applies a patch: absent fields keep their value; nested settings objects merge field by field
 * (so `retry: { maxAttempts: 5 }` keeps the other retry settings); `rateLimit: null` removes
 * the limit; lists (fallbacks, pricing.models) are replaced.
 */
function mergePatch(current: ProviderSpec, patch: ProviderPatch): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const existing = merged[key];
    const mergeable = (MERGED_SETTINGS as readonly string[]).includes(key);
    merged[key] =
      mergeable && value !== null && existing !== null && typeof existing === 'object'
        ? { ...existing, ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) }
        : value;
  }
  return merged;
}

function diff(before: ProviderSpec, after: ProviderSpec): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as (keyof ProviderSpec)[]) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}

/** Depth-first search for a path from `start` back to itself. */
function findCycle(start: string, edges: Map<string, string[]>): string[] | undefined {
  const stack: { id: string; path: string[] }[] = [{ id: start, path: [start] }];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const { id, path } = stack.pop()!;
    for (const next of edges.get(id) ?? []) {
      if (next === start) return [...path, start];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push({ id: next, path: [...path, next] });
      }
    }
  }
  return undefined;
}
