import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** Who did what to which object, and when. Never holds a secret: details are written by services. */
export const AuditEventEntity = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    at: p.datetime().onCreate(() => new Date()),
    actor: p.string().length(255),
    /** The person's email when the change came through a console session (OIDC); null for machine tokens. */
    actorEmail: p.string().length(320).nullable(),
    actorRole: p.string().length(20),
    action: p.string().length(100),
    targetType: p.string().length(50),
    targetId: p.string().length(255),
    requestId: p.string().length(128).nullable(),
    details: p.json<Record<string, unknown>>(),
  },
  indexes: [
    { properties: ['at', 'id'] },
    { properties: ['targetType', 'targetId'] },
    { properties: ['action'] },
  ],
});

export type AuditEvent = InferEntity<typeof AuditEventEntity>;
