import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { RateLimitPolicy } from '../providers/provider.validation.ts';

export const CLIENT_STATUSES = ['ACTIVE', 'REVOKED'] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

/** An application that calls through Tollgate. Its key is stored only as a SHA-256 hash. */
export const ClientEntity = defineEntity({
  name: 'Client',
  tableName: 'clients',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.string().length(200).unique(),
    status: p.enum(CLIENT_STATUSES),
    /** Provider ids this client may call; null means every provider. */
    allowedProviderIds: p.json<string[]>().nullable(),
    rateLimit: p.json<RateLimitPolicy>().nullable(),
    expiresAt: p.datetime().nullable(),
    /** The first characters of the key after `tg_`: shown to people, used to find the hash. */
    keyPrefix: p.string().length(16).index(),
    keyHash: p.string().length(64),
    keyRotatedAt: p.datetime(),
    createdBy: p.string().length(255),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

export type Client = InferEntity<typeof ClientEntity>;
