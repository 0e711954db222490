import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { BUDGET_PERIODS } from './budget-period.ts';

export const BUDGET_SCOPES = ['GLOBAL', 'PROVIDER', 'CLIENT', 'CLIENT_PROVIDER'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export const BUDGET_ACTIONS = ['BLOCK', 'ALERT_ONLY'] as const;
export type BudgetAction = (typeof BUDGET_ACTIONS)[number];

/**
 * A spending limit over a period, for every call (GLOBAL), one provider's calls, one client's
 * calls, or one client's calls to one provider. Spend counts the provider that served the call.
 */
export const BudgetEntity = defineEntity({
  name: 'Budget',
  tableName: 'budgets',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.string().length(200).unique(),
    scope: p.enum(BUDGET_SCOPES),
    providerId: p.uuid().nullable().index(),
    clientId: p.uuid().nullable().index(),
    period: p.enum(BUDGET_PERIODS),
    timeZone: p.string().length(64),
    limitMicros: p.bigint('number'),
    /** Percentages, ascending, each 1–100. */
    thresholds: p.json<number[]>(),
    action: p.enum(BUDGET_ACTIONS),
    createdBy: p.string().length(255),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

export type Budget = InferEntity<typeof BudgetEntity>;

/**
 * One alert per budget, period and threshold: the unique key is what keeps replicas (and a
 * restarted process) from announcing the same crossing twice.
 */
export const BudgetAlertEntity = defineEntity({
  name: 'BudgetAlert',
  tableName: 'budget_alerts',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    budgetId: p.uuid(),
    periodStart: p.datetime(),
    threshold: p.integer(),
    spentMicros: p.bigint('number'),
    limitMicros: p.bigint('number'),
    at: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ properties: ['budgetId', 'periodStart', 'threshold'] }],
});

export type BudgetAlert = InferEntity<typeof BudgetAlertEntity>;
