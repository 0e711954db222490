import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventOutbox } from '../alerts/webhook-delivery.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { RedisGate } from '../resilience/shared-state.ts';
import { BudgetService } from './budget.service.ts';
import { BudgetEnforcer } from './budget-enforcer.ts';
import { BudgetLedger } from './budget-ledger.ts';

/**
 * Budgets and their enforcement (the ledger in Redis, or alone). The enforcer stops after the
 * HTTP server has drained: it waits for the last calls' settlements and alerts.
 */
export function budgetsModule(deps: {
  orm: Orm;
  audit: AuditService;
  events: EventBus;
  gate: RedisGate | undefined;
  outbox: EventOutbox;
  logger: Logger;
  timeZone: string;
  replicas: number;
  refreshIntervalMs: number;
}): Module<{ budgets: BudgetService; budgetEnforcer: BudgetEnforcer }, { enforcer: Component }> {
  const { orm, audit, events, logger } = deps;
  const ledger = new BudgetLedger({ gate: deps.gate, logger, replicas: deps.replicas });
  const budgetEnforcer = new BudgetEnforcer({ orm, events, ledger, logger, outbox: deps.outbox });
  return {
    services: {
      budgets: new BudgetService({ orm, audit, events, defaultTimeZone: deps.timeZone }),
      budgetEnforcer,
    },
    components: {
      enforcer: {
        name: 'budget enforcer',
        start: () => budgetEnforcer.start(deps.refreshIntervalMs),
        stop: () => budgetEnforcer.stop(),
      },
    },
  };
}
