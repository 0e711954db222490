import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { Vault } from '../keys/vault.ts';
import type { UpstreamAgents } from '../upstream/upstream-agents.ts';
import { AlertChannelService } from './alert-channel.service.ts';
import { WebhookDelivery } from './webhook-delivery.ts';

/**
 * Alert channels and webhook delivery. Delivery starts after the job queue and stops before it:
 * an event published once it has stopped is not enqueued (logged), instead of racing the queue
 * and the pool that are closing.
 */
export function alertsModule(deps: {
  config: Config;
  orm: Orm;
  audit: AuditService;
  vault: Vault;
  jobs: JobQueue;
  agents: UpstreamAgents;
  events: EventBus;
  logger: Logger;
}): Module<{ alertChannels: AlertChannelService }, { webhooks: Component }> {
  const alertChannels = new AlertChannelService({ orm: deps.orm, audit: deps.audit, vault: deps.vault });
  const webhooks = new WebhookDelivery({
    jobs: deps.jobs,
    channels: alertChannels,
    agents: deps.agents,
    events: deps.events,
    logger: deps.logger,
    settings: deps.config.webhooks,
  });
  return {
    services: { alertChannels },
    components: {
      webhooks: { name: 'webhook delivery', start: () => webhooks.start(), stop: () => webhooks.stop() },
    },
  };
}
