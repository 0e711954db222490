import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Role, SessionConfig } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { NotFoundError, UnauthenticatedError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { keysetQuery, type PageArgs, planPage, toPage } from '../../shared/pagination.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Operator } from '../auth/token.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Vault } from '../keys/vault.ts';
import { type OperatorSession, OperatorSessionEntity } from './operator-session.entity.ts';

/** The access tokens Tollgate issues to sessions: their own issuer, audience and key. */
export const SESSION_TOKEN_ISSUER = 'tollgate/session';
export const SESSION_TOKEN_AUDIENCE = 'tollgate/console';
const KID_PREFIX = 'session.';
const KEY_PURPOSE = 'operator session access tokens';
const REFRESH_BINDING = 'operator-session';

/** Why a session cannot be renewed: the console shows a sentence for each. */
export type SessionEndReason = 'NO_SESSION' | 'REVOKED' | 'EXPIRED' | 'IDP_REFUSED' | 'NO_ROLE';

export class SessionEndedError extends UnauthenticatedError {
  readonly reason: SessionEndReason;
  constructor(reason: SessionEndReason, message: string) {
    super(message);
    this.name = 'SessionEndedError';
    this.reason = reason;
  }
}

export function hashSessionSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What the identity provider said about the person, as a sign-in or a refresh gives it. */
export interface Identity {
  subject: string;
  email: string | undefined;
  name: string | undefined;
  issuer: string;
  role: Role;
  refreshToken: string | undefined;
  /** When the provider's ID token runs out; a renewal after it asks the provider again. */
  idpCheckAt: Date | undefined;
}

/** Asks the provider again with the stored refresh token; throws SessionEndedError when it will not vouch. */
export type Refresher = (
  refreshToken: string,
  current: Pick<Identity, 'subject' | 'role'>,
) => Promise<Identity>;

export interface IssuedSession {
  session: OperatorSession;
  /** The cookie's value: shown once here, stored only as a hash. */
  secret: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
}

export interface SessionFilter {
  active?: boolean | null;
  subject?: string | null;
}

/**
 * Console sessions. A sign-in creates a row and a cookie secret; the cookie renews a short-lived
 * access token (an HS256 JWT under a key derived from the master key, so every replica shares
 * it); signing out or an admin's revocation ends the row and is published on the event bus, so
 * every replica refuses the session's access tokens at once and closes its WebSockets.
 */
export class SessionService {
  readonly #orm: Orm;
  readonly #vault: Vault;
  readonly #events: EventBus;
  readonly #audit: AuditService;
  readonly #logger: Logger;
  readonly #settings: SessionConfig;
  /** Revoked sessions whose access tokens may still be unexpired, with when to forget them. */
  readonly #revoked = new Map<string, number>();
  readonly #revokedListeners = new Set<(sessionId: string) => void>();
  #refresher: Refresher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopListening: (() => void) | undefined;

  constructor(deps: {
    orm: Orm;
    vault: Vault;
    events: EventBus;
    audit: AuditService;
    logger: Logger;
    settings: SessionConfig;
  }) {
    this.#orm = deps.orm;
    this.#vault = deps.vault;
    this.#events = deps.events;
    this.#audit = deps.audit;
    this.#logger = deps.logger;
    this.#settings = deps.settings;
  }

  /** Set when OIDC is configured: renewals past the ID token's expiry ask the provider again. */
  setRefresher(refresher: Refresher): void {
    this.#refresher = refresher;
  }

  /**
   * Listens for revocations from every replica and loads the recent ones (an event missed while
   * Redis was away is caught by the periodic reload; access tokens live minutes at most anyway).
   */
  async start(reloadIntervalMs: number): Promise<void> {
    const apply = async (event: { sessionId: string; expiresAt: string }) => {
      this.#markRevoked(event.sessionId, new Date(event.expiresAt));
    };
    this.#stopListening = this.#events.listen('operator-session.revoked', apply);
    this.#events.onApply('operator-session.revoked', apply);
    await this.#reload();
    this.#timer = setInterval(() => {
      this.#reload().catch((error: unknown) =>
        this.#logger.warn({ err: error }, 'session revocations reload failed'),
      );
    }, reloadIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#stopListening?.();
  }

  /** Runs `listener` when a session is revoked on any replica (the WebSocket server closes its sockets). */
  onRevoked(listener: (sessionId: string) => void): () => void {
    this.#revokedListeners.add(listener);
    return () => this.#revokedListeners.delete(listener);
  }

  isRevoked(sessionId: string): boolean {
    const until = this.#revoked.get(sessionId);
    return until !== undefined && until > Date.now();
  }

  async #reload(): Promise<void> {
    const since = new Date(Date.now() - (this.#settings.tokenTtlSeconds + 60) * 1000);
    const rows = await this.#orm.em
      .fork()
      .find(OperatorSessionEntity, { revokedAt: { $gte: since } }, { fields: ['id', 'expiresAt'] });
    for (const row of rows) this.#markRevoked(row.id, row.expiresAt);
    const now = Date.now();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
  }

  #markRevoked(sessionId: string, expiresAt: Date): void {
    // Kept until no access token of the session can still be valid.
    const until = Math.min(expiresAt.getTime(), Date.now() + this.#settings.tokenTtlSeconds * 1000) + 60_000;
    const known = this.#revoked.has(sessionId);
    this.#revoked.set(sessionId, until);
    if (known) return;
    for (const listener of this.#revokedListeners) {
      try {
        listener(sessionId);
      } catch (error) {
        this.#logger.error({ err: error }, 'session revocation listener failed');
      }
    }
  }

  /** Starts a session for a person the provider vouched for and the role mapping admitted. */
  async create(identity: Identity, client: { userAgent?: string; ip?: string }): Promise<IssuedSession> {
    const secret = randomBytes(32).toString('base64url');
    const now = new Date();
    const em = this.#orm.em.fork();
    const id = randomUUID();
    const session = em.create(OperatorSessionEntity, {
      id,
      tokenHash: hashSessionSecret(secret),
      subject: identity.subject,
      email: identity.email ?? null,
      name: identity.name ?? null,
      role: identity.role,
      issuer: identity.issuer,
      createdAt: now,
      lastRenewedAt: now,
      expiresAt: new Date(now.getTime() + this.#settings.maxAgeSeconds * 1000),
      revokedAt: null,
      revokedBy: null,
      refreshTokenCiphertext: await this.#sealRefreshToken(id, identity.refreshToken),
      idpCheckAt: identity.idpCheckAt ?? null,
      userAgent: client.userAgent?.slice(0, 255) ?? null,
      ip: client.ip?.slice(0, 64) ?? null,
    });
    this.#audit.record(em, this.#actorOfSession(session), {
      action: 'operatorSession.create',
      targetType: 'OperatorSession',
      targetId: id,
      details: { role: identity.role, issuer: identity.issuer },
    });
    await em.flush();
    const { token, expiresAt } = await this.#sign(session);
    return { session, secret, accessToken: token, accessTokenExpiresAt: expiresAt };
  }

  /**
   * A fresh access token for the cookie's session. Past the ID token's expiry (and with a refresh
   * token) the provider is asked again and the role re-mapped; a provider that no longer vouches
   * for the person, or a role mapping that no longer admits them, ends the session.
   */
  async renew(secret: string | undefined): Promise<IssuedSession> {
    if (!secret) throw new SessionEndedError('NO_SESSION', 'Sign in to start a session.');
    const em = this.#orm.em.fork();
    const session = await em.findOne(OperatorSessionEntity, { tokenHash: hashSessionSecret(secret) });
    if (!session) throw new SessionEndedError('NO_SESSION', 'Sign in to start a session.');
    if (session.revokedAt) throw new SessionEndedError('REVOKED', 'Your session was ended. Sign in again.');
    const now = new Date();
    if (session.expiresAt <= now)
      throw new SessionEndedError('EXPIRED', 'Your session has expired. Sign in again.');
    if (
      session.idpCheckAt &&
      session.idpCheckAt <= now &&
      session.refreshTokenCiphertext &&
      this.#refresher
    ) {
      const refreshToken = await this.#vault.decrypt(session.refreshTokenCiphertext, {
        providerId: REFRESH_BINDING,
        keyId: session.id,
      });
      let identity: Identity;
      try {
        identity = await this.#refresher(refreshToken, {
          subject: session.subject,
          role: session.role as Role,
        });
      } catch (error) {
        const reason = error instanceof SessionEndedError ? error.reason : 'IDP_REFUSED';
        this.#logger.info(
          { sessionId: session.id, reason, err: (error as Error).message },
          'session refresh refused',
        );
        await this.#end(em, session, 'identity provider');
        throw error instanceof SessionEndedError
          ? error
          : new SessionEndedError('IDP_REFUSED', 'Your identity provider ended your session. Sign in again.');
      }
      session.role = identity.role;
      session.email = identity.email ?? session.email;
      session.idpCheckAt = identity.idpCheckAt ?? null;
      if (identity.refreshToken)
        session.refreshTokenCiphertext = await this.#sealRefreshToken(session.id, identity.refreshToken);
    }
    session.lastRenewedAt = now;
    await em.flush();
    const { token, expiresAt } = await this.#sign(session);
    return { session, secret, accessToken: token, accessTokenExpiresAt: expiresAt };
  }

  /** Ends the cookie's own session (sign-out). Unknown or ended sessions are fine: the cookie goes anyway. */
  async signOut(secret: string | undefined): Promise<void> {
    if (!secret) return;
    const em = this.#orm.em.fork();
    const session = await em.findOne(OperatorSessionEntity, { tokenHash: hashSessionSecret(secret) });
    if (!session || session.revokedAt) return;
    this.#audit.record(em, this.#actorOfSession(session), {
      action: 'operatorSession.signOut',
      targetType: 'OperatorSession',
      targetId: session.id,
    });
    await this.#end(em, session, session.subject);
  }

  /** An admin ends someone's session: refused on every replica within the event bus's delivery time. */
  async revoke(actor: Actor, id: string): Promise<OperatorSession> {
    requireRole(actor, 'admin');
    if (!isUuid(id)) throw new NotFoundError('OperatorSession', id);
    const em = this.#orm.em.fork();
    const session = await em.findOne(OperatorSessionEntity, { id });
    if (!session) throw new NotFoundError('OperatorSession', id);
    if (session.revokedAt) return session;
    this.#audit.record(em, actor, {
      action: 'operatorSession.revoke',
      targetType: 'OperatorSession',
      targetId: session.id,
      details: { subject: session.subject, email: session.email },
    });
    await this.#end(em, session, actor.subject);
    return session;
  }

  async #end(em: ReturnType<Orm['em']['fork']>, session: OperatorSession, by: string): Promise<void> {
    session.revokedAt = new Date();
    session.revokedBy = by.slice(0, 255);
    // The refresh token is of no further use: it is not kept.
    session.refreshTokenCiphertext = null;
    await em.flush();
    await this.#events.publishApplied('operator-session.revoked', {
      sessionId: session.id,
      expiresAt: session.expiresAt.toISOString(),
    });
  }

  async list(filter: SessionFilter, page: PageArgs) {
    const plan = planPage(page);
    const query = keysetQuery(plan, 'createdAt', 'desc');
    const where: Record<string, unknown> = { ...query.where };
    if (filter.subject) where.subject = filter.subject;
    if (filter.active === true) {
      where.revokedAt = null;
      where.expiresAt = { $gt: new Date() };
    } else if (filter.active === false) {
      where.$or = [{ revokedAt: { $ne: null } }, { expiresAt: { $lte: new Date() } }];
    }
    const rows = await this.#orm.em.fork().find(OperatorSessionEntity, where, {
      orderBy: query.orderBy,
      limit: query.limit,
    });
    return toPage<OperatorSession>(rows, plan, (row) => ({ at: row.createdAt, id: row.id }));
  }

  /** Verifies a session access token; a revoked session's tokens are refused at once. */
  async verify(token: string, clockToleranceSeconds: number): Promise<Operator> {
    const refuse = (reason: string, cause?: unknown): never => {
      throw new UnauthenticatedError('Invalid or expired token.', { cause: cause ?? new Error(reason) });
    };
    const kid = String(decodeProtectedHeader(token).kid ?? '');
    const key = this.#vault.derivedKey(KEY_PURPOSE, kid.slice(KID_PREFIX.length));
    if (!key) return refuse(`session token key "${kid}" is not configured`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: SESSION_TOKEN_ISSUER,
        audience: SESSION_TOKEN_AUDIENCE,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['exp', 'sub', 'sid', 'role'],
      }));
    } catch (error) {
      return refuse('session token does not verify', error);
    }
    const sessionId = String(payload.sid);
    if (this.isRevoked(sessionId)) refuse('session revoked');
    if (!['viewer', 'operator', 'admin'].includes(String(payload.role))) refuse('role claim is not a role');
    return {
      subject: String(payload.sub),
      role: payload.role as Role,
      tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
      expiresAt: new Date((payload.exp ?? 0) * 1000),
      sessionId,
      email: typeof payload.email === 'string' ? payload.email : undefined,
    };
  }

  async #sign(session: OperatorSession): Promise<{ token: string; expiresAt: Date }> {
    const kid = this.#vault.currentKid;
    const key = this.#vault.derivedKey(KEY_PURPOSE, kid)!;
    const expiresAt = new Date(
      Math.min(Date.now() + this.#settings.tokenTtlSeconds * 1000, session.expiresAt.getTime()),
    );
    const token = await new SignJWT({
      role: session.role,
      sid: session.id,
      ...(session.email ? { email: session.email } : {}),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: `${KID_PREFIX}${kid}` })
      .setSubject(session.subject)
      .setIssuer(SESSION_TOKEN_ISSUER)
      .setAudience(SESSION_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(key);
    return { token, expiresAt };
  }

  async #sealRefreshToken(sessionId: string, refreshToken: string | undefined): Promise<string | null> {
    if (!refreshToken) return null;
    const { ciphertext } = await this.#vault.encrypt(refreshToken, {
      providerId: REFRESH_BINDING,
      keyId: sessionId,
    });
    return ciphertext;
  }

  #actorOfSession(session: OperatorSession): Actor {
    return {
      subject: session.subject,
      email: session.email ?? undefined,
      role: session.role as Role,
      requestId: undefined,
    };
  }
}
