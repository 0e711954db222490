import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { EVENT_KINDS } from '../events/event-kinds.ts';

export const ALERT_KINDS = Object.keys(EVENT_KINDS) as (keyof typeof EVENT_KINDS)[];
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * A webhook that receives gateway events of the chosen kinds, signed with HMAC-SHA256. The
 * signing secret is stored encrypted under the master key (it is needed in clear to sign) and
 * shown once, at creation.
 */
export const AlertChannelEntity = defineEntity({
  name: 'AlertChannel',
  tableName: 'alert_channels',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.string().length(200).unique(),
    url: p.string().length(2000),
    kinds: p.json<AlertKind[]>(),
    enabled: p.boolean(),
    allowPrivateNetwork: p.boolean(),
    secretCiphertext: p.text(),
    secretKid: p.string().length(64),
    createdBy: p.string().length(255),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

export type AlertChannel = InferEntity<typeof AlertChannelEntity>;
