import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * A person's console session after an OIDC sign-in. The cookie's secret is stored only as its
 * SHA-256 hash, and the identity provider's refresh token only encrypted (Vault, bound to the
 * session id): a copy of this table signs no one in.
 */
export const OperatorSessionEntity = defineEntity({
  name: 'OperatorSession',
  tableName: 'operator_sessions',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tokenHash: p.string().length(64).unique(),
    subject: p.string().length(255),
    email: p.string().length(320).nullable(),
    name: p.string().length(255).nullable(),
    role: p.string().length(20),
    issuer: p.string().length(512),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastRenewedAt: p.datetime(),
    /** The session ends here whatever happens (TOLLGATE_SESSION_MAX_AGE_S). */
    expiresAt: p.datetime().index(),
    revokedAt: p.datetime().nullable().index(),
    revokedBy: p.string().length(255).nullable(),
    /** The provider's refresh token, as a Vault JWE; null when the provider gave none. */
    refreshTokenCiphertext: p.text().nullable(),
    /** When the provider's word on this person runs out: a renewal after it refreshes. */
    idpCheckAt: p.datetime().nullable(),
    userAgent: p.string().length(255).nullable(),
    ip: p.string().length(64).nullable(),
  },
  indexes: [{ properties: ['createdAt', 'id'] }],
});

export type OperatorSession = InferEntity<typeof OperatorSessionEntity>;
