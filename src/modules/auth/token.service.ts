import { randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { AuthConfig, Role } from '../../config.ts';
import { UnauthenticatedError } from '../../shared/errors.ts';
import { textProblem } from '../../shared/validation.ts';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Longer tokens are refused unread (an HTTP header stops near 16 KB, a WebSocket init does not). */
const MAX_TOKEN_LENGTH = 8192;
/** A `kid` must look like a key id (base64url, UUID, thumbprint), never a path, URL or query. */
const KID_PATTERN = /^[A-Za-z0-9_=+:-][A-Za-z0-9._=+:-]{0,127}$/;
const MAX_SUBJECT_LENGTH = 256;

/** Who is calling the control plane, as proven by a verified token. */
export interface Operator {
  subject: string;
  role: Role;
  tokenId: string | undefined;
  expiresAt: Date;
  /** Set for a console session's access token (OIDC sign-in): revocable, and audited with the email. */
  sessionId?: string | undefined;
  email?: string | undefined;
}

/** Verifies the access tokens of console sessions (modules/sessions), which Tollgate signs itself. */
export interface SessionTokenVerifier {
  verify(token: string, clockToleranceSeconds: number): Promise<Operator>;
  /** Whether a session's tokens are refused now (signed out or revoked on any replica). */
  isRevoked(sessionId: string): boolean;
}

/** A console session's access token carries the key id `session.<master key id>`. */
export function isSessionToken(token: string): boolean {
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === 'string' && kid.startsWith('session.');
  } catch {
    return false;
  }
}

export function roleAtLeast(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}

/** Parses "90s", "15m", "1h", "7d" (or a bare number of seconds) into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration; use e.g. 90s, 15m, 1h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0) throw new Error('a duration must be positive');
  return seconds;
}

/**
 * Verifies operator tokens. Every refusal is the same UnauthenticatedError: the reason is
 * logged by the caller at debug level but never told to the client, so a probe learns nothing.
 */
export class TokenService {
  readonly #config: AuthConfig;
  readonly #key: Uint8Array | JWTVerifyGetKey;
  readonly #algorithms: string[];

  constructor(config: AuthConfig) {
    this.#config = config;
    if (config.mode === 'hs256') {
      if (!config.secret) throw new Error('TokenService needs a resolved HS256 secret');
      this.#key = new TextEncoder().encode(config.secret);
      this.#algorithms = ['HS256'];
    } else {
      this.#key = createRemoteJWKSet(new URL(config.jwksUrl), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
      });
      this.#algorithms = config.algorithms;
    }
  }

  /**
   * Verified tokens by their text, kept for at most a minute and never past their `exp` (without
   * the clock tolerance: a cached answer is never kinder than a fresh check), least recently used
   * first out. A dashboard sends the same token on every request: it pays for one signature check
   * a minute instead of one a request. A console session's token is re-checked against the revoked
   * sessions on every hit, so a revocation bites at once. Refusals are never cached.
   */
  static readonly CACHE_MS = 60_000;
  static readonly CACHE_SIZE = 10_000;
  readonly #verified = new LRUCache<string, Operator>({ max: TokenService.CACHE_SIZE });

  #sessions: SessionTokenVerifier | undefined;

  /** Session access tokens are told apart by their key id (`session.<kid>`). */
  attachSessions(sessions: SessionTokenVerifier): void {
    this.#sessions = sessions;
  }

  async verify(token: string): Promise<Operator> {
    const cached = this.#verified.get(token);
    if (cached) {
      if (cached.expiresAt.getTime() > Date.now() && !this.#revoked(cached)) return cached;
      this.#verified.delete(token);
    }
    const operator = await this.#verifyFresh(token);
    const ttl = Math.min(TokenService.CACHE_MS, operator.expiresAt.getTime() - Date.now());
    if (ttl > 0) this.#verified.set(token, operator, { ttl });
    return operator;
  }

  #revoked(operator: Operator): boolean {
    return operator.sessionId !== undefined && (this.#sessions?.isRevoked(operator.sessionId) ?? true);
  }

  #verifyFresh(token: string): Promise<Operator> {
    if (this.#sessions && token.length <= MAX_TOKEN_LENGTH && isSessionToken(token))
      return this.#sessions.verify(token, this.#config.clockToleranceSeconds);
    return this.#verifyUncached(token);
  }

  async #verifyUncached(token: string): Promise<Operator> {
    const refuse = (reason: string): never => {
      throw new UnauthenticatedError('Invalid or expired token.', { cause: new Error(reason) });
    };
    if (token.length > MAX_TOKEN_LENGTH) refuse(`token longer than ${MAX_TOKEN_LENGTH} characters`);
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (error) {
      throw new UnauthenticatedError('Invalid or expired token.', { cause: error });
    }
    // Checked before any key lookup: an odd kid never reaches the JWKS client or a log line.
    if (kid !== undefined && (typeof kid !== 'string' || !KID_PATTERN.test(kid) || kid.includes('..')))
      refuse('kid header is not a plain key id');
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        algorithms: this.#algorithms,
        issuer: this.#config.issuer,
        audience: this.#config.audience,
        clockTolerance: this.#config.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
      };
      // Two calls rather than a union: jose overloads on the key's type.
      payload =
        this.#key instanceof Uint8Array
          ? (await jwtVerify(token, this.#key, verifyOptions)).payload
          : (await jwtVerify(token, this.#key, verifyOptions)).payload;
    } catch (error) {
      throw new UnauthenticatedError('Invalid or expired token.', { cause: error });
    }
    const role = payload[this.#config.roleClaim];
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new UnauthenticatedError('Invalid or expired token.', {
        cause: new Error(`claim "${this.#config.roleClaim}" is not one of ${ROLES.join(', ')}`),
      });
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH)
      refuse('sub is not a non-empty string');
    // The subject is written to the audit log: text PostgreSQL cannot store would fail every mutation.
    if (textProblem(subject as string)) refuse('sub contains NUL or invalid Unicode');
    const expiresAt = new Date((payload.exp ?? 0) * 1000);
    if (Number.isNaN(expiresAt.getTime())) refuse('exp is out of range');
    return {
      subject: subject as string,
      role: role as Role,
      tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
      expiresAt,
    };
  }

  /** Mints a token with the shared secret (the CLI's `tollgate token`). */
  async mint(input: { subject: string; role: Role; ttlSeconds: number }): Promise<string> {
    if (!(this.#key instanceof Uint8Array)) {
      throw new Error('Tokens come from your identity provider when TOLLGATE_JWKS_URL is set.');
    }
    return new SignJWT({ [this.#config.roleClaim]: input.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(input.subject)
      .setIssuer(this.#config.issuer)
      .setAudience(this.#config.audience)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + input.ttlSeconds)
      .sign(this.#key);
  }
}
