import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import { writeUnique } from '../../db/write-unique.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { type CountedPage, keysetQuery, type PageArgs, planPage, toPage } from '../../shared/pagination.ts';
import { parseOrThrow } from '../../shared/validation.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { ClientEntity } from '../clients/client.entity.ts';
import type { EventBus } from '../events/event-bus.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { type Budget, BudgetEntity, type BudgetScope } from './budget.entity.ts';
import { type BudgetSpec, type BudgetSpecInput, budgetSpecSchema } from './budget.validation.ts';

const INPUT = ['input'];

export interface BudgetFilter {
  scope?: BudgetScope | null;
  providerId?: string | null;
  clientId?: string | null;
}

/** Budget CRUD with validation, optimistic versions and audit. Enforcement is BudgetEnforcer's. */
export class BudgetService {
  readonly #orm: Orm;
  readonly #audit: AuditService;
  readonly #events: EventBus;
  readonly #defaultTimeZone: string;

  constructor(deps: { orm: Orm; audit: AuditService; events: EventBus; defaultTimeZone: string }) {
    this.#orm = deps.orm;
    this.#audit = deps.audit;
    this.#events = deps.events;
    this.#defaultTimeZone = deps.defaultTimeZone;
  }

  async get(id: string): Promise<Budget | null> {
    if (!isUuid(id)) return null;
    return this.#orm.em.fork().findOne(BudgetEntity, { id });
  }

  async list(filter: BudgetFilter, page: PageArgs): Promise<CountedPage<Budget>> {
    const plan = planPage(page);
    const query = keysetQuery(plan, 'createdAt', 'asc');
    const matching: Record<string, unknown> = {};
    if (filter.scope) matching.scope = filter.scope;
    if (filter.providerId) matching.providerId = filter.providerId;
    if (filter.clientId) matching.clientId = filter.clientId;
    const em = this.#orm.em.fork();
    const rows = await em.find(
      BudgetEntity,
      { ...query.where, ...matching },
      { orderBy: query.orderBy, limit: query.limit },
    );
    return {
      ...toPage<Budget>(rows, plan, (row) => ({ at: row.createdAt, id: row.id })),
      totalCount: () => em.count(BudgetEntity, matching),
    };
  }

  /** The budgets of many providers in one query, in the order asked. */
  async forProviders(providerIds: readonly string[]): Promise<Budget[][]> {
    if (providerIds.length === 0) return [];
    const budgets = await this.#orm.em
      .fork()
      .find(BudgetEntity, { providerId: { $in: [...providerIds] } }, { orderBy: { createdAt: 'asc' } });
    const byProvider = new Map<string, Budget[]>(providerIds.map((id) => [id, []]));
    for (const budget of budgets) if (budget.providerId) byProvider.get(budget.providerId)?.push(budget);
    return providerIds.map((id) => byProvider.get(id) ?? []);
  }

  async forProvider(providerId: string): Promise<Budget[]> {
    return this.#orm.em.fork().find(BudgetEntity, { providerId }, { orderBy: { createdAt: 'asc' } });
  }

  async create(actor: Actor, input: Partial<BudgetSpecInput>): Promise<Budget> {
    requireRole(actor, 'admin');
    const spec = parseOrThrow(budgetSpecSchema, { timeZone: this.#defaultTimeZone, ...input }, INPUT);
    const budget = await this.#write(async (em) => {
      const refs = await resolveRefs(em, spec);
      const budget = em.create(BudgetEntity, { ...columns(spec), ...refs, createdBy: actor.subject });
      this.#audit.record(em, actor, {
        action: 'budget.create',
        targetType: 'Budget',
        targetId: budget.id,
        details: { ...spec },
      });
      return budget;
    });
    return this.#announce(actor, 'CREATED', budget);
  }

  async update(actor: Actor, id: string, version: number, patch: Partial<BudgetSpecInput>): Promise<Budget> {
    requireRole(actor, 'admin');
    const budget = await this.#write(async (em) => {
      const budget = await load(em, id, version);
      const current = await specOf(em, budget);
      const spec = parseOrThrow(budgetSpecSchema, { ...current, ...dropUndefined(patch) }, INPUT);
      const refs = await resolveRefs(em, spec);
      em.assign(budget, { ...columns(spec), ...refs });
      // Each changed field with its value before and after, as providers record it (the audit
      // log shows both sides).
      const before = current as Record<string, unknown>;
      const changes = Object.fromEntries(
        Object.entries(spec)
          .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k]))
          .map(([k, v]) => [k, { from: before[k] ?? null, to: v }]),
      );
      if (Object.keys(changes).length > 0) {
        this.#audit.record(em, actor, {
          action: 'budget.update',
          targetType: 'Budget',
          targetId: budget.id,
          details: { changes },
        });
      }
      return budget;
    });
    return this.#announce(actor, 'UPDATED', budget);
  }

  async delete(actor: Actor, id: string, version: number | null | undefined): Promise<Budget> {
    requireRole(actor, 'admin');
    const deleted = await this.#write(async (em) => {
      const budget = await load(em, id, version);
      const snapshot = { ...budget };
      em.remove(budget);
      this.#audit.record(em, actor, {
        action: 'budget.delete',
        targetType: 'Budget',
        targetId: budget.id,
        details: { name: budget.name },
      });
      return snapshot;
    });
    return this.#announce(actor, 'DELETED', deleted);
  }

  #announce(actor: Actor, change: 'CREATED' | 'UPDATED' | 'DELETED', budget: Budget): Budget {
    this.#events.publish('budget.changed', { change, budgetId: budget.id, actor: actor.subject });
    return budget;
  }

  #write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return writeUnique(
      this.#orm,
      { path: [...INPUT, 'name'], message: 'is already used by another budget' },
      work,
    );
  }
}

function columns(spec: BudgetSpec) {
  return {
    name: spec.name,
    scope: spec.scope,
    period: spec.period,
    timeZone: spec.timeZone,
    limitMicros: spec.limitMicros,
    thresholds: spec.thresholds,
    action: spec.action,
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function load(em: EntityManager, id: string, version: number | null | undefined): Promise<Budget> {
  const budget = isUuid(id) ? await em.findOne(BudgetEntity, { id }) : null;
  if (!budget) throw new NotFoundError('Budget', id);
  if (version != null && budget.version !== version) {
    throw new VersionMismatchError(`Budget "${budget.name}"`, version, budget.version);
  }
  return budget;
}

/** The spec a budget row represents, with the provider as its slug (the form inputs use). */
async function specOf(em: EntityManager, budget: Budget): Promise<BudgetSpecInput> {
  const provider = budget.providerId
    ? await em.findOne(ProviderEntity, { id: budget.providerId }, { fields: ['slug'] })
    : null;
  return {
    name: budget.name,
    scope: budget.scope,
    provider: provider?.slug ?? null,
    client: budget.clientId,
    period: budget.period,
    timeZone: budget.timeZone,
    limitMicros: budget.limitMicros,
    thresholds: budget.thresholds,
    action: budget.action,
  };
}

async function resolveRefs(
  em: EntityManager,
  spec: BudgetSpec,
): Promise<{ providerId: string | null; clientId: string | null }> {
  const errors: { path: string[]; message: string }[] = [];
  let providerId: string | null = null;
  let clientId: string | null = null;
  if (spec.provider) {
    const provider = await em.findOne(ProviderEntity, { slug: spec.provider }, { fields: ['id'] });
    if (provider) providerId = provider.id;
    else errors.push({ path: [...INPUT, 'provider'], message: `provider "${spec.provider}" does not exist` });
  }
  if (spec.client) {
    const client = isUuid(spec.client)
      ? await em.findOne(ClientEntity, { id: spec.client }, { fields: ['id'] })
      : null;
    if (client) clientId = client.id;
    else errors.push({ path: [...INPUT, 'client'], message: `client "${spec.client}" does not exist` });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { providerId, clientId };
}
