import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { ProviderEntity } from '../providers/provider.entity.ts';

export const KEY_STATUSES = ['ACTIVE', 'RETIRING', 'REVOKED', 'EXPIRED', 'INVALID'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** A provider API key. The secret is only ever stored as a JWE bound to this row. */
export const ProviderKeyEntity = defineEntity({
  name: 'ProviderKey',
  tableName: 'provider_keys',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    provider: p.manyToOne(ProviderEntity).ref().deleteRule('cascade').index(),
    label: p.string().length(200),
    status: p.enum(KEY_STATUSES),
    weight: p.integer().default(1),
    /** The JWE; wiped (null) once the key is REVOKED, so a revoked secret is not kept at all. */
    ciphertext: p.text().nullable(),
    /** The master key id the ciphertext is encrypted under (also in the JWE header). */
    kid: p.string().length(64).nullable().index(),
    last4: p.string().length(4),
    fingerprint: p.string().length(32),
    graceUntil: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    /** Why the key is INVALID or could not be decrypted; never contains the secret. */
    problem: p.text().nullable(),
    replacedById: p.uuid().nullable(),
    createdBy: p.string().length(255),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
  indexes: [{ properties: ['status', 'graceUntil'] }, { properties: ['status', 'expiresAt'] }],
});

export type ProviderKey = InferEntity<typeof ProviderKeyEntity>;
