import { createHmac } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.ts';
import type { AnyEvent, EventBus } from '../events/event-bus.ts';
import { KIND_OF_TOPIC } from '../events/event-kinds.ts';
import { deadLetterOf, type JobQueue } from '../jobs/job-queue.ts';
import { describeFailure } from '../resilience/failure.ts';
import type { UpstreamAgents } from '../upstream/upstream-agents.ts';
import type { AlertChannelService } from './alert-channel.service.ts';

export const DELIVERY_QUEUE = 'webhook-delivery';
export const FAN_OUT_QUEUE = 'webhook-fanout';
export const DEAD_LETTER_QUEUE = deadLetterOf(DELIVERY_QUEUE);
export const SIGNATURE_HEADER = 'x-tollgate-signature';

const deliverySchema = z.object({
  channelId: z.uuid(),
  event: z.object({
    id: z.string().min(1).max(100),
    kind: z.string().min(1).max(50),
    at: z.string().min(1).max(50),
    data: z.record(z.string(), z.unknown()),
  }),
});
export type Delivery = z.infer<typeof deliverySchema>;
const fanOutSchema = z.object({ event: deliverySchema.shape.event });

/**
 * Enqueues an event's webhook deliveries in the caller's transaction: for events that a
 * transaction records once for the whole cluster (a budget threshold crossed), so that the
 * record and its deliveries commit together or not at all.
 */
export interface EventOutbox {
  enqueue(em: EntityManager, event: AnyEvent): Promise<void>;
}

export function webhookOutbox(jobs: JobQueue): EventOutbox {
  return {
    enqueue: async (em, anyEvent) => {
      const event = deliverableEvent(anyEvent);
      if (event) await jobs.send(FAN_OUT_QUEUE, { event }, { em });
    },
  };
}

/** The webhook body of an event: id, kind, time and the rest as data; null for internal topics. */
function deliverableEvent({ topic, event }: AnyEvent): Delivery['event'] | null {
  const kind = KIND_OF_TOPIC.get(topic);
  if (!kind) return null;
  const { id, at, ...data } = event;
  return { id, kind, at, data };
}

export interface WebhookSettings {
  retryLimit: number;
  retryDelaySeconds: number;
  timeoutMs: number;
}

/** `sha256=<hex HMAC-SHA256 of the raw body with the channel's secret>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers gateway events to webhook channels through a durable queue on PostgreSQL (pg-boss):
 * the replica that published an event enqueues one job per matching channel; any replica's
 * worker POSTs it, signed; a failure (network, timeout, non-2xx) is retried with exponential
 * backoff, and after the last attempt the job moves to the dead-letter queue.
 */
export class WebhookDelivery {
  readonly #jobs: JobQueue;
  readonly #channels: AlertChannelService;
  readonly #agents: UpstreamAgents;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #settings: WebhookSettings;

  /** Declares the delivery queue on `jobs` (before jobs.start()). */
  constructor(deps: {
    jobs: JobQueue;
    channels: AlertChannelService;
    agents: UpstreamAgents;
    events: EventBus;
    logger: Logger;
    settings: WebhookSettings;
  }) {
    this.#jobs = deps.jobs;
    this.#channels = deps.channels;
    this.#agents = deps.agents;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#settings = deps.settings;
    this.#jobs.define({
      name: DELIVERY_QUEUE,
      schema: deliverySchema,
      retryLimit: this.#settings.retryLimit,
      retryDelaySeconds: this.#settings.retryDelaySeconds,
      backoff: true,
      handler: (delivery, job) => this.#deliver(delivery, job.logger),
      // A delivery of a job alert that fails must not announce itself (and so on, forever).
      announceFailure: (delivery) => delivery.event.kind !== 'JOB',
    });
    // An outboxed event becomes one delivery per channel (at least once: a retried fan-out may
    // enqueue a delivery twice; receivers dedupe by x-tollgate-event-id).
    this.#jobs.define({
      name: FAN_OUT_QUEUE,
      schema: fanOutSchema,
      retryLimit: this.#settings.retryLimit,
      retryDelaySeconds: this.#settings.retryDelaySeconds,
      backoff: true,
      handler: ({ event }) => this.#enqueueDeliveries(event),
    });
  }

  /** Starts enqueueing this replica's events (the job queue must be started). */
  start(): void {
    this.#events.onPublish((event, options) => {
      if (options.outboxed) return; // its fan-out job was written with it
      const deliverable = deliverableEvent(event);
      if (!deliverable) return;
      void this.#enqueueDeliveries(deliverable).catch((error: unknown) =>
        this.#logger.error(
          { err: (error as Error).message, eventId: event.event.id },
          'webhook not enqueued',
        ),
      );
    });
  }

  /** One job per enabled channel that wants this kind of event. */
  async #enqueueDeliveries(event: Delivery['event']): Promise<void> {
    const channels = (await this.#channels.list()).filter(
      (c) => c.enabled && (c.kinds as readonly string[]).includes(event.kind),
    );
    for (const channel of channels) {
      await this.#jobs.send(DELIVERY_QUEUE, deliverySchema.parse({ channelId: channel.id, event }));
    }
  }

  async #deliver({ channelId, event }: Delivery, logger: Logger): Promise<void> {
    const channel = await this.#channels.get(channelId);
    if (!channel?.enabled) return; // deleted or switched off since: nothing to send
    const body = JSON.stringify(event);
    const secret = await this.#channels.secretOf(channel);
    const url = new URL(channel.url);
    const log = logger.child({ channel: channel.name, eventId: event.id });
    const response = await this.#post(channel, url, body, secret, event);
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      log.warn({ status: response.statusCode }, 'webhook delivery failed; will retry');
      throw new Error(`the endpoint answered ${response.statusCode}`);
    }
    log.debug('webhook delivered');
  }

  /** One signed POST; a failure to get an answer is described as the core classifies it. */
  async #post(
    channel: { allowPrivateNetwork: boolean },
    url: URL,
    body: string,
    secret: string,
    event: Delivery['event'],
  ) {
    try {
      return await this.#agents.for(channel.allowPrivateNetwork).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tollgate-webhooks',
          [SIGNATURE_HEADER]: signBody(secret, body),
          'x-tollgate-event-id': event.id,
          'x-tollgate-event-kind': event.kind,
        },
        body,
        headersTimeout: this.#settings.timeoutMs,
        bodyTimeout: this.#settings.timeoutMs,
      });
    } catch (error) {
      throw new Error(`could not deliver: ${describeFailure(error, this.#settings.timeoutMs)}`, {
        cause: error,
      });
    }
  }
}
