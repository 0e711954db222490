import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const ROTATION_STATUSES = ['RUNNING', 'DONE', 'FAILED'] as const;

/** One run of rotateMasterKey: its progress survives a crash, and the next start resumes it. */
export const MasterKeyRotationEntity = defineEntity({
  name: 'MasterKeyRotation',
  tableName: 'master_key_rotations',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    targetKid: p.string().length(64),
    status: p.enum(ROTATION_STATUSES),
    total: p.integer(),
    processed: p.integer().default(0),
    failed: p.integer().default(0),
    lastError: p.text().nullable(),
    startedBy: p.string().length(255),
    startedAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    finishedAt: p.datetime().nullable(),
  },
});

export type MasterKeyRotation = InferEntity<typeof MasterKeyRotationEntity>;
