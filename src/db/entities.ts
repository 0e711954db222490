import { AlertChannelEntity } from '../modules/alerts/alert-channel.entity.ts';
import { AuditEventEntity } from '../modules/audit/audit.entity.ts';
import { BudgetAlertEntity, BudgetEntity } from '../modules/budgets/budget.entity.ts';
import { ClientEntity } from '../modules/clients/client.entity.ts';
import {
  HealthCheckEntity,
  HealthTransitionEntity,
  ProviderHealthEntity,
} from '../modules/health/health.entity.ts';
import { MasterKeyRotationEntity } from '../modules/keys/master-key-rotation.entity.ts';
import { ProviderKeyEntity } from '../modules/keys/provider-key.entity.ts';
import { ProviderEntity } from '../modules/providers/provider.entity.ts';
import { CircuitIsolationEntity } from '../modules/resilience/circuit-isolation.entity.ts';
import { OperatorSessionEntity } from '../modules/sessions/operator-session.entity.ts';
import { UsageEventEntity } from '../modules/usage/usage-event.entity.ts';
import { UsageDayEntity, UsageHourEntity, UsageRollupEntity } from '../modules/usage/usage-rollup.entity.ts';

/** Every entity, listed explicitly: no folder scanning, no decorators. */
export const entities = [
  ProviderEntity,
  ProviderKeyEntity,
  ClientEntity,
  MasterKeyRotationEntity,
  AuditEventEntity,
  UsageEventEntity,
  BudgetEntity,
  BudgetAlertEntity,
  UsageRollupEntity,
  UsageHourEntity,
  UsageDayEntity,
  ProviderHealthEntity,
  HealthCheckEntity,
  HealthTransitionEntity,
  AlertChannelEntity,
  CircuitIsolationEntity,
  OperatorSessionEntity,
];
