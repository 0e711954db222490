import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors as jose } from 'jose';
import { LRUCache } from 'lru-cache';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiProtectionConfig } from '../config.ts';
import { bearerToken } from '../context.ts';
import type { Operator, TokenService } from '../modules/auth/token.service.ts';
import { type CallLimiter, createCallLimiter } from '../modules/resilience/leased-limiter.ts';
import { createSharedLimiter, type SharedLimiter } from '../modules/resilience/limiter.ts';
import type { RedisGate } from '../modules/resilience/shared-state.ts';
import type { Logger } from '../shared/logger.ts';
import { sendJson } from './http.ts';

/** What refused a call: too many calls for its key, or too many refused tokens from its address. */
export type Refusal = { reason: 'rate' | 'auth-failures'; retryAfterMs: number };

type Limiter = SharedLimiter;

/**
 * How long an address's refused-token state is trusted before it is read again (from Redis when
 * shared). Failures this replica counts take effect at once; another replica's, within this.
 */
export const AUTH_BLOCK_RECHECK_MS = 1_000;

/** The address a socket came from (no proxy headers are trusted). */
export function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** The GraphQL-shaped error body of a refused request. */
export function refusalBody(refusal: Refusal, requestId?: string) {
  const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  const message =
    refusal.reason === 'rate'
      ? `Too many requests: retry in ${seconds} s.`
      : `Too many failed authentication attempts from your address: retry in ${seconds} s.`;
  return {
    errors: [
      { message, extensions: { code: 'RATE_LIMITED', retryAfterMs: refusal.retryAfterMs, requestId } },
    ],
  };
}

/**
 * The GraphQL API's front door, before Yoga sees a request: a per-caller rate limit (token
 * subject, or IP for anonymous callers), a stricter limit on refused tokens per IP, a body size
 * limit, and the Origin check and per-caller connection count of WebSockets. Limits live in Redis
 * when it is configured (shared by replicas, with an in-process stand-in while Redis is away).
 */
export class ApiGuard {
  readonly #tokens: TokenService;
  readonly #settings: ApiProtectionConfig;
  readonly #logger: Logger;
  readonly #requests: CallLimiter | undefined;
  readonly #failures: Limiter | undefined;
  /** Addresses' refused-token state: blocked until (ms), or 0 when not blocked. */
  readonly #blocked = new LRUCache<string, number>({ max: 10_000, ttl: AUTH_BLOCK_RECHECK_MS });
  readonly #ownOrigins: Set<string>;
  readonly #connections = new Map<string, number>();

  constructor(deps: {
    tokens: TokenService;
    /** Shares the limits through Redis when given. */
    gate: RedisGate | undefined;
    replicas: number;
    logger: Logger;
    settings: ApiProtectionConfig;
    publicUrl: string | undefined;
  }) {
    this.#tokens = deps.tokens;
    this.#settings = deps.settings;
    this.#logger = deps.logger;
    // Whole seconds, as before the limiter factory was shared with the proxy.
    const windowOf = (windowMs: number) => Math.max(1, Math.round(windowMs / 1000)) * 1000;
    const { rateLimit, authFailureLimit } = deps.settings;
    this.#requests =
      rateLimit.points === 0
        ? undefined
        : createCallLimiter({
            gate: deps.gate,
            logger: deps.logger,
            keyPrefix: 'tg:api:req',
            points: rateLimit.points,
            durationMs: windowOf(rateLimit.windowMs),
            replicas: deps.replicas,
          });
    this.#failures =
      authFailureLimit.points === 0
        ? undefined
        : createSharedLimiter({
            gate: deps.gate,
            logger: deps.logger,
            keyPrefix: 'tg:api:authfail',
            points: authFailureLimit.points,
            durationMs: windowOf(authFailureLimit.windowMs),
            replicas: deps.replicas,
          });
    this.#ownOrigins = new Set(deps.publicUrl ? [new URL(deps.publicUrl).origin] : []);
  }

  /** The rate-limit key of a caller: its token's subject, or its address when anonymous. */
  keyOf(operator: Operator | null, ip: string): string {
    return operator ? `sub:${operator.subject}` : `ip:${ip}`;
  }

  /** Takes one call from the caller's allowance; a refusal says how long to wait. */
  async take(key: string): Promise<Refusal | undefined> {
    if (!this.#requests) return undefined;
    try {
      const refused = await this.#requests.consume(key);
      if (!refused) return undefined;
      this.#logger.info({ key }, 'GraphQL rate limit reached');
      return { reason: 'rate', retryAfterMs: refused.msBeforeNext };
    } catch (error) {
      this.#logger.error({ err: error }, 'GraphQL rate limiter failed; allowing the call');
      return undefined;
    }
  }

  /** Set while `ip` has used up its refused-token allowance: nothing it authenticates is checked. */
  async authBlocked(ip: string): Promise<Refusal | undefined> {
    if (!this.#failures) return undefined;
    let until = this.#blocked.get(ip);
    if (until === undefined) {
      until = 0;
      try {
        const state = await this.#failures.get(ip);
        if (state && state.consumedPoints >= this.#settings.authFailureLimit.points)
          until = Date.now() + Math.max(state.msBeforeNext, 1);
      } catch (error) {
        this.#logger.error({ err: error }, 'auth-failure limiter failed; allowing the call');
        return undefined;
      }
      this.#blocked.set(ip, until);
    }
    const left = until - Date.now();
    return left > 0 ? { reason: 'auth-failures', retryAfterMs: left } : undefined;
  }

  /**
   * Counts one refused token from `ip`, unless it was only expired: its signature checked out, so
   * it is no guess, just a dashboard that has not refreshed its token yet (and must not lock out
   * its address).
   */
  async recordAuthFailure(ip: string, error?: unknown): Promise<void> {
    if (!this.#failures) return;
    if ((error as { cause?: unknown } | undefined)?.cause instanceof jose.JWTExpired) return;
    try {
      const res = await this.#failures.consume(ip);
      if (res.remainingPoints === 0)
        this.#logger.warn({ ip }, 'too many refused tokens from one address; blocking it for a while');
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes))
        this.#logger.error({ err: rejection }, 'auth-failure limiter failed');
    } finally {
      // Read afresh on the next request, once counted: this replica's own failures bite at once.
      this.#blocked.delete(ip);
    }
  }

  /**
   * Verifies a credential for limiting purposes (the token service caches verified tokens, so
   * the GraphQL context's own check costs nothing more). A refused token is counted against `ip`.
   */
  async identify(credential: unknown, ip: string): Promise<{ operator: Operator | null; refused: boolean }> {
    const token = bearerToken(credential);
    if (!token) return { operator: null, refused: credential !== undefined && credential !== null };
    try {
      return { operator: await this.#tokens.verify(token), refused: false };
    } catch (error) {
      await this.recordAuthFailure(ip, error);
      return { operator: null, refused: true };
    }
  }

  /**
   * Decides whether an HTTP request to /graphql goes on to Yoga; otherwise answers it (429 or
   * 413) itself. The body is read here, up to the limit, and handed to Yoga already buffered.
   */
  async admitHttp(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<{ authenticated: boolean } | false> {
    const ip = clientIp(req);
    const credential = req.headers.authorization;
    if (bearerToken(credential)) {
      const blocked = await this.authBlocked(ip);
      if (blocked) return this.#refuse(res, blocked, requestId);
    }
    const { operator } = await this.identify(credential, ip);
    const refusal = await this.take(this.keyOf(operator, ip));
    if (refusal) return this.#refuse(res, refusal, requestId);
    return (await this.#readBody(req, res, requestId)) && { authenticated: operator !== null };
  }

  #refuse(res: ServerResponse, refusal: Refusal, requestId: string): false {
    res.setHeader('connection', 'close');
    sendJson(res, 429, refusalBody(refusal, requestId), {
      'retry-after': String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))),
    });
    return false;
  }

  #readBody(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> | boolean {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return true;
    const max = this.#settings.maxBodyBytes;
    const tooLarge = () => {
      // Answer at once, discard whatever else arrives, and close once the answer is out: the
      // rest of an oversized body is not worth receiving.
      res.setHeader('connection', 'close');
      res.once('finish', () => req.destroy());
      sendJson(res, 413, {
        errors: [
          {
            message: `The request body is larger than ${max} bytes.`,
            extensions: { code: 'PAYLOAD_TOO_LARGE', requestId },
          },
        ],
      });
      req.resume();
      return false;
    };
    if (Number(req.headers['content-length'] ?? 0) > max) return tooLarge();
    return new Promise<boolean>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onGone);
        req.off('close', onGone);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= max) return void chunks.push(chunk);
        stop();
        resolve(tooLarge());
      };
      const onEnd = () => {
        stop();
        // @whatwg-node (under Yoga) takes a `body` already read from the request as the body.
        if (size > 0) (req as IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks);
        resolve(true);
      };
      // The client went away mid-body: nobody is left to answer.
      const onGone = () => {
        stop();
        resolve(false);
      };
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', onGone);
      req.once('close', onGone);
    });
  }

  /**
   * A WebSocket upgrade from a browser must come from Tollgate's own origin (GraphiQL) or an
   * allowed one; clients that send no Origin (scripts, SDKs) are not browsers and pass.
   */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const allowed = this.#settings.allowedOrigins;
    if (allowed.includes('*') || allowed.includes(origin) || this.#ownOrigins.has(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** Counts a WebSocket for its caller; false when the caller already holds the maximum. */
  openConnection(key: string): boolean {
    const max = this.#settings.wsMaxConnectionsPerOperator;
    const open = this.#connections.get(key) ?? 0;
    if (max > 0 && open >= max) return false;
    this.#connections.set(key, open + 1);
    return true;
  }

  closeConnection(key: string): void {
    const open = (this.#connections.get(key) ?? 1) - 1;
    if (open <= 0) this.#connections.delete(key);
    else this.#connections.set(key, open);
  }
}
