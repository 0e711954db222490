import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Orm } from '../../db/orm.ts';
import { writeUnique } from '../../db/write-unique.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { NotFoundError, VersionMismatchError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { privateHostReason } from '../../shared/network.ts';
import { CONTROL_CHARACTER_MESSAGE, hasControlCharacter, parseOrThrow } from '../../shared/validation.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Vault } from '../keys/vault.ts';
import {
  ALERT_KINDS,
  type AlertChannel,
  AlertChannelEntity,
  type AlertKind,
} from './alert-channel.entity.ts';
import { isRedactedWebhookUrl, redactWebhookUrl } from './webhook-url.ts';

const INPUT = ['input'];

export const channelSchema = z
  .object({
    name: z
      .string()
      .refine((v) => !hasControlCharacter(v), { message: CONTROL_CHARACTER_MESSAGE })
      .trim()
      .min(1, { message: 'must not be empty' })
      .max(200),
    url: z
      .string()
      .max(2000, { message: 'must be at most 2000 characters' })
      .refine((v) => !hasControlCharacter(v), { message: CONTROL_CHARACTER_MESSAGE }),
    kinds: z
      .array(z.enum(ALERT_KINDS as [AlertKind, ...AlertKind[]]))
      .min(1, { message: 'choose at least one kind' })
      .transform((kinds) => [...new Set(kinds)]),
    enabled: z.boolean().default(true),
    allowPrivateNetwork: z.boolean().default(false),
  })
  .superRefine((spec, ctx) => {
    // The URL parser would drop a CR, LF or tab without a word: refused above, not parsed here.
    if (hasControlCharacter(spec.url)) return;
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an absolute http(s) URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must use http or https' });
    if (url.username || url.password)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must not contain credentials' });
    if (isRedactedWebhookUrl(spec.url))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'is a redacted URL (as non-admins see it): give the whole URL',
      });
    const reason = spec.allowPrivateNetwork ? undefined : privateHostReason(url);
    if (reason)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `${reason}; set allowPrivateNetwork to allow it`,
      });
  });

export type ChannelInput = z.input<typeof channelSchema>;

/** The vault binding of a channel's signing secret. */
export const secretBinding = (channelId: string) => ({ providerId: 'alert-channel', keyId: channelId });

/** Webhook alert channels: admin CRUD, the signing secret shown once. */
export class AlertChannelService {
  readonly #orm: Orm;
  readonly #audit: AuditService;
  readonly #vault: Vault;

  constructor(deps: { orm: Orm; audit: AuditService; vault: Vault }) {
    this.#orm = deps.orm;
    this.#audit = deps.audit;
    this.#vault = deps.vault;
  }

  async list(): Promise<AlertChannel[]> {
    return this.#orm.em.fork().find(AlertChannelEntity, {}, { orderBy: { createdAt: 'asc' } });
  }

  async get(id: string): Promise<AlertChannel | null> {
    return isUuid(id) ? this.#orm.em.fork().findOne(AlertChannelEntity, { id }) : null;
  }

  /** Decrypts a channel's signing secret (for the delivery worker only). */
  async secretOf(channel: AlertChannel): Promise<string> {
    return this.#vault.decrypt(channel.secretCiphertext, secretBinding(channel.id));
  }

  async create(actor: Actor, input: ChannelInput): Promise<{ channel: AlertChannel; secret: string }> {
    requireRole(actor, 'admin');
    const spec = parseOrThrow(channelSchema, input, INPUT);
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const channel = await this.#write(async (em) => {
      const channel = em.create(AlertChannelEntity, {
        ...spec,
        secretCiphertext: '',
        secretKid: '',
        createdBy: actor.subject,
      });
      const { ciphertext, kid } = await this.#vault.encrypt(secret, secretBinding(channel.id));
      channel.secretCiphertext = ciphertext;
      channel.secretKid = kid;
      this.#audit.record(em, actor, {
        action: 'alert_channel.create',
        targetType: 'AlertChannel',
        targetId: channel.id,
        details: { name: spec.name, url: redactWebhookUrl(spec.url), kinds: spec.kinds },
      });
      return channel;
    });
    return { channel, secret };
  }

  async update(
    actor: Actor,
    id: string,
    version: number,
    patch: Partial<ChannelInput>,
  ): Promise<AlertChannel> {
    requireRole(actor, 'admin');
    return this.#write(async (em) => {
      const channel = await load(em, id, version);
      const current = {
        name: channel.name,
        url: channel.url,
        kinds: channel.kinds,
        enabled: channel.enabled,
        allowPrivateNetwork: channel.allowPrivateNetwork,
      };
      const spec = parseOrThrow(
        channelSchema,
        { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) },
        INPUT,
      );
      em.assign(channel, spec);
      this.#audit.record(em, actor, {
        action: 'alert_channel.update',
        targetType: 'AlertChannel',
        targetId: channel.id,
        // The URL may be a credential: the audit log never holds a secret.
        details: {
          before: { ...current, url: redactWebhookUrl(current.url) },
          after: { ...spec, url: redactWebhookUrl(spec.url) },
          urlChanged: spec.url !== current.url,
        },
      });
      return channel;
    });
  }

  async delete(actor: Actor, id: string): Promise<AlertChannel> {
    requireRole(actor, 'admin');
    return this.#write(async (em) => {
      const channel = await load(em, id, undefined);
      const snapshot = { ...channel };
      em.remove(channel);
      this.#audit.record(em, actor, {
        action: 'alert_channel.delete',
        targetType: 'AlertChannel',
        targetId: channel.id,
        details: { name: channel.name },
      });
      return snapshot;
    });
  }

  #write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return writeUnique(
      this.#orm,
      { path: [...INPUT, 'name'], message: 'is already used by another channel' },
      work,
    );
  }
}

async function load(em: EntityManager, id: string, version: number | undefined): Promise<AlertChannel> {
  const channel = isUuid(id) ? await em.findOne(AlertChannelEntity, { id }) : null;
  if (!channel) throw new NotFoundError('AlertChannel', id);
  if (version !== undefined && channel.version !== version)
    throw new VersionMismatchError(`Alert channel "${channel.name}"`, version, channel.version);
  return channel;
}
