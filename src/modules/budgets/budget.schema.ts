import { actorOf, type Context } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { dropNulls } from '../../graphql/input.ts';
import { NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import { ClientRef, loadClient } from '../clients/client.schema.ts';
import type { BudgetAlertEvent } from '../events/event-bus.ts';
import { filterEvents } from '../events/filter-events.ts';
import { loadProvider, ProviderNode } from '../providers/provider.schema.ts';
import { BUDGET_ACTIONS, BUDGET_SCOPES, type Budget } from './budget.entity.ts';
import type { BudgetSpecInput } from './budget.validation.ts';
import type { BudgetStatus } from './budget-enforcer.ts';
import { BUDGET_PERIODS } from './budget-period.ts';

const BudgetScope = builder.enumType('BudgetScope', {
  values: BUDGET_SCOPES,
  description:
    'GLOBAL: every call. PROVIDER: calls served by one provider. CLIENT: one client’s calls. CLIENT_PROVIDER: one client’s calls served by one provider.',
});
const BudgetPeriod = builder.enumType('BudgetPeriod', {
  values: BUDGET_PERIODS,
  description:
    'DAY, WEEK (from Monday) and MONTH start at midnight in the budget’s time zone; TOTAL never resets.',
});
const BudgetAction = builder.enumType('BudgetAction', {
  values: BUDGET_ACTIONS,
  description: 'At 100 %: BLOCK refuses calls with BUDGET_EXCEEDED (402); ALERT_ONLY only alerts.',
});

// One ledger read per budget object and request, however many figures the query asks for.
const statuses = new WeakMap<Budget, Promise<BudgetStatus>>();
function statusOf(budget: Budget, ctx: Context): Promise<BudgetStatus> {
  let status = statuses.get(budget);
  if (!status) {
    status = ctx.services.budgetEnforcer.status(budget);
    statuses.set(budget, status);
  }
  return status;
}

export const BudgetRef = builder.objectRef<Budget>('Budget').implement({
  description:
    'A spending limit over a period. Figures are for the current period and include calls on every replica.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    scope: t.field({ type: BudgetScope, resolve: (b) => b.scope }),
    provider: t.field({
      type: ProviderNode,
      nullable: true,
      resolve: (b, _a, ctx) => loadProvider(ctx, b.providerId),
    }),
    client: t.field({
      type: ClientRef,
      nullable: true,
      resolve: (b, _a, ctx) => loadClient(ctx, b.clientId),
    }),
    period: t.field({ type: BudgetPeriod, resolve: (b) => b.period }),
    timeZone: t.exposeString('timeZone'),
    limitMicros: t.field({ type: 'Micros', resolve: (b) => b.limitMicros }),
    thresholds: t.exposeIntList('thresholds', { description: 'Alert thresholds in percent, ascending.' }),
    action: t.field({ type: BudgetAction, resolve: (b) => b.action }),
    periodStart: t.field({
      type: 'DateTime',
      resolve: async (b, _a, ctx) => (await statusOf(b, ctx)).bounds.start,
    }),
    periodEnd: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the budget resets; null for TOTAL.',
      resolve: async (b, _a, ctx) => (await statusOf(b, ctx)).bounds.end,
    }),
    spentMicros: t.field({
      type: 'Micros',
      description: 'Settled spend this period.',
      resolve: async (b, _a, ctx) => (await statusOf(b, ctx)).spentMicros,
    }),
    reservedMicros: t.field({
      type: 'Micros',
      description: 'Held for calls in flight; released or turned into spend when they end.',
      resolve: async (b, _a, ctx) => (await statusOf(b, ctx)).reservedMicros,
    }),
    remainingMicros: t.field({
      type: 'Micros',
      description: 'Limit minus spent and reserved, never below 0.',
      resolve: async (b, _a, ctx) => {
        const s = await statusOf(b, ctx);
        return Math.max(0, b.limitMicros - s.spentMicros - s.reservedMicros);
      },
    }),
    percentUsed: t.float({
      description: 'Spent as a percentage of the limit (can pass 100 when actual costs exceeded estimates).',
      resolve: async (b, _a, ctx) =>
        Math.round(((await statusOf(b, ctx)).spentMicros / b.limitMicros) * 10_000) / 100,
    }),
    projectedSpendMicros: t.field({
      type: 'Micros',
      nullable: true,
      description: 'Spend at the end of the period if it goes on at the rate so far; null for TOTAL.',
      resolve: async (b, _a, ctx) => {
        const { bounds, spentMicros } = await statusOf(b, ctx);
        if (!bounds.end) return null;
        const elapsed = Math.max(1, Date.now() - bounds.start.getTime());
        const length = bounds.end.getTime() - bounds.start.getTime();
        return Math.round((spentMicros * length) / Math.min(elapsed, length));
      },
    }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', resolve: (b) => b.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (b) => b.updatedAt }),
    version: t.exposeInt('version'),
  }),
});

builder.objectField(ProviderNode, 'budgets', (t) =>
  t.loadableList({
    type: BudgetRef,
    description: 'Budgets scoped to this provider (PROVIDER and CLIENT_PROVIDER).',
    // Batched: a list of providers reads their budgets in one query.
    load: (providerIds: string[], ctx) => ctx.services.budgets.forProviders(providerIds),
    resolve: (provider) => provider.id,
  }),
);

const BudgetFilter = builder.inputType('BudgetFilter', {
  fields: (t) => ({
    scope: t.field({ type: BudgetScope }),
    provider: t.string({ description: 'Provider slug.' }),
    client: t.id({ description: 'Client id.' }),
  }),
});

builder.queryField('budget', (t) =>
  t.field({
    type: BudgetRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.budgets.get(id),
  }),
);

builder.queryField('budgets', (t) =>
  t.connection(
    {
      type: BudgetRef,
      args: { filter: t.arg({ type: BudgetFilter }) },
      resolve: async (_root, args, ctx) => {
        const filter = args.filter ?? {};
        const provider = filter.provider ? await ctx.services.providers.findBySlug(filter.provider) : null;
        if (filter.provider && !provider)
          return { edges: [], pageInfo: emptyPage, totalCount: async () => 0 };
        return ctx.services.budgets.list(
          { scope: filter.scope, providerId: provider?.id, clientId: filter.client },
          args,
        );
      },
    },
    {
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filter across every page (counted only when asked for).',
          resolve: (connection) => connection.totalCount(),
        }),
      }),
    },
  ),
);

const emptyPage = { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null };

const CreateBudgetInput = builder.inputType('CreateBudgetInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scope: t.field({ type: BudgetScope, required: true }),
    provider: t.string({ description: 'Provider slug, for PROVIDER and CLIENT_PROVIDER.' }),
    client: t.id({ description: 'Client id, for CLIENT and CLIENT_PROVIDER.' }),
    period: t.field({ type: BudgetPeriod, required: true }),
    timeZone: t.string({ description: 'IANA name; TOLLGATE_TIME_ZONE when omitted.' }),
    limitMicros: t.field({ type: 'Micros', required: true }),
    thresholds: t.intList({
      description: 'Alert thresholds in percent, ascending, each 1–100 (default 50, 75, 90).',
    }),
    action: t.field({ type: BudgetAction, description: 'BLOCK when omitted.' }),
  }),
});

const UpdateBudgetInput = builder.inputType('UpdateBudgetInput', {
  description: 'Fields left out keep their value.',
  fields: (t) => ({
    id: t.id({ required: true }),
    version: t.int({ required: true, description: 'The version you read; refused if it changed since.' }),
    name: t.string(),
    scope: t.field({ type: BudgetScope }),
    provider: t.string(),
    client: t.id(),
    period: t.field({ type: BudgetPeriod }),
    timeZone: t.string(),
    limitMicros: t.field({ type: 'Micros' }),
    thresholds: t.intList(),
    action: t.field({ type: BudgetAction }),
  }),
});

const BudgetPayload = builder.objectRef<{ budget: Budget }>('BudgetPayload').implement({
  fields: (t) => ({ budget: t.field({ type: BudgetRef, resolve: (p) => p.budget }) }),
});

builder.mutationField('createBudget', (t) =>
  t.field({
    type: BudgetPayload,
    args: { input: t.arg({ type: CreateBudgetInput, required: true }) },
    errors: { types: [ValidationError], directResult: true },
    resolve: async (_root, { input }, ctx) => ({
      budget: await ctx.services.budgets.create(actorOf(ctx), dropNulls(input) as Partial<BudgetSpecInput>),
    }),
  }),
);

builder.mutationField('updateBudget', (t) =>
  t.field({
    type: BudgetPayload,
    args: { input: t.arg({ type: UpdateBudgetInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, VersionMismatchError], directResult: true },
    resolve: async (_root, { input }, ctx) => {
      // Changing the scope may clear the provider or client: null there means "none".
      const { id, version, ...patch } = input;
      const changes = dropNulls(patch, ['provider', 'client']) as Partial<BudgetSpecInput>;
      return { budget: await ctx.services.budgets.update(actorOf(ctx), id, version, changes) };
    },
  }),
);

builder.mutationField('deleteBudget', (t) =>
  t.field({
    type: BudgetPayload,
    args: {
      id: t.arg.id({ required: true }),
      version: t.arg.int({ description: 'When given, refused if the budget changed since.' }),
    },
    errors: { types: [NotFoundError, VersionMismatchError], directResult: true },
    resolve: async (_root, args, ctx) => ({
      budget: await ctx.services.budgets.delete(actorOf(ctx), args.id, args.version),
    }),
  }),
);

export const BudgetAlertRef = builder.objectRef<BudgetAlertEvent>('BudgetAlertEvent').implement({
  description: 'A budget crossed a threshold; sent once per budget, period and threshold, cluster-wide.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    budgetId: t.exposeID('budgetId'),
    budgetName: t.exposeString('budgetName'),
    threshold: t.exposeInt('threshold', { description: 'Percent; 100 means the limit was reached.' }),
    percentUsed: t.exposeFloat('percentUsed'),
    spentMicros: t.field({ type: 'Micros', resolve: (e) => e.spentMicros }),
    limitMicros: t.field({ type: 'Micros', resolve: (e) => e.limitMicros }),
    action: t.field({ type: BudgetAction, resolve: (e) => e.action }),
    periodStart: t.field({ type: 'DateTime', resolve: (e) => new Date(e.periodStart) }),
    periodEnd: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (e) => (e.periodEnd ? new Date(e.periodEnd) : null),
    }),
  }),
});

builder.subscriptionField('budgetAlert', (t) =>
  t.field({
    type: BudgetAlertRef,
    args: { budget: t.arg.id({ description: 'Only this budget; all when omitted.' }) },
    subscribe: (_root, args, ctx) =>
      filterEvents(
        ctx.services.events.subscribe('budget.alert', ctx.onSlowConsumer),
        (e) => !args.budget || e.budgetId === args.budget,
      ),
    resolve: (event) => event,
  }),
);
