import { createHmac } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.ts';
import type { AnyEvent, EventBus } from '../events/event-bus.ts';
import { KIND_OF_TOPIC } from '../events/event-kinds.ts';
import type { UpstreamAgents } from '../proxy/upstream-agents.ts';
import type { AlertChannelService } from './alert-channel.service.ts';

export const DELIVERY_QUEUE = 'webhook-delivery';
export const DEAD_LETTER_QUEUE = 'webhook-dead-letter';
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
  readonly #boss: PgBoss;
  readonly #channels: AlertChannelService;
  readonly #agents: UpstreamAgents;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #settings: WebhookSettings;

  constructor(deps: {
    databaseUrl: string;
    channels: AlertChannelService;
    agents: UpstreamAgents;
    events: EventBus;
    logger: Logger;
    settings: WebhookSettings;
  }) {
    this.#boss = new PgBoss({ connectionString: deps.databaseUrl, schema: 'pgboss', max: 4 });
    this.#boss.on('error', (error: Error) => deps.logger.warn({ err: error.message }, 'job queue error'));
    this.#channels = deps.channels;
    this.#agents = deps.agents;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#settings = deps.settings;
  }

  get boss(): PgBoss {
    return this.#boss;
  }

  async start(): Promise<void> {
    await this.#boss.start();
    await this.#ensureQueue(DEAD_LETTER_QUEUE, {});
    await this.#ensureQueue(DELIVERY_QUEUE, {
      retryLimit: this.#settings.retryLimit,
      retryDelay: this.#settings.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: 3600,
      deadLetter: DEAD_LETTER_QUEUE,
    });
    await this.#boss.work<Delivery>(
      DELIVERY_QUEUE,
      { pollingIntervalSeconds: 0.5, batchSize: 1 },
      async ([job]) => {
        if (job) await this.#deliver(job.id, job.data);
      },
    );
    this.#events.onPublish((event) => {
      void this.#enqueue(event).catch((error: unknown) =>
        this.#logger.error(
          { err: (error as Error).message, eventId: event.event.id },
          'webhook not enqueued',
        ),
      );
    });
  }

  async stop(): Promise<void> {
    await this.#boss.stop({ graceful: true, timeout: 5_000 });
  }

  async #ensureQueue(name: string, options: Parameters<PgBoss['createQueue']>[1]): Promise<void> {
    if (await this.#boss.getQueue(name)) return;
    try {
      await this.#boss.createQueue(name, options);
    } catch (error) {
      // Another replica created it meanwhile.
      if (!(await this.#boss.getQueue(name))) throw error;
    }
  }

  /** One job per enabled channel that wants this kind of event. */
  async #enqueue({ topic, event }: AnyEvent): Promise<void> {
    const kind = KIND_OF_TOPIC.get(topic);
    if (!kind) return;
    const channels = (await this.#channels.list()).filter((c) => c.enabled && c.kinds.includes(kind));
    for (const channel of channels) {
      const { id, at, ...data } = event;
      const delivery = deliverySchema.parse({ channelId: channel.id, event: { id, kind, at, data } });
      await this.#boss.send(DELIVERY_QUEUE, delivery);
    }
  }

  async #deliver(jobId: string, payload: unknown): Promise<void> {
    const { channelId, event } = deliverySchema.parse(payload);
    const channel = await this.#channels.get(channelId);
    if (!channel?.enabled) return; // deleted or switched off since: nothing to send
    const body = JSON.stringify(event);
    const secret = await this.#channels.secretOf(channel);
    const url = new URL(channel.url);
    const log = this.#logger.child({ jobId, channel: channel.name, eventId: event.id });
    const response = await this.#agents.for(channel.allowPrivateNetwork).request({
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
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      log.warn({ status: response.statusCode }, 'webhook delivery failed; will retry');
      throw new Error(`the endpoint answered ${response.statusCode}`);
    }
    log.debug('webhook delivered');
  }
}
